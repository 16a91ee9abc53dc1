package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts/secret"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/mock"
)

// maxAccessLine caps an access line in these tests: thirteen short fields
// and one capped error. The longest line the gateway writes on purpose,
// the configuration at start-up, is under maxLogLine.
const (
	maxAccessLine = 1 << 10
	maxLogLine    = 4 << 10
)

// stopAndRead sends p SIGTERM, waits for a clean exit and returns its
// output.
func stopAndRead(t *testing.T, p *process) string {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(20 * time.Second); err != nil {
		t.Fatalf("gateway: %v; output:\n%s", err, p.out)
	}
	return p.out.String()
}

// logLines parses the JSON lines of out, failing on any other line.
func logLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON (%v): %q", err, l)
		}
		lines = append(lines, m)
	}
	return lines
}

// rawRequest writes req to addr as it is and returns the status line of
// the answer.
func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	answer, _ := io.ReadAll(conn)
	status, _, _ := strings.Cut(string(answer), "\r\n")
	return status
}

// TestR3F16ClientTextNeverReachesTheLog is R3-F16 through the real binary:
// a path with forged bytes and a rating body with an 8 KB unknown key. The
// access lines name the route and the error code; no line holds the
// client's text, and every line stays under its cap. Before, the 404's
// line quoted "Cannot GET /api/co/rating\ufffdFORGED8" and the 400's the
// whole key (an 8.3 KB line).
func TestR3F16ClientTextNeverReachesTheLog(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	addr := freeAddr(t)
	p := startUnmanaged(t, addr, []string{"MINBIL_LOG_FORMAT=json"}, "serve", "--addr", addr)

	status := rawRequest(t, addr, "GET /api/co/rating\xffFORGED8 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !strings.Contains(status, " 404 ") {
		t.Fatalf("forged path answered %q, want 404", status)
	}
	key := "FORGEDKEY" + strings.Repeat("k", 8<<10)
	code, body := recordDo(t, "POST", "http://"+addr+"/api/co/rating/rate/1",
		map[string]string{"Authorization": "Bearer e2e-token", "Content-Type": "application/json"},
		`{"service_rating":5,"`+key+`":1}`)
	if code != http.StatusBadRequest {
		t.Fatalf("unknown key answered %d, want 400: %.200s", code, body)
	}

	out := stopAndRead(t, p)
	if strings.Contains(out, "FORGED") {
		t.Errorf("the log holds the client's text:\n%.2000s", out)
	}
	codes := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		limit := maxLogLine
		if strings.Contains(l, `"msg":"request"`) {
			limit = maxAccessLine
		}
		if len(l) >= limit {
			t.Errorf("a log line is %d bytes, want under %d: %.300s…", len(l), limit, l)
		}
	}
	for _, m := range logLines(t, out) {
		if m["msg"] == "request" {
			codes[fmt.Sprint(m["route"], " ", m["error_code"])] = true
		}
	}
	for _, want := range []string{"other not_found", "rateBooking invalid_json"} {
		if !codes[want] {
			t.Errorf("no access line with route and error_code %q; got %v", want, codes)
		}
	}
}

// r3f17Secret stands for a credential written where it does not belong;
// no part of it may reach the output.
const r3f17Secret = "upk-R3F17-5Rq8Zt2Wv9Lx3Nc7"

// serveFails runs `serve` with env and args in dir, which must fail at
// start; it returns the exit code and the output. A gateway that starts
// instead is killed after a while (a bound on a hang, not a speed
// requirement) and fails the test.
func serveFails(t *testing.T, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if ctx.Err() != nil || !errors.As(err, &exit) {
		t.Fatalf("serve %v: %v, want it to fail at start; output:\n%s", args, err, out)
	}
	return exit.ExitCode(), string(out)
}

