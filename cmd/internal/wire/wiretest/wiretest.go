// Package wiretest is the shared test harness of the gateway's test
// suites: it builds a gateway through wire.Build, as `serve` does, and
// serves it on a 127.0.0.1 port with an observed logger; sends requests
// exactly as written on the wire and checks every answer against the
// contract; scans the logs for secrets when the test ends; and runs fake
// upstreams that count calls and answer, fail or hang as a test tells
// them.
//
// It lives beside the assembly, not under gateway, because it imports the
// mock (through wire) and nothing under gateway/ may, tests included.
package wiretest

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/minbil/minbil-bff/cmd/internal/wire"
	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/secret"
	"github.com/minbil/minbil-bff/gateway"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/auth/authtest"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

const (
	// APIKey is the upstream API key of Config; no 8-byte run of it may
	// reach a log line or a client (S-02, S-03).
	APIKey = "upk-5Rq8Zt2Wv9Lx3Nc7Hb4Jm6"
	// APIKeyHeader is the configured API-key header.
	APIKeyHeader = "X-API-Key"
)

// Contract is the contract, loaded once.
var Contract = func() *contracts.Contract {
	c, err := contracts.Load()
	if err != nil {
		panic(err)
	}
	return c
}()

// Config is config.Default in front of upstreamURL with a small breaker (3
// failures open it for 300 ms, one probe), so fault tests finish fast, and
// rate limits off (tested on their own). A real upstream gets APIKey and
// passthrough auth; "mock", the built-in mock, gets no key (F-36) and dev
// auth.
func Config(upstreamURL string) config.Config {
	cfg := config.Default()
	cfg.Upstream.URL = upstreamURL
	cfg.Upstream.APIKey = APIKey
	cfg.Upstream.APIKeyHeader = APIKeyHeader
	cfg.Upstream.Timeout = 2 * time.Second
	cfg.Breaker.ConsecutiveFailures = 3
	cfg.Breaker.OpenTimeout = 300 * time.Millisecond
	cfg.Breaker.HalfOpenRequests = 1
	cfg.Server.ShutdownTimeout = 5 * time.Second
	cfg.RateLimit.PerIdentity = 0
	cfg.RateLimit.PerIP = 0
	if cfg.IsMock() {
		cfg.Upstream.APIKey = ""
	} else {
		cfg.Auth.Mode = config.AuthPassthrough
	}
	return cfg
}

// setup is what Start builds a gateway from.
type setup struct {
	cfg    config.Config
	wire   wire.Options
	checks []func(*testing.T, Request, Answer)
}

// Option changes what Start builds.
type Option func(*setup)

// WithConfig changes the configuration.
func WithConfig(f func(*config.Config)) Option { return func(s *setup) { f(&s.cfg) } }

// WithJWT is jwt mode with authtest.Secret, then f (if not nil) on the
// JWT settings.
func WithJWT(f func(*config.JWT)) Option {
	return func(s *setup) {
		s.cfg.Auth.Mode = config.AuthJWT
		s.cfg.Auth.JWT.HS256Secret = authtest.Secret
		if f != nil {
			f(&s.cfg.Auth.JWT)
		}
	}
}

// WithClock gives the authenticator a simulated clock.
func WithClock(now func() time.Time) Option {
	return func(s *setup) { s.wire.Auth = append(s.wire.Auth, auth.WithClock(now)) }
}

// WithAuthenticator replaces the authenticator (panic and fault tests).
func WithAuthenticator(a gateway.Authenticator) Option {
	return func(s *setup) { s.wire.Authenticator = a }
}

// WithDial replaces DNS and TCP toward the upstream.
func WithDial(d upstream.Dialer) Option { return func(s *setup) { s.wire.Dial = d } }

// WithTracer gives the gateway tp (tracetest's span recorder) instead of
// what the OTEL_* environment asks for.
func WithTracer(tp trace.TracerProvider) Option { return func(s *setup) { s.wire.Tracer = tp } }

// WithCheck adds a check that Do and Check run on every answer, after the
// contract's.
func WithCheck(check func(t *testing.T, r Request, a Answer)) Option {
	return func(s *setup) { s.checks = append(s.checks, check) }
}

