package auth

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
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/gateway/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testSecret   = "0123456789abcdef0123456789abcdef-test-secret"
	testIssuer   = "https://idp.minbil.test/"
	testAudience = "minbil-bff"
	testKID      = "key-1"
	testECKID    = "ec-key-1"
)

// t0 is the fake "now" of every test.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testKeys are generated once per test binary: RSA generation is slow.
type testKeys struct {
	rsa, rsa2, other *rsa.PrivateKey
	ec, ecOther      *ecdsa.PrivateKey
}

var keysOnce = sync.OnceValue(func() testKeys {
	gen := func() *rsa.PrivateKey {
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
	return testKeys{rsa: gen(), rsa2: gen(), other: gen(), ec: genEC(), ecOther: genEC()}
})

func keys(t testing.TB) testKeys {
	t.Helper()
	return keysOnce()
}

// jwk returns the public JWK of pub.
func jwk(t testing.TB, pub any, kid string, alg jwkset.ALG) jwkset.JWKMarshal {
	t.Helper()
	j, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatalf("NewJWKFromKey(%s) = %v", kid, err)
	}
	return j.Marshal()
}

// jwksServer is an identity provider's JWKS endpoint on 127.0.0.1 that
// counts calls and fails on demand.
type jwksServer struct {
	srv    *httptest.Server
	calls  atomic.Int64 // requests to /jwks
	others atomic.Int64 // requests to any other path
	fail   atomic.Bool
	mu     sync.Mutex
	body   []byte
}

func newJWKSServer(t testing.TB, set ...jwkset.JWKMarshal) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.setKeys(t, set...)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/jwks" {
			s.others.Add(1)
			http.NotFound(w, r)
			return
		}
		s.calls.Add(1)
		if s.fail.Load() {
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

func (s *jwksServer) setKeys(t testing.TB, set ...jwkset.JWKMarshal) {
	t.Helper()
	body, err := json.Marshal(jwkset.JWKSMarshal{Keys: set})
	if err != nil {
		t.Fatalf("marshal jwks: %v", err)
	}
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

func (s *jwksServer) url() string { return s.srv.URL + "/jwks" }

// countingServer counts every request; it stands for an attacker's host.
type countingServer struct {
	srv   *httptest.Server
	calls atomic.Int64
}

func newCountingServer(t testing.TB) *countingServer {
	t.Helper()
	s := &countingServer{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// jwtConfig is jwt mode with an HS256 secret, a JWKS URL (if given),
// issuer and audience, and the documented defaults otherwise.
func jwtConfig(jwksURL string) config.Auth {
	c := config.Default().Auth
	c.Mode = "jwt"
	c.JWT.HS256Secret = testSecret
	c.JWT.JWKSURL = jwksURL
	c.JWT.Issuer = testIssuer
	c.JWT.Audience = testAudience
	return c
}

// newAuth builds an Authenticator on clock and closes it at cleanup.
func newAuth(t testing.TB, cfg config.Auth, clock *fakeClock, log *zap.Logger) *Authenticator {
	t.Helper()
	a, err := New(cfg, log, WithClock(clock.Now))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// stdClaims are valid claims for user A at t0.
func stdClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"sub": "user-a",
		"iss": testIssuer,
		"aud": testAudience,
		"iat": t0.Add(-time.Minute).Unix(),
		"exp": t0.Add(10 * time.Minute).Unix(),
	}
}

// with returns a copy of stdClaims with changes; a nil value deletes.
func with(changes map[string]any) jwt.MapClaims {
	c := stdClaims()
	for k, v := range changes {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return b
}

// signRaw builds a compact JWS from a header, a raw payload and a signing
// method with its key; method nil leaves the signature empty.
func signRaw(t testing.TB, header map[string]any, payload []byte, method jwt.SigningMethod, key any) string {
	t.Helper()
	input := b64(mustJSON(t, header)) + "." + b64(payload)
	if method == nil {
		return input + "."
	}
	sig, err := method.Sign(input, key)
	if err != nil {
		t.Fatalf("Sign(%s) = %v", method.Alg(), err)
	}
	return input + "." + b64(sig)
}

// sign builds a token with the method's alg, an optional kid, extra header
// fields and claims.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims, extra map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": method.Alg(), "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	for k, v := range extra {
		h[k] = v
	}
	return signRaw(t, h, mustJSON(t, claims), method, key)
}

func hs(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	return sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claims, nil)
}

func rs(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	return sign(t, jwt.SigningMethodRS256, keys(t).rsa, testKID, claims, nil)
}

func es(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	return sign(t, jwt.SigningMethodES256, keys(t).ec, testECKID, claims, nil)
}

func bearer(tok string) []string { return []string{"Bearer " + tok} }
