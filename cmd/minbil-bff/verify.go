package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/verify"
)

const verifyUsage = `Usage: minbil-bff verify --target URL [--token T] [--read-only] [--booking-id N]
                         [--level documented|strict] [--checks a,b] [--exclude-checks a,b]
                         [--junit FILE] [--format text|json] [--timeout 10s]
       minbil-bff verify --target A --compare B [--compare-token T] [--compare-booking-id N] ...

Checks that the target (the mock, the gateway or a real upstream) keeps the
embedded contract. At --level documented only what the documentation page
states fails; each decision of our contract (an x-assumption) the target
differs from is a named warning. --level strict enforces the decisions too;
the default is strict when the target serves our contract, else documented.
Checks: not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance, negative_data_rejection, auth, stateful,
response_semantics.

With --compare, sends the same cases to both targets and lists where the
answers differ (status, content type, fields, types, formats, error shape).

Exit code 0 when every case passes (warnings included), 1 on violations (or
a documented difference), 2 when the target cannot be reached, the
arguments are wrong or the flow cannot run (a booking not the token's).

Flags:
`

// verifyExit is an error that carries the exit code of the verify command.
// An empty message prints nothing more (the flag package already did).
type verifyExit struct {
	code int
	msg  string
}

func (e verifyExit) Error() string { return e.msg }
func (e verifyExit) ExitCode() int { return e.code }

// runVerify parses the verify flags and wires the verifier to stdout and the
// JUnit file; the logic is in contracts/verify.
func runVerify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), verifyUsage)
		fs.PrintDefaults()
	}
	var cfg verify.Config
	fs.StringVar(&cfg.Target, "target", "", "base `URL` of the target, e.g. http://127.0.0.1:5050 (required)")
	fs.StringVar(&cfg.Token, "token", verify.DevToken, "bearer `token` sent on every request except the auth cases; the default is the dev token the mock and a dev-mode gateway accept; \"\" sends none")
	fs.BoolVar(&cfg.ReadOnly, "read-only", false, "send only requests that change nothing (GET): for production")
	fs.Int64Var(&cfg.BookingID, "booking-id", 0, "the booking the stateful flow rates (default: the documentation's example, 123)")
	fs.DurationVar(&cfg.Timeout, "timeout", verify.DefaultTimeout, "timeout of each request")
	level := fs.String("level", "auto", "documented, strict or auto (strict when the target serves the embedded contract)")
	checks := fs.String("checks", "all", "comma-separated `checks` to run")
	exclude := fs.String("exclude-checks", "", "comma-separated `checks` to leave out")
	var other verify.Config
	fs.StringVar(&other.Target, "compare", "", "compare the target with this second target `URL`")
	fs.StringVar(&other.Token, "compare-token", verify.DevToken, "bearer `token` for the --compare target")
	fs.Int64Var(&other.BookingID, "compare-booking-id", 0, "the --compare target's own booking; with --booking-id, the cases that change state are compared too")
	junit := fs.String("junit", "", "also write the report as JUnit XML to `FILE`")
	format := fs.String("format", "text", "report format on stdout: text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return verifyExit{code: verify.ExitUnusable}
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if *format != "text" && *format != "json" {
		problems = append(problems, fmt.Sprintf("--format %q must be text or json", *format))
	}
	if cfg.Timeout <= 0 {
		problems = append(problems, fmt.Sprintf("--timeout %s must be positive", cfg.Timeout))
	}
	var err error
	if cfg.Level, err = verify.ParseLevel(*level); err != nil {
		problems = append(problems, err.Error())
	}
	if cfg.Checks, err = verify.ParseChecks(*checks); err != nil {
		problems = append(problems, "--checks: "+err.Error())
	}
	if *exclude != "" {
		if cfg.ExcludeChecks, err = verify.ParseChecks(*exclude); err != nil {
			problems = append(problems, "--exclude-checks: "+err.Error())
		}
	}
	if err := cfg.Validate(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return verifyExit{code: verify.ExitUnusable, msg: "verify: " + strings.Join(problems, "; ") + " (see minbil-bff verify -h)"}
	}

	contract, err := contracts.Load()
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if other.Target != "" {
		other.Timeout, other.ReadOnly = cfg.Timeout, cfg.ReadOnly
		return runCompare(ctx, contract, cfg, other, *format)
	}
	start := time.Now()
	report, err := verify.Run(ctx, contract, cfg)
	if err != nil {
		if report != nil && errors.Is(err, verify.ErrPrecondition) {
			// What ran before the flow stopped is worth seeing.
			_ = report.WriteText(os.Stdout)
		}
		return fmt.Errorf("verify: %w", err)
	}
	write := report.WriteText
	if *format == "json" {
		write = report.WriteJSON
	}
	if err := write(os.Stdout); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if *junit != "" {
		if err := writeJUnit(*junit, report.WriteJUnit); err != nil {
			return verifyExit{code: verify.ExitUnusable, msg: fmt.Sprintf("verify: %v", err)}
		}
	}
	if err := report.Err(); err != nil {
		return fmt.Errorf("verify: %w (in %s)", err, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// runCompare runs verify --compare and prints the differences.
func runCompare(ctx context.Context, contract *contracts.Contract, a, b verify.Config, format string) error {
	cmp, err := verify.Compare(ctx, contract, a, b)
	if err != nil {
		return fmt.Errorf("verify --compare: %w", err)
	}
	write := cmp.WriteText
	if format == "json" {
		write = cmp.WriteJSON
	}
	if err := write(os.Stdout); err != nil {
		return fmt.Errorf("verify --compare: %w", err)
	}
	if code := cmp.ExitCode(); code != verify.ExitOK {
		return verifyExit{code: code, msg: fmt.Sprintf("verify --compare: %s and %s differ where the documentation is explicit", a.Target, b.Target)}
	}
	return nil
}

func writeJUnit(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("junit %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("junit %s: %w", path, err)
	}
	return nil
}
