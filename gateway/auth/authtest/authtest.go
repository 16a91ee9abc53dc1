// Package authtest is a test identity provider for the gateway's test
// suites: it mints HS256, RS256 and ES256 tokens (or any compact JWS, well
// formed or not), makes their claims, and serves public keys as a JWKS on
// 127.0.0.1 whose key set a test can change (rotation) or take down. A
// simulated clock lets a test move time instead of sleeping.
//
// It does not import gateway/auth, so the authenticator's own internal
// tests can use it too.
package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/minbil/minbil-bff/gateway/config"
)

const (
	// Secret is the HS256 secret (S-14: at least 32 bytes). It is random
	// enough that a log scan for any 8-byte run of it finds only a leak.
	Secret = "Hs256-q7Vz3Kp9Wm2Rx5Lt8Nd4Bf6Gj1Yc0Ae"
	// Issuer is the iss of Claims and of JWTConfig.
	Issuer = "https://idp.minbil.test/"
	// Audience is the aud of Claims and of JWTConfig.
	Audience = "minbil-bff"
	// KID is the key id RS256 signs with.
	KID = "key-1"
	// ECKID is the key id ES256 signs with.
	ECKID = "ec-key-1"
)

// JWTConfig is jwt mode with Secret, the JWKS at jwksURL (none when
// empty), Issuer and Audience, and the documented defaults otherwise.
func JWTConfig(jwksURL string) config.Auth {
	c := config.Default().Auth
	c.Mode = config.AuthJWT
	c.JWT.HS256Secret = Secret
	c.JWT.JWKSURL = jwksURL
	c.JWT.Issuer = Issuer
	c.JWT.Audience = Audience
	return c
}

// Clock is a simulated clock that tests move by hand; pass its Now to the
// authenticator (auth.WithClock). It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads now until it is advanced.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// KeySet is the provider's signing keys.
type KeySet struct {
	// RSA signs RS256 (KID) and is the key a JWKS publishes first.
	RSA *rsa.PrivateKey
	// RSA2 is a second published key, for rotation.
	RSA2 *rsa.PrivateKey
	// OtherRSA is never published: another IdP's, or an attacker's, key.
	OtherRSA *rsa.PrivateKey
	// EC signs ES256 (ECKID).
	EC *ecdsa.PrivateKey
	// OtherEC is never published.
	OtherEC *ecdsa.PrivateKey
}

// Keys returns the keys, generated once per test binary: RSA generation
// is slow, the more so under -race.
func Keys() KeySet { return keys() }

var keys = sync.OnceValue(func() KeySet {
	genRSA := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	}
	genEC := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
	return KeySet{RSA: genRSA(), RSA2: genRSA(), OtherRSA: genRSA(), EC: genEC(), OtherEC: genEC()}
})

// Claims are valid claims for sub at now: Issuer, Audience, issued a
// minute ago, expiring in ten minutes.
func Claims(sub string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub": sub,
		"iss": Issuer,
		"aud": Audience,
		"iat": now.Add(-time.Minute).Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
	}
}

// With returns a copy of c with changes; a nil value deletes the claim.
func With(c jwt.MapClaims, changes map[string]any) jwt.MapClaims {
	out := make(jwt.MapClaims, len(c)+len(changes))
	for k, v := range c {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// B64 is unpadded base64url, the encoding of every JWS segment.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// JSON marshals v; the test fails if it cannot.
func JSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return b
}

// SignRaw builds a compact JWS from a header, a raw payload (which need
// not be JSON) and a signing method with its key; a nil method leaves the
// signature empty.
func SignRaw(t testing.TB, header map[string]any, payload []byte, method jwt.SigningMethod, key any) string {
	t.Helper()
	input := B64(JSON(t, header)) + "." + B64(payload)
	if method == nil {
		return input + "."
	}
	sig, err := method.Sign(input, key)
	if err != nil {
		t.Fatalf("Sign(%s) = %v", method.Alg(), err)
	}
	return input + "." + B64(sig)
}

// Sign builds a token with the method's alg and typ JWT, kid when not
// empty, the extra header fields and claims.
func Sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims, extra map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": method.Alg(), "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	for k, v := range extra {
		h[k] = v
	}
	return SignRaw(t, h, JSON(t, claims), method, key)
}

// HS256 signs claims with Secret.
func HS256(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	return Sign(t, jwt.SigningMethodHS256, []byte(Secret), "", claims, nil)
}

// RS256 signs claims with Keys().RSA under KID.
func RS256(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	return Sign(t, jwt.SigningMethodRS256, Keys().RSA, KID, claims, nil)
}

// ES256 signs claims with Keys().EC under ECKID.
func ES256(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	return Sign(t, jwt.SigningMethodES256, Keys().EC, ECKID, claims, nil)
}

// JWK returns the public JWK of pub (an *rsa.PublicKey or
// *ecdsa.PublicKey) with kid, alg and use sig.
func JWK(t testing.TB, pub any, kid string, alg jwkset.ALG) jwkset.JWKMarshal {
	t.Helper()
	j, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatalf("NewJWKFromKey(%s) = %v", kid, err)
	}
	return j.Marshal()
}

// JWKS is an identity provider's JWKS endpoint on 127.0.0.1, at URL. It
// counts requests and fails on demand; SetKeys changes what it serves.
type JWKS struct {
	srv *httptest.Server
	// Fetches counts requests to the JWKS path.
	Fetches atomic.Int64
	// Others counts requests to any other path (answered 404).
	Others atomic.Int64
	// Down makes the JWKS path answer 503 while true.
	Down atomic.Bool

	mu   sync.Mutex
	body []byte
}

// NewJWKS serves set until the test ends.
func NewJWKS(t testing.TB, set ...jwkset.JWKMarshal) *JWKS {
	t.Helper()
	s := &JWKS{}
	s.SetKeys(t, set...)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/jwks" {
			s.Others.Add(1)
			http.NotFound(w, r)
			return
		}
		s.Fetches.Add(1)
		if s.Down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		s.mu.Lock()
		body := s.body
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// SetKeys replaces the key set served (key rotation).
func (s *JWKS) SetKeys(t testing.TB, set ...jwkset.JWKMarshal) {
	t.Helper()
	s.SetBody(JSON(t, jwkset.JWKSMarshal{Keys: set}))
}

// SetBody replaces the bytes served as they are: an empty, broken or
// oversized key set.
func (s *JWKS) SetBody(body []byte) {
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

// URL is the address of the key set.
func (s *JWKS) URL() string { return s.srv.URL + "/jwks" }

// Host is a server on 127.0.0.1 that answers 200 to anything and counts
// requests: it stands for an attacker's host a token points at (jku,
// x5u), which the gateway must never call.
type Host struct {
	// URL is the server's base URL.
	URL string
	// Calls counts every request.
	Calls atomic.Int64
}

// NewHost serves until the test ends.
func NewHost(t testing.TB) *Host {
	t.Helper()
	h := &Host{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h.Calls.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}
