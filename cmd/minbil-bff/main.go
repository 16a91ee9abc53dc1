// Command minbil-bff is the MinBil Ratings backend-for-frontend: the gateway
// (serve), the contract-faithful mock (mock) and the contract verifier
// (verify) in one binary.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/minbil/minbil-bff/gateway/scrub"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `minbil-bff — backend-for-frontend for the MinBil Ratings API

Usage:
  minbil-bff serve   [--config FILE] [--addr :5000] [--upstream mock|URL] [--cpu-profile FILE]
  minbil-bff mock    [--addr 127.0.0.1:5050] [--seed N] [--state FILE]
  minbil-bff verify  --target URL [--token T] [--read-only] [--junit FILE] [--format text|json]
  minbil-bff healthcheck [--url http://127.0.0.1:5000/readyz] [--timeout 2s]
  minbil-bff version

Run "minbil-bff COMMAND -h" for the flags of a command.
`

// errUsage is returned for a wrong command line; main exits 2 on it.
var errUsage = errors.New("usage")

// exitCoder lets a command choose its exit code (verify: 1 on violations).
type exitCoder interface{ ExitCode() int }

func main() {
	err := run(os.Args[1:])
	if err == nil {
		return
	}
	// Every message shown hides the credentials of the URLs it quotes (a
	// dependency's error quotes a URL whole, query and all).
	var ec exitCoder
	switch {
	case errors.As(err, &ec):
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "minbil-bff:", scrub.URLs(msg))
		}
		os.Exit(ec.ExitCode())
	case errors.Is(err, errUsage):
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "minbil-bff:", scrub.URLs(err.Error()))
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(rest)
	case "mock":
		return runMock(rest)
	case "verify":
		return runVerify(rest)
	case "healthcheck":
		return runHealthcheck(rest)
	case "version", "--version":
		fmt.Println("minbil-bff", version)
		return nil
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	return fmt.Errorf("unknown command %q: %w", cmd, errUsage)
}
