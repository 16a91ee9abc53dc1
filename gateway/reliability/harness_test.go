package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/minbil/minbil-bff/cmd/wire"
	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

const (
	// apiKey is the upstream API key; no byte run of 8 of it may reach a
	// log line or a client (S-02, S-03).
	apiKey = "upk-5Rq8Zt2Wv9Lx3Nc7Hb4Jm6"
	// hsSecret is the HS256 secret of jwt mode (S-14: at least 32 bytes).
	hsSecret = "Hs256-q7Vz3Kp9Wm2Rx5Lt8Nd4Bf6Gj1Yc0Ae"
	// keyHeader is the configured API-key header.
	keyHeader = "X-API-Key"
)

var contract = func() *contracts.Contract {
	c, err := contracts.Load()
	if err != nil {
		panic(err)
	}
	return c
}()

// setup is what startGateway builds a gateway from.
type setup struct {
	cfg      config.Config
	authOpts []auth.Option
	authn    gateway.Authenticator
	dial     upstream.Dialer
}

type option func(*setup)

// withConfig changes the configuration.
func withConfig(f func(*config.Config)) option { return func(s *setup) { f(&s.cfg) } }

// withJWT is jwt mode with the HS256 secret (and any extra settings).
func withJWT(f func(*config.JWT)) option {
	return func(s *setup) {
		s.cfg.Auth.Mode = "jwt"
		s.cfg.Auth.JWT.HS256Secret = hsSecret
		if f != nil {
			f(&s.cfg.Auth.JWT)
		}
	}
}

// withClock gives the authenticator a simulated clock.
func withClock(now func() time.Time) option {
	return func(s *setup) { s.authOpts = append(s.authOpts, auth.WithClock(now)) }
}

// withAuthenticator replaces the authenticator (panic and fault tests).
func withAuthenticator(a gateway.Authenticator) option { return func(s *setup) { s.authn = a } }

// withDial replaces TCP to the upstream.
func withDial(d upstream.Dialer) option { return func(s *setup) { s.dial = d } }

// requireTokens is the production setting: every operation needs a token.
func requireTokens(cfg *config.Config) {
	cfg.Auth.RequireTokenOn = []string{"checkUsername", "listRatings", "rateBooking"}
}

// gw is a gateway on a real 127.0.0.1 port with an observed logger.
type gw struct {
	t        *testing.T
	addr     string
	g        *gateway.Gateway
	stack    *wire.Stack
	logs     *observer.ObservedLogs
	upstream string // the upstream's host:port, never to be shown to clients

	mu       sync.Mutex
	secrets  []string // never in a log line (LogScan)
	shutOnce sync.Once
	served   chan error
}

// baseConfig is config.Default with a small breaker, so fault tests finish
// fast (tests that wait for the upstream timeout shorten it); rate limits are off (another
// engineer's feature, tested on its own).
func baseConfig() config.Config {
	cfg := config.Default()
	cfg.Upstream.APIKey = apiKey
	cfg.Upstream.APIKeyHeader = keyHeader
	cfg.Upstream.Timeout = 2 * time.Second
	cfg.Breaker.ConsecutiveFailures = 3
	cfg.Breaker.OpenTimeout = 300 * time.Millisecond
	cfg.Breaker.HalfOpenRequests = 1
	cfg.Server.ShutdownTimeout = 5 * time.Second
	cfg.RateLimit.PerIdentity = 0
	cfg.RateLimit.PerIP = 0
	return cfg
}

