package mock

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/minbil/minbil-bff/contracts"
)

// The per-request fault headers (honoured with Config.AllowFaultHeaders).
const (
	// HeaderPrefer asks for an answer with another status: "code=503".
	HeaderPrefer = "Prefer"
	// HeaderDelay delays the answer: "800ms", "2s" or whole milliseconds.
	HeaderDelay = "X-Mock-Delay"
)

// declaredStatuses reads, per operationId, the statuses the contract
// declares, so that Prefer: code=NNN only produces answers the contract
// allows.
func declaredStatuses(c *contracts.Contract) (map[string]map[int]bool, error) {
	out := map[string]map[int]bool{}
	for _, op := range c.Operations() {
		if op.Op == nil || op.Op.Responses == nil {
			continue
		}
		codes := map[int]bool{}
		for status := range op.Op.Responses.Map() {
			if n, err := strconv.Atoi(status); err == nil {
				codes[n] = true
			}
		}
		out[op.Op.OperationID] = codes
	}
	for _, id := range contracts.OperationIDs() {
		if len(out[id]) == 0 {
			return nil, fmt.Errorf("contract has no responses for operation %s", id)
		}
	}
	return out, nil
}

// faults is the fault-injection step in front of one operation: the
// mock-wide latency and error rate and, when allowed, the per-request
// headers X-Mock-Delay and Prefer: code=NNN. A malformed fault header, or a
// status the operation does not declare, is a 400 so the mistake is seen.
func (s *Server) faults(op string) fiber.Handler {
	declared := s.declared[op]
	return func(c *fiber.Ctx) error {
		delay := s.cfg.Latency
		code := 0
		if s.cfg.AllowFaultHeaders {
			h := &c.Request().Header
			if v := h.Peek(HeaderDelay); v != nil {
				d, err := parseDelay(string(v))
				if err != nil {
					return newAPIError(http.StatusBadRequest, contracts.CodeBadRequest,
						"X-Mock-Delay must be a duration such as 800ms or 2s (or whole milliseconds), at most "+MaxDelay.String()+".")
				}
				delay = d
			}
			var err error
			if code, err = preferredCode(h.PeekAll(HeaderPrefer)); err != nil {
				return newAPIError(http.StatusBadRequest, contracts.CodeBadRequest, "Prefer: code must be an HTTP status code, such as code=503.")
			}
			if code != 0 && code != http.StatusOK && (code < 400 || !declared[code]) {
				return newAPIError(http.StatusBadRequest, contracts.CodeBadRequest,
					fmt.Sprintf("Prefer: code=%d is not an answer of this operation; it declares %s.", code, statusList(declared)))
			}
		}
		if delay > 0 {
			s.wait(delay)
		}
		if code >= 400 {
			c.Locals(localFault, "prefer")
			return injected(code, fmt.Sprintf("Injected fault: status %d asked for with the Prefer header.", code))
		}
		if s.cfg.ErrorRate > 0 && s.chance() < s.cfg.ErrorRate {
			c.Locals(localFault, "error_rate")
			return injected(http.StatusServiceUnavailable, "Injected fault: the mock is set to fail a share of requests (--error-rate).")
		}
		return c.Next()
	}
}

// injected builds an injected answer with the headers the contract
// requires for its status.
func injected(status int, message string) *apiError {
	var header []string
	switch status {
	case http.StatusUnauthorized:
		header = []string{fiber.HeaderWWWAuthenticate, realm}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		header = []string{fiber.HeaderRetryAfter, "1"}
	}
	return newAPIError(status, contracts.CodeInjectedFault, message, header...)
}

// wait sleeps for d, or until Shutdown.
func (s *Server) wait(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.stop:
	}
}

func statusList(declared map[int]bool) string {
	codes := make([]int, 0, len(declared))
	for c := range declared {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = strconv.Itoa(c)
	}
	return strings.Join(parts, ", ")
}

// parseDelay reads X-Mock-Delay: a Go duration ("800ms", "2s") or whole
// milliseconds ("800"). Longer than MaxDelay waits MaxDelay.
func parseDelay(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(n) * time.Millisecond
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, fmt.Errorf("mock delay: %w", err)
	}
	if d < 0 {
		return 0, fmt.Errorf("mock delay: %s is negative", d)
	}
	return min(d, MaxDelay), nil
}

// preferredCode reads the code preference of Prefer headers (RFC 7240,
// as Stoplight Prism understands it): "code=503", possibly among other
// preferences ("return=minimal, code=503"). The first code wins; 0 means
// none was asked for.
func preferredCode(values [][]byte) (int, error) {
	for _, v := range values {
		for _, pref := range strings.Split(string(v), ",") {
			if i := strings.IndexByte(pref, ';'); i >= 0 {
				pref = pref[:i]
			}
			name, value, _ := strings.Cut(pref, "=")
			if !strings.EqualFold(strings.TrimSpace(name), "code") {
				continue
			}
			value = strings.Trim(strings.TrimSpace(value), `"`)
			n, err := strconv.Atoi(value)
			if err != nil || len(value) != 3 || n < 100 || n > 599 {
				return 0, fmt.Errorf("prefer code %q: not a status code", value)
			}
			return n, nil
		}
	}
	return 0, nil
}

// jwtSubject returns the sub claim of a JWT without verifying it: the mock
// only needs to know whose data to show.
func jwtSubject(token string) (string, bool) {
	first := strings.IndexByte(token, '.')
	last := strings.LastIndexByte(token, '.')
	if first <= 0 || first == last {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(token[first+1:last], "="))
	if err != nil {
		return "", false
	}
	var claims struct {
		Sub any `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", false
	}
	sub, ok := claims.Sub.(string)
	return sub, ok && sub != ""
}

// FaultHeaders are the request headers that ask the mock for a fault (a
// status, a delay): a gateway in front of it must not take the answer for
// the upstream's health.
func FaultHeaders() []string { return []string{HeaderPrefer, HeaderDelay} }