// TestR3F17ConfigNeverEchoesSecrets is R3-F17 through the real binary: a
// credential in a URL's query, fragment or user info (flag, environment),
// a secret written as a YAML key or anchor, a secret with a newline at
// its end, and an API key header the gateway sets itself are each refused
// with exit code 1, naming the key, and no part of the secret is shown.
// Before, the query was quoted, the YAML key and anchor echoed, and the
// newline and the headers accepted.
func TestR3F17ConfigNeverEchoesSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	upstream := []string{"MINBIL_AUTH_MODE=passthrough", "MINBIL_API_KEY=ak_live_0123456789abcdef"}
	tests := []struct {
		name    string
		env     []string
		args    []string
		yaml    string
		wantKey string
	}{
		{name: "flag: upstream query", env: upstream, args: []string{"--upstream", "http://127.0.0.1:1/?key=" + r3f17Secret}, wantKey: "upstream.url"},
		{name: "flag: upstream fragment", env: upstream, args: []string{"--upstream", "https://api.minbil.no/#" + r3f17Secret}, wantKey: "upstream.url"},
		{name: "flag: upstream user info", env: upstream, args: []string{"--upstream", "https://svc:" + r3f17Secret + "@api.minbil.no"}, wantKey: "upstream.url"},
		{name: "env: upstream that does not parse", env: append(upstream, "MINBIL_UPSTREAM_URL=ht!tp://x/?key="+r3f17Secret), wantKey: "upstream.url"},
		{name: "env: jwks over http with a query", env: []string{"MINBIL_AUTH_MODE=jwt", "MINBIL_AUTH_JWT_JWKS_URL=http://id.example/jwks?client_secret=" + r3f17Secret}, wantKey: "auth.jwt.jwks_url"},
		{name: "env: timeout that is a URL", env: []string{"MINBIL_UPSTREAM_TIMEOUT=https://u:" + r3f17Secret + "@h/"}, wantKey: "upstream.timeout"},
		{name: "env: hs256 secret with a newline", env: []string{"MINBIL_AUTH_MODE=jwt", "MINBIL_AUTH_JWT_HS256_SECRET=" + r3f17Secret + "-0123456789abcdef\n"}, wantKey: "auth.jwt.hs256_secret"},
		{name: "env: key header traceparent", env: []string{"MINBIL_UPSTREAM_API_KEY_HEADER=traceparent"}, wantKey: "upstream.api_key_header"},
		{name: "env: key header tracestate", env: []string{"MINBIL_UPSTREAM_API_KEY_HEADER=tracestate"}, wantKey: "upstream.api_key_header"},
		{name: "env: key header Idempotency-Key", env: []string{"MINBIL_UPSTREAM_API_KEY_HEADER=Idempotency-Key"}, wantKey: "upstream.api_key_header"},
		{name: "yaml: secret as a key", yaml: "upstream:\n  api_key:\n  " + r3f17Secret + ": x\n", wantKey: "gateway.yaml:3: upstream: unknown key"},
		{name: "yaml: secret as an anchor", yaml: "upstream:\n  api_key: *" + r3f17Secret + "\n", wantKey: "gateway.yaml: invalid YAML"},
		{name: "yaml: redis password with a newline", yaml: "store:\n  redis:\n    password: \"" + r3f17Secret + "\\n\"\n", wantKey: "store.redis.password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := tt.args
			if tt.yaml != "" {
				if err := os.WriteFile(filepath.Join(dir, "gateway.yaml"), []byte(tt.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", "gateway.yaml")
			}
			code, out := serveFails(t, dir, tt.env, args...)
			if code != 1 || !strings.Contains(out, tt.wantKey) {
				t.Errorf("serve exited %d, want 1 naming %q; output:\n%s", code, tt.wantKey, out)
			}
			if secret.Quotes(out, r3f17Secret) {
				t.Fatalf("the output quotes the secret:\n%s", out)
			}
		})
	}
}

