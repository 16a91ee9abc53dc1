// Package idp is the mock's identity provider: a small OpenID Connect
// provider that signs real RS256 tokens offline, so that a frontend meets an
// expired token, a wrong audience and a refresh before production.
//
// It serves a developer shortcut (POST /_dev/token mints an access token),
// the discovery document and the JWKS, and the authorization-code flow with
// PKCE (S256) for public clients redirecting to localhost or 127.0.0.1.
// Access tokens are typed at+jwt (RFC 9068), ID tokens JWT. Its state lives
// in bounded memory: pending codes (a full table, or a requester at its
// bound, refuses new ones and never forgets a pending one) and refresh-token
// families (a replaced refresh token presented again revokes its family);
// its signing key is an RSA 2048 key made on first use, or the one it is
// given (the mock keeps it in its state file).
//
// The issuer is fixed (Config.Issuer), not derived from the request, so a
// token is the same whether it was minted through the gateway or the mock,
// on localhost or 127.0.0.1, and a gateway can pin it. The endpoints in the
// discovery document are those of the base URL the request came in on
// (X-Forwarded-Host and X-Forwarded-Proto when a gateway relays it), so a
// browser follows them to wherever it reached the provider.
package idp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/minbil/minbil-bff/contracts"
)

// The defaults of Config.
const (
	// DefaultIssuer is the iss of every token. It is URL-shaped, as OpenID
	// Connect asks, under the reserved .invalid domain, so no real identity
	// provider can have it: a gateway pinned to a real issuer never accepts
	// a mock token.
	DefaultIssuer = "https://mock-idp.minbil.invalid"
	// DefaultAudience is the aud of access tokens: the gateway.
	DefaultAudience = "minbil-bff"
)

// The JOSE typ of each kind of token. RFC 9068 §2.1 marks access tokens
// at+jwt, so that a resource server can refuse an ID token presented as an
// access token (its aud is a client id, which may equal an API's audience);
// ID tokens keep the generic JWT.
const (
	TypeAccessToken = "at+jwt"
	TypeIDToken     = "JWT"
)

// Bounds of token lifetimes and of the provider's memory.
const (
	// MinLifetime and MaxLifetime bound expires_in of POST /_dev/token;
	// MaxLifetime is also the gateway's default auth.jwt.max_lifetime.
	MinLifetime = time.Second
	MaxLifetime = 24 * time.Hour
	// DefaultLifetime is the lifetime of access tokens unless asked
	// otherwise.
	DefaultLifetime = time.Hour
	// CodeLifetime is how long an authorization code can be exchanged.
	CodeLifetime = time.Minute
	// RefreshLifetime is how long a refresh token can be used (once: each
	// use returns a new one).
	RefreshLifetime = 24 * time.Hour
	// MaxCodes bounds the pending authorization codes, and
	// MaxCodesPerRequester those of one requester (a client_id from one
	// address): past them /authorize refuses a new code with
	// temporarily_unavailable, and no pending code is forgotten. One
	// browser has one sign-in pending at a time; a hundred leave room for
	// a test suite signing in in parallel.
	MaxCodes             = 1000
	MaxCodesPerRequester = 100
	// MaxRefreshTokens bounds the refresh-token families (one per
	// sign-in, each with one valid token); past it the least recently
	// refreshed is forgotten.
	MaxRefreshTokens = 10000
	// DefaultSubject is the sub of a /_dev/token token that names none.
	DefaultSubject = "dev-user"
	// DevClientID is the client_id claim of a /_dev/token token: no OAuth
	// client asked for it.
	DevClientID = "mock-dev-token"
	// maxClaimsBytes bounds the JSON body of POST /_dev/token.
	maxClaimsBytes = 8 << 10
	keyBits        = 2048
)

// The provider's paths.
const (
	PathDiscovery = "/.well-known/openid-configuration"
	PathJWKS      = "/.well-known/jwks.json"
	PathAuthorize = "/authorize"
	PathToken     = "/token"
	PathDevToken  = contracts.PathDevToken
)

