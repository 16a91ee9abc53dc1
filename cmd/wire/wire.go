// Package wire assembles minbil-bff's gateway from a configuration: the
// contract, the authenticator, the upstream (a real URL, or the built-in
// mock served in process together with the development abilities it
// brings) and the gateway itself. `serve` and every test harness build a
// gateway through Build, so the parts are put together in one place.
package wire

import (
	"context"
	"errors"
	"fmt"
	"os"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/scrub"
	"github.com/minbil/minbil-bff/gateway/upstream"
	"github.com/minbil/minbil-bff/mock"
)

// Options change what Build makes, for tests. The zero value builds what
// `serve` runs.
type Options struct {
	// Auth are options of the authenticator (a simulated clock).
	Auth []auth.Option
	// Authenticator replaces the one built from cfg.Auth.
	Authenticator gateway.Authenticator
	// Dial replaces DNS and TCP toward a real upstream.
	Dial upstream.Dialer
	// Tracer replaces the tracer provider built from the OTEL_*
	// environment (Tracer); the caller shuts it down.
	Tracer trace.TracerProvider
}

// Stack is a built gateway with everything it was built from that needs
// stopping.
type Stack struct {
	Gateway *gateway.Gateway
	// Log is the logger every part writes to, scrubbed of secrets.
	Log *zap.Logger
	// stops run in reverse order of start by Shutdown.
	stops []func(context.Context) error
}

// Build assembles the gateway for cfg (already validated). With
// upstream.url "mock" it starts the built-in mock in process, with fault
// headers, its control routes and the per-answer contract check; with a
// real upstream the gateway has none of these.
func Build(cfg config.Config, log *zap.Logger, opts Options) (s *Stack, err error) {
	log = Scrubbed(log, cfg)
	s = &Stack{Log: log}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Shutdown(context.Background()))
		}
	}()
	c, err := contracts.Load()
	if err != nil {
		return s, fmt.Errorf("wire: %w", err)
	}
	deps := gateway.Deps{Contract: c, Log: log, Auth: opts.Authenticator, Upstream: gateway.Upstream{Dial: opts.Dial}, Tracer: opts.Tracer}
	if deps.Tracer == nil {
		// Started first, so shut down last: it flushes the spans of the
		// requests the gateway drained.
		tp, err := Tracer(os.Getenv)
		if err != nil {
			return s, err
		}
		if tp != nil {
			s.stops = append(s.stops, tp.Shutdown)
			deps.Tracer = tp
		}
	}
	if deps.Auth == nil {
		a, err := auth.New(cfg.Auth, log, opts.Auth...)
		if err != nil {
			return s, err
		}
		s.stops = append(s.stops, func(context.Context) error { a.Close(); return nil })
		deps.Auth = a
	}
	if cfg.IsMock() {
		if err := s.startMock(cfg.Mock, c, log, &deps); err != nil {
			return s, err
		}
	}
	g, err := gateway.New(cfg, deps)
	if err != nil {
		return s, err
	}
	s.Gateway = g
	s.stops = append(s.stops, g.Shutdown)
	return s, nil
}

// Scrubbed wraps log so that no line it writes holds a secret of cfg (the
// upstream API key, the JWT secret, the Redis password), a part of one, or
// a credential-shaped string, whatever the code logged.
func Scrubbed(log *zap.Logger, cfg config.Config) *zap.Logger {
	s := scrub.New(cfg.Upstream.APIKey, cfg.Auth.JWT.HS256Secret, cfg.Store.Redis.Password)
	return log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return scrub.Core(c, s) }))
}

// startMock serves the built-in mock in process and makes it the upstream
// of deps, with the development abilities.
func (s *Stack) startMock(cfg config.Mock, c *contracts.Contract, log *zap.Logger, deps *gateway.Deps) error {
	m, err := mock.StartInProcess(mock.Config{Seed: cfg.Seed, StateFile: cfg.StateFile, AllowFaultHeaders: true}, c, log)
	if err != nil {
		return err
	}
	s.stops = append(s.stops, m.Shutdown)
	deps.Upstream = gateway.Upstream{URL: mock.InProcessURL, Dial: m.Dial}
	deps.Dev = &gateway.Dev{ForwardHeaders: mock.DevHeaders(), PassThrough: mock.ControlPaths(), Control: mock.ControlRoutes(), ContractCheck: true}
	return nil
}

// Shutdown stops what Build started, in reverse order: the gateway drains
// its in-flight requests (until ctx is done) before the mock they may be
// waiting for stops. It is safe to call more than once.
func (s *Stack) Shutdown(ctx context.Context) error {
	var errs []error
	for i := len(s.stops) - 1; i >= 0; i-- {
		errs = append(errs, s.stops[i](ctx))
	}
	s.stops = nil
	return errors.Join(errs...)
}
