// Package verify checks that a running target — the mock, the gateway or a
// real upstream — keeps the embedded contract. It builds its cases from the
// contract itself (the documented examples, the boundaries of every documented
// rule, auth and negative cases), runs a stateful rating flow unless the run is
// read-only, validates every answer with kin-openapi and reports each
// violation with the operation, the case and the JSON path of the field.
package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/minbil/minbil-bff/contracts"
)

// DevToken is the bearer token sent when none is configured on the command
// line: the mock and a dev-mode gateway accept it, and the mock maps it to
// its demo car owner, who has the documentation's unrated booking 123.
const DevToken = "demo"

// DefaultTimeout bounds each request when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// UnknownBookingID is a booking id that no target has. Rating-body cases are
// sent to it so that no case outside the stateful flow can ever rate a real
// booking, even on a target that fails to validate the body. It is below
// 2^53−1, so that a JavaScript upstream reads it as the integer it is.
const UnknownBookingID int64 = 9_000_000_000_000_000

// Exit codes of a run, as the command line uses them.
const (
	ExitOK         = 0 // every case passed or was skipped
	ExitViolations = 1 // at least one case broke the contract
	ExitUnusable   = 2 // the target could not be reached or the configuration is wrong
)

// ErrUnreachable is wrapped by the *RunError returned when the target cannot
// be reached (DNS, connection refused, TLS handshake).
var ErrUnreachable = errors.New("target unreachable")

// ErrInterrupted is wrapped by the *RunError returned when the run's context
// ends before the run does.
var ErrInterrupted = errors.New("run interrupted")

// ErrConfig is wrapped by the *RunError returned for a wrong Config.
var ErrConfig = errors.New("invalid configuration")

// ErrPrecondition is wrapped by the *RunError returned when the stateful
// flow cannot run against the target as configured (the booking is not the
// token's owner's, or not completed): not a contract violation.
var ErrPrecondition = errors.New("precondition not met")

// RunError says why a run could not be completed. Its exit code is
// ExitUnusable.
type RunError struct {
	// Kind is ErrUnreachable, ErrInterrupted, ErrConfig or ErrPrecondition.
	Kind error
	// Err is the cause, with context.
	Err error
}

func (e *RunError) Error() string { return e.Err.Error() }

// Unwrap returns the kind and the cause, so errors.Is matches either.
func (e *RunError) Unwrap() []error { return []error{e.Kind, e.Err} }

// ExitCode returns ExitUnusable.
func (e *RunError) ExitCode() int { return ExitUnusable }

// FailedError is returned by Report.Err when at least one case failed. Its
// exit code is ExitViolations.
type FailedError struct {
	Failed int
	Total  int
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d of %d cases broke the contract", e.Failed, e.Total)
}

// ExitCode returns ExitViolations.
func (e *FailedError) ExitCode() int { return ExitViolations }

// Config says what to verify and how. The zero value is not usable: Target
// is required.
type Config struct {
	// Target is the base URL of the target, e.g. http://127.0.0.1:5050 or
	// https://staging.example/minbil; operation paths are appended to it.
	Target string
	// Token is sent as "Authorization: Bearer <Token>" on every request
	// except the auth-negative cases. Empty means no token: cases that need
	// one are skipped.
	Token string
	// ReadOnly runs only requests that change nothing (GET); every POST,
	// including the stateful flow, is skipped.
	ReadOnly bool
	// BookingID is the booking the stateful flow rates. Zero means a
	// rateable booking of the token's owner when the target is our mock
	// (GET /_mock/bookings), else the documentation's example (the
	// booking_id parameter's example, 123).
	BookingID int64
	// Timeout bounds each request. Zero means DefaultTimeout.
	Timeout time.Duration
	// Level says which expectations fail the run. LevelAuto (zero) is
	// LevelStrict when the target serves the embedded contract at
	// /openapi.yaml or /docs/openapi.yaml, else LevelDocumented.
	Level Level
	// Checks are the checks that run. Nil means every check.
	Checks []Check
	// ExcludeChecks are left out of Checks.
	ExcludeChecks []Check
}

