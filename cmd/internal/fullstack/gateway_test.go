package fullstack

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/auth/authtest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// The documentation's three examples, through `serve --upstream mock`.
func TestDocumentationExamplesAgainstTheMock(t *testing.T) {
	h := wiretest.Start(t, wiretest.Config("mock"))
	tests := []struct {
		name       string
		method     string
		path       string
		header     http.Header
		body       string
		wantStatus int
		wantIn     string
	}{
		{"check-username", "GET", "/api/co/profile/check-username?username=string_value", wiretest.Bearer("YOUR_BEARER_TOKEN"), "", 200, `"available":true`},
		{"list ratings", "GET", "/api/co/rating", nil, "", 200, `"total":`},
		{"rate 123", "POST", "/api/co/rating/rate/123", wiretest.JSONHeader(nil), `{"service_rating": 5, "service_rating_message": "string_value", "private_service_rating": true}`, 200, `"booking_id":123`},
		{"rate 123 again", "POST", "/api/co/rating/rate/123", wiretest.JSONHeader(nil), `{"service_rating": 5, "service_rating_message": "string_value", "private_service_rating": true}`, 409, `"already_rated"`},
		{"documentation's 499.0", "POST", "/api/co/rating/rate/123", wiretest.JSONHeader(nil), `{"service_rating": 499.0, "service_rating_message": "string_value", "private_service_rating": true}`, 400, `"validation_failed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.Do(wiretest.Request{Method: tt.method, Target: tt.path, Header: tt.header, Body: tt.body})
			if a.Status != tt.wantStatus || !strings.Contains(string(a.Body), tt.wantIn) {
				t.Fatalf("%s %s = %d %s, want %d containing %s", tt.method, tt.path, a.Status, a.Body, tt.wantStatus, tt.wantIn)
			}
		})
	}
	a := h.Do(wiretest.Get("/api/co/rating", nil))
	if n := strings.Count(string(a.Body), `"booking_id":123,`); n != 1 {
		t.Fatalf("booking 123 listed %d times after rating it, want 1: %s", n, a.Body)
	}
}

func TestAuthPerModeAndRoute(t *testing.T) {
	now := time.Now()
	expired := jwt.MapClaims{"sub": "u1", "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()}
	wrongKey, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims("u1")).SignedString([]byte("another-secret-another-secret-another"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims("u1")).SignedString(jwt.UnsafeAllowNoneSignatureType)
	tests := []struct {
		name       string
		opts       []wiretest.Option
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
		{"jwt: valid HS256", []wiretest.Option{withJWT}, "/api/co/profile/check-username?username=ola", jwtHeader(validClaims("u1")), 200, 1},
		{"jwt: expired", []wiretest.Option{withJWT}, "/api/co/profile/check-username?username=ola", jwtHeader(expired), 401, 0},
		{"jwt: wrong key", []wiretest.Option{withJWT}, "/api/co/rating", tokenHeader(wrongKey), 401, 0},
		{"jwt: alg none", []wiretest.Option{withJWT}, "/api/co/rating", tokenHeader(none), 401, 0},
		{"jwt: list without token is public", []wiretest.Option{withJWT}, "/api/co/rating", noHeader, 200, 1},
		{"jwt: list requires token by config", []wiretest.Option{withJWT, requireAll}, "/api/co/rating", noHeader, 401, 0},
		{"passthrough: well-formed token", []wiretest.Option{passthrough}, "/api/co/rating", tokenHeader("opaque.token-123"), 200, 1},
		{"passthrough: token with a space", []wiretest.Option{passthrough}, "/api/co/rating", rawHeader("Bearer a b"), 401, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := wiretest.NewUpstream(t, routeOK)
			h := wiretest.Start(t, wiretest.Config(up.URL), append([]wiretest.Option{devMode}, tt.opts...)...)
			a := h.Do(wiretest.Get(tt.path, tt.header(t)))
			if a.Status != tt.wantStatus || up.Calls.Load() != tt.wantCalls {
				t.Fatalf("GET %s = %d (%d upstream calls), want %d (%d calls): %s", tt.path, a.Status, up.Calls.Load(), tt.wantStatus, tt.wantCalls, a.Body)
			}
			if a.Status == 401 && !strings.HasPrefix(a.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without a Bearer challenge: %v", a.Header)
			}
		})
	}
}

func noHeader(*testing.T) http.Header { return nil }

func tokenHeader(tok string) func(*testing.T) http.Header {
	return func(*testing.T) http.Header { return wiretest.Bearer(tok) }
}

func rawHeader(v string) func(*testing.T) http.Header {
	return func(*testing.T) http.Header { return http.Header{"Authorization": {v}} }
}

func jwtHeader(claims jwt.MapClaims) func(*testing.T) http.Header {
	return func(t *testing.T) http.Header { return wiretest.Bearer(authtest.HS256(t, claims)) }
}

var (
	withJWT = wiretest.WithJWT(nil)
	// devMode lets tests use dev auth in front of a loopback test upstream,
	// which the config refuses for real upstreams; the test upstream is local.
	devMode     = wiretest.WithConfig(func(cfg *config.Config) { cfg.Auth.Mode = "passthrough" })
	passthrough = wiretest.WithConfig(func(cfg *config.Config) { cfg.Auth.Mode = "passthrough" })
	requireAll  = wiretest.WithConfig(func(cfg *config.Config) {
		cfg.Auth.RequireTokenOn = []string{"checkUsername", "listRatings", "rateBooking"}
	})
)

func validClaims(sub string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// routeOK answers each operation with a valid body.
func routeOK(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/co/profile/check-username"):
		wiretest.Reply(200, usernameBody)(w, r)
	case r.URL.Path == "/api/co/rating":
		wiretest.Reply(200, wiretest.ListBody)(w, r)
	default:
		wiretest.Reply(200, rateBody)(w, r)
	}
}

func TestAPIKeyInjectionAndHeaderHygiene(t *testing.T) {
	up := wiretest.NewUpstream(t, routeOK)
	h := wiretest.Start(t, wiretest.Config(up.URL))
	a := h.Do(wiretest.Get("/api/co/rating", http.Header{
		"Authorization": {"Bearer client-token"},
		"X-Api-Key":     {"attacker-key"},
		"Cookie":        {"session=abc"},
		"Connection":    {"close, X-Api-Key, Authorization"},
		"X-Request-Id":  {"req-42"},
		"Prefer":        {"code=500"},
	}))
	if a.Status != 200 {
		t.Fatalf("status = %d, want 200: %s", a.Status, a.Body)
	}
	got := up.Last().Header
	tests := []struct{ header, want string }{
		{"X-Api-Key", wiretest.APIKey},
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
	if a.Header.Get("X-Request-Id") != "req-42" {
		t.Errorf("answer X-Request-ID = %q, want req-42", a.Header.Get("X-Request-Id"))
	}
	if strings.Contains(string(a.Body), wiretest.APIKey) || a.Header.Get("X-Api-Key") != "" {
		t.Errorf("the API key reached the client")
	}
}

func TestUsernameCacheAndCoalescing(t *testing.T) {
	release := make(chan struct{})
	up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		wiretest.Reply(200, usernameBody)(w, r)
	})
	h := wiretest.Start(t, wiretest.Config(up.URL))
	const n = 40
	var wg sync.WaitGroup
	statuses := make([]int, n)
	caches := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			a := h.Do(wiretest.Get("/api/co/profile/check-username?username=Ola", wiretest.Bearer("same-caller")))
			statuses[i], caches[i] = a.Status, a.Header.Get("X-Cache")
		}(i)
	}
	time.Sleep(200 * time.Millisecond) // let the requests pile up on the flight
	close(release)
	wg.Wait()
	if up.Calls.Load() != 1 {
		t.Fatalf("%d concurrent misses made %d upstream calls, want 1", n, up.Calls.Load())
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
		a := h.Do(wiretest.Get(tt.path, wiretest.Bearer(tt.token)))
		if a.Status != 200 || a.Header.Get("X-Cache") != tt.wantCache || up.Calls.Load() != tt.wantCalls {
			t.Errorf("%s: %d X-Cache %q calls %d, want 200 %q %d", tt.name, a.Status, a.Header.Get("X-Cache"), up.Calls.Load(), tt.wantCache, tt.wantCalls)
		}
	}
	a := h.Do(wiretest.Get("/api/co/profile/check-username?username=OLA", wiretest.Bearer("same-caller")))
	var got struct{ Username string }
	_ = json.Unmarshal(a.Body, &got)
	if got.Username != "OLA" {
		t.Errorf("cached answer names %q, want the requested spelling OLA", got.Username)
	}
}

func TestBreakerOpensFailsFastAndRecovers(t *testing.T) {
	up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			wiretest.Reply(500, `{"trace":"at db.query(SELECT * FROM secret_table) host=db-internal-7"}`)(w, r)
			return
		}
		routeOK(w, r)
	})
	h := wiretest.Start(t, wiretest.Config(up.URL))
	for i := 0; i < 3; i++ {
		a := h.Do(wiretest.Get("/api/co/rating", nil))
		if a.Status != 502 || strings.Contains(string(a.Body), "secret_table") {
			t.Fatalf("upstream 500 answered %d %s, want 502 without upstream internals", a.Status, a.Body)
		}
	}
	before := up.Calls.Load()
	for i := 0; i < 20; i++ {
		a := h.Do(wiretest.Get("/api/co/rating", nil))
		if a.Status != 503 || a.Header.Get("Retry-After") == "" {
			t.Fatalf("open breaker answered %d (Retry-After %q), want 503 with Retry-After", a.Status, a.Header.Get("Retry-After"))
		}
	}
	if up.Calls.Load() != before {
		t.Fatalf("%d upstream calls while open, want 0", up.Calls.Load()-before)
	}
	if a := h.Do(wiretest.Post("/api/co/rating/rate/5", wiretest.JSONHeader(nil), `{"service_rating":5,"private_service_rating":true}`)); a.Status != 200 {
		t.Fatalf("rateBooking while listRatings is open = %d, want 200 (own breaker)", a.Status)
	}
	up.Set(routeOK)
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := h.Do(wiretest.Get("/api/co/rating", nil))
		if a.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("breaker did not close after the upstream healed; last %d", a.Status)
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
		{"garbled JSON: 502", wiretest.Reply(200, `{"total":`), "GET", "/api/co/rating", 502, 1},
		{"HTML page: 502", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>oops</html>"))
		}, "GET", "/api/co/rating", 502, 1},
		{"redirect: 502, not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/x", http.StatusFound)
		}, "GET", "/api/co/rating", 502, 1},
		{"upstream 404 passes through", wiretest.Reply(404, `{"error":{"code":"not_found","message":"No such booking."},"meta":{"request_id":"a","generated_at":"2026-02-12T10:00:00Z"}}`), "POST", "/api/co/rating/rate/9", 404, 1},
		{"upstream 409 passes through", wiretest.Reply(409, `{"error":{"code":"already_rated","message":"Already rated."},"meta":{"request_id":"a","generated_at":"2026-02-12T10:00:00Z"}}`), "POST", "/api/co/rating/rate/9", 409, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := wiretest.NewUpstream(t, tt.respond)
			h := wiretest.Start(t, wiretest.Config(up.URL))
			body := ""
			var hdr http.Header
			if tt.method == "POST" {
				body, hdr = `{"service_rating":5,"private_service_rating":true}`, wiretest.JSONHeader(nil)
			}
			a := h.Do(wiretest.Request{Method: tt.method, Target: tt.path, Header: hdr, Body: body})
			if a.Status != tt.wantStatus || up.Calls.Load() != tt.wantCalls {
				t.Fatalf("%s %s = %d with %d upstream calls, want %d with %d: %s", tt.method, tt.path, a.Status, up.Calls.Load(), tt.wantStatus, tt.wantCalls, a.Body)
			}
		})
	}
}

const (
	usernameBody = `{"username":"ola","available":true,"message":"Username is available."}`
	rateBody     = `{"data":{"booking_id":123,"service_rating":5},"meta":{"request_id":"x","generated_at":"2026-02-12T10:00:00Z"}}`
)

func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	arrived := make(chan struct{}, 1)
	up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		routeOK(w, r)
	})
	h := wiretest.Start(t, wiretest.Config(up.URL))
	done := make(chan wiretest.Answer, 1)
	go func() { done <- h.Do(wiretest.Get("/api/co/rating", nil)) }()
	<-arrived
	shut := make(chan error, 1)
	go func() { shut <- h.Gateway.Shutdown(context.Background()) }()
	a := <-done
	if a.Status != 200 {
		t.Fatalf("in-flight request during shutdown = %d, want 200", a.Status)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown() = %v", err)
	}
	if _, err := http.Get(h.URL + "/healthz"); err == nil {
		t.Fatal("a new request after shutdown was accepted")
	}
}