// TestR3F17JWKSQueryNeverLogged is R3-F17 on a running gateway: a JWKS URL
// may carry a query, and neither the start-up configuration nor the
// refresh failure (Go's error quotes the URL whole) shows it. Before,
// both did.
func TestR3F17JWKSQueryNeverLogged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	jwks := "http://" + freeAddr(t) + "/jwks?client_secret=" + r3f17Secret // nothing listens there
	addr := freeAddr(t)
	p := startUnmanaged(t, addr, []string{"MINBIL_LOG_FORMAT=json", "MINBIL_AUTH_MODE=jwt", "MINBIL_AUTH_JWT_JWKS_URL=" + jwks}, "serve", "--addr", addr)
	out := stopAndRead(t, p)
	if strings.Contains(out, r3f17Secret) {
		t.Errorf("the log holds the JWKS URL's query:\n%s", out)
	}
	for _, want := range []string{`/jwks?***\"`, "jwks refresh failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}

// TestR3F17RecordURLQueryNeverLogged is R3-F17 for the mock: the upstream
// URL of `mock --record` may carry a key in its query, and the start-up
// line shows it as the gateway shows its own URLs (query hidden). Before,
// the mock logged the URL whole.
func TestR3F17RecordURLQueryNeverLogged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	upstream := "http://" + freeAddr(t) + "/base?api_key=" + r3f17Secret // nothing listens there
	addr := freeAddr(t)
	p := startUnmanaged(t, addr, nil, "mock", "--addr", addr, "--log-format", "json",
		"--record", upstream, "--fixtures", t.TempDir())
	out := stopAndRead(t, p)
	if secret.Quotes(out, r3f17Secret) {
		t.Errorf("the log quotes the record URL's query:\n%s", out)
	}
	if want := `/base?***"`; !strings.Contains(out, want) {
		t.Errorf("the log lacks %q:\n%s", want, out)
	}
}

// TestR3F17KeyHeaderRefusesDevHeaders checks the one list of reserved
// headers against the headers the mock reads: the gateway forwards them in
// development, so none may carry the API key.
func TestR3F17KeyHeaderRefusesDevHeaders(t *testing.T) {
	for _, h := range mock.DevHeaders() {
		c := config.Default()
		c.Upstream.APIKeyHeader = h
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "upstream.api_key_header") {
			t.Errorf("Validate() with upstream.api_key_header %q = %v, want it refused", h, err)
		}
	}
}

// TestR3F20ShortKeyKeepsTheLogReadable is R3-F20 through the real binary:
// with MINBIL_API_KEY=k the gateway starts, warns that the key is weak,
// and its log keeps every letter k of its own text (upstream.api_key_header,
// "jwks key skipped", "invalid token"); a field equal to the key (the
// kid of a JWKS key it skips) is still redacted. Before, every k in every
// line became [redacted].
func TestR3F20ShortKeyKeepsTheLogReadable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/jwks" {
			// A symmetric key is never taken from a JWKS: skipped, by kid.
			_, _ = io.WriteString(w, `{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0LWtleS1ieXRlcw"}]}`)
			return
		}
		_, _ = io.WriteString(w, `{"total":0,"items":[]}`)
	}))
	defer srv.Close()
	addr := freeAddr(t)
	p := startUnmanaged(t, addr, []string{"MINBIL_LOG_FORMAT=json", "MINBIL_LOG_LEVEL=debug", "MINBIL_API_KEY=k",
		"MINBIL_UPSTREAM_URL=" + srv.URL, "MINBIL_AUTH_MODE=jwt", "MINBIL_AUTH_JWT_JWKS_URL=" + srv.URL + "/jwks",
		"MINBIL_AUTH_JWT_ISSUER=https://id.example/", "MINBIL_AUTH_JWT_AUDIENCE=minbil-bff"}, "serve", "--addr", addr)
	bad := map[string]string{"Authorization": "Bearer not.a.jwt"}
	if code, body := recordDo(t, "GET", "http://"+addr+"/api/co/rating", bad, ""); code != http.StatusUnauthorized {
		t.Fatalf("GET /api/co/rating with a bad token = %d, want 401: %s", code, body)
	}
	out := stopAndRead(t, p)

	redacted, kids := strings.Count(out, secret.Redacted), 0
	for _, m := range logLines(t, out) {
		if m["msg"] == "jwks key skipped" {
			kids++
			if m["kid"] != secret.Redacted {
				t.Errorf("jwks key skipped: kid = %v, want %q (a field equal to the key)", m["kid"], secret.Redacted)
			}
		}
	}
	if kids == 0 || redacted != kids {
		t.Errorf("the log has %d %q, want exactly one per skipped key's kid (%d):\n%s", redacted, secret.Redacted, kids, out)
	}
	for _, want := range []string{"upstream.api_key_header", `"msg":"jwks key skipped"`, `"error":"invalid token`,
		`upstream.api_key: is 1 bytes, a weak secret`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}
