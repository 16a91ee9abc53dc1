package gateway

import (
	"context"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// call sends one request upstream on behalf of the caller in rs, records
// its outcome, checks the answer against the contract (drift watch) and
// turns an upstream 4xx into the answer the client gets.
func (g *Gateway) call(ctx context.Context, rs *reqState, r upstream.Request) (*upstream.Response, error) {
	r.RequestID = rs.requestID
	r.Authorization = rs.identity.Token
	if r.Authorization != "" {
		r.Authorization = "Bearer " + r.Authorization
	}
	start := time.Now()
	resp, err := g.client.Do(ctx, r)
	outcome := "ok"
	if resp != nil {
		rs.upstreamStatus = resp.Status
	}
	if err != nil {
		outcome = "error"
	}
	g.metrics.upstreamDuration.WithLabelValues(r.Operation, outcome).Observe(time.Since(start).Seconds())
	if resp != nil && g.drift != nil {
		if derr := g.checkDrift(ctx, r, resp); derr != nil {
			return nil, derr
		}
	}
	if err != nil {
		return nil, err
	}
	if r.Relay {
		// A relayed answer (a development pass-through) goes back as the
		// upstream gave it, 3xx and 4xx included; 5xx is an error above.
		return resp, nil
	}
	if resp.Status >= 400 {
		return nil, upstreamClientError(resp, g.cfg.Upstream.APIKey, rs.identity.Token)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return nil, fmt.Errorf("%w: unexpected status %d", upstream.ErrBadResponse, resp.Status)
	}
	return resp, nil
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
	if stdjson.Unmarshal(resp.Body, &body) == nil && errorCodePattern.MatchString(body.Error.Code) &&
		body.Error.Message != "" && len(body.Error.Message) <= 500 && printable(body.Error.Message) &&
		!quotesSecret(body.Error.Message, secrets) {
		ae.code, ae.message = body.Error.Code, body.Error.Message
	}
	return ae
}

// secretWindow is the shortest part of a secret that counts as quoting it.
const secretWindow = 8

// quotesSecret reports whether s contains any secretWindow-long part of one
// of secrets (or a shorter secret whole).
func quotesSecret(s string, secrets []string) bool {
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		if len(secret) <= secretWindow {
			if strings.Contains(s, secret) {
				return true
			}
			continue
		}
		for i := 0; i+secretWindow <= len(secret); i++ {
			if strings.Contains(s, secret[i:i+secretWindow]) {
				return true
			}
		}
	}
	return false
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// readUpstream keeps of a 2xx upstream answer to operation op what the
// contract names (contracts.Prune): unknown fields are dropped at every
// level, the named ones pass as the upstream sent them, so a drifted type or
// format is counted by the drift watch, not turned into an outage. Only an
// answer that is not JSON is a bad gateway.
func (g *Gateway) readUpstream(op string, resp *upstream.Response) ([]byte, error) {
	if !isJSONContentType(resp.ContentType) {
		return nil, fmt.Errorf("%w: content type is not JSON", upstream.ErrBadResponse)
	}
	b, err := g.contract.Prune(op, resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s answer is not JSON", upstream.ErrBadResponse, op)
	}
	return b, nil
}

// decodeUpstream reads a 2xx upstream answer into its typed struct: only
// the fields the contract names survive (extra fields are dropped), and an
// answer that is not JSON of that shape is a bad gateway. The error says
// where and what kind, never the value (S-13: an upstream may echo secrets).
//
// Upstream bodies are outside input: they are decoded with encoding/json,
// not goccy/go-json, whose decoder panicked on a malformed body the fuzzer
// found (testdata/fuzz/FuzzUpstreamAnswer). json.Unmarshal checks the whole
// body before decoding, so trailing data after the value is refused like
// any other malformed answer.
func decodeUpstream(resp *upstream.Response, into any) error {
	if !isJSONContentType(resp.ContentType) {
		return fmt.Errorf("%w: content type is not JSON", upstream.ErrBadResponse)
	}
	if err := stdjson.Unmarshal(resp.Body, into); err != nil {
		return fmt.Errorf("%w: decode: %s", upstream.ErrBadResponse, jsonProblem(err))
	}
	return nil
}

// jsonProblem describes a decoding error by where and what kind only.
func jsonProblem(err error) string {
	var te *stdjson.UnmarshalTypeError
	var se *stdjson.SyntaxError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("field %q: got a JSON %s, want %s", te.Field, te.Value, te.Type)
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at offset %d", se.Offset)
	}
	return "not the expected JSON"
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

// checkDrift checks an upstream answer against the contract: each
// violating answer is counted (and each kind logged once); in enforce mode
// it becomes a bad gateway.
func (g *Gateway) checkDrift(ctx context.Context, r upstream.Request, resp *upstream.Response) error {
	ve, _ := g.drift.Check(ctx, upstreamAnswer(r, resp))
	if ve == nil {
		return nil
	}
	g.metrics.contractViolation.WithLabelValues(r.Operation).Inc()
	if g.cfg.Upstream.ValidateResponses == config.ValidateEnforce {
		return fmt.Errorf("%w: %w", upstream.ErrBadResponse, errContractViolation)
	}
	return nil
}
