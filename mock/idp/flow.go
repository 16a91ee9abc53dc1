package idp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
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
	err := p.putCode(code, &grant{
		signIn:      signIn{clientID: clientID, scope: get("scope"), sub: sub, nonce: get("nonce")},
		redirectURI: redirectURI, challenge: get("code_challenge"), requester: requesterOf(c, clientID),
	})
	switch {
	case errors.Is(err, errRequesterFull):
		return fail("temporarily_unavailable", fmt.Sprintf(
			"this client has %d sign-ins waiting for their code to be exchanged: exchange them, or wait until they expire (%s)", MaxCodesPerRequester, CodeLifetime))
	case errors.Is(err, errCodesFull):
		return fail("temporarily_unavailable", fmt.Sprintf(
			"the provider holds %d sign-ins waiting for their code to be exchanged: try again when some expire (%s)", MaxCodes, CodeLifetime))
	}
	return redirect(c, target, url.Values{"code": {code}}, state)
}

// putCode keeps a new code for CodeLifetime, within the bounds of the code
// table.
func (p *Provider) putCode(code string, g *grant) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	g.expires = now.Add(CodeLifetime)
	return p.codes.put(code, g, now)
}

// requesterOf names who asks for a code, the key of the per-requester
// bound: the client_id and the address the request came from, so an app
// that floods or loops stops at its own bound while other apps, and the
// same app on other machines, still sign in. Behind a gateway every
// request comes from the gateway's address (its pass-through relays no
// client address, and a client-sent X-Forwarded-For proves nothing), so
// there the bound is per client_id and the gateway's per-IP limiter bounds
// each user. A requester rotating client_ids can at worst fill the table:
// new sign-ins are refused until codes expire, and none is forgotten.
func requesterOf(c *fiber.Ctx, clientID string) string {
	return c.Context().RemoteIP().String() + " " + clientID
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
// returns a new refresh token, and presenting one already replaced revokes
// every refresh token of that sign-in (families).
func (p *Provider) token(c *fiber.Ctx) error {
	allowCORS(c)
	if !strings.HasPrefix(strings.ToLower(string(c.Request().Header.ContentType())), fiber.MIMEApplicationForm) {
		return oauthError(c, "invalid_request", "send the parameters as application/x-www-form-urlencoded")
	}
	form := c.Request().PostArgs()
	get := func(name string) string { return string(form.Peek(name)) }
	s, refresh, err := p.redeem(get)
	var refusal *oauthRefusal
	if errors.As(err, &refusal) {
		return oauthError(c, refusal.code, refusal.description)
	}
	if err != nil {
		return err
	}
	now := p.now()
	access, err := p.sign(TypeAccessToken, p.accessClaims(s.sub, s.clientID, DefaultLifetime))
	if err != nil {
		return err
	}
	out := tokenAnswer{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(DefaultLifetime / time.Second),
		RefreshToken: refresh, Scope: s.scope}
	if slices.Contains(strings.Fields(s.scope), "openid") {
		claims := jwt.MapClaims{"iss": p.issuer, "sub": s.sub, "aud": s.clientID, "iat": now.Unix(),
			"exp": now.Add(DefaultLifetime).Unix(), "name": s.sub, "preferred_username": s.sub}
		if s.nonce != "" {
			claims["nonce"] = s.nonce
		}
		if out.IDToken, err = p.sign(TypeIDToken, claims); err != nil {
			return err
		}
	}
	return c.JSON(out)
}

// redeem checks the grant of a token request (the form's values by get)
// and returns the sign-in to issue tokens for and its new refresh token. A
// refusal is an *oauthRefusal.
func (p *Provider) redeem(get func(string) string) (signIn, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	clientID := get("client_id")
	switch get("grant_type") {
	case "authorization_code":
		g, ok := p.codes.take(get("code"), now)
		switch {
		case !ok:
			return signIn{}, "", &oauthRefusal{"invalid_grant", "the code is unknown, used or expired"}
		case g.clientID != clientID:
			return signIn{}, "", &oauthRefusal{"invalid_grant", "client_id is not the one the code was issued to"}
		case g.redirectURI != get("redirect_uri"):
			return signIn{}, "", &oauthRefusal{"invalid_grant", "redirect_uri is not the one of the authorization request"}
		case !verifierMatches(get("code_verifier"), g.challenge):
			return signIn{}, "", &oauthRefusal{"invalid_grant", "code_verifier does not match the code_challenge"}
		}
		return g.signIn, p.refresh.start(g.signIn, now, RefreshLifetime), nil
	case "refresh_token":
		f, err := p.refresh.rotate(get("refresh_token"), clientID, now, RefreshLifetime)
		if err != nil {
			return signIn{}, "", err
		}
		return f.signIn, f.token(), nil
	}
	return signIn{}, "", &oauthRefusal{"unsupported_grant_type", "grant_type must be authorization_code or refresh_token"}
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
	for k, v := range c.Request().URI().QueryArgs().All() {
		if string(k) != "login_hint" {
			hidden = append(hidden, field{string(k), string(v)})
		}
	}
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
