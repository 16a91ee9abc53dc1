package idp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/minbil/minbil-bff/contracts"
)

// grant is what a code or a refresh token stands for.
type grant struct {
	clientID    string
	redirectURI string // codes only
	challenge   string // codes only
	nonce       string // codes only
	scope       string
	sub         string
	expires     time.Time
}

// grants is a bounded map of one-time secrets to grants: past max entries
// the oldest is forgotten. The caller holds Provider.mu.
type grants struct {
	max   int
	items map[string]*grant
	order []string // insertion order; may name secrets already taken
}

func newGrants(max int) *grants { return &grants{max: max, items: map[string]*grant{}} }

func (g *grants) put(secret string, gr *grant) {
	for len(g.items) >= g.max && len(g.order) > 0 {
		delete(g.items, g.order[0])
		g.order = g.order[1:]
	}
	if len(g.order) > 2*g.max {
		g.order = slices.DeleteFunc(g.order, func(s string) bool { return g.items[s] == nil })
	}
	g.items[secret] = gr
	g.order = append(g.order, secret)
}

// take removes and returns the grant of secret when it has not expired: a
// secret works once.
func (g *grants) take(secret string, now time.Time) (*grant, bool) {
	gr, ok := g.items[secret]
	if !ok {
		return nil, false
	}
	delete(g.items, secret)
	return gr, now.Before(gr.expires)
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize answers GET /authorize (the authorization-code flow with PKCE
// S256): a login page, or with login_hint a redirect to redirect_uri with
// a code and the state. A bad client_id or redirect_uri is answered here
// (never redirected to); anything else wrong is redirected as an OAuth
// error (RFC 6749 §4.1.2.1).
func (p *Provider) authorize(c *fiber.Ctx) error {
	q := c.Request().URI().QueryArgs()
	get := func(name string) string { return string(q.Peek(name)) }
	clientID, redirectURI := get("client_id"), get("redirect_uri")
	if !validClientID(clientID) {
		return &Error{http.StatusBadRequest, contracts.CodeBadRequest, "client_id is required: 1 to 255 printable characters."}
	}
	target, ok := localRedirect(redirectURI)
	if !ok {
		return &Error{http.StatusBadRequest, contracts.CodeBadRequest,
			"redirect_uri must be an http(s) URL on localhost or 127.0.0.1 without a fragment; the mock signs in to local frontends only."}
	}
	state := get("state")
	fail := func(code, description string) error {
		return redirect(c, target, url.Values{"error": {code}, "error_description": {description}}, state)
	}
	switch {
	case get("response_type") != "code":
		return fail("unsupported_response_type", "response_type must be code")
	case get("code_challenge_method") != "S256":
		return fail("invalid_request", "PKCE is required: code_challenge_method must be S256")
	case !validChallenge(get("code_challenge")):
		return fail("invalid_request", "code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)")
	}
	sub := strings.TrimSpace(get("login_hint"))
	if sub == "" {
		return p.loginPage(c)
	}
	if !validSubject(sub) {
		return fail("invalid_request", "the username must be 1 to 255 printable characters")
	}
	code := randomSecret()
	p.mu.Lock()
	p.codes.put(code, &grant{
		clientID: clientID, redirectURI: redirectURI, challenge: get("code_challenge"),
		nonce: get("nonce"), scope: get("scope"), sub: sub, expires: p.now().Add(CodeLifetime),
	})
	p.mu.Unlock()
	return redirect(c, target, url.Values{"code": {code}}, state)
}

// redirect sends the browser to target with params (and state when given)
// added to its query.
func redirect(c *fiber.Ctx, target *url.URL, params url.Values, state string) error {
	u := *target
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	c.Set(fiber.HeaderLocation, u.String())
	return c.SendStatus(http.StatusFound)
}

// localRedirect parses a redirect_uri: http or https, on localhost or
// 127.0.0.1, no user info, no fragment.
func localRedirect(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || raw == "" || len(raw) > 2048 {
		return nil, false
	}
	ok := (u.Scheme == "http" || u.Scheme == "https") && u.User == nil && u.Fragment == "" &&
		!strings.Contains(raw, "#") && u.Opaque == "" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")
	return u, ok
}

func validClientID(s string) bool { return validSubject(s) }

func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// token answers POST /token (form-encoded): the authorization_code grant
// (checking client_id, redirect_uri and the PKCE code_verifier) and the
// refresh_token grant. Each code and refresh token works once; a refresh
// returns a new refresh token.
func (p *Provider) token(c *fiber.Ctx) error {
	allowCORS(c)
	if !strings.HasPrefix(strings.ToLower(string(c.Request().Header.ContentType())), fiber.MIMEApplicationForm) {
		return oauthError(c, "invalid_request", "send the parameters as application/x-www-form-urlencoded")
	}
	form := c.Request().PostArgs()
	get := func(name string) string { return string(form.Peek(name)) }
	clientID := get("client_id")
	p.mu.Lock()
	var (
		gr *grant
		ok bool
	)
	now := p.now()
	switch get("grant_type") {
	case "authorization_code":
		gr, ok = p.codes.take(get("code"), now)
		switch {
		case !ok:
			p.mu.Unlock()
			return oauthError(c, "invalid_grant", "the code is unknown, used or expired")
		case gr.clientID != clientID:
			p.mu.Unlock()
			return oauthError(c, "invalid_grant", "client_id is not the one the code was issued to")
		case gr.redirectURI != get("redirect_uri"):
			p.mu.Unlock()
			return oauthError(c, "invalid_grant", "redirect_uri is not the one of the authorization request")
		case !verifierMatches(get("code_verifier"), gr.challenge):
			p.mu.Unlock()
			return oauthError(c, "invalid_grant", "code_verifier does not match the code_challenge")
		}
	case "refresh_token":
		gr, ok = p.refresh.take(get("refresh_token"), now)
		switch {
		case !ok:
			p.mu.Unlock()
			return oauthError(c, "invalid_grant", "the refresh token is unknown, used or expired")
		case gr.clientID != clientID:
			p.mu.Unlock()
			return oauthError(c, "invalid_grant", "client_id is not the one the refresh token was issued to")
		}
	default:
		p.mu.Unlock()
		return oauthError(c, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	}
	refresh := randomSecret()
	p.refresh.put(refresh, &grant{clientID: gr.clientID, scope: gr.scope, sub: gr.sub, expires: now.Add(RefreshLifetime)})
	p.mu.Unlock()

	access, err := p.sign(p.accessClaims(gr.sub, DefaultLifetime))
	if err != nil {
		return err
	}
	out := tokenAnswer{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(DefaultLifetime / time.Second),
		RefreshToken: refresh, Scope: gr.scope}
	if slices.Contains(strings.Fields(gr.scope), "openid") {
		claims := jwt.MapClaims{"iss": p.issuer, "sub": gr.sub, "aud": gr.clientID, "iat": now.Unix(),
			"exp": now.Add(DefaultLifetime).Unix(), "name": gr.sub, "preferred_username": gr.sub}
		if gr.nonce != "" {
			claims["nonce"] = gr.nonce
		}
		if out.IDToken, err = p.sign(claims); err != nil {
			return err
		}
	}
	return c.JSON(out)
}

// verifierMatches checks PKCE S256 (RFC 7636 §4.6).
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// oauthError answers 400 with the OAuth error body (RFC 6749 §5.2), which
// OIDC client libraries read.
func oauthError(c *fiber.Ctx, code, description string) error {
	return c.Status(http.StatusBadRequest).JSON(map[string]string{"error": code, "error_description": description})
}

// loginPage is the one-field sign-in form. It submits GET /authorize with
// the same parameters and the username as login_hint.
func (p *Provider) loginPage(c *fiber.Ctx) error {
	var hidden []field
	c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) {
		if string(k) != "login_hint" {
			hidden = append(hidden, field{string(k), string(v)})
		}
	})
	var b strings.Builder
	if err := loginTemplate.Execute(&b, hidden); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.SendString(b.String())
}

type field struct{ Name, Value string }

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in — minbil-bff mock</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}
input,button{font:inherit;padding:.4rem;width:100%;box-sizing:border-box;margin:.3rem 0}</style></head>
<body><h1>Sign in</h1>
<p>The mock's identity provider: any username signs in and becomes the token's <code>sub</code>, with bookings of its own.</p>
<form method="get" action="authorize">
{{range .}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label for="username">Username</label>
<input id="username" name="login_hint" autocomplete="username" required autofocus maxlength="255">
<button type="submit" id="sign-in">Sign in</button>
</form></body></html>
`))
