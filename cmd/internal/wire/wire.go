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
	"net"
	"net/http"
	"os"
	"time"

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
	"github.com/minbil/minbil-bff/mock/idp"
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
	var m *mock.InProcess
	if cfg.IsMock() {
		if m, err = s.startMock(cfg.Mock, c, log, &deps); err != nil {
			return s, err
		}
	}
	if deps.Auth == nil {
		authCfg, authOpts := cfg.Auth, opts.Auth
		if cfg.Auth.Mode == config.AuthLocalIDP && m != nil {
			var tr *http.Transport
			authCfg, authOpts, tr = localIDP(cfg.Auth, m, authOpts)
			s.stops = append(s.stops, func(context.Context) error { tr.CloseIdleConnections(); return nil })
		}
		a, err := auth.New(authCfg, log, authOpts...)
		if err != nil {
			return s, err
		}
		s.stops = append(s.stops, func(context.Context) error { a.Close(); return nil })
		deps.Auth = a
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
// value of every key config marks secret: cfg.Secrets), a part of one, or
// a credential-shaped string, whatever the code logged.
func Scrubbed(log *zap.Logger, cfg config.Config) *zap.Logger {
	s := scrub.New(cfg.Secrets()...)
	return log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return scrub.Core(c, s) }))
}

// localIDP turns auth.mode local-idp into jwt mode against the in-process
// mock's identity provider: its JWKS (fetched over the in-memory listener),
// its issuer and its audience, RS256 only, access tokens (typ at+jwt)
// only. Tokens are then verified exactly as in jwt mode, with the same
// refusals and challenges. The caller closes the transport's idle
// connections after the authenticator.
func localIDP(a config.Auth, m *mock.InProcess, opts []auth.Option) (config.Auth, []auth.Option, *http.Transport) {
	a.Mode = config.AuthJWT
	a.JWT.HS256Secret = ""
	a.JWT.JWKSURL = mock.InProcessURL + idp.PathJWKS
	a.JWT.Issuer = m.Issuer()
	a.JWT.Audience = m.Audience()
	a.JWT.AllowAnyAudience = false
	a.JWT.Algorithms = []string{config.AlgRS256}
	// The provider types its access tokens at+jwt; an ID token it issued
	// to a client named like the audience is not one (R3-F11).
	a.JWT.RequireAccessTokenType = true
	tr := &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) { return m.Dial("") },
	}
	client := &http.Client{
		Timeout:       10 * time.Second,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return a, append([]auth.Option{auth.WithHTTPClient(client)}, opts...), tr
}

// startMock serves the built-in mock in process and makes it the upstream
// of deps, with the development abilities: its fault headers, its control
// routes and its identity provider passed through, the contract check.
func (s *Stack) startMock(cfg config.Mock, c *contracts.Contract, log *zap.Logger, deps *gateway.Deps) (*mock.InProcess, error) {
	m, err := mock.StartInProcess(mock.Config{Seed: cfg.Seed, StateFile: cfg.StateFile, MaxBytes: int64(cfg.MaxBytes), AllowFaultHeaders: true}, c, log)
	if err != nil {
		return nil, err
	}
	s.stops = append(s.stops, m.Shutdown)
	deps.Upstream = gateway.Upstream{URL: mock.InProcessURL, Dial: m.Dial}
	deps.Dev = &gateway.Dev{ForwardHeaders: mock.DevHeaders(), FaultHeaders: mock.FaultHeaders(), PassThrough: mock.PassThroughRoutes(), Control: mock.ControlRoutes(), ContractCheck: true}
	return m, nil
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