// Route is one method and path the provider answers.
type Route struct{ Method, Path string }

// Routes lists the provider's routes, for a gateway in front of the mock
// that passes them through.
func Routes() []Route {
	return []Route{
		{http.MethodGet, PathDiscovery},
		{http.MethodGet, PathJWKS},
		{http.MethodGet, PathAuthorize},
		{http.MethodPost, PathToken},
		{http.MethodPost, PathDevToken},
	}
}

// Config configures a Provider. The zero value is usable.
type Config struct {
	// Issuer is the iss of every token and the discovery document's
	// issuer. Empty means DefaultIssuer.
	Issuer string
	// Audience is the aud of access tokens. Empty means DefaultAudience.
	Audience string
	// Key signs tokens. nil means an RSA 2048 key made on first use.
	Key *rsa.PrivateKey
	// KeyCreated, when set, is called once with a key the provider made
	// (not with Config.Key), so the caller can keep it.
	KeyCreated func(*rsa.PrivateKey)
	// Now is the clock of tokens, codes and refresh tokens. nil means
	// time.Now.
	Now func() time.Time
}

// Error is a refusal answered with the contract's error body (the mock
// maps it); the OAuth endpoints answer their own error body instead.
type Error struct {
	Status        int
	Code, Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Provider is the identity provider. Build it with New; it is safe for
// concurrent use.
type Provider struct {
	issuer   string
	audience string
	now      func() time.Time

	keyOnce    sync.Once
	keyErr     error
	given      *rsa.PrivateKey
	keyCreated func(*rsa.PrivateKey)
	signer     *signer

	mu      sync.Mutex
	codes   *codeTable
	refresh *families
}

// signer is the key in use with its kid and the JWKS that publishes it.
type signer struct {
	key  *rsa.PrivateKey
	kid  string
	jwks []byte
}

// New builds a provider.
func New(cfg Config) *Provider {
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Provider{
		issuer:     cfg.Issuer,
		audience:   cfg.Audience,
		now:        cfg.Now,
		given:      cfg.Key,
		keyCreated: cfg.KeyCreated,
		codes:      newCodeTable(MaxCodes, MaxCodesPerRequester),
		refresh:    newFamilies(MaxRefreshTokens),
	}
}

// Issuer returns the iss of the provider's tokens.
func (p *Provider) Issuer() string { return p.issuer }

// Audience returns the aud of the provider's access tokens.
func (p *Provider) Audience() string { return p.audience }

// key returns the signing key, making it on first use.
func (p *Provider) key() (*signer, error) {
	p.keyOnce.Do(func() {
		key := p.given
		if key == nil {
			var err error
			if key, err = rsa.GenerateKey(rand.Reader, keyBits); err != nil {
				p.keyErr = fmt.Errorf("idp: generate key: %w", err)
				return
			}
			if p.keyCreated != nil {
				p.keyCreated(key)
			}
		}
		p.signer, p.keyErr = newSigner(key)
	})
	return p.signer, p.keyErr
}

func newSigner(key *rsa.PrivateKey) (*signer, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("idp: public key: %w", err)
	}
	sum := sha256.Sum256(der)
	kid := base64.RawURLEncoding.EncodeToString(sum[:12])
	jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.AlgRS256, KID: kid, USE: jwkset.UseSig},
	})
	if err != nil {
		return nil, fmt.Errorf("idp: jwk: %w", err)
	}
	set := jwkset.NewMemoryStorage()
	if err := set.KeyWrite(context.Background(), jwk); err != nil {
		return nil, fmt.Errorf("idp: jwks: %w", err)
	}
	pub, err := set.JSONPublic(context.Background())
	if err != nil {
		return nil, fmt.Errorf("idp: jwks: %w", err)
	}
	return &signer{key: key, kid: kid, jwks: pub}, nil
}

