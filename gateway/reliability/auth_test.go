package reliability

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/minbil/minbil-bff/gateway/config"
)

const (
	issuer   = "https://idp.minbil.test/"
	audience = "minbil-bff"
)

// clock is a simulated clock the authenticator reads; tests move it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// rsaKeys are generated once per test binary (slow under -race).
var rsaKeys = sync.OnceValue(func() [3]*rsa.PrivateKey {
	var out [3]*rsa.PrivateKey
	for i := range out {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		out[i] = k
	}
	return out
})

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// signRaw builds a compact JWS from a header, a raw payload, a method and a
// key; a nil method leaves the signature empty.
func signRaw(t testing.TB, header map[string]any, payload []byte, method jwt.SigningMethod, key any) string {
	t.Helper()
	input := b64(mustJSON(header)) + "." + b64(payload)
	if method == nil {
		return input + "."
	}
	sig, err := method.Sign(input, key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return input + "." + b64(sig)
}

// idp is an identity provider: HS256 tokens with the shared secret, RS256
// tokens with keys served from a JWKS endpoint on 127.0.0.1 that counts
// fetches and fails on demand.
type idp struct {
	t       *testing.T
	clock   *clock
	srv     *httptest.Server
	fetches atomic.Int64
	down    atomic.Bool
	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey // kid → key served
}

func newIDP(t *testing.T, c *clock) *idp {
	t.Helper()
	p := &idp{t: t, clock: c, keys: map[string]*rsa.PrivateKey{"kid-1": rsaKeys()[0]}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		p.mu.Lock()
		var set []map[string]string
		for kid, k := range p.keys {
			set = append(set, map[string]string{
				"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
				"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes()),
			})
		}
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(mustJSON(map[string]any{"keys": set}))
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// serve replaces the key set the JWKS endpoint serves (key rotation).
func (p *idp) serve(keys map[string]*rsa.PrivateKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = keys
}

// configure is jwt mode with both HS256 and the JWKS, issuer and audience,
// and every operation requiring a token.
func (p *idp) configure() []option {
	return []option{
		withJWT(func(j *config.JWT) {
			j.JWKSURL = p.srv.URL + "/jwks"
			j.Issuer = issuer
			j.Audience = audience
		}),
		withConfig(requireTokens),
		withClock(p.clock.Now),
	}
}

// claims are valid claims for sub at the clock's now, with changes; a nil
// change deletes the claim.
func (p *idp) claims(sub string, changes map[string]any) map[string]any {
	now := p.clock.Now()
	c := map[string]any{"sub": sub, "iss": issuer, "aud": audience, "iat": now.Add(-time.Minute).Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func (p *idp) hs(changes map[string]any) string {
	return signRaw(p.t, map[string]any{"alg": "HS256", "typ": "JWT"}, mustJSON(p.claims("user-a", changes)), jwt.SigningMethodHS256, []byte(hsSecret))
}

func (p *idp) rs(kid string, key *rsa.PrivateKey, changes map[string]any) string {
	return signRaw(p.t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid}, mustJSON(p.claims("user-a", changes)), jwt.SigningMethodRS256, key)
}

func (p *idp) hsRaw(payload string) string {
	return signRaw(p.t, map[string]any{"alg": "HS256", "typ": "JWT"}, []byte(payload), jwt.SigningMethodHS256, []byte(hsSecret))
}

// authCall is one request to each operation with an Authorization header.
var authTargets = []struct {
	name string
	r    func(h http.Header) req
}{
	{"checkUsername", func(h http.Header) req { return get(checkPath+"?username=ola", h) }},
	{"listRatings", func(h http.Header) req { return get("/api/co/rating", h) }},
	{"rateBooking", func(h http.Header) req { return post("/api/co/rating/rate/5", jsonHeader(h), validRating) }},
}

const (
	challengeMissing = `Bearer realm="minbil"`
	challengeRequest = `Bearer realm="minbil", error="invalid_request"`
	challengeInvalid = `Bearer realm="minbil", error="invalid_token"`
)

// TestAuthorizationEndToEnd is BI-25…BI-50 over sockets in jwt mode (HS256
// secret and RS256 from a JWKS on 127.0.0.1, simulated clock), against all
// three operations: a refused caller gets 401 with the uniform body (S-12)
// and a Bearer challenge, and the upstream is never called.
func TestAuthorizationEndToEnd(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := newIDP(t, c)
	up := newFake(t, routeOK)
	h := startGateway(t, up.url, p.configure()...)
	keys := rsaKeys()
	now := c.Now()
	valid := p.hs(nil)
	h.secret(valid, strings.Split(valid, ".")[2], "user-a")
	noneTok := func(alg, sig string) string {
		return b64(mustJSON(map[string]any{"alg": alg, "typ": "JWT"})) + "." + b64(mustJSON(p.claims("user-a", nil))) + "." + sig
	}
	der, _ := x509.MarshalPKIXPublicKey(&keys[0].PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	parts := strings.Split(p.rs("kid-1", keys[0], nil), ".")
	tampered := parts[0] + "." + b64(mustJSON(p.claims("user-b", nil))) + "." + parts[2]
	hsParts := strings.Split(valid, ".")
	flipped := hsParts[0] + "." + hsParts[1] + "." + flipPad(hsParts[2])
	attacker := newFake(t, reply(200, `{"keys":[]}`))
	year := 365 * 24 * time.Hour
	bearerH := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	rawH := func(v ...string) http.Header { return http.Header{"Authorization": v} }

	tests := []struct {
		name          string
		header        http.Header
		wantStatus    int
		wantChallenge string
	}{
		{"BI-25/no Authorization", nil, 401, challengeMissing},
		{"BI-26/Basic credentials", rawH("Basic dXNlcjpw"), 401, challengeRequest},
		{"BI-27/Bearer alone", rawH("Bearer"), 401, challengeRequest},
		{"BI-27/Bearer and one space", rawH("Bearer "), 401, challengeRequest},
		{"BI-27/Bearer and three spaces", rawH("Bearer   "), 401, challengeRequest},
		{"BI-28/lower-case scheme", rawH("bearer " + valid), 200, ""},
		{"BI-28/upper-case scheme", rawH("BEARER " + valid), 200, ""},
		{"BI-29/two Authorization headers", rawH("Bearer "+valid, "Bearer "+p.rs("kid-1", keys[0], nil)), 401, challengeRequest},
		{"BI-30/token with a space", rawH("Bearer abc def"), 401, challengeRequest},
		{"BI-30/token with a comma", rawH("Bearer abc,def"), 401, challengeRequest},
		{"BI-30/token with a quote", rawH(`Bearer abc"def`), 401, challengeRequest},
		{"BI-30/token with non-ASCII", rawH("Bearer ab\xc3\xb8c"), 401, challengeRequest},
		{"BI-31/9000-byte token within the header buffer", bearerH(strings.Repeat(".", 9000)), 401, challengeRequest},
		{"BI-32/alg none", bearerH(noneTok("none", "")), 401, challengeInvalid},
		{"BI-32/alg None with a signature", bearerH(noneTok("None", b64([]byte("sig")))), 401, challengeInvalid},
		{"BI-32/alg NONE", bearerH(noneTok("NONE", "")), 401, challengeInvalid},
		{"BI-32/alg nOnE", bearerH(noneTok("nOnE", b64([]byte("x")))), 401, challengeInvalid},
		{"BI-33/HS256 MACed with the RSA public key PEM", bearerH(signRaw(t, map[string]any{"alg": "HS256", "kid": "kid-1"}, mustJSON(p.claims("user-a", nil)), jwt.SigningMethodHS256, pubPEM)), 401, challengeInvalid},
		{"BI-34/HS512 with our secret", bearerH(signRaw(t, map[string]any{"alg": "HS512"}, mustJSON(p.claims("user-a", nil)), jwt.SigningMethodHS512, []byte(hsSecret))), 401, challengeInvalid},
		{"BI-34/PS256 with the IdP's key", bearerH(signRaw(t, map[string]any{"alg": "PS256", "kid": "kid-1"}, mustJSON(p.claims("user-a", nil)), jwt.SigningMethodPS256, keys[0])), 401, challengeInvalid},
		{"BI-34/ES256 with a key the IdP never published", bearerH(signRaw(t, map[string]any{"alg": "ES256", "kid": "kid-1"}, mustJSON(p.claims("user-a", nil)), jwt.SigningMethodES256, ecKey)), 401, challengeInvalid},
		{"BI-35/expired an hour ago", bearerH(p.hs(map[string]any{"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()})), 401, challengeInvalid},
		{"BI-36/expired 20s ago within 30s leeway", bearerH(p.hs(map[string]any{"exp": now.Add(-20 * time.Second).Unix()})), 200, ""},
		{"BI-36/expired 31s ago", bearerH(p.hs(map[string]any{"exp": now.Add(-31 * time.Second).Unix()})), 401, challengeInvalid},
		{"BI-37/no exp", bearerH(p.hs(map[string]any{"exp": nil})), 401, challengeInvalid},
		{"BI-38/exp as a string", bearerH(p.hsRaw(`{"sub":"user-a","iss":"` + issuer + `","aud":"` + audience + `","exp":"9999999999"}`)), 401, challengeInvalid},
		{"BI-38/exp 1e300", bearerH(p.hsRaw(`{"sub":"user-a","iss":"` + issuer + `","aud":"` + audience + `","exp":1e300}`)), 401, challengeInvalid},
		{"BI-38/exp negative", bearerH(p.hsRaw(`{"sub":"user-a","iss":"` + issuer + `","aud":"` + audience + `","exp":-1}`)), 401, challengeInvalid},
		{"BI-38/exp null", bearerH(p.hsRaw(`{"sub":"user-a","iss":"` + issuer + `","aud":"` + audience + `","exp":null}`)), 401, challengeInvalid},
		{"BI-39/nbf in 10 minutes", bearerH(p.hs(map[string]any{"nbf": now.Add(10 * time.Minute).Unix()})), 401, challengeInvalid},
		{"BI-39/nbf in 20s within leeway", bearerH(p.hs(map[string]any{"nbf": now.Add(20 * time.Second).Unix()})), 200, ""},
		{"BI-40/iat in an hour", bearerH(p.hs(map[string]any{"iat": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()})), 401, challengeInvalid},
		{"BI-41/lifetime of 10 years", bearerH(p.hs(map[string]any{"exp": now.Add(10 * year).Unix()})), 401, challengeInvalid},
		{"BI-42/wrong iss", bearerH(p.hs(map[string]any{"iss": "https://evil.example/"})), 401, challengeInvalid},
		{"BI-42/missing iss", bearerH(p.hs(map[string]any{"iss": nil})), 401, challengeInvalid},
		{"BI-43/aud of another service", bearerH(p.hs(map[string]any{"aud": "billing"})), 401, challengeInvalid},
		{"BI-43/missing aud", bearerH(p.hs(map[string]any{"aud": nil})), 401, challengeInvalid},
		{"BI-43/aud array without ours", bearerH(p.hs(map[string]any{"aud": []string{"billing", "minbil"}})), 401, challengeInvalid},
		{"BI-43/aud superstring of ours", bearerH(p.hs(map[string]any{"aud": "minbil-bff-evil"})), 401, challengeInvalid},
		{"BI-43/aud array including ours", bearerH(p.hs(map[string]any{"aud": []string{"billing", audience}})), 200, ""},
		{"BI-44/payload swapped, old signature", bearerH(tampered), 401, challengeInvalid},
		{"BI-44/signature stripped", bearerH(hsParts[0] + "." + hsParts[1] + "."), 401, challengeInvalid},
		{"BI-45/two segments", bearerH(hsParts[0] + "." + hsParts[1]), 401, challengeInvalid},
		{"BI-45/four segments", bearerH(valid + ".x"), 401, challengeInvalid},
		{"BI-45/five-segment JWE", bearerH(b64(mustJSON(map[string]any{"alg": "dir", "enc": "A128GCM"})) + "..aXY.Y2lwaGVy.dGFn"), 401, challengeInvalid},
		{"BI-45/JSON serialization", rawH(`Bearer {"payload":"` + hsParts[1] + `","signatures":[]}`), 401, challengeRequest},
		{"BI-46/unknown kid", bearerH(p.rs("kid-unknown", keys[0], nil)), 401, challengeInvalid},
		{"BI-47/kid path traversal", bearerH(p.rs("../../dev/null", keys[0], nil)), 401, challengeInvalid},
		{"BI-47/kid SQL", bearerH(p.rs("' OR 1=1--", keys[0], nil)), 401, challengeInvalid},
		{"BI-47/kid of 4 KB", bearerH(p.rs(strings.Repeat("k", 4096), keys[0], nil)), 401, challengeInvalid},
		{"BI-48/jku to an attacker", bearerH(signRaw(t, map[string]any{"alg": "RS256", "kid": "evil", "jku": attacker.url + "/jwks"}, mustJSON(p.claims("user-a", nil)), jwt.SigningMethodRS256, keys[2])), 401, challengeInvalid},
		{"BI-48/x5u to the metadata address", bearerH(signRaw(t, map[string]any{"alg": "RS256", "kid": "evil", "x5u": "http://169.254.169.254/latest"}, mustJSON(p.claims("user-a", nil)), jwt.SigningMethodRS256, keys[2])), 401, challengeInvalid},
		{"BI-48/embedded jwk", bearerH(signRaw(t, map[string]any{"alg": "RS256", "jwk": map[string]string{"kty": "RSA", "n": b64(keys[2].N.Bytes()), "e": "AQAB"}}, mustJSON(p.claims("user-a", nil)), jwt.SigningMethodRS256, keys[2])), 401, challengeInvalid},
		{"BI-49/non-canonical base64url signature", bearerH(flipped), 401, challengeInvalid},
		{"BI-49/padded signature", bearerH(valid + "="), 401, challengeInvalid},
		{"BI-50/another IdP's key under our kid", bearerH(p.rs("kid-1", keys[2], nil)), 401, challengeInvalid},
		{"BI-50/another realm's HS256 secret", bearerH(signRaw(t, map[string]any{"alg": "HS256"}, mustJSON(p.claims("user-a", nil)), jwt.SigningMethodHS256, []byte("another-realm-secret-0123456789abcdef"))), 401, challengeInvalid},
		{"F-33/IdP clock 2 min ahead: iat in the future", bearerH(p.hs(map[string]any{"iat": now.Add(2 * time.Minute).Unix(), "exp": now.Add(12 * time.Minute).Unix()})), 401, challengeInvalid},
		{"F-33/IdP clock 2 min behind: exp 20s ago", bearerH(p.hs(map[string]any{"iat": now.Add(-2 * time.Minute).Unix(), "exp": now.Add(-20 * time.Second).Unix()})), 200, ""},
		{"valid/HS256", bearerH(valid), 200, ""},
		{"valid/RS256 from the JWKS", bearerH(p.rs("kid-1", keys[0], nil)), 200, ""},
	}
	var refusal []byte
	var mu sync.Mutex
	bodies := map[string]int{}
	for _, tt := range tests {
		for _, op := range authTargets {
			t.Run(tt.name+"/"+op.name, func(t *testing.T) {
				before := up.calls.Load()
				a := h.do(op.r(tt.header))
				if a.status != tt.wantStatus || a.header.Get("WWW-Authenticate") != tt.wantChallenge {
					t.Fatalf("answer %.200s with challenge %q, want %d %q", a, a.header.Get("WWW-Authenticate"), tt.wantStatus, tt.wantChallenge)
				}
				calls := up.calls.Load() - before
				if a.status == 401 {
					if calls != 0 {
						t.Fatalf("a refused caller made %d upstream calls", calls)
					}
					var e struct{ Error json.RawMessage }
					_ = json.Unmarshal(a.body, &e)
					mu.Lock()
					bodies[string(e.Error)]++
					if refusal == nil {
						refusal = e.Error
					}
					mu.Unlock()
				}
			})
		}
	}
	t.Run("S-12/every refusal has the same body, whatever the reason", func(t *testing.T) {
		if len(bodies) != 1 {
			t.Fatalf("refusal bodies differ: %v", bodies)
		}
	})
	t.Run("BI-48/no request ever reached the attacker's host", func(t *testing.T) {
		if n := attacker.calls.Load(); n != 0 {
			t.Fatalf("the attacker's host got %d requests", n)
		}
	})
	t.Run("BI-46/unknown kids made at most one JWKS refresh", func(t *testing.T) {
		// One fetch at start; unknown kids within the cooldown add at most one.
		if n := p.fetches.Load(); n > 2 {
			t.Fatalf("JWKS fetched %d times, want at most 2", n)
		}
	})
	t.Run("BI-28/the upstream receives the token unchanged", func(t *testing.T) {
		if got := up.last().header.Get("Authorization"); !strings.HasPrefix(got, "Bearer ey") {
			t.Fatalf("upstream Authorization = %.40q", got)
		}
	})
}

// flipPad flips the lowest bit of the last base64url character: for an
// HS256 signature that bit is padding, so a lenient decoder reads the
// same bytes (BI-49).
func flipPad(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[i^1])
}

// TestAnonymousNeverReadsTheCache is BI-25: where the contract requires a
// token (checkUsername), an anonymous caller is refused before the cache
// is consulted, even when the name is cached for another caller.
func TestAnonymousNeverReadsTheCache(t *testing.T) {
	t.Parallel()
	up := newFake(t, routeOK)
	h := startGateway(t, up.url)
	if a := h.do(get(checkPath+"?username=ola", bearer("someone"))); a.status != 200 {
		t.Fatalf("priming = %s", a)
	}
	tests := []struct {
		name     string
		r        req
		wantCode int
	}{
		{"BI-25/anonymous check-username", get(checkPath+"?username=ola", nil), 401},
		{"BI-25/anonymous list is the contract's optional auth", get("/api/co/rating", nil), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.calls.Load()
			a := h.do(tt.r)
			if a.status != tt.wantCode || a.header.Get("X-Cache") != "" {
				t.Fatalf("answer %s X-Cache %q, want %d without a cache read", a, a.header.Get("X-Cache"), tt.wantCode)
			}
			if tt.wantCode == 401 && up.calls.Load() != before {
				t.Fatalf("anonymous caller reached the upstream")
			}
			if tt.wantCode == 200 && up.last().header.Get("Authorization") != "" {
				t.Fatalf("anonymous call forwarded an Authorization header")
			}
		})
	}
}

// TestJWKSOutageAndRotation is F-31, F-32 and L-14 end to end, on the
// simulated clock.
func TestJWKSOutageAndRotation(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := newIDP(t, c)
	up := newFake(t, routeOK)
	h := startGateway(t, up.url, p.configure()...)
	keys := rsaKeys()
	call := func(tok string) answer { return h.do(get("/api/co/rating", bearer(tok))) }
	if a := call(p.rs("kid-1", keys[0], nil)); a.status != 200 {
		t.Fatalf("valid RS256 = %s", a)
	}

	t.Run("F-32/rotation: the first token with the new kid refreshes once and passes", func(t *testing.T) {
		p.serve(map[string]*rsa.PrivateKey{"kid-1": keys[0], "kid-2": keys[1]})
		before := p.fetches.Load()
		if a := call(p.rs("kid-2", keys[1], nil)); a.status != 200 {
			t.Fatalf("new kid after rotation = %s, want 200", a)
		}
		if a := call(p.rs("kid-2", keys[1], map[string]any{"sub": "user-c"})); a.status != 200 {
			t.Fatalf("second token with the new kid = %s", a)
		}
		if n := p.fetches.Load() - before; n != 1 {
			t.Fatalf("rotation made %d JWKS fetches, want 1", n)
		}
	})
	t.Run("L-14/random-kid flood within the cooldown fetches nothing more", func(t *testing.T) {
		before := p.fetches.Load()
		var wg sync.WaitGroup
		var refused atomic.Int64
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				a, err := h.try(get("/api/co/rating", bearer(p.rs(fmt.Sprintf("random-%d", i), keys[2], nil))))
				if err == nil && a.status == 401 {
					refused.Add(1)
				}
			}(i)
		}
		wg.Wait()
		if refused.Load() != 200 {
			t.Fatalf("%d of 200 random-kid tokens refused, want all", refused.Load())
		}
		if n := p.fetches.Load() - before; n > 1 {
			t.Fatalf("the flood made %d JWKS fetches, want at most 1 per cooldown", n)
		}
	})
	t.Run("F-31/JWKS down: the last good keys keep serving, unknown kids are refused", func(t *testing.T) {
		p.down.Store(true)
		c.Advance(2 * time.Minute) // past the cooldown: an unknown kid may try once
		before := p.fetches.Load()
		tests := []struct {
			name       string
			token      string
			wantStatus int
		}{
			{"known kid", p.rs("kid-1", keys[0], map[string]any{"sub": "user-d"}), 200},
			{"rotated kid", p.rs("kid-2", keys[1], map[string]any{"sub": "user-e"}), 200},
			{"unknown kid", p.rs("kid-3", keys[2], nil), 401},
			{"another unknown kid", p.rs("kid-4", keys[2], nil), 401},
		}
		for _, tt := range tests {
			if a := call(tt.token); a.status != tt.wantStatus {
				t.Errorf("%s while the JWKS is down = %s, want %d", tt.name, a, tt.wantStatus)
			}
		}
		if n := p.fetches.Load() - before; n > 1 {
			t.Errorf("%d JWKS fetches while down within one cooldown, want at most 1", n)
		}
	})
	t.Run("F-31/past max-stale the gateway fails closed with 401, not 500", func(t *testing.T) {
		c.Advance(25 * time.Hour)
		if a := call(p.rs("kid-1", keys[0], map[string]any{"sub": "user-f"})); a.status != 401 || a.header.Get("WWW-Authenticate") != challengeInvalid {
			t.Fatalf("stale keys = %s, want 401 invalid_token", a)
		}
		p.down.Store(false)
		c.Advance(2 * time.Minute)
		if a := call(p.rs("kid-1", keys[0], map[string]any{"sub": "user-g"})); a.status != 200 {
			t.Fatalf("after the JWKS recovered = %s, want 200", a)
		}
	})
}
