package idp

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
)

// clock is a simulated clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type harness struct {
	t     *testing.T
	p     *Provider
	clock *clock
	base  string
	http  *http.Client
}

// start serves a provider on 127.0.0.1 with the mock's mapping of *Error.
func start(t *testing.T) *harness {
	t.Helper()
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	p := New(Config{Now: clk.Now})
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: func(c *fiber.Ctx, err error) error {
		var e *Error
		if errors.As(err, &e) {
			return c.Status(e.Status).JSON(map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message}})
		}
		return c.SendStatus(http.StatusInternalServerError)
	}})
	app.Use(Preflight)
	p.Mount(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		_ = app.Shutdown()
		<-done
	})
	return &harness{t: t, p: p, clock: clk, base: "http://" + ln.Addr().String(),
		http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status   int
	header   http.Header
	body     string
	location *url.URL
}

func (h *harness) do(req *http.Request) answer {
	h.t.Helper()
	res, err := h.http.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, body: string(b)}
	if loc := res.Header.Get("Location"); loc != "" {
		if a.location, err = url.Parse(loc); err != nil {
			h.t.Fatalf("Location %q: %v", loc, err)
		}
	}
	return a
}

func (h *harness) get(path string) answer {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.base+path, nil)
	return h.do(req)
}

func (h *harness) post(path, contentType, body string) answer {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return h.do(req)
}

// verify checks token against the provider's JWKS as a relying party would.
func (h *harness) verify(token string, opts ...jwt.ParserOption) (jwt.MapClaims, error) {
	h.t.Helper()
	jwks := h.get(PathJWKS)
	kf, err := keyfunc.NewJWKSetJSON(json.RawMessage(jwks.body))
	if err != nil {
		h.t.Fatalf("JWKS %s: %v", jwks.body, err)
	}
	claims := jwt.MapClaims{}
	opts = append([]jwt.ParserOption{jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(h.clock.Now),
		jwt.WithIssuer(DefaultIssuer), jwt.WithExpirationRequired()}, opts...)
	_, err = jwt.ParseWithClaims(token, claims, kf.Keyfunc, opts...)
	return claims, err
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return v
}

func TestDevToken(t *testing.T) {
	h := start(t)
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantCode   string
		wantSub    string
		wantAud    string
		wantLife   int64
	}{
		{name: "defaults", body: "", wantStatus: 200, wantSub: DefaultSubject, wantAud: DefaultAudience, wantLife: 3600},
		{name: "sub and lifetime", body: `{"sub": "kari", "expires_in": 60}`, wantStatus: 200, wantSub: "kari", wantAud: DefaultAudience, wantLife: 60},
		{name: "another audience", body: `{"aud": "someone-else"}`, wantStatus: 200, wantSub: DefaultSubject, wantAud: "someone-else", wantLife: 3600},
		{name: "longest", body: `{"expires_in": 86400}`, wantStatus: 200, wantSub: DefaultSubject, wantAud: DefaultAudience, wantLife: 86400},
		{name: "too long", body: `{"expires_in": 86401}`, wantStatus: 400, wantCode: "validation_failed"},
		{name: "zero", body: `{"expires_in": 0}`, wantStatus: 400, wantCode: "validation_failed"},
		{name: "fraction", body: `{"expires_in": 1.5}`, wantStatus: 400, wantCode: "validation_failed"},
		{name: "string lifetime", body: `{"expires_in": "60"}`, wantStatus: 400, wantCode: "validation_failed"},
		{name: "empty sub", body: `{"sub": ""}`, wantStatus: 400, wantCode: "validation_failed"},
		{name: "exp given", body: `{"exp": 1}`, wantStatus: 400, wantCode: "validation_failed"},
		{name: "bad JSON", body: `{"sub": `, wantStatus: 400, wantCode: "invalid_json"},
		{name: "not an object", body: `[1]`, wantStatus: 400, wantCode: "invalid_json"},
		{name: "two objects", body: `{} {}`, wantStatus: 400, wantCode: "invalid_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.post(PathDevToken, "application/json", tt.body)
			if a.status != tt.wantStatus {
				t.Fatalf("POST %s %s = %d %s, want %d", PathDevToken, tt.body, a.status, a.body, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				if e := decode[struct{ Error struct{ Code string } }](t, a.body); e.Error.Code != tt.wantCode {
					t.Errorf("code = %q, want %q", e.Error.Code, tt.wantCode)
				}
				return
			}
			tok := decode[tokenAnswer](t, a.body)
			if tok.TokenType != "Bearer" || tok.ExpiresIn != tt.wantLife {
				t.Errorf("answer = %+v, want Bearer for %d s", tok, tt.wantLife)
			}
			claims, err := h.verify(tok.AccessToken, jwt.WithAudience(tt.wantAud))
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if claims["sub"] != tt.wantSub {
				t.Errorf("sub = %v, want %q", claims["sub"], tt.wantSub)
			}
			exp, _ := claims.GetExpirationTime()
			iat, _ := claims.GetIssuedAt()
			if got := int64(exp.Sub(iat.Time) / time.Second); got != tt.wantLife {
				t.Errorf("exp-iat = %d s, want %d", got, tt.wantLife)
			}
		})
	}
}

