package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/secret"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// forward is the one pipeline from an upstream call to what the caller
// gets: the call (its outcome recorded), the drift check (error answers
// too), the mapping of the upstream's status, and the cleaning of a 2xx
// answer to what the contract names. An answer seen before (the memo, by
// operation, status, the checked headers and the body's bytes) is not
// decoded, checked or encoded again. A relayed answer (Request.Relay) goes
// back as the upstream gave it.
func (g *Gateway) forward(ctx context.Context, rs *reqState, r upstream.Request) (*upstream.Response, *judged, error) {
	resp, err := g.send(ctx, rs, r)
	// The answer's room in the in-flight budget is given back when the
	// request ends (begin), after what was made of it has been handed on.
	rs.hold(resp)
	if resp == nil || r.Relay {
		// A relayed answer (a development pass-through) goes back as it
		// came, 3xx and 4xx included; 5xx is an error.
		return resp, nil, err
	}
	j := g.judge(ctx, r.Operation, resp, rs.start)
	switch {
	case g.refuseDrift(r.Operation, j):
		return nil, nil, fmt.Errorf("%w: %w", upstream.ErrBadResponse, errContractViolation)
	case err != nil:
		return nil, nil, err
	case resp.Status >= 400:
		return nil, nil, upstreamClientError(resp, g.cfg.Upstream.APIKey, rs.identity.Token)
	case resp.Status < 200 || resp.Status > 299:
		return nil, nil, fmt.Errorf("%w: unexpected status %d", upstream.ErrBadResponse, resp.Status)
	case j.err != nil:
		return nil, nil, j.err
	}
	return resp, j, nil
}

// refuseDrift counts an answer to op that breaks the contract, each time
// it comes, and reports whether it is refused (validate_responses:
// enforce).
func (g *Gateway) refuseDrift(op string, j *judged) bool {
	if j.violations == 0 {
		return false
	}
	g.metrics.violations[op].Inc()
	return g.cfg.Upstream.ValidateResponses == config.ValidateEnforce
}

// send makes the call on behalf of the caller in rs and records its
// outcome.
func (g *Gateway) send(ctx context.Context, rs *reqState, r upstream.Request) (*upstream.Response, error) {
	r.RequestID = rs.requestID
	r.BearerToken = rs.identity.Token
	start := time.Now()
	resp, err := g.client.Do(ctx, r)
	if resp != nil {
		rs.upstreamStatus = resp.Status
	}
	g.metrics.upstreamCall(r.Operation, err).Observe(time.Since(start).Seconds())
	if errors.Is(err, upstream.ErrNoRoom) {
		g.metrics.budgetRefusals.WithLabelValues(r.Operation).Inc()
	}
	return resp, err
}

// judge returns what the gateway makes of an upstream answer to op: from
// the memo, or decoded once, checked by the drift watch (when on) and,
// when it is a 2xx, pruned to what the contract names. The rating list is
// kept as bytes, the other operations' answers as a decoded value that
// their handlers render. A drifted type or format is counted, not an
// outage; only a 2xx answer that is not JSON is unusable.
func (g *Gateway) judge(ctx context.Context, op string, resp *upstream.Response, now time.Time) *judged {
	k := answerKey{op: op, status: resp.Status, header: [len(checkedHeaders)]string{resp.ContentType, resp.RetryAfter}, body: resp.Body}
	if j := g.answers.get(&k, now); j != nil {
		return j
	}
	j := &judged{key: k}
	ok := resp.Status >= 200 && resp.Status <= 299
	isJSON := isJSONContentType(resp.ContentType)
	var value any
	var decodeErr error
	if isJSON || g.drift != nil {
		value, decodeErr = contracts.DecodeJSON(resp.Body)
	}
	if g.drift != nil {
		// Any 2xx is checked as the 200 the client gets (R3-T1): a 201 for
		// a stored rating is not an error answer.
		status := resp.Status
		if ok {
			status = fiber.StatusOK
		}
		j.violations = g.checkDrift(ctx, contracts.Answer{Operation: op, Status: status,
			Header: upstreamHeader(resp), Value: value, DecodeErr: decodeErr})
	}
	switch {
	case !ok:
	case !isJSON:
		j.err = fmt.Errorf("%w: content type is not JSON", upstream.ErrBadResponse)
	case decodeErr != nil:
		j.err = fmt.Errorf("%w: %s answer is not JSON", upstream.ErrBadResponse, op)
	default:
		j.value, j.err = g.contract.PruneValue(op, value)
	}
	if op == contracts.OpListRatings && j.err == nil && j.value != nil {
		j.clean, j.err = json.Marshal(j.value)
		j.value = nil
	}
	g.answers.put(j, now)
	return j
}

