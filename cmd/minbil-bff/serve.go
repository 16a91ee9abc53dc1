package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"go.opentelemetry.io/otel"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/cmd/internal/wire"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/scrub"
)

// runServe runs the gateway until SIGINT, SIGTERM or SIGHUP, then drains
// in-flight requests within server.shutdown_timeout.
func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("config", "", "YAML config file (default: built-in defaults, see configs/gateway.yaml)")
	var flags config.Flags
	fs.StringVar(&flags.Addr, "addr", "", "listen address (overrides server.addr, default :5000)")
	fs.StringVar(&flags.Upstream, "upstream", "", `"mock" or the upstream base URL (overrides upstream.url)`)
	cpuProfile := fs.String("cpu-profile", "", "profiling aid: write a CPU profile of the whole run, from start-up to shutdown on SIGINT, SIGTERM or SIGHUP, to `FILE` (read it with go tool pprof -top FILE)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("serve: %w", errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	cfg, err := config.Load(*path, os.LookupEnv)
	if err != nil {
		return err
	}
	cfg = cfg.ApplyFlags(flags)
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, stopLog, err := newLogger(os.Stderr, cfg.Log.Format, cfg.Log.Level, cfg.IsMock())
	if err != nil {
		return err
	}
	defer stopLog()
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	return scrubbed(errors.Join(serve(cfg, log), stopProfile()), scrub.New(cfg.Secrets()...))
}

// scrubbed returns err with its text passed through s: an error printed at
// exit holds no secret of the configuration, whatever a dependency quoted
// (main hides URL credentials in every error). errors.Is and errors.As
// still see err.
func scrubbed(err error, s *scrub.Scrubber) error {
	if err == nil {
		return nil
	}
	return &scrubbedError{err: err, text: s.String(err.Error())}
}

type scrubbedError struct {
	err  error
	text string
}

func (e *scrubbedError) Error() string { return e.text }

func (e *scrubbedError) Unwrap() error { return e.err }

// startCPUProfile starts the runtime's CPU profiler writing to path and
// returns the function that stops it and closes the file; with path "" it
// does nothing. The profile is written out only when stopProfile runs, so
// a process killed without a graceful shutdown leaves an empty file.
func startCPUProfile(path string) (stopProfile func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("serve: cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(fmt.Errorf("serve: cpu profile: %w", err), f.Close())
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("serve: cpu profile %s: %w", path, err)
		}
		return nil
	}, nil
}

func serve(cfg config.Config, log *zap.Logger) error {
	stack, err := wire.Build(cfg, log, wire.Options{})
	if err != nil {
		return err
	}
	log = stack.Log
	// The SDK reports failed trace exports through otel's one global
	// handler: to this log, scrubbed, instead of unstructured to stderr.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("trace export failed", zap.Error(err)) }))
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return errors.Join(fmt.Errorf("serve: %w", err), stack.Shutdown(context.Background()))
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, stopSignals...)
	defer signal.Stop(stop)
	served := make(chan error, 1)
	go func() { served <- stack.Gateway.Serve(ln) }()
	log.Info("gateway listening", zap.String("addr", ln.Addr().String()), zap.String("upstream", scrub.URL(cfg.Upstream.URL)),
		zap.String("auth", string(cfg.Auth.Mode)), zap.Stringer("config", cfg))

	select {
	case err := <-served:
		return errors.Join(err, stack.Shutdown(context.Background()))
	case sig := <-stop:
		log.Info("gateway shutting down", zap.Stringer("signal", sig), zap.Duration("deadline", cfg.Server.ShutdownTimeout))
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := stack.Shutdown(sctx); err != nil {
		return err
	}
	return <-served
}

// stopSignals end `serve` and `mock` gracefully: SIGHUP too, which closing
// the terminal that runs `make run` sends (in-flight requests drain
// instead of being reset).
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}