func TestDevTokenExpires(t *testing.T) {
	h := start(t)
	tok := decode[tokenAnswer](t, h.post(PathDevToken, "application/json", `{"expires_in": 1}`).body)
	if _, err := h.verify(tok.AccessToken); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	h.clock.Add(2 * time.Second)
	if _, err := h.verify(tok.AccessToken); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Fatalf("token after 2s = %v, want expired", err)
	}
}

func TestDiscovery(t *testing.T) {
	h := start(t)
	req, _ := http.NewRequest(http.MethodGet, h.base+PathDiscovery, nil)
	req.Header.Set("X-Forwarded-Host", "localhost:5000")
	req.Header.Set("Origin", "http://localhost:5173")
	a := h.do(req)
	doc := decode[map[string]any](t, a.body)
	want := map[string]string{
		"issuer":                 DefaultIssuer,
		"authorization_endpoint": "http://localhost:5000/authorize",
		"token_endpoint":         "http://localhost:5000/token",
		"jwks_uri":               "http://localhost:5000/.well-known/jwks.json",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("discovery %s = %v, want %q", k, doc[k], v)
		}
	}
	if got := a.header.Get("Access-Control-Allow-Origin"); got != "http://localhost:5173" {
		t.Errorf("Access-Control-Allow-Origin = %q, want the localhost origin", got)
	}
	req.Header.Set("X-Forwarded-Host", `evil"><script>`)
	req.Header.Set("Origin", "https://evil.example")
	a = h.do(req)
	if doc := decode[map[string]any](t, a.body); strings.Contains(fmt.Sprint(doc["token_endpoint"]), "evil") {
		t.Errorf("token_endpoint = %v, built from a bad X-Forwarded-Host", doc["token_endpoint"])
	}
	if got := a.header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("Access-Control-Allow-Origin = %q for a foreign origin, want none", got)
	}
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

func challengeOf(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func authorizeQuery(mod func(url.Values)) string {
	q := url.Values{
		"client_id": {"app"}, "redirect_uri": {"http://localhost:3000/cb"}, "response_type": {"code"},
		"code_challenge": {challengeOf(verifier)}, "code_challenge_method": {"S256"}, "state": {"s-1"},
		"scope": {"openid offline_access"}, "nonce": {"n-1"}, "login_hint": {"ola"},
	}
	if mod != nil {
		mod(q)
	}
	return PathAuthorize + "?" + q.Encode()
}

// code signs in with login_hint and returns the code.
func (h *harness) code() string {
	h.t.Helper()
	a := h.get(authorizeQuery(nil))
	if a.status != http.StatusFound || a.location == nil {
		h.t.Fatalf("authorize = %d %s, want 302", a.status, a.body)
	}
	if got := a.location.Query().Get("state"); got != "s-1" {
		h.t.Errorf("state = %q, want s-1", got)
	}
	if a.location.Host != "localhost:3000" || a.location.Path != "/cb" {
		h.t.Errorf("redirected to %s, want the redirect_uri", a.location)
	}
	return a.location.Query().Get("code")
}

func exchange(code string, mod func(url.Values)) string {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"app"},
		"redirect_uri": {"http://localhost:3000/cb"}, "code_verifier": {verifier}}
	if mod != nil {
		mod(f)
	}
	return f.Encode()
}