// upstreamHeader is the headers of resp the contract names, for the drift
// watch.
func upstreamHeader(resp *upstream.Response) http.Header {
	h := make(http.Header, 2)
	if resp.ContentType != "" {
		h.Set(fiber.HeaderContentType, resp.ContentType)
	}
	if resp.RetryAfter != "" {
		h.Set(fiber.HeaderRetryAfter, resp.RetryAfter)
	}
	return h
}

// forwarded returns the request's values of Dev.ForwardHeaders (the
// mock's fault headers), copied out of fasthttp's buffers. A production
// gateway has no ForwardHeaders, so nothing a client sends is ever
// forwarded to a real upstream (F-36).
func (g *Gateway) forwarded(c *fiber.Ctx) []upstream.Header {
	var out []upstream.Header
	for _, name := range g.dev.ForwardHeaders {
		if v := c.Request().Header.Peek(name); len(v) > 0 {
			out = append(out, upstream.Header{Name: name, Value: string(v)})
		}
	}
	return out
}

// asksFault reports whether fwd carries a header that asks the upstream
// for a fault (Dev.FaultHeaders): its answer is the client's choice, not
// the upstream's health.
func (g *Gateway) asksFault(fwd []upstream.Header) bool {
	for _, h := range fwd {
		if slices.Contains(g.dev.FaultHeaders, h.Name) {
			return true
		}
	}
	return false
}

var errorCodePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// upstreamClientError passes an upstream 4xx to the client with its status
// and, when the upstream sent a well-formed error body, its code and
// message (those are meant for clients); anything else gets a generic text,
// and so does a message that quotes any of secrets (the API key, the
// caller's token) even in part (S-03).
func upstreamClientError(resp *upstream.Response, secrets ...string) *apiError {
	ae := &apiError{status: resp.Status, code: contracts.CodeBadRequest, message: http.StatusText(resp.Status) + ".", upstream: true}
	if resp.Status == fiber.StatusUnauthorized {
		ae.challenge = `Bearer realm="minbil", error="invalid_token"`
		ae.code = contracts.CodeUnauthorized
	}
	if resp.Status == fiber.StatusTooManyRequests {
		ae.code = contracts.CodeRateLimited
		ae.retryAfter = time.Second
		if s, err := strconv.Atoi(resp.RetryAfter); err == nil && s > 0 && s < 3600 {
			ae.retryAfter = time.Duration(s) * time.Second
		}
	}
	var body contracts.ErrorBody
	if json.Unmarshal(resp.Body, &body) == nil && errorCodePattern.MatchString(body.Error.Code) &&
		body.Error.Message != "" && len(body.Error.Message) <= 500 && printable(body.Error.Message) &&
		!secret.Quotes(body.Error.Message, secrets...) {
		ae.code, ae.message = body.Error.Code, body.Error.Message
	}
	return ae
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// isJSONContentType reports whether ct is application/json, with any
// parameters; the two spellings upstreams send skip the parser's
// allocations.
func isJSONContentType(ct string) bool {
	switch ct {
	case fiber.MIMEApplicationJSON, fiber.MIMEApplicationJSONCharsetUTF8:
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == fiber.MIMEApplicationJSON
}

// errContractViolation is wrapped when enforce mode refuses an answer.
var errContractViolation = errors.New("upstream answer breaks the contract")
