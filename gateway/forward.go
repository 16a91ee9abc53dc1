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

	"github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// call sends one request upstream on behalf of the caller in rs, records
// its outcome, checks the answer against the contract (drift watch) and
// turns an upstream 4xx into the answer the client gets.
func (g *Gateway) call(ctx context.Context, rs *reqState, r upstream.Request) (*upstream.Response, error) {
	if !g.cfg.IsMock() {
		r.MockFaults = upstream.MockFaults{} // never to a real upstream (F-36)
	}
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
	if resp != nil {
		if derr := g.drift.check(ctx, r, resp); derr != nil {
			return nil, derr
		}
	}
	if err != nil {
		return nil, err
	}
	if resp.Status >= 400 {
		return nil, upstreamClientError(resp, g.cfg.Upstream.APIKey, rs.identity.Token)
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("%w: unexpected status %d", upstream.ErrBadResponse, resp.Status)
	}
	return resp, nil
}

// mockFaults returns the client's fault-injection headers (Prefer,
// X-Mock-Delay) when the upstream is the built-in mock, so the docs console
// can inject faults through the gateway. With a real upstream it is always
// empty: client headers never reach a real upstream (F-36).
func (g *Gateway) mockFaults(c *fiber.Ctx) upstream.MockFaults {
	if !g.cfg.IsMock() {
		return upstream.MockFaults{}
	}
	return upstream.MockFaults{
		Prefer: utils.CopyString(c.Get("Prefer")),
		Delay:  utils.CopyString(c.Get("X-Mock-Delay")),
	}
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

// decodeUpstream reads a 2xx upstream answer into its typed struct: only
// the fields the contract names survive (extra fields are dropped), and an
// answer that is not JSON of that shape is a bad gateway.
//
// Upstream bodies are outside input: they are decoded with encoding/json,
// not goccy/go-json, whose decoder panicked on a malformed body the fuzzer
// found (testdata/fuzz/FuzzUpstreamAnswer). json.Unmarshal checks the whole
// body before decoding, so trailing data after the value is refused like
// any other malformed answer.
func decodeUpstream(resp *upstream.Response, into any) error {
	if !isJSONContentType(resp.ContentType) {
		return fmt.Errorf("%w: content type %q", upstream.ErrBadResponse, resp.ContentType)
	}
	if err := stdjson.Unmarshal(resp.Body, into); err != nil {
		return fmt.Errorf("%w: decode: %w", upstream.ErrBadResponse, err)
	}
	return nil
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

// writeJSON writes v as the JSON answer with status.
func (g *Gateway) writeJSON(c *fiber.Ctx, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(b)
}

// driftWatch validates upstream answers against the contract: off, log
// (count, and log the first occurrence of each kind of violation) or
// enforce (a violating answer becomes a 502).
type driftWatch struct {
	contract *contracts.Contract
	mode     string
	metrics  *metrics
	answers  *answerCheck
}

func newDriftWatch(c *contracts.Contract, mode string, m *metrics, log *zap.Logger) *driftWatch {
	return &driftWatch{contract: c, mode: mode, metrics: m,
		answers: newAnswerCheck(log.Named("drift"), "upstream answer breaks the contract")}
}

// errContractViolation is wrapped when enforce mode refuses an answer.
var errContractViolation = errors.New("upstream answer breaks the contract")

func (d *driftWatch) check(ctx context.Context, r upstream.Request, resp *upstream.Response) error {
	if d.mode == "off" || d.mode == "" {
		return nil
	}
	key := d.answers.passed.key(r.Operation, resp.Status, resp.ContentType, resp.RetryAfter, resp.Body)
	if d.answers.known(key) {
		return nil
	}
	ve := d.answers.record(key, resp.Status, d.validate(ctx, r, resp))
	if ve == nil {
		return nil
	}
	d.metrics.contractViolation.WithLabelValues(r.Operation).Inc()
	if d.mode == "enforce" {
		return fmt.Errorf("%w: %w", upstream.ErrBadResponse, errContractViolation)
	}
	return nil
}

func (d *driftWatch) validate(ctx context.Context, r upstream.Request, resp *upstream.Response) error {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.Path, nil)
	if err != nil {
		return fmt.Errorf("drift watch: %w", err)
	}
	h := http.Header{"Content-Type": {resp.ContentType}}
	if resp.RetryAfter != "" {
		h.Set("Retry-After", resp.RetryAfter)
	}
	return d.contract.ValidateResponse(ctx, req, resp.Status, h, resp.Body)
}