const form = "application/x-www-form-urlencoded"

func TestAuthorizationCodeFlow(t *testing.T) {
	h := start(t)
	code := h.code()
	a := h.post(PathToken, form, exchange(code, nil))
	if a.status != 200 {
		t.Fatalf("token = %d %s, want 200", a.status, a.body)
	}
	tok := decode[tokenAnswer](t, a.body)
	claims, err := h.verify(tok.AccessToken, jwt.WithAudience(DefaultAudience))
	if err != nil || claims["sub"] != "ola" {
		t.Fatalf("access token: sub %v, %v; want ola, valid", claims["sub"], err)
	}
	id, err := h.verify(tok.IDToken, jwt.WithAudience("app"))
	if err != nil || id["nonce"] != "n-1" || id["sub"] != "ola" {
		t.Fatalf("id token: %v, %v; want nonce n-1, sub ola", id, err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}

	// The code works once.
	if a := h.post(PathToken, form, exchange(code, nil)); a.status != 400 || !strings.Contains(a.body, "invalid_grant") {
		t.Errorf("code reused = %d %s, want 400 invalid_grant", a.status, a.body)
	}

	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {"app"}}.Encode()
	a = h.post(PathToken, form, refresh)
	if a.status != 200 {
		t.Fatalf("refresh = %d %s, want 200", a.status, a.body)
	}
	next := decode[tokenAnswer](t, a.body)
	if claims, err := h.verify(next.AccessToken, jwt.WithAudience(DefaultAudience)); err != nil || claims["sub"] != "ola" {
		t.Fatalf("refreshed access token: %v, %v", claims, err)
	}
	if next.AccessToken == tok.AccessToken {
		t.Errorf("the refreshed access token is the first one (same second, same claims): want a jti")
	}
	if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh token not rotated")
	}
	if a := h.post(PathToken, form, refresh); a.status != 400 || !strings.Contains(a.body, "invalid_grant") {
		t.Errorf("refresh token reused = %d %s, want 400 invalid_grant", a.status, a.body)
	}
}

func TestTokenRefusals(t *testing.T) {
	h := start(t)
	tests := []struct {
		name      string
		mod       func(url.Values)
		wantError string
	}{
		{name: "wrong verifier", mod: func(f url.Values) { f.Set("code_verifier", strings.Repeat("x", 43)) }, wantError: "invalid_grant"},
		{name: "no verifier", mod: func(f url.Values) { f.Del("code_verifier") }, wantError: "invalid_grant"},
		{name: "other redirect_uri", mod: func(f url.Values) { f.Set("redirect_uri", "http://localhost:3000/other") }, wantError: "invalid_grant"},
		{name: "other client", mod: func(f url.Values) { f.Set("client_id", "other") }, wantError: "invalid_grant"},
		{name: "unknown code", mod: func(f url.Values) { f.Set("code", "nope") }, wantError: "invalid_grant"},
		{name: "unknown grant", mod: func(f url.Values) { f.Set("grant_type", "password") }, wantError: "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.post(PathToken, form, exchange(h.code(), tt.mod))
			if got := decode[map[string]string](t, a.body)["error"]; a.status != 400 || got != tt.wantError {
				t.Errorf("token = %d %s, want 400 %s", a.status, a.body, tt.wantError)
			}
		})
	}
	t.Run("expired code", func(t *testing.T) {
		code := h.code()
		h.clock.Add(CodeLifetime + time.Second)
		if a := h.post(PathToken, form, exchange(code, nil)); a.status != 400 {
			t.Errorf("expired code = %d %s, want 400", a.status, a.body)
		}
	})
	t.Run("JSON body", func(t *testing.T) {
		if a := h.post(PathToken, "application/json", `{}`); a.status != 400 {
			t.Errorf("JSON token request = %d %s, want 400", a.status, a.body)
		}
	})
}