// EncodeKey returns key as PEM (PKCS #8), the form a state file keeps.
func EncodeKey(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("idp: encode key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// DecodeKey reads a key written by EncodeKey: an RSA key of at least 2048
// bits.
func DecodeKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("idp: key is not a PEM PRIVATE KEY")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("idp: decode key: %w", err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok || key.N.BitLen() < keyBits {
		return nil, fmt.Errorf("idp: key is not RSA of at least %d bits", keyBits)
	}
	return key, nil
}

// Mount registers the provider's routes on app. A refusal of /_dev/token
// is returned as an *Error for the app's error handler; the other routes
// answer their own errors.
func (p *Provider) Mount(app fiber.Router) {
	app.Add(http.MethodGet, PathDiscovery, p.discovery)
	app.Add(http.MethodGet, PathJWKS, p.jwksHandler)
	app.Add(http.MethodGet, PathAuthorize, p.authorize)
	app.Add(http.MethodPost, PathToken, p.token)
	app.Add(http.MethodPost, PathDevToken, p.devToken)
}

// baseURL is the scheme and host the request came in on: a relaying
// gateway's (X-Forwarded-Proto, X-Forwarded-Host) when it names one.
func baseURL(c *fiber.Ctx) string {
	h := &c.Request().Header
	scheme := "http"
	if c.Context().IsTLS() {
		scheme = "https"
	}
	if p := string(h.Peek("X-Forwarded-Proto")); p == "http" || p == "https" {
		scheme = p
	}
	host := string(h.Host())
	if fh := string(h.Peek("X-Forwarded-Host")); fh != "" && validHost(fh) {
		host = fh
	}
	if !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host
}

// validHost accepts a host[:port] of letters, digits and . - : [ ] only, so
// that nothing a client sends can break out of the URLs built from it.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := range len(h) {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-:[]", c) >= 0) {
			return false
		}
	}
	return true
}

func (p *Provider) discovery(c *fiber.Ctx) error {
	base := baseURL(c)
	allowCORS(c)
	return c.JSON(map[string]any{
		"issuer":                                p.issuer,
		"authorization_endpoint":                base + PathAuthorize,
		"token_endpoint":                        base + PathToken,
		"jwks_uri":                              base + PathJWKS,
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"none"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "offline_access"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nonce", "name", "preferred_username"},
	})
}

func (p *Provider) jwksHandler(c *fiber.Ctx) error {
	s, err := p.key()
	if err != nil {
		return err
	}
	allowCORS(c)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(s.jwks)
}

// sign signs claims with the provider's key, with typ in the JOSE header
// (TypeAccessToken or TypeIDToken).
func (p *Provider) sign(typ string, claims jwt.MapClaims) (string, error) {
	s, err := p.key()
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["typ"] = typ
	t.Header["kid"] = s.kid
	out, err := t.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("idp: sign: %w", err)
	}
	return out, nil
}

// accessClaims are the claims of an access token for sub, issued to the
// OAuth client clientID, valid for life: those RFC 9068 §2.2 requires.
func (p *Provider) accessClaims(sub, clientID string, life time.Duration) jwt.MapClaims {
	now := p.now()
	return jwt.MapClaims{
		"iss":       p.issuer,
		"sub":       sub,
		"aud":       p.audience,
		"client_id": clientID,
		"iat":       now.Unix(),
		"exp":       now.Add(life).Unix(),
		// jti makes every token unique, also two for the same sub in the
		// same second (a refresh right after sign-in).
		"jti": randomSecret()[:22],
	}
}

