package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/mock"
)

// fasthttp's idle-connection, worker-pool and DNS-cache cleaners are
// library goroutines that sleep between sweeps and end on their own after
// Shutdown; every goroutine of ours must be gone.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		// Fiber's limiter starts one process-wide timestamp ticker (a
		// sync.Once) that never stops; it is one goroutine, not a leak per
		// request or per gateway.
		goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/utils.StartTimeStampUpdater.func1.1"),
		goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/middleware/limiter.FixedWindow.New.StartTimeStampUpdater.func2.1"),
	)
}

const (
	testSecret = "0123456789abcdef0123456789abcdef-test-secret"
	testAPIKey = "upstream-api-key-7f3c9a1e5b2d"
)

var testContract = func() *contracts.Contract {
	c, err := contracts.Load()
	if err != nil {
		panic(err)
	}
	return c
}()

// harness is a gateway on a real 127.0.0.1 port with an observed logger.
type harness struct {
	t    *testing.T
	url  string
	g    *Gateway
	logs *observer.ObservedLogs
	http *http.Client
}

type option func(*config.Config)

func baseConfig() config.Config {
	cfg := config.Default()
	cfg.Upstream.APIKey = testAPIKey
	cfg.Upstream.Timeout = 500 * time.Millisecond
	cfg.Breaker.ConsecutiveFailures = 3
	cfg.Breaker.OpenTimeout = 300 * time.Millisecond
	cfg.Breaker.HalfOpenRequests = 1
	cfg.Server.ShutdownTimeout = 5 * time.Second
	cfg.RateLimit.PerIdentity = 0
	cfg.RateLimit.PerIP = 0
	return cfg
}

// startGateway runs a gateway in front of upstreamURL ("mock" starts the
// built-in mock in process, as `serve` does).
func startGateway(t *testing.T, upstreamURL string, opts ...option) *harness {
	t.Helper()
	cfg := baseConfig()
	cfg.Upstream.URL = upstreamURL
	if upstreamURL != "mock" {
		cfg.Auth.Mode = "passthrough"
	} else {
		cfg.Upstream.APIKey = "" // never next to the mock (F-36)
	}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	authn, err := auth.New(cfg.Auth, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(authn.Close)
	deps := Deps{Contract: testContract, Log: log, Auth: authn}
	if cfg.IsMock() {
		m, err := mock.StartInProcess(mock.Config{Seed: cfg.Mock.Seed, AllowFaultHeaders: true}, testContract, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
		deps.Upstream = Upstream{URL: mock.InProcessURL, Dial: m.Dial}
		deps.Dev = &Dev{ForwardHeaders: mock.FaultHeaders(), PassThrough: mock.ControlPaths(), ContractCheck: true}
	}
	g, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h := serveHarness(t, g)
	h.logs = logs
	return h
}

// serveHarness serves g on a 127.0.0.1 port until the test ends.
func serveHarness(t *testing.T, g *Gateway) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(ln) }()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	h := &harness{t: t, url: "http://" + ln.Addr().String(), g: g, http: client}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		_ = g.Shutdown(context.Background())
		<-served
		g.client.Close()
		h.assertNoSecretsLogged()
	})
	return h
}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request and checks the answer against the contract when it
// addresses a contract operation.
func (h *harness) do(method, path string, header http.Header, body string) answer {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	h.checkContract(req, a)
	return a
}

func (h *harness) checkContract(req *http.Request, a answer) {
	h.t.Helper()
	err := testContract.ValidateResponse(context.Background(), req, a.status, a.header, a.body)
	if err != nil && !errorsIsNoOperation(err) {
		h.t.Errorf("%s %s answered %d %s, which breaks the contract: %v", req.Method, req.URL.Path, a.status, a.body, err)
	}
	if a.status >= 400 && !validErrorBody(a.body) {
		h.t.Errorf("%s %s answered %d with a body that is not the contract's error body: %s", req.Method, req.URL.Path, a.status, a.body)
	}
	if a.header.Get("X-Request-Id") == "" {
		h.t.Errorf("%s %s: no X-Request-ID on the answer", req.Method, req.URL.Path)
	}
}

// assertNoSecretsLogged is S-01/S-02: the API key and the test secret never
// reach a log line, in whole or in part.
func (h *harness) assertNoSecretsLogged() {
	if h.logs == nil {
		return
	}
	for _, e := range h.logs.All() {
		line := e.Message
		for _, f := range e.Context {
			line += " " + f.String + " " + f.Key
			if f.Interface != nil {
				if s, ok := f.Interface.(interface{ Error() string }); ok {
					line += s.Error()
				}
			}
		}
		for _, secret := range []string{testAPIKey[:12], testSecret[:12], "eyJ"} {
			if strings.Contains(line, secret) {
				h.t.Errorf("log line %q contains a secret", line)
			}
		}
	}
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func jsonHeader(extra http.Header) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// hs256 signs claims with the test secret.
func hs256(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validClaims(sub string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func withJWT(cfg *config.Config) {
	cfg.Auth.Mode = "jwt"
	cfg.Auth.JWT.HS256Secret = testSecret
}

// fakeUpstream counts calls, records requests and answers as told.
type fakeUpstream struct {
	url     string
	calls   atomic.Int64
	mu      sync.Mutex
	headers []http.Header
	uris    []string
	bodies  []string
	respond atomic.Pointer[func(w http.ResponseWriter, r *http.Request)]
}

func newUpstream(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{}
	f.set(respond)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.headers = append(f.headers, r.Header.Clone())
		f.uris = append(f.uris, r.RequestURI)
		f.bodies = append(f.bodies, string(b))
		f.mu.Unlock()
		(*f.respond.Load())(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	f.url = "http://" + ln.Addr().String()
	return f
}

func (f *fakeUpstream) set(respond func(w http.ResponseWriter, r *http.Request)) {
	f.respond.Store(&respond)
}

func (f *fakeUpstream) lastHeader() http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.headers[len(f.headers)-1]
}

func writeJSON(status int, body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

const ratingItem = `{"booking_id":1,"workshop_org_nr":"921460929","workshop_name":"Bilservice AS","service_id":1,"service_title":"EU-kontroll","registration_number":"BT57225","status":"completed","service_start_time":"2026-02-12T08:00:00Z","service_estimated_end_time":"2026-02-12T10:00:00Z","service_actual_end_time":"2026-02-12T10:00:00Z","service_rating":5,"service_rating_message":"Bra","private_service_rating":true,"rated_at":"2026-02-13T09:30:00Z"}`

var (
	listBody     = `{"total":1,"items":[` + ratingItem + `]}`
	usernameBody = `{"username":"ola","available":true,"message":"Username is available."}`
	rateBody     = `{"data":{"booking_id":123,"service_rating":5},"meta":{"request_id":"x","generated_at":"2026-02-12T10:00:00Z"}}`
)

func validErrorBody(b []byte) bool {
	var e contracts.ErrorBody
	return json.NewDecoder(bytes.NewReader(b)).Decode(&e) == nil && e.Error.Code != "" && e.Error.Message != "" && e.Meta.RequestID != "" && !e.Meta.GeneratedAt.IsZero()
}

func errorsIsNoOperation(err error) bool { return errors.Is(err, contracts.ErrNoOperation) }