func TestAuthorizeRefusals(t *testing.T) {
	h := start(t)
	tests := []struct {
		name         string
		mod          func(url.Values)
		wantStatus   int
		wantRedirect string // the error redirected with, when 302
	}{
		{name: "foreign redirect", mod: func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, wantStatus: 400},
		{name: "localhost lookalike", mod: func(q url.Values) { q.Set("redirect_uri", "http://localhost.evil.example/cb") }, wantStatus: 400},
		{name: "user info", mod: func(q url.Values) { q.Set("redirect_uri", "http://evil.example@localhost/cb") }, wantStatus: 400},
		{name: "fragment", mod: func(q url.Values) { q.Set("redirect_uri", "http://localhost:3000/cb#x") }, wantStatus: 400},
		{name: "no redirect", mod: func(q url.Values) { q.Del("redirect_uri") }, wantStatus: 400},
		{name: "no client", mod: func(q url.Values) { q.Del("client_id") }, wantStatus: 400},
		{name: "no PKCE", mod: func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, wantStatus: 302, wantRedirect: "invalid_request"},
		{name: "plain PKCE", mod: func(q url.Values) { q.Set("code_challenge_method", "plain") }, wantStatus: 302, wantRedirect: "invalid_request"},
		{name: "implicit", mod: func(q url.Values) { q.Set("response_type", "token") }, wantStatus: 302, wantRedirect: "unsupported_response_type"},
		{name: "127.0.0.1", mod: func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:8080/cb") }, wantStatus: 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.get(authorizeQuery(tt.mod))
			if a.status != tt.wantStatus {
				t.Fatalf("authorize = %d %s, want %d", a.status, a.body, tt.wantStatus)
			}
			if a.status == 302 {
				if got := a.location.Query().Get("error"); got != tt.wantRedirect {
					t.Errorf("redirected error = %q, want %q", got, tt.wantRedirect)
				}
			}
		})
	}
}

func TestLoginPage(t *testing.T) {
	h := start(t)
	a := h.get(authorizeQuery(func(q url.Values) { q.Del("login_hint"); q.Set("state", `"><script>alert(1)</script>`) }))
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Fatalf("login page = %d %s, want 200 HTML", a.status, a.header.Get("Content-Type"))
	}
	if strings.Contains(a.body, "<script>") || !strings.Contains(a.body, `name="login_hint"`) || !strings.Contains(a.body, `name="code_challenge"`) {
		t.Errorf("login page does not carry the parameters escaped:\n%s", a.body)
	}
}

// TestR3F13FloodOfAuthorizeKeepsOthersCodes: 1,100 sign-ins from one
// client, past the 1,000 codes the provider holds, stop at that client's
// bound with temporarily_unavailable, and another client's pending code
// still exchanges for tokens.
func TestR3F13FloodOfAuthorizeKeepsOthersCodes(t *testing.T) {
	h := start(t)
	pending := h.code()

	codes, refused := 0, 0
	for i := range 1100 {
		a := h.get(authorizeQuery(func(q url.Values) { q.Set("client_id", "flooder"); q.Set("state", fmt.Sprint(i)) }))
		if a.status != http.StatusFound || a.location == nil {
			t.Fatalf("authorize %d = %d %s, want a redirect", i, a.status, a.body)
		}
		q := a.location.Query()
		switch {
		case q.Get("code") != "":
			codes++
		case q.Get("error") == "temporarily_unavailable" && strings.Contains(q.Get("error_description"), "waiting"):
			refused++
		default:
			t.Fatalf("authorize %d redirected with %v, want a code or temporarily_unavailable", i, q)
		}
	}
	if codes != MaxCodesPerRequester || refused != 1100-MaxCodesPerRequester {
		t.Errorf("flood: %d codes, %d refused; want %d and %d", codes, refused, MaxCodesPerRequester, 1100-MaxCodesPerRequester)
	}
	if a := h.post(PathToken, form, exchange(pending, nil)); a.status != 200 {
		t.Errorf("the other client's pending code after the flood = %d %s, want 200", a.status, a.body)
	}
	if a := h.post(PathToken, form, exchange(h.code(), nil)); a.status != 200 {
		t.Errorf("the other client signing in during the flood = %d %s, want 200", a.status, a.body)
	}
}

