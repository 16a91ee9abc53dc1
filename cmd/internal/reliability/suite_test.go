package reliability

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/contracts/secret"
	"github.com/minbil/minbil-bff/gateway/config"
)

// What this suite adds to the shared harness (cmd/internal/wire/wiretest): the
// hygiene every answer must show (S-03, S-05, S-11), /metrics read without
// secrets (S-10), and raw-socket reading for the framing cases.

// startGateway runs the gateway in front of upstreamURL ("mock" starts the
// built-in mock in process, as `serve --upstream mock` does). A real
// upstream gets passthrough auth unless an option says otherwise. Every
// answer Do reads is checked for the contract and for hygiene.
func startGateway(t *testing.T, upstreamURL string, opts ...wiretest.Option) *wiretest.Server {
	t.Helper()
	cfg := wiretest.Config(upstreamURL)
	host := "" // the upstream's host:port, never to be shown to clients
	if u, err := url.Parse(upstreamURL); err == nil && !cfg.IsMock() {
		host = u.Host
	}
	return wiretest.Start(t, cfg, append([]wiretest.Option{wiretest.WithCheck(hygiene(host))}, opts...)...)
}

// requireTokens is the production setting: every operation needs a token.
func requireTokens(cfg *config.Config) {
	cfg.Auth.RequireTokenOn = []string{"checkUsername", "listRatings", "rateBooking"}
}

// leaks are texts that reveal internals: Go error strings, stack traces,
// upstream details (S-03, S-04, S-05, S-06).
var leaks = []string{"dial tcp", "json: ", "strconv.", "Go struct", "goroutine ", "runtime/", ".go:", "unexpected end of JSON input", "fasthttp", "secret_table", "panic:"}

// hygiene checks an answer: nothing is cacheable and there is no version
// banner (S-11), and no internal detail, secret or the upstream's address
// (upstreamHost, unless empty) shows in its headers or body (S-03).
func hygiene(upstreamHost string) func(*testing.T, wiretest.Request, wiretest.Answer) {
	return func(t *testing.T, r wiretest.Request, a wiretest.Answer) {
		t.Helper()
		if cc := a.Header.Get("Cache-Control"); cc != "no-store" && r.Target != "/openapi.yaml" {
			t.Errorf("S-11: %s %.80s: Cache-Control %q, want no-store", r.Method, r.Target, cc)
		}
		if v := a.Header.Get("Server"); v != "" {
			t.Errorf("S-11: %s %.80s: Server header %q", r.Method, r.Target, v)
		}
		var hb strings.Builder
		for k, vs := range a.Header {
			hb.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
		}
		text := hb.String() + string(a.Body)
		if secret.Quotes(text, wiretest.Keys()...) {
			t.Errorf("S-03: %s %.80s: the answer quotes the API key or the HS256 secret: %.300s", r.Method, r.Target, text)
		}
		forbidden := append([]string{}, leaks...)
		if upstreamHost != "" {
			forbidden = append(forbidden, upstreamHost)
		}
		for _, s := range forbidden {
			if strings.Contains(text, s) {
				t.Errorf("S-03: %s %.80s: the answer contains %q: %.300s", r.Method, r.Target, s, text)
			}
		}
	}
}

// metrics reads /metrics (not a client API: Go runtime help texts are
// expected there) and checks it holds no secret (S-10).
func metrics(t *testing.T, h *wiretest.Server) wiretest.Answer {
	t.Helper()
	a, err := h.Try(wiretest.Get("/metrics", nil))
	if err != nil || a.Status != 200 {
		t.Fatalf("GET /metrics = %v %v", a, err)
	}
	if secret.Quotes(string(a.Body), wiretest.Keys()...) {
		t.Error("S-10: /metrics quotes the API key or the HS256 secret")
	}
	return a
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
func responses(raw []byte) []wiretest.Answer {
	var out []wiretest.Answer
	br := bufio.NewReader(bytes.NewReader(raw))
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, wiretest.Answer{Status: resp.StatusCode, Header: resp.Header, Body: b})
	}
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
