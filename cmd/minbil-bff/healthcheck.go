package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// defaultHealthURL is the gateway's readiness endpoint on loopback, as seen
// from inside its own container.
const defaultHealthURL = "http://127.0.0.1:5000/readyz"

// healthBodyBytes bounds how much of an answer is read before the
// connection is closed; /readyz answers a few bytes.
const healthBodyBytes = 4 << 10

// runHealthcheck is the container health check for images without a shell
// or curl: it GETs --url once and succeeds on a 2xx answer.
func runHealthcheck(args []string) error {
	return healthcheck(context.Background(), args, os.Stderr)
}

// healthcheck parses args, GETs the URL and writes one line to stderr on
// success. Every failure, a bad flag included, is a plain error, so main
// exits 1: Docker reserves exit code 2 of a HEALTHCHECK command.
func healthcheck(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // main prints the error in one line
	target := fs.String("url", defaultHealthURL, "URL to GET; any 2xx answer is healthy")
	timeout := fs.Duration("timeout", 2*time.Second, "deadline of the whole request")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("healthcheck: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("healthcheck: unexpected argument %q", fs.Arg(0))
	}
	if *timeout <= 0 {
		return fmt.Errorf("healthcheck: --timeout %s is not positive", *timeout)
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("healthcheck: --url %q is not an http(s) URL", *target)
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	status, err := probe(ctx, u.String())
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	fmt.Fprintf(stderr, "minbil-bff: healthcheck: GET %s: %s\n", u.Redacted(), status)
	return nil
}

// probe GETs target and returns its status line, or an error for a transport
// failure or a status other than 2xx. It ignores proxy variables and does
// not follow redirects: the process checked is the one at target.
func probe(ctx context.Context, target string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", err
	}
	client := &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, healthBodyBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
	}
	return resp.Status, nil
}