func TestCodeTableBounds(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	code := func(requester string, expires time.Time) *grant {
		return &grant{requester: requester, expires: expires}
	}
	tab := newCodeTable(3, 2)
	steps := []struct {
		name    string
		put     string // the code to put, named requester/n
		take    string // or the code to take
		now     time.Time
		wantErr error
	}{
		{name: "a's first", put: "a/1", now: t0},
		{name: "a's second", put: "a/2", now: t0},
		{name: "a over its bound", put: "a/3", now: t0, wantErr: errRequesterFull},
		{name: "b while a is at its bound", put: "b/1", now: t0},
		{name: "c when the table is full", put: "c/1", now: t0, wantErr: errCodesFull},
		{name: "a exchanges one", take: "a/1", now: t0},
		{name: "c after the exchange", put: "c/1", now: t0},
		{name: "a again once its codes expired", put: "a/4", now: t0.Add(CodeLifetime)},
	}
	for _, s := range steps {
		if s.take != "" {
			if _, ok := tab.take(s.take, s.now); !ok {
				t.Fatalf("%s: take(%s) = false, want true", s.name, s.take)
			}
			continue
		}
		requester, _, _ := strings.Cut(s.put, "/")
		if err := tab.put(s.put, code(requester, t0.Add(CodeLifetime)), s.now); !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: put(%s) = %v, want %v", s.name, s.put, err, s.wantErr)
		}
	}
	if len(tab.items) != 1 || tab.pending["a"] != 1 || len(tab.pending) != 1 {
		t.Errorf("after expiry: %d codes, pending %v; want only a/4", len(tab.items), tab.pending)
	}

	// Codes taken before they reach the front leave their names behind:
	// order is compacted, not grown by a stream of sign-ins.
	for i := range 100 {
		name := fmt.Sprint("d/", i)
		if err := tab.put(name, code("d", t0.Add(2*CodeLifetime)), t0.Add(CodeLifetime)); err != nil {
			t.Fatalf("put(%s) = %v", name, err)
		}
		tab.take(name, t0.Add(CodeLifetime))
	}
	if len(tab.order) > 2*tab.max+1 {
		t.Errorf("order holds %d names for %d codes, want it compacted", len(tab.order), tab.max)
	}
}

// TestR3F21RefreshReuseRevokesTheFamily: refresh A gives B; A presented
// again is refused, and B, the token that replaced it, is refused too
// (RFC 9700 §4.14.2). Another sign-in's refresh token still works.
func TestR3F21RefreshReuseRevokesTheFamily(t *testing.T) {
	h := start(t)
	signIn := func() tokenAnswer {
		a := h.post(PathToken, form, exchange(h.code(), nil))
		if a.status != 200 {
			t.Fatalf("sign in = %d %s, want 200", a.status, a.body)
		}
		return decode[tokenAnswer](t, a.body)
	}
	refresh := func(token string) answer {
		return h.post(PathToken, form, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "client_id": {"app"}}.Encode())
	}
	other := signIn().RefreshToken
	a := signIn().RefreshToken
	res := refresh(a)
	if res.status != 200 {
		t.Fatalf("refresh A = %d %s, want 200", res.status, res.body)
	}
	b := decode[tokenAnswer](t, res.body).RefreshToken

	steps := []struct {
		name      string
		token     string
		wantError string // "" for 200
	}{
		{"A reused", a, "invalid_grant"},
		{"B after A's reuse", b, "invalid_grant"},
		{"another sign-in's token", other, ""},
	}
	for _, s := range steps {
		res := refresh(s.token)
		got := decode[map[string]any](t, res.body)["error"]
		if s.wantError == "" && res.status != 200 || s.wantError != "" && (res.status != 400 || got != s.wantError) {
			t.Errorf("%s: refresh = %d %s, want %q", s.name, res.status, res.body, s.wantError)
		}
	}
}

