package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/minbil/minbil-bff/gateway/config"
)

// The documentation's three examples, through `serve --upstream mock`.
func TestDocumentationExamplesAgainstTheMock(t *testing.T) {
	h := startGateway(t, "mock")
	tests := []struct {
		name       string
		method     string
		path       string
		header     http.Header
		body       string
		wantStatus int
		wantIn     string
	}{
		{"check-username", "GET", "/api/co/profile/check-username?username=string_value", bearer("YOUR_BEARER_TOKEN"), "", 200, `"available":true`},
		{"list ratings", "GET", "/api/co/rating", nil, "", 200, `"total":`},
		{"rate 123", "POST", "/api/co/rating/rate/123", jsonHeader(nil), `{"service_rating": 5, "service_rating_message": "string_value", "private_service_rating": true}`, 200, `"booking_id":123`},
		{"rate 123 again", "POST", "/api/co/rating/rate/123", jsonHeader(nil), `{"service_rating": 5, "service_rating_message": "string_value", "private_service_rating": true}`, 409, `"already_rated"`},
		{"documentation's 499.0", "POST", "/api/co/rating/rate/123", jsonHeader(nil), `{"service_rating": 499.0, "service_rating_message": "string_value", "private_service_rating": true}`, 400, `"validation_failed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.do(tt.method, tt.path, tt.header, tt.body)
			if a.status != tt.wantStatus || !strings.Contains(string(a.body), tt.wantIn) {
				t.Fatalf("%s %s = %d %s, want %d containing %s", tt.method, tt.path, a.status, a.body, tt.wantStatus, tt.wantIn)
			}
		})
	}
	a := h.do("GET", "/api/co/rating", nil, "")
	if n := strings.Count(string(a.body), `"booking_id":123,`); n != 1 {
		t.Fatalf("booking 123 listed %d times after rating it, want 1: %s", n, a.body)
	}
}

func TestAuthPerModeAndRoute(t *testing.T) {
	now := time.Now()
	expired := jwt.MapClaims{"sub": "u1", "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()}
	wrongKey, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims("u1")).SignedString([]byte("another-secret-another-secret-another"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims("u1")).SignedString(jwt.UnsafeAllowNoneSignatureType)
	tests := []struct {
		name       string
		opts       []option
		path       string
		header     func(t *testing.T) http.Header
		wantStatus int
		wantCalls  int64
	}{
		{"dev: check-username without token", nil, "/api/co/profile/check-username?username=ola", noHeader, 401, 0},
		{"dev: check-username with token", nil, "/api/co/profile/check-username?username=ola", tokenHeader("anything"), 200, 1},
		{"dev: list without token is public", nil, "/api/co/rating", noHeader, 200, 1},
		{"dev: list with Basic credentials", nil, "/api/co/rating", rawHeader("Basic dXNlcjpw"), 401, 0},
		{"dev: list with empty Bearer", nil, "/api/co/rating", rawHeader("Bearer "), 401, 0},
		{"jwt: valid HS256", []option{withJWT}, "/api/co/profile/check-username?username=ola", jwtHeader(validClaims("u1")), 200, 1},
		{"jwt: expired", []option{withJWT}, "/api/co/profile/check-username?username=ola", jwtHeader(expired), 401, 0},
		{"jwt: wrong key", []option{withJWT}, "/api/co/rating", tokenHeader(wrongKey), 401, 0},
		{"jwt: alg none", []option{withJWT}, "/api/co/rating", tokenHeader(none), 401, 0},
		{"jwt: list without token is public", []option{withJWT}, "/api/co/rating", noHeader, 200, 1},
		{"jwt: list requires token by config", []option{withJWT, requireAll}, "/api/co/rating", noHeader, 401, 0},
		{"passthrough: well-formed token", []option{passthrough}, "/api/co/rating", tokenHeader("opaque.token-123"), 200, 1},
		{"passthrough: token with a space", []option{passthrough}, "/api/co/rating", rawHeader("Bearer a b"), 401, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, routeOK)
			h := startGateway(t, up.url, append([]option{devMode}, tt.opts...)...)
			a := h.do("GET", tt.path, tt.header(t), "")
			if a.status != tt.wantStatus || up.calls.Load() != tt.wantCalls {
				t.Fatalf("GET %s = %d (%d upstream calls), want %d (%d calls): %s", tt.path, a.status, up.calls.Load(), tt.wantStatus, tt.wantCalls, a.body)
			}
			if a.status == 401 && !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without a Bearer challenge: %v", a.header)
			}
		})
	}
}

func noHeader(*testing.T) http.Header { return nil }

func tokenHeader(tok string) func(*testing.T) http.Header {
	return func(*testing.T) http.Header { return bearer(tok) }
}

func rawHeader(v string) func(*testing.T) http.Header {
	return func(*testing.T) http.Header { return http.Header{"Authorization": {v}} }
}

func jwtHeader(claims jwt.MapClaims) func(*testing.T) http.Header {
	return func(t *testing.T) http.Header { return bearer(hs256(t, claims)) }
}

// devMode lets tests use dev auth in front of a loopback test upstream,
// which the config refuses for real upstreams; the test upstream is local.
func devMode(cfg *config.Config) { cfg.Auth.Mode = "passthrough" }

func passthrough(cfg *config.Config) { cfg.Auth.Mode = "passthrough" }

func requireAll(cfg *config.Config) {
	cfg.Auth.RequireTokenOn = []string{"checkUsername", "listRatings", "rateBooking"}
}

// routeOK answers each operation with a valid body.
func routeOK(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/co/profile/check-username"):
		writeJSON(200, usernameBody)(w, r)
	case r.URL.Path == "/api/co/rating":
		writeJSON(200, listBody)(w, r)
	default:
		writeJSON(200, rateBody)(w, r)
	}
}

func TestAPIKeyInjectionAndHeaderHygiene(t *testing.T) {
	up := newUpstream(t, routeOK)
	h := startGateway(t, up.url)
	a := h.do("GET", "/api/co/rating", http.Header{
		"Authorization": {"Bearer client-token"},
		"X-Api-Key":     {"attacker-key"},
		"Cookie":        {"session=abc"},
		"Connection":    {"close, X-Api-Key, Authorization"},
		"X-Request-Id":  {"req-42"},
		"Prefer":        {"code=500"},
	}, "")
	if a.status != 200 {
		t.Fatalf("status = %d, want 200: %s", a.status, a.body)
	}
	got := up.lastHeader()
	tests := []struct{ header, want string }{
		{"X-Api-Key", testAPIKey},
		{"Authorization", "Bearer client-token"},
		{"Cookie", ""},
		{"X-Request-Id", "req-42"},
		{"Prefer", ""},
	}
	for _, tt := range tests {
		if v := strings.Join(got.Values(tt.header), ","); v != tt.want {
			t.Errorf("upstream %s = %q, want %q", tt.header, v, tt.want)
		}
	}
	if a.header.Get("X-Request-Id") != "req-42" {
		t.Errorf("answer X-Request-ID = %q, want req-42", a.header.Get("X-Request-Id"))
	}
	if strings.Contains(string(a.body), testAPIKey) || a.header.Get("X-Api-Key") != "" {
		t.Errorf("the API key reached the client")
	}
}

func TestUsernameCacheAndCoalescing(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		writeJSON(200, usernameBody)(w, r)
	})
	h := startGateway(t, up.url)
	const n = 40
	var wg sync.WaitGroup
	statuses := make([]int, n)
	caches := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			a := h.do("GET", "/api/co/profile/check-username?username=Ola", bearer("same-caller"), "")
			statuses[i], caches[i] = a.status, a.header.Get("X-Cache")
		}(i)
	}
	time.Sleep(200 * time.Millisecond) // let the requests pile up on the flight
	close(release)
	wg.Wait()
	if up.calls.Load() != 1 {
		t.Fatalf("%d concurrent misses made %d upstream calls, want 1", n, up.calls.Load())
	}
	for i := range statuses {
		if statuses[i] != 200 || caches[i] == "" {
			t.Fatalf("answer %d = %d X-Cache %q", i, statuses[i], caches[i])
		}
	}
	tests := []struct {
		name, path, token, wantCache string
		wantCalls                    int64
	}{
		{"same name, other case: hit", "/api/co/profile/check-username?username=ola", "same-caller", "HIT", 1},
		{"other caller: miss", "/api/co/profile/check-username?username=ola", "other-caller", "MISS", 2},
		{"rule-breaking name: answered locally", "/api/co/profile/check-username?username=a%2Fb", "same-caller", "", 2},
	}
	for _, tt := range tests {
		a := h.do("GET", tt.path, bearer(tt.token), "")
		if a.status != 200 || a.header.Get("X-Cache") != tt.wantCache || up.calls.Load() != tt.wantCalls {
			t.Errorf("%s: %d X-Cache %q calls %d, want 200 %q %d", tt.name, a.status, a.header.Get("X-Cache"), up.calls.Load(), tt.wantCache, tt.wantCalls)
		}
	}
	a := h.do("GET", "/api/co/profile/check-username?username=OLA", bearer("same-caller"), "")
	var got struct{ Username string }
	_ = json.Unmarshal(a.body, &got)
	if got.Username != "OLA" {
		t.Errorf("cached answer names %q, want the requested spelling OLA", got.Username)
	}
}

func TestBreakerOpensFailsFastAndRecovers(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			writeJSON(500, `{"trace":"at db.query(SELECT * FROM secret_table) host=db-internal-7"}`)(w, r)
			return
		}
		routeOK(w, r)
	})
	h := startGateway(t, up.url)
	for i := 0; i < 3; i++ {
		a := h.do("GET", "/api/co/rating", nil, "")
		if a.status != 502 || strings.Contains(string(a.body), "secret_table") {
			t.Fatalf("upstream 500 answered %d %s, want 502 without upstream internals", a.status, a.body)
		}
	}
	before := up.calls.Load()
	for i := 0; i < 20; i++ {
		a := h.do("GET", "/api/co/rating", nil, "")
		if a.status != 503 || a.header.Get("Retry-After") == "" {
			t.Fatalf("open breaker answered %d (Retry-After %q), want 503 with Retry-After", a.status, a.header.Get("Retry-After"))
		}
	}
	if up.calls.Load() != before {
		t.Fatalf("%d upstream calls while open, want 0", up.calls.Load()-before)
	}
	if a := h.do("POST", "/api/co/rating/rate/5", jsonHeader(nil), `{"service_rating":5,"private_service_rating":true}`); a.status != 200 {
		t.Fatalf("rateBooking while listRatings is open = %d, want 200 (own breaker)", a.status)
	}
	up.set(routeOK)
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := h.do("GET", "/api/co/rating", nil, "")
		if a.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("breaker did not close after the upstream healed; last %d", a.status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestUpstreamFailuresMapToGatewayErrors(t *testing.T) {
	tests := []struct {
		name       string
		respond    func(w http.ResponseWriter, r *http.Request)
		method     string
		path       string
		wantStatus int
		wantCalls  int64
	}{
		{"hang: 504", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}, "GET", "/api/co/rating", 504, 1},
		{"POST reset after send: 502, not retried", hangUp, "POST", "/api/co/rating/rate/7", 502, 1},
		{"GET reset: retried once, then 502", hangUp, "GET", "/api/co/rating", 502, 2},
		{"garbled JSON: 502", writeJSON(200, `{"total":`), "GET", "/api/co/rating", 502, 1},
		{"wrong types: 502", writeJSON(200, `{"total":"1","items":null}`), "GET", "/api/co/rating", 502, 1},
		{"HTML page: 502", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>oops</html>"))
		}, "GET", "/api/co/rating", 502, 1},
		{"redirect: 502, not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/x", http.StatusFound)
		}, "GET", "/api/co/rating", 502, 1},
		{"upstream 404 passes through", writeJSON(404, `{"error":{"code":"not_found","message":"No such booking."},"meta":{"request_id":"a","generated_at":"2026-02-12T10:00:00Z"}}`), "POST", "/api/co/rating/rate/9", 404, 1},
		{"upstream 409 passes through", writeJSON(409, `{"error":{"code":"already_rated","message":"Already rated."},"meta":{"request_id":"a","generated_at":"2026-02-12T10:00:00Z"}}`), "POST", "/api/co/rating/rate/9", 409, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, tt.respond)
			h := startGateway(t, up.url)
			body := ""
			var hdr http.Header
			if tt.method == "POST" {
				body, hdr = `{"service_rating":5,"private_service_rating":true}`, jsonHeader(nil)
			}
			a := h.do(tt.method, tt.path, hdr, body)
			if a.status != tt.wantStatus || up.calls.Load() != tt.wantCalls {
				t.Fatalf("%s %s = %d with %d upstream calls, want %d with %d: %s", tt.method, tt.path, a.status, up.calls.Load(), tt.wantStatus, tt.wantCalls, a.body)
			}
		})
	}
}

func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	arrived := make(chan struct{}, 1)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		routeOK(w, r)
	})
	h := startGateway(t, up.url)
	done := make(chan answer, 1)
	go func() { done <- h.do("GET", "/api/co/rating", nil, "") }()
	<-arrived
	shut := make(chan error, 1)
	go func() { shut <- h.g.Shutdown(context.Background()) }()
	a := <-done
	if a.status != 200 {
		t.Fatalf("in-flight request during shutdown = %d, want 200", a.status)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown() = %v", err)
	}
	if _, err := http.Get(h.url + "/healthz"); err == nil {
		t.Fatal("a new request after shutdown was accepted")
	}
}
