package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/scrub"
	"github.com/minbil/minbil-bff/mock"
	"github.com/minbil/minbil-bff/mock/idp"
)

// mockShutdownGrace bounds how long in-flight requests may finish after a
// stop signal.
const mockShutdownGrace = 10 * time.Second

// runMock runs the standalone mock until SIGINT, SIGTERM or SIGHUP.
func runMock(args []string) error {
	fs := flag.NewFlagSet("mock", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:5050", "listen address")
	var cfg mock.Config
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed of the generated data (0: random)")
	fs.StringVar(&cfg.StateFile, "state", "", "file that keeps ratings across restarts (default: memory only)")
	fs.Int64Var(&cfg.MaxBytes, "max-bytes", mock.DefaultMaxBytes, "bytes the mock may hold for owners, sessions and scenarios; when the ratings and scenarios it keeps fill half, new ones answer 503")
	fs.DurationVar(&cfg.Latency, "latency", 0, "delay added to every answer, e.g. 200ms (at most 30s)")
	fs.Float64Var(&cfg.ErrorRate, "error-rate", 0, "fraction 0..1 of requests that answer 503 injected_fault")
	recordURL := fs.String("record", "", "forward every operation to this upstream URL and write scrubbed fixtures to --fixtures (API key from $"+config.APIKeyEnv+")")
	fixturesDir := fs.String("fixtures", "", "the fixtures directory --record writes")
	fs.StringVar(&cfg.Replay, "replay", "", "serve the fixtures of this directory offline, with the mock's state on top")
	fs.StringVar(&cfg.Issuer, "issuer", idp.DefaultIssuer, "iss of the identity provider's tokens (/_dev/token, /token)")
	fs.StringVar(&cfg.Audience, "audience", idp.DefaultAudience, "aud of its access tokens")
	logFormat := fs.String("log-format", "console", "log format: console or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("mock: %w", errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("mock: unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	// The standalone mock is for frontend developers testing their error
	// handling: fault headers are on.
	cfg.AllowFaultHeaders = true
	if *recordURL != "" || *fixturesDir != "" {
		if *recordURL == "" || *fixturesDir == "" {
			return fmt.Errorf("mock: --record URL and --fixtures DIR go together: %w", errUsage)
		}
		cfg.Record = &mock.RecordConfig{Upstream: *recordURL, APIKey: os.Getenv(config.APIKeyEnv), Fixtures: *fixturesDir}
	}

	log, stopLog, err := newLogger(os.Stderr, *logFormat, "info", true)
	if err != nil {
		return err
	}
	defer stopLog()

	c, err := contracts.Load()
	if err != nil {
		return fmt.Errorf("mock: %w", err)
	}
	srv, err := mock.New(cfg, c, log)
	if err != nil {
		return err
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, stopSignals...)
	defer signal.Stop(stop)
	served := make(chan error, 1)
	go func() { served <- srv.Listen(*addr) }()
	// The record URL is shown as the gateway shows its own (R3-F17): the
	// mock's log has no scrubbing core, and a query may carry a key.
	log.Info("mock listening", zap.String("addr", "http://"+*addr), zap.Int64("seed", srv.Seed()),
		zap.String("state", cfg.StateFile), zap.Int64("max_bytes", cfg.MaxBytes), zap.Duration("latency", cfg.Latency), zap.Float64("error_rate", cfg.ErrorRate),
		zap.String("record", scrub.URL(*recordURL)), zap.String("fixtures", *fixturesDir), zap.String("replay", cfg.Replay))
	log.Info("identity provider", zap.String("jwks_url", "http://"+*addr+idp.PathJWKS),
		zap.String("issuer", srv.Issuer()), zap.String("audience", srv.Audience()))

	select {
	case err := <-served:
		return err
	case sig := <-stop:
		log.Info("mock shutting down", zap.Stringer("signal", sig))
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), mockShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	return <-served
}
