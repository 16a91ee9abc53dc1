package wire_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/mock/idp"
)

// authorizeQuery is a sign-in of client spa that skips the login page,
// with state as its OAuth state.
func authorizeQuery(state string) string {
	sum := sha256.Sum256([]byte("M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag"))
	return url.Values{"client_id": {"spa"}, "redirect_uri": {"http://localhost:5173/callback"}, "response_type": {"code"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"state": {state}, "scope": {"openid"}, "login_hint": {"ola"}}.Encode()
}

// TestR3F8LongStateNeitherFailsNorOpensABreaker: a sign-in with a 4 KB
// OAuth state is redirected through the development gateway (the mock's
// Location no longer overflows the upstream read buffer: was 502), and one
// client's pass-through requests that fail upstream cannot open a breaker
// that every other sign-in, token and reset shares (was 503 for everyone
// for the breaker's open time).
func TestR3F8LongStateNeitherFailsNorOpensABreaker(t *testing.T) {
	// A mock with the smallest budget, so that one client can fill it.
	h := wiretest.Start(t, wiretest.Config("mock"), wiretest.WithConfig(func(c *config.Config) { c.Mock.MaxBytes = 1 << 20 }))
	state := strings.Repeat("s", 4096)
	a := h.Do(wiretest.Get(idp.PathAuthorize+"?"+authorizeQuery(state), nil))
	if loc, _ := url.Parse(a.Header.Get("Location")); a.Status != http.StatusFound || loc == nil || loc.Query().Get("state") != state {
		t.Fatalf("authorize with a 4 KB state = %d %s, want 302 back to the callback with the state", a.Status, a.Body)
	}
	// One client's control requests that the mock answers 503 (its state
	// budget is full): more of them than the breaker's threshold.
	failed := 0
	for i := 0; failed < 8; i++ {
		if i > 20000 {
			t.Fatalf("the mock's budget never filled: %d of 20,000 scenario changes refused", failed)
		}
		a := h.Do(wiretest.Request{Method: http.MethodPut, Target: "/_mock/scenario",
			Header: http.Header{"Authorization": {fmt.Sprintf("Bearer filler-%d", i)}, "Content-Type": {"application/json"}}, Body: `{"name":"empty"}`})
		if a.Status == http.StatusServiceUnavailable {
			failed++
		}
	}
	for _, r := range []wiretest.Request{
		wiretest.Get(idp.PathAuthorize+"?"+authorizeQuery("st"), nil),
		wiretest.Get(idp.PathJWKS, nil),
		wiretest.Post(idp.PathDevToken, http.Header{"Content-Type": {"application/json"}}, `{"sub":"kari"}`),
	} {
		if a := h.Do(r); a.Status >= 500 {
			t.Errorf("%s %s after another client's failed control requests = %d %s, want no 5xx", r.Method, r.Target, a.Status, a.Body)
		}
	}
}

// TestR3F9AskedForFaultOpensNoBreaker: faults one client asks the mock for
// (Prefer: code=503, in its own session) are not the upstream failing:
// after more of them than the breaker's threshold, another session and
// another user still get their lists.
func TestR3F9AskedForFaultOpensNoBreaker(t *testing.T) {
	h := wiretest.Start(t, wiretest.Config("mock"))
	for range 10 {
		a := h.Do(wiretest.Get("/api/co/rating", http.Header{"Authorization": {"Bearer alice"}, "X-Mock-Session": {"A"}, "Prefer": {"code=503"}}))
		if a.Status != http.StatusServiceUnavailable {
			t.Fatalf("the asked-for fault = %d %s, want 503", a.Status, a.Body)
		}
	}
	for _, hd := range []http.Header{
		{"Authorization": {"Bearer bob"}, "X-Mock-Session": {"B"}},
		{"Authorization": {"Bearer carol"}},
	} {
		if a := h.Do(wiretest.Get("/api/co/rating", hd)); a.Status != http.StatusOK {
			t.Errorf("list for %v after another session's asked-for faults = %d %s, want 200", hd, a.Status, a.Body)
		}
	}
}

// TestR3F12LoginPageKeepsItsSecurityHeaders: the identity provider's login
// page relayed through the development gateway keeps its
// Content-Security-Policy, frame-ancestors included, so it cannot be
// framed by another page.
func TestR3F12LoginPageKeepsItsSecurityHeaders(t *testing.T) {
	h := wiretest.Start(t, wiretest.Config("mock"))
	q, _ := url.ParseQuery(authorizeQuery("st"))
	q.Del("login_hint") // the login page
	a := h.Do(wiretest.Get(idp.PathAuthorize+"?"+q.Encode(), nil))
	if a.Status != http.StatusOK || !strings.Contains(a.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("login page = %d %s %s, want 200 HTML", a.Status, a.Header.Get("Content-Type"), a.Body)
	}
	if csp := a.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy of the relayed login page = %q, want frame-ancestors 'none'", csp)
	}
}

// TestR3F18DiscoveryNamesTheGatewayNotTheClientsChoice: the identity
// provider's discovery document, relayed by the development gateway, names
// the gateway as the request reached it — never an X-Forwarded-Host a
// client sent (it was followed) — the configured server.public_url when
// set, and a trusted proxy's X-Forwarded-Host.
func TestR3F18DiscoveryNamesTheGatewayNotTheClientsChoice(t *testing.T) {
	tests := []struct {
		name     string
		config   func(*config.Config)
		wantHost func(h *wiretest.Server) string
	}{
		{name: "a client's X-Forwarded-Host is ignored", config: func(*config.Config) {},
			wantHost: func(h *wiretest.Server) string { return strings.TrimPrefix(h.URL, "http://") }},
		{name: "server.public_url is named", config: func(c *config.Config) { c.Server.PublicURL = "https://bff.example.no" },
			wantHost: func(*wiretest.Server) string { return "bff.example.no" }},
		{name: "a trusted proxy's X-Forwarded-Host is believed", config: func(c *config.Config) { c.Server.TrustedProxies = []string{"127.0.0.1/32"} },
			wantHost: func(*wiretest.Server) string { return "evil.example" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := wiretest.Start(t, wiretest.Config("mock"), wiretest.WithConfig(tt.config))
			a := h.Do(wiretest.Get(idp.PathDiscovery, http.Header{"X-Forwarded-Host": {"evil.example"}}))
			var doc struct {
				TokenEndpoint string `json:"token_endpoint"`
			}
			if err := json.Unmarshal(a.Body, &doc); err != nil || a.Status != http.StatusOK {
				t.Fatalf("discovery = %d %s", a.Status, a.Body)
			}
			u, err := url.Parse(doc.TokenEndpoint)
			if err != nil || u.Host != tt.wantHost(h) {
				t.Errorf("token_endpoint = %q, want it on %s", doc.TokenEndpoint, tt.wantHost(h))
			}
		})
	}
}
