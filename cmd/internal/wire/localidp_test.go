package wire_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/mock/idp"
)

// clock is the authenticator's simulated clock; it starts at the real time
// because the mock mints tokens on its own clock.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// idpGateway is a gateway with auth.mode local-idp in front of the built-in
// mock, and a client that does not follow redirects.
type idpGateway struct {
	*wiretest.Server
	t      *testing.T
	clock  *clock
	client *http.Client
}

func startLocalIDP(t *testing.T) *idpGateway {
	t.Helper()
	clk := &clock{}
	cfg := wiretest.Config("mock")
	cfg.Auth.Mode = config.AuthLocalIDP
	h := wiretest.Start(t, cfg, wiretest.WithClock(clk.Now))
	return &idpGateway{Server: h, t: t, clock: clk,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (g *idpGateway) send(method, path, contentType, body string, header http.Header) (*http.Response, string) {
	g.t.Helper()
	req, err := http.NewRequest(method, g.URL+path, strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := g.client.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// mint asks the gateway's /_dev/token for a token with claims.
func (g *idpGateway) mint(claims string) string {
	g.t.Helper()
	res, body := g.send(http.MethodPost, idp.PathDevToken, "application/json", claims, nil)
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil || res.StatusCode != 200 || tok.TokenType != "Bearer" {
		g.t.Fatalf("POST /_dev/token %s = %d %s, want 200 with a Bearer token", claims, res.StatusCode, body)
	}
	return tok.AccessToken
}

// list calls the list operation with token and returns the status and the
// challenge.
func (g *idpGateway) list(token string) (int, string) {
	g.t.Helper()
	a := g.Do(wiretest.Get("/api/co/rating", wiretest.Bearer(token)))
	return a.Status, a.Header.Get("WWW-Authenticate")
}

func TestLocalIDPVerifiesAsJWTMode(t *testing.T) {
	g := startLocalIDP(t)
	good := g.mint(`{"sub": "kari", "expires_in": 60}`)
	otherAud := g.mint(`{"sub": "kari", "aud": "another-app"}`)
	otherIss := g.mint(`{"sub": "kari", "iss": "https://idp.example"}`)

	if status, _ := g.list(good); status != 200 {
		t.Fatalf("list with a minted token = %d, want 200", status)
	}
	tests := []struct {
		name  string
		token string
	}{
		{"wrong audience", otherAud},
		{"wrong issuer", otherIss},
		{"not a JWT", "kari"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, challenge := g.list(tt.token); status != 401 || challenge != `Bearer realm="minbil", error="invalid_token"` {
				t.Errorf("list = %d %q, want 401 with the invalid_token challenge", status, challenge)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		g.clock.Add(60*time.Second + time.Hour) // past exp and any leeway
		if status, challenge := g.list(good); status != 401 || challenge != `Bearer realm="minbil", error="invalid_token"` {
			t.Errorf("list after expiry = %d %q, want 401 with the invalid_token challenge", status, challenge)
		}
	})
}

func TestLocalIDPSignInWithPKCE(t *testing.T) {
	g := startLocalIDP(t)

	res, body := g.send(http.MethodGet, idp.PathDiscovery, "", "", nil)
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil || res.StatusCode != 200 {
		t.Fatalf("discovery = %d %s", res.StatusCode, body)
	}
	if doc["token_endpoint"] != g.URL+idp.PathToken || doc["issuer"] != idp.DefaultIssuer {
		t.Errorf("discovery names %v and %v, want the gateway's token endpoint and %s", doc["token_endpoint"], doc["issuer"], idp.DefaultIssuer)
	}

	const verifier = "M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {"spa"}, "redirect_uri": {"http://localhost:5173/callback"}, "response_type": {"code"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"state": {"st"}, "scope": {"openid"}, "login_hint": {"ola"}}
	res, body = g.send(http.MethodGet, idp.PathAuthorize+"?"+q.Encode(), "", "", nil)
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || loc == nil || loc.Host != "localhost:5173" || loc.Query().Get("state") != "st" {
		t.Fatalf("authorize = %d %s (Location %q), want a redirect to the callback with the state", res.StatusCode, body, res.Header.Get("Location"))
	}
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "client_id": {"spa"},
		"redirect_uri": {"http://localhost:5173/callback"}, "code_verifier": {verifier}}.Encode()
	tokens := g.token(exchange, 200)
	if status, _ := g.list(tokens.AccessToken); status != 200 {
		t.Fatalf("list with the signed-in token = %d, want 200", status)
	}
	if got := g.token(exchange, 400); got.Error != "invalid_grant" {
		t.Errorf("code reused: error %q, want invalid_grant", got.Error)
	}
	refreshed := g.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens.RefreshToken}, "client_id": {"spa"}}.Encode(), 200)
	if status, _ := g.list(refreshed.AccessToken); status != 200 {
		t.Fatalf("list with the refreshed token = %d, want 200", status)
	}

	// Each signed-in user is an owner of their own: ola's bookings are not kari's.
	bookings := func(token string) string {
		_, body := g.send(http.MethodGet, "/_mock/bookings", "", "", http.Header{"Authorization": {"Bearer " + token}})
		return body
	}
	if ola, kari := bookings(tokens.AccessToken), bookings(g.mint(`{"sub": "kari"}`)); ola == kari || !strings.Contains(ola, "booking") {
		t.Errorf("ola and kari see the same bookings:\n%s", ola)
	}
}

type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

func (g *idpGateway) token(form string, wantStatus int) tokenAnswer {
	g.t.Helper()
	res, body := g.send(http.MethodPost, idp.PathToken, "application/x-www-form-urlencoded", form, nil)
	var out tokenAnswer
	if err := json.Unmarshal([]byte(body), &out); err != nil || res.StatusCode != wantStatus {
		g.t.Fatalf("POST /token = %d %s, want %d", res.StatusCode, body, wantStatus)
	}
	return out
}

func TestLocalIDPOnlyWithTheMock(t *testing.T) {
	cfg := wiretest.Config("https://api.example.test")
	cfg.Auth.Mode = config.AuthLocalIDP
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "auth.mode: local-idp") {
		t.Errorf("Validate(local-idp, real upstream) = %v, want an auth.mode problem", err)
	}
	mockCfg := wiretest.Config("mock")
	mockCfg.Auth.Mode = config.AuthLocalIDP
	if err := mockCfg.Validate(); err != nil {
		t.Errorf("Validate(local-idp, mock) = %v, want nil", err)
	}
	if _, err := auth.New(mockCfg.Auth, nil); err == nil {
		t.Error("auth.New(local-idp) = nil error, want a refusal: only cmd/internal/wire builds it")
	}
}

func TestProductionHasNoIdentityRoutes(t *testing.T) {
	up := wiretest.NewUpstream(t, wiretest.Reply(200, `{}`))
	h := wiretest.Start(t, wiretest.Config(up.URL))
	for _, r := range idp.Routes() {
		a := h.Do(wiretest.Request{Method: r.Method, Target: r.Path})
		if a.Status != 404 && a.Status != 405 {
			t.Errorf("%s %s in front of a real upstream = %d, want 404 or 405", r.Method, r.Path, a.Status)
		}
	}
	if n := len(up.Records()); n != 0 {
		t.Errorf("the real upstream got %d requests, want none", n)
	}
}