// Server is a gateway served on a 127.0.0.1 port until the test ends.
type Server struct {
	// Gateway is the gateway under test.
	Gateway *gateway.Gateway
	// Addr is the gateway's host:port.
	Addr string
	// URL is "http://" + Addr.
	URL string
	// Logs are the gateway's logs, at debug level; nil when the gateway
	// was built by the test (Serve).
	Logs *observer.ObservedLogs
	// Client is an HTTP client with keep-alive connections to the
	// gateway, for tests that act like a browser or an app (Do opens a
	// connection per request).
	Client *http.Client

	t        *testing.T
	checks   []func(*testing.T, Request, Answer)
	stop     func(context.Context) error
	served   chan error
	shutOnce sync.Once
	shutErr  error

	mu      sync.Mutex
	secrets []string // never in a log line
}

// Start builds the gateway for cfg through wire.Build (with upstream.url
// "mock", the built-in mock in process) and serves it on a 127.0.0.1 port.
// At cleanup the gateway shuts down and its logs are scanned: no line may
// hold a secret (LogScan).
func Start(t *testing.T, cfg config.Config, opts ...Option) *Server {
	t.Helper()
	s := &setup{cfg: cfg}
	for _, o := range opts {
		o(s)
	}
	cfg = s.cfg
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	stack, err := wire.Build(cfg, log, s.wire)
	if err != nil {
		t.Fatalf("wire.Build: %v", err)
	}
	ln := listen(t)
	// The startup line of `serve`, config dump included (S-02).
	log.Info("gateway listening", zap.String("addr", ln.Addr().String()), zap.Stringer("config", cfg))
	h := newServer(t, stack.Gateway, stack.Shutdown, ln)
	h.Logs, h.checks = logs, s.checks
	h.secrets = []string{APIKey, authtest.Secret, "eyJ"}
	return h
}

// Serve serves g, built by the test, on a 127.0.0.1 port and shuts it
// down when the test ends. Its logs are the test's business: no LogScan.
func Serve(t *testing.T, g *gateway.Gateway) *Server {
	t.Helper()
	return newServer(t, g, g.Shutdown, listen(t))
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func newServer(t *testing.T, g *gateway.Gateway, stop func(context.Context) error, ln net.Listener) *Server {
	h := &Server{
		Gateway: g,
		Addr:    ln.Addr().String(),
		URL:     "http://" + ln.Addr().String(),
		Client:  &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		t:       t,
		stop:    stop,
		served:  make(chan error, 1),
	}
	go func() { h.served <- g.Serve(ln) }()
	t.Cleanup(func() {
		h.Client.CloseIdleConnections()
		_ = h.Shutdown(context.Background())
		h.logScan()
	})
	return h
}

// Shutdown stops the gateway (and what was built with it) once, and waits
// for it to stop serving.
func (h *Server) Shutdown(ctx context.Context) error {
	h.shutOnce.Do(func() {
		h.shutErr = h.stop(ctx)
		<-h.served
	})
	return h.shutErr
}

// Secret registers strings (tokens, usernames, messages) that no log line
// may contain.
func (h *Server) Secret(s ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secrets = append(h.secrets, s...)
}

// AccessLines returns the access log entries (one per request).
func (h *Server) AccessLines() []observer.LoggedEntry {
	return h.Logs.FilterLoggerName("access").All()
}

// LogText renders one observed entry the way a JSON sink would write it,
// every field (errors, stringers, stacks) included.
func LogText(e observer.LoggedEntry) string {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	buf, err := enc.EncodeEntry(e.Entry, e.Context)
	if err != nil {
		return e.Message
	}
	defer buf.Free()
	return buf.String()
}

// Keys are the API key and the HS256 secret the harness configures: no
// answer, log line, span or metric may quote them (secret.Quotes).
func Keys() []string { return []string{APIKey, authtest.Secret} }

// logScan is S-01/S-02/S-08/S-09: no log line holds a registered secret,
// nor any 8-byte run of the API key or the HS256 secret.
func (h *Server) logScan() {
	h.t.Helper()
	if h.Logs == nil {
		return
	}
	h.mu.Lock()
	forbidden := append([]string(nil), h.secrets...)
	h.mu.Unlock()
	for _, e := range h.Logs.All() {
		line := LogText(e)
		if secret.Quotes(line, Keys()...) {
			h.t.Errorf("LogScan: log line quotes the API key or the HS256 secret: %.300s", line)
		}
		for _, s := range forbidden {
			if s != "" && strings.Contains(line, s) {
				h.t.Errorf("LogScan: log line contains %q: %.300s", s, line)
			}
		}
	}
}