func TestFamilies(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := signIn{clientID: "app", sub: "ola", nonce: "n"}
	t.Run("another client revokes", func(t *testing.T) {
		fs := newFamilies(10)
		tok := fs.start(s, t0, time.Hour)
		if _, err := fs.rotate(tok, "other", t0, time.Hour); !errors.Is(err, errRefreshClient) {
			t.Fatalf("rotate by another client = %v, want %v", err, errRefreshClient)
		}
		if _, err := fs.rotate(tok, "app", t0, time.Hour); !errors.Is(err, errRefreshUnknown) {
			t.Errorf("rotate by its client after that = %v, want %v", err, errRefreshUnknown)
		}
	})
	t.Run("expires", func(t *testing.T) {
		fs := newFamilies(10)
		tok := fs.start(s, t0, time.Hour)
		if _, err := fs.rotate(tok, "app", t0.Add(time.Hour), time.Hour); !errors.Is(err, errRefreshUnknown) {
			t.Errorf("rotate at expiry = %v, want %v", err, errRefreshUnknown)
		}
		if len(fs.byID) != 0 || fs.order.Len() != 0 {
			t.Errorf("an expired family is kept: %d, %d", len(fs.byID), fs.order.Len())
		}
	})
	t.Run("bounded: the least recently refreshed goes", func(t *testing.T) {
		fs := newFamilies(2)
		first := fs.start(s, t0, time.Hour)
		second := fs.start(s, t0, time.Hour)
		f, err := fs.rotate(first, "app", t0, time.Hour)
		if err != nil || f.nonce != "" {
			t.Fatalf("rotate = %v (nonce %q), want a family without the authorization request's nonce", err, f.nonce)
		}
		fs.start(s, t0, time.Hour)
		if _, err := fs.rotate(second, "app", t0, time.Hour); !errors.Is(err, errRefreshUnknown) {
			t.Errorf("the least recently refreshed family = %v, want it forgotten", err)
		}
		if _, err := fs.rotate(f.token(), "app", t0, time.Hour); err != nil {
			t.Errorf("the refreshed family = %v, want it kept", err)
		}
	})
	t.Run("not a family's token", func(t *testing.T) {
		fs := newFamilies(2)
		for _, tok := range []string{"", ".", "no-dot", "x.y"} {
			if _, err := fs.rotate(tok, "app", t0, time.Hour); !errors.Is(err, errRefreshUnknown) {
				t.Errorf("rotate(%q) = %v, want %v", tok, err, errRefreshUnknown)
			}
		}
	})
}

// TestTokenTypes: access tokens carry typ at+jwt (RFC 9068 §2.1), ID
// tokens typ JWT, so a resource server can tell them apart (R3-F11).
func TestTokenTypes(t *testing.T) {
	h := start(t)
	dev := decode[tokenAnswer](t, h.post(PathDevToken, "application/json", `{"sub": "kari"}`).body)
	flow := decode[tokenAnswer](t, h.post(PathToken, form, exchange(h.code(), nil)).body)
	tests := []struct {
		name         string
		token        string
		wantTyp      string
		wantClientID any
	}{
		{"dev token", dev.AccessToken, TypeAccessToken, DevClientID},
		{"access token", flow.AccessToken, TypeAccessToken, "app"},
		{"ID token", flow.IDToken, TypeIDToken, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := jwt.MapClaims{}
			tok, _, err := jwt.NewParser().ParseUnverified(tt.token, claims)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := tok.Header["typ"]; got != tt.wantTyp {
				t.Errorf("typ = %v, want %q", got, tt.wantTyp)
			}
			if got := claims["client_id"]; got != tt.wantClientID {
				t.Errorf("client_id = %v, want %v", got, tt.wantClientID)
			}
		})
	}
}

func TestKeyRoundTrip(t *testing.T) {
	created := 0
	made := New(Config{KeyCreated: func(*rsa.PrivateKey) { created++ }})
	s, err := made.key()
	if err != nil {
		t.Fatal(err)
	}
	if created != 1 {
		t.Errorf("KeyCreated called %d times, want 1", created)
	}
	pemKey, err := EncodeKey(s.key)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeKey(pemKey)
	if err != nil || !back.Equal(s.key) {
		t.Fatalf("DecodeKey(EncodeKey(k)) = %v, want k", err)
	}
	if _, err := DecodeKey("not a key"); err == nil {
		t.Error("DecodeKey(junk) = nil, want an error")
	}
	again, err := New(Config{Key: back}).key()
	if err != nil || again.kid != s.kid {
		t.Errorf("kid of the kept key = %q, want %q", again.kid, s.kid)
	}
}