// tokenAnswer is the answer of /_dev/token and /token.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// devToken answers POST /_dev/token: an access token (typ at+jwt) for the
// claims of the JSON body. sub and expires_in are optional; iss and aud may be replaced
// (to try a wrong issuer or audience), other claims are added; exp and iat
// follow from expires_in.
func (p *Provider) devToken(c *fiber.Ctx) error {
	allowCORS(c)
	body := c.Body()
	if len(body) > maxClaimsBytes {
		return &Error{http.StatusRequestEntityTooLarge, contracts.CodePayloadTooLarge, fmt.Sprintf("The claims are larger than %d bytes.", maxClaimsBytes)}
	}
	in := map[string]any{}
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&in); err != nil || in == nil {
			return &Error{http.StatusBadRequest, contracts.CodeInvalidJSON, `The body must be a JSON object such as {"sub": "kari", "expires_in": 3600}.`}
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return &Error{http.StatusBadRequest, contracts.CodeInvalidJSON, "The body must hold one JSON object."}
		}
	}
	sub := DefaultSubject
	if v, ok := in["sub"]; ok {
		s, isString := v.(string)
		if !isString || !validSubject(s) {
			return &Error{http.StatusBadRequest, contracts.CodeValidationFailed, "sub must be a string of 1 to 255 printable characters."}
		}
		sub = s
	}
	life := DefaultLifetime
	if v, ok := in["expires_in"]; ok {
		n, isNumber := v.(json.Number)
		secs, err := n.Int64()
		if !isNumber || err != nil || secs < int64(MinLifetime/time.Second) || secs > int64(MaxLifetime/time.Second) {
			return &Error{http.StatusBadRequest, contracts.CodeValidationFailed,
				fmt.Sprintf("expires_in must be whole seconds from %d to %d.", int64(MinLifetime/time.Second), int64(MaxLifetime/time.Second))}
		}
		life = time.Duration(secs) * time.Second
	}
	for _, name := range []string{"exp", "iat"} {
		if _, ok := in[name]; ok {
			return &Error{http.StatusBadRequest, contracts.CodeValidationFailed, name + " is set by the provider: give expires_in instead."}
		}
	}
	claims := p.accessClaims(sub, DevClientID, life)
	for k, v := range in {
		if k != "expires_in" && k != "sub" {
			claims[k] = v
		}
	}
	token, err := p.sign(TypeAccessToken, claims)
	if err != nil {
		return err
	}
	return c.JSON(tokenAnswer{AccessToken: token, TokenType: "Bearer", ExpiresIn: int64(life / time.Second)})
}

// validSubject accepts 1 to 255 printable ASCII characters without
// surrounding spaces.
func validSubject(s string) bool {
	if s == "" || len(s) > 255 || strings.TrimSpace(s) != s {
		return false
	}
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// allowCORS lets pages on localhost and 127.0.0.1 (any port) read the
// answer: a frontend's OIDC library fetches discovery, the JWKS and the
// token endpoint from its own origin. A gateway in front sets its own CORS
// headers and does not relay these.
func allowCORS(c *fiber.Ctx) {
	origin := string(c.Request().Header.Peek(fiber.HeaderOrigin))
	if !LocalOrigin(origin) {
		return
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	c.Vary(fiber.HeaderOrigin)
}

// Preflight answers a CORS preflight for the provider's POST routes from a
// localhost origin; it passes anything else on.
func Preflight(c *fiber.Ctx) error {
	origin := string(c.Request().Header.Peek(fiber.HeaderOrigin))
	if c.Method() != http.MethodOptions || !LocalOrigin(origin) || (c.Path() != PathToken && c.Path() != PathDevToken) {
		return c.Next()
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	c.Set(fiber.HeaderAccessControlAllowMethods, "POST")
	c.Set(fiber.HeaderAccessControlAllowHeaders, "Content-Type, Authorization")
	c.Set(fiber.HeaderAccessControlMaxAge, "600")
	c.Vary(fiber.HeaderOrigin)
	return c.SendStatus(http.StatusNoContent)
}

// LocalOrigin reports whether origin is http(s)://localhost or 127.0.0.1,
// with any port: a page served on the developer's own machine.
func LocalOrigin(origin string) bool {
	for _, prefix := range []string{"http://localhost", "http://127.0.0.1", "https://localhost", "https://127.0.0.1"} {
		rest, ok := strings.CutPrefix(origin, prefix)
		if !ok {
			continue
		}
		if rest == "" {
			return true
		}
		if port, ok := strings.CutPrefix(rest, ":"); ok && port != "" && len(port) <= 5 && strings.Trim(port, "0123456789") == "" {
			return true
		}
	}
	return false
}
