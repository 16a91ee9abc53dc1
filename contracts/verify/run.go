package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/minbil/minbil-bff/contracts"
)

// maxAnswer bounds how much of an answer body is read.
const maxAnswer = 8 << 20

// runner sends the cases of one run and judges the answers.
type runner struct {
	contract *contracts.Contract
	cfg      Config
	base     *url.URL
	client   *http.Client
	runID    string
	seq      int
	// schemaDecision names the decision of the schemas that have one.
	schemaDecision map[*openapi3.Schema]DecisionID
}

// nextRequestID is the X-Request-ID of the next request, unique in the run.
func (r *runner) nextRequestID() string {
	r.seq++
	return fmt.Sprintf("verify-%s-%d", r.runID, r.seq)
}

// skipReason says why a case does not run, or "".
func (r *runner) skipReason(c Case) string {
	switch {
	case r.cfg.ReadOnly && c.Mutates:
		return "read-only run"
	case c.NeedsToken && r.cfg.Token == "":
		return "the operation needs a token and none was given"
	case !r.cfg.enabled(c.statusCheck()) && c.statusCheck() != CheckStatus:
		return fmt.Sprintf("check %s not selected", c.statusCheck())
	}
	return ""
}

// run sends one case and judges its answer. The answer is nil when the case
// was skipped or nothing came back. The error is a *RunError when the target
// cannot be reached or the run was cancelled; everything else is in the
// result.
func (r *runner) run(ctx context.Context, c Case) (Result, *Answer, error) {
	res := Result{
		Operation:  c.Operation,
		Case:       c.Name,
		Kind:       c.Kind,
		Request:    requestLine(c.Request),
		WantStatus: c.WantStatus,
	}
	if reason := r.skipReason(c); reason != "" {
		res.Outcome, res.SkipReason = Skip, reason
		return res, nil, nil
	}
	requestID := r.nextRequestID()
	start := time.Now()
	ans, err := r.send(ctx, c.Request, requestID)
	res.Seconds = time.Since(start).Seconds()
	if err != nil {
		var runErr *RunError
		if errors.As(err, &runErr) {
			return res, nil, err
		}
		res.add(documented(CheckServerError, "response", "no answer: "+err.Error()))
		return r.judged(res), nil, nil
	}
	res.Status = ans.Status
	res.add(judgeStatus(c, ans.Status)...)
	if op, ok := r.operation(c.Operation); ok {
		res.add(r.judgeAnswer(op, *ans)...)
	}
	res.add(requestIDCheck(requestID, *ans)...)
	if c.Check != nil {
		res.add(c.Check(*ans)...)
	}
	return r.judged(res), ans, nil
}

// judged keeps the findings of the selected checks and sets the outcome:
// at LevelDocumented a decided finding is a warning.
func (r *runner) judged(res Result) Result {
	findings := res.Violations
	res.Violations = nil
	for _, f := range findings {
		switch {
		case !r.cfg.enabled(f.Check):
		case !f.Documented() && r.cfg.Level == LevelDocumented:
			res.Warnings = append(res.Warnings, f)
		default:
			res.Violations = append(res.Violations, f)
		}
	}
	return res.judged()
}

// operation finds the contract's operation by its name.
func (r *runner) operation(name string) (contracts.Operation, bool) {
	for _, op := range r.contract.Operations() {
		if op.Name() == name {
			return op, true
		}
	}
	return contracts.Operation{}, false
}

// send performs one request. It never follows redirects.
func (r *runner) send(ctx context.Context, req Request, requestID string) (*Answer, error) {
	if err := ctx.Err(); err != nil {
		return nil, &RunError{Kind: ErrInterrupted, Err: fmt.Errorf("verify %s interrupted: %w", r.cfg.Target, err)}
	}
	u := *r.base
	u.Path = strings.TrimSuffix(r.base.Path, "/") + req.Path
	u.RawPath = ""
	if r.base.RawPath != "" || strings.Contains(req.Path, "%") {
		u.RawPath = strings.TrimSuffix(r.base.EscapedPath(), "/") + req.Path
	}
	u.RawQuery = req.Query.Encode()
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, vs := range req.Header {
		hreq.Header[k] = slices.Clone(vs)
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("X-Request-ID", requestID)
	if req.Body != nil && hreq.Header.Get("Content-Type") == "" {
		hreq.Header.Set("Content-Type", "application/json")
	}
	switch req.Auth {
	case AuthToken:
		if r.cfg.Token != "" {
			hreq.Header.Set("Authorization", "Bearer "+r.cfg.Token)
		}
	case AuthMalformed:
		hreq.Header.Set("Authorization", malformedToken)
	case AuthNone:
	}
	resp, err := r.client.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &RunError{Kind: ErrInterrupted, Err: fmt.Errorf("verify %s interrupted: %w", r.cfg.Target, ctx.Err())}
		}
		if unreachable(err) {
			return nil, &RunError{Kind: ErrUnreachable, Err: fmt.Errorf("cannot reach %s: %w", r.cfg.Target, unwrapURLError(err))}
		}
		return nil, unwrapURLError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if len(data) > maxAnswer {
		return nil, fmt.Errorf("answer larger than %d bytes", maxAnswer)
	}
	return &Answer{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// unwrapURLError drops net/http's "Post \"url\": " prefix, which repeats
// what the report already says.
func unwrapURLError(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

func requestLine(req Request) string {
	s := req.Method + " " + req.Path
	if len(req.Query) > 0 {
		s += "?" + req.Query.Encode()
	}
	return s
}

func statusList(codes []int) string {
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = strconv.Itoa(c)
	}
	switch len(parts) {
	case 0:
		return "no answer"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}