// startGateway runs the gateway in front of upstreamURL ("mock" starts the
// built-in mock in process, as `serve --upstream mock` does). A real
// upstream gets passthrough auth unless an option says otherwise.
func startGateway(t *testing.T, upstreamURL string, opts ...option) *gw {
	t.Helper()
	s := &setup{cfg: baseConfig()}
	s.cfg.Upstream.URL = upstreamURL
	if upstreamURL != "mock" {
		s.cfg.Auth.Mode = "passthrough"
	} else {
		s.cfg.Upstream.APIKey = "" // never next to the mock (F-36)
	}
	for _, o := range opts {
		o(s)
	}
	cfg := s.cfg
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	stack, err := wire.Build(cfg, log, wire.Options{Auth: s.authOpts, Authenticator: s.authn, Dial: s.dial})
	if err != nil {
		t.Fatalf("wire.Build: %v", err)
	}
	g := stack.Gateway
	h := &gw{t: t, logs: logs, stack: stack, served: make(chan error, 1), secrets: []string{apiKey, hsSecret, "eyJ"}}
	if u, err := url.Parse(upstreamURL); err == nil && !cfg.IsMock() {
		h.upstream = u.Host
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The startup line of `serve`, config dump included (S-02).
	log.Info("gateway listening", zap.String("addr", ln.Addr().String()), zap.Stringer("config", cfg))
	h.g, h.addr = g, ln.Addr().String()
	go func() { h.served <- g.Serve(ln) }()
	t.Cleanup(func() {
		h.shutdown(context.Background())
		h.logScan()
	})
	return h
}

// shutdown stops the gateway once and waits for Serve to return.
func (h *gw) shutdown(ctx context.Context) error {
	var err error
	h.shutOnce.Do(func() {
		err = h.stack.Shutdown(ctx)
		<-h.served
	})
	return err
}

// secret registers strings (tokens, usernames, messages) that no log line
// may contain.
func (h *gw) secret(s ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secrets = append(h.secrets, s...)
}

// logText renders one observed entry the way a JSON sink would write it,
// every field (errors, stringers, stacks) included.
func logText(e observer.LoggedEntry) string {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	buf, err := enc.EncodeEntry(e.Entry, e.Context)
	if err != nil {
		return e.Message
	}
	defer buf.Free()
	return buf.String()
}

// logScan is S-01/S-02/S-08/S-09: no log line holds a registered secret,
// nor any 8-byte run of the API key or the HS256 secret.
func (h *gw) logScan() {
	h.t.Helper()
	h.mu.Lock()
	forbidden := append([]string(nil), h.secrets...)
	h.mu.Unlock()
	forbidden = append(forbidden, runs(apiKey, 8)...)
	forbidden = append(forbidden, runs(hsSecret, 8)...)
	for _, e := range h.logs.All() {
		line := logText(e)
		for _, s := range forbidden {
			if s != "" && strings.Contains(line, s) {
				h.t.Errorf("LogScan: log line contains %q: %.300s", s, line)
			}
		}
	}
}

// runs returns every n-byte substring of s.
func runs(s string, n int) []string {
	var out []string
	for i := 0; i+n <= len(s); i++ {
		out = append(out, s[i:i+n])
	}
	return out
}

// accessLines returns the access log entries (one per request).
func (h *gw) accessLines() []observer.LoggedEntry {
	return h.logs.FilterLoggerName("access").All()
}

// answer is one response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, a.body) }

// errorCode returns the code of an error body, or "".
func (a answer) errorCode() string {
	var e contracts.ErrorBody
	_ = json.Unmarshal(a.body, &e)
	return e.Error.Code
}

// req is one request as written on the wire: target is the raw
// request-target (path and query, not re-encoded).
type req struct {
	method string
	target string
	header http.Header
	body   string
}

func get(target string, header http.Header) req {
	return req{method: "GET", target: target, header: header}
}

func post(target string, header http.Header, body string) req {
	return req{method: "POST", target: target, header: header, body: body}
}

// wire renders r as HTTP/1.1 bytes with Connection: close; a
// Content-Length is added for a body unless the header has framing.
func (r req) wire(host string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", r.method, r.target)
	if r.header.Get("Host") == "" {
		fmt.Fprintf(&b, "Host: %s\r\n", host)
	}
	keys := make([]string, 0, len(r.header))
	for k := range r.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if r.body != "" && r.header.Get("Content-Length") == "" && r.header.Get("Transfer-Encoding") == "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.body))
	}
	if r.header.Get("Connection") == "" {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(r.body)
	return b.Bytes()
}

// do sends r on a new connection and reads the answer. Every answer is
// checked: the contract (where r addresses an operation), the error body
// on non-2xx, X-Request-ID, and no secret or internal detail (S-03, S-05).
func (h *gw) do(r req) answer {
	h.t.Helper()
	a, err := h.try(r)
	if err != nil {
		h.t.Fatalf("%s %.80s: %v", r.method, r.target, err)
	}
	h.check(r, a)
	return a
}

// try sends r and reads the answer without checking it.
func (h *gw) try(r req) (answer, error) {
	conn, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
	if err != nil {
		return answer{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := conn.Write(r.wire(h.addr)); err != nil {
		return answer{}, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: r.method})
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// metrics reads /metrics (not a client API: Go runtime help texts are
// expected there) and checks it holds no secret.
func (h *gw) metrics() answer {
	h.t.Helper()
	a, err := h.try(get("/metrics", nil))
	if err != nil || a.status != 200 {
		h.t.Fatalf("GET /metrics = %v %v", a, err)
	}
	for _, s := range append(runs(apiKey, 8), runs(hsSecret, 8)...) {
		if strings.Contains(string(a.body), s) {
			h.t.Errorf("S-10: /metrics contains %q", s)
		}
	}
	return a
}

// leaks are texts that reveal internals: Go error strings, stack traces,
// upstream details (S-03, S-04, S-05, S-06).
var leaks = []string{"dial tcp", "json: ", "strconv.", "Go struct", "goroutine ", "runtime/", ".go:", "unexpected end of JSON input", "fasthttp", "secret_table", "panic:"}

func (h *gw) check(r req, a answer) {
	h.t.Helper()
	if a.status >= 400 {
		checkErrorBody(h.t, r, a)
	}
	if hr, err := http.NewRequest(r.method, "http://"+h.addr+r.target, nil); err == nil {
		err := contract.ValidateResponse(context.Background(), hr, a.status, a.header, a.body)
		if err != nil && !errors.Is(err, contracts.ErrNoOperation) {
			h.t.Errorf("%s %.80s answered %.300s, which breaks the contract: %v", r.method, r.target, a, err)
		}
	}
	if a.header.Get("X-Request-Id") == "" {
		h.t.Errorf("%s %.80s: no X-Request-ID on the answer", r.method, r.target)
	}
	// S-11: nothing is cacheable, and there is no version banner.
	if cc := a.header.Get("Cache-Control"); cc != "no-store" && r.target != "/openapi.yaml" {
		h.t.Errorf("S-11: %s %.80s: Cache-Control %q, want no-store", r.method, r.target, cc)
	}
	if v := a.header.Get("Server"); v != "" {
		h.t.Errorf("S-11: %s %.80s: Server header %q", r.method, r.target, v)
	}
	var hb strings.Builder
	for k, vs := range a.header {
		hb.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
	}
	text := hb.String() + string(a.body)
	forbidden := append(append([]string{}, leaks...), runs(apiKey, 8)...)
	forbidden = append(forbidden, runs(hsSecret, 8)...)
	if h.upstream != "" {
		forbidden = append(forbidden, h.upstream)
	}
	for _, s := range forbidden {
		if strings.Contains(text, s) {
			h.t.Errorf("S-03: %s %.80s: the answer contains %q: %.300s", r.method, r.target, s, text)
		}
	}
}

// checkErrorBody: a non-2xx answer is the contract's error body, JSON,
// not cacheable.
func checkErrorBody(t *testing.T, r req, a answer) {
	t.Helper()
	var e contracts.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(a.body))
	if err := dec.Decode(&e); err != nil || e.Error.Code == "" || e.Error.Message == "" || e.Meta.RequestID == "" || e.Meta.GeneratedAt.IsZero() {
		t.Errorf("%s %.80s answered %.300s: not the contract's error body", r.method, r.target, a)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %.80s: error Content-Type %q, want application/json", r.method, r.target, ct)
	}
	if e.Meta.RequestID != "" && e.Meta.RequestID != a.header.Get("X-Request-Id") {
		t.Errorf("%s %.80s: meta.request_id %q != X-Request-ID %q", r.method, r.target, e.Meta.RequestID, a.header.Get("X-Request-Id"))
	}
}

// rawExchange writes payload on a new connection, half-closes nothing,
// and reads until the server closes or quiet passes without a byte.
func rawExchange(t *testing.T, addr string, payload []byte, quiet time.Duration) []byte {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(payload); err != nil {
		t.Fatalf("write: %v", err)
	}
	return readUntilQuiet(conn, quiet)
}

// readUntilQuiet reads until EOF, an error, or quiet without data.
func readUntilQuiet(conn net.Conn, quiet time.Duration) []byte {
	var out []byte
	buf := make([]byte, 32<<10)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(quiet))
		n, err := conn.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

// responses parses every HTTP response in raw, in order.
func responses(raw []byte) []answer {
	var out []answer
	br := bufio.NewReader(bytes.NewReader(raw))
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, answer{status: resp.StatusCode, header: resp.Header, body: b})
	}
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// jsonHeader is Content-Type: application/json plus the given header.
func jsonHeader(extra http.Header) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// merge returns the union of headers.
func merge(hs ...http.Header) http.Header {
	out := http.Header{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

const validRating = `{"service_rating":5,"service_rating_message":"Bra jobba","private_service_rating":true}`

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