// enabled reports whether the check runs.
func (c Config) enabled(check Check) bool {
	if slices.Contains(c.ExcludeChecks, check) {
		return false
	}
	return c.Checks == nil || slices.Contains(c.Checks, check)
}

// Validate reports every problem of the configuration at once, each naming
// its flag. It changes nothing.
func (c Config) Validate() error {
	var problems []string
	if c.Target == "" {
		problems = append(problems, "--target is required")
	} else if u, err := url.Parse(c.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("--target %q must be an absolute http or https URL", c.Target))
	} else if u.RawQuery != "" || u.Fragment != "" {
		problems = append(problems, fmt.Sprintf("--target %q must not have a query or fragment", c.Target))
	}
	if c.BookingID < 0 {
		problems = append(problems, fmt.Sprintf("--booking-id %d must be at least 1", c.BookingID))
	}
	if c.BookingID == UnknownBookingID {
		problems = append(problems, fmt.Sprintf("--booking-id %d is the id the verifier uses as an unknown booking", c.BookingID))
	}
	if c.Timeout < 0 {
		problems = append(problems, fmt.Sprintf("--timeout %s must be positive", c.Timeout))
	}
	if strings.ContainsAny(c.Token, " \t\r\n") {
		problems = append(problems, "--token must not contain whitespace")
	}
	if c.Level != LevelAuto && c.Level != LevelDocumented && c.Level != LevelStrict {
		problems = append(problems, fmt.Sprintf("--level %q must be documented or strict", c.Level))
	}
	for _, ch := range slices.Concat(c.Checks, c.ExcludeChecks) {
		if !slices.Contains(Checks(), ch) {
			problems = append(problems, fmt.Sprintf("unknown check %q", ch))
		}
	}
	if len(problems) > 0 {
		return &RunError{Kind: ErrConfig, Err: fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))}
	}
	return nil
}

// withDefaults fills the zero fields that have defaults (the booking with
// the documentation's example: Run looks for a better one first).
func (c Config) withDefaults(contract *contracts.Contract) (Config, error) {
	if c.BookingID == 0 {
		id, err := ExampleBookingID(contract)
		if err != nil {
			return c, &RunError{Kind: ErrConfig, Err: err}
		}
		c.BookingID = id
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c, nil
}

// Run verifies the target: the generated cases that need no state, then the
// stateful flow (unless ReadOnly), then the cases that address the flow's
// booking. It returns a *RunError, with the results gathered so far, when the
// configuration is wrong or the target cannot be reached; contract
// violations are in the report (see Report.Err), not in the error.
func Run(ctx context.Context, contract *contracts.Contract, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r, done := newRunner(contract, cfg)
	defer done()
	report, err := r.prepare(ctx)
	if err != nil {
		return nil, err
	}
	cases, err := Cases(contract, r.cfg)
	if err != nil {
		return nil, &RunError{Kind: ErrConfig, Err: err}
	}

	var before, after []Case
	for _, c := range cases {
		if c.AfterFlow {
			after = append(after, c)
		} else {
			before = append(before, c)
		}
	}
	for _, c := range before {
		res, _, err := r.run(ctx, c)
		if err != nil {
			return report.finish(), err
		}
		report.add(res)
	}
	flowResults, err := r.flow(ctx)
	for _, res := range flowResults {
		report.add(res)
	}
	if err != nil {
		return report.finish(), err
	}
	for _, c := range after {
		res, _, err := r.run(ctx, c)
		if err != nil {
			return report.finish(), err
		}
		report.add(res)
	}
	return report.finish(), nil
}

// unreachable reports whether err means that no conversation with the target
// was possible at all, as opposed to a target that misbehaved mid-answer.
func unreachable(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &dnsErr), errors.As(err, &certErr), errors.As(err, &unknownAuth),
		errors.As(err, &hostErr), errors.As(err, &recordErr):
		return true
	case errors.As(err, &opErr):
		return opErr.Op == "dial"
	}
	return false
}
