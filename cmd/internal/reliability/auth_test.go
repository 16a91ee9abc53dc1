package reliability

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/auth/authtest"
	"github.com/minbil/minbil-bff/gateway/config"
)

const (
	issuer   = authtest.Issuer
	audience = authtest.Audience
)

// idp is the identity provider of this suite (authtest): HS256 tokens
// with the shared secret, RS256 tokens with keys served from a JWKS on
// 127.0.0.1 that counts fetches and fails on demand, all on a simulated
// clock.
type idp struct {
	t     *testing.T
	clock *authtest.Clock
	jwks  *authtest.JWKS
}

func newIDP(t *testing.T, c *authtest.Clock) *idp {
	t.Helper()
	return &idp{t: t, clock: c, jwks: authtest.NewJWKS(t, rsJWK(t, "kid-1", authtest.Keys().RSA))}
}

// newClock is a simulated clock starting now.
func newClock() *authtest.Clock { return authtest.NewClock(time.Now().Truncate(time.Second)) }

// rsJWK is the public RS256 JWK of key under kid.
func rsJWK(t *testing.T, kid string, key *rsa.PrivateKey) jwkset.JWKMarshal {
	return authtest.JWK(t, &key.PublicKey, kid, jwkset.AlgRS256)
}

// configure is jwt mode with both HS256 and the JWKS, issuer and audience,
// and every operation requiring a token.
func (p *idp) configure() []wiretest.Option {
	return []wiretest.Option{
		wiretest.WithJWT(func(j *config.JWT) {
			j.JWKSURL = p.jwks.URL()
			j.Issuer = issuer
			j.Audience = audience
		}),
		wiretest.WithConfig(requireTokens),
		wiretest.WithClock(p.clock.Now),
	}
}

// claims are valid claims for sub at the clock's now, with changes; a nil
// change deletes the claim.
func (p *idp) claims(sub string, changes map[string]any) jwt.MapClaims {
	return authtest.With(authtest.Claims(sub, p.clock.Now()), changes)
}

func (p *idp) hs(changes map[string]any) string {
	return authtest.HS256(p.t, p.claims("user-a", changes))
}

func (p *idp) rs(kid string, key *rsa.PrivateKey, changes map[string]any) string {
	return authtest.Sign(p.t, jwt.SigningMethodRS256, key, kid, p.claims("user-a", changes), nil)
}

func (p *idp) hsRaw(payload string) string {
	return authtest.SignRaw(p.t, map[string]any{"alg": "HS256", "typ": "JWT"}, []byte(payload), jwt.SigningMethodHS256, []byte(authtest.Secret))
}

// authCall is one request to each operation with an Authorization header.
var authTargets = []struct {
	name string
	r    func(h http.Header) wiretest.Request
}{
	{"checkUsername", func(h http.Header) wiretest.Request { return wiretest.Get(checkPath+"?username=ola", h) }},
	{"listRatings", func(h http.Header) wiretest.Request { return wiretest.Get("/api/co/rating", h) }},
	{"rateBooking", func(h http.Header) wiretest.Request {
		return wiretest.Post("/api/co/rating/rate/5", wiretest.JSONHeader(h), validRating)
	}},
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
	up := wiretest.NewUpstream(t, routeOK)
	h := startGateway(t, up.URL, p.configure()...)
	k := authtest.Keys()
	now := c.Now()
	valid := p.hs(nil)
	h.Secret(valid, strings.Split(valid, ".")[2], "user-a")
	noneTok := func(alg, sig string) string {
		return authtest.B64(authtest.JSON(t, map[string]any{"alg": alg, "typ": "JWT"})) + "." + authtest.B64(authtest.JSON(t, p.claims("user-a", nil))) + "." + sig
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.RSA.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	parts := strings.Split(p.rs("kid-1", k.RSA, nil), ".")
	tampered := parts[0] + "." + authtest.B64(authtest.JSON(t, p.claims("user-b", nil))) + "." + parts[2]
	hsParts := strings.Split(valid, ".")
	flipped := hsParts[0] + "." + hsParts[1] + "." + flipPad(hsParts[2])
	attacker := wiretest.NewUpstream(t, wiretest.Reply(200, `{"keys":[]}`))
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
		{"BI-29/two Authorization headers", rawH("Bearer "+valid, "Bearer "+p.rs("kid-1", k.RSA, nil)), 401, challengeRequest},
		{"BI-30/token with a space", rawH("Bearer abc def"), 401, challengeRequest},
		{"BI-30/token with a comma", rawH("Bearer abc,def"), 401, challengeRequest},
		{"BI-30/token with a quote", rawH(`Bearer abc"def`), 401, challengeRequest},
		{"BI-30/token with non-ASCII", rawH("Bearer ab\xc3\xb8c"), 401, challengeRequest},
		{"BI-31/9000-byte token within the header buffer", bearerH(strings.Repeat(".", 9000)), 401, challengeRequest},
		{"BI-32/alg none", bearerH(noneTok("none", "")), 401, challengeInvalid},
		{"BI-32/alg None with a signature", bearerH(noneTok("None", authtest.B64([]byte("sig")))), 401, challengeInvalid},
		{"BI-32/alg NONE", bearerH(noneTok("NONE", "")), 401, challengeInvalid},
		{"BI-32/alg nOnE", bearerH(noneTok("nOnE", authtest.B64([]byte("x")))), 401, challengeInvalid},
		{"BI-33/HS256 MACed with the RSA public key PEM", bearerH(authtest.SignRaw(t, map[string]any{"alg": "HS256", "kid": "kid-1"}, authtest.JSON(t, p.claims("user-a", nil)), jwt.SigningMethodHS256, pubPEM)), 401, challengeInvalid},
		{"BI-34/HS512 with our secret", bearerH(authtest.SignRaw(t, map[string]any{"alg": "HS512"}, authtest.JSON(t, p.claims("user-a", nil)), jwt.SigningMethodHS512, []byte(authtest.Secret))), 401, challengeInvalid},
		{"BI-34/PS256 with the IdP's key", bearerH(authtest.SignRaw(t, map[string]any{"alg": "PS256", "kid": "kid-1"}, authtest.JSON(t, p.claims("user-a", nil)), jwt.SigningMethodPS256, k.RSA)), 401, challengeInvalid},
		{"BI-34/ES256 with a key the IdP never published", bearerH(authtest.SignRaw(t, map[string]any{"alg": "ES256", "kid": "kid-1"}, authtest.JSON(t, p.claims("user-a", nil)), jwt.SigningMethodES256, k.OtherEC)), 401, challengeInvalid},
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
		{"BI-45/five-segment JWE", bearerH(authtest.B64(authtest.JSON(t, map[string]any{"alg": "dir", "enc": "A128GCM"})) + "..aXY.Y2lwaGVy.dGFn"), 401, challengeInvalid},
		{"BI-45/JSON serialization", rawH(`Bearer {"payload":"` + hsParts[1] + `","signatures":[]}`), 401, challengeRequest},
		{"BI-46/unknown kid", bearerH(p.rs("kid-unknown", k.RSA, nil)), 401, challengeInvalid},
		{"BI-47/kid path traversal", bearerH(p.rs("../../dev/null", k.RSA, nil)), 401, challengeInvalid},
		{"BI-47/kid SQL", bearerH(p.rs("' OR 1=1--", k.RSA, nil)), 401, challengeInvalid},
		{"BI-47/kid of 4 KB", bearerH(p.rs(strings.Repeat("k", 4096), k.RSA, nil)), 401, challengeInvalid},
		{"BI-48/jku to an attacker", bearerH(authtest.SignRaw(t, map[string]any{"alg": "RS256", "kid": "evil", "jku": attacker.URL + "/jwks"}, authtest.JSON(t, p.claims("user-a", nil)), jwt.SigningMethodRS256, k.OtherRSA)), 401, challengeInvalid},
		{"BI-48/x5u to the metadata address", bearerH(authtest.SignRaw(t, map[string]any{"alg": "RS256", "kid": "evil", "x5u": "http://169.254.169.254/latest"}, authtest.JSON(t, p.claims("user-a", nil)), jwt.SigningMethodRS256, k.OtherRSA)), 401, challengeInvalid},
		{"BI-48/embedded jwk", bearerH(authtest.SignRaw(t, map[string]any{"alg": "RS256", "jwk": map[string]string{"kty": "RSA", "n": authtest.B64(k.OtherRSA.N.Bytes()), "e": "AQAB"}}, authtest.JSON(t, p.claims("user-a", nil)), jwt.SigningMethodRS256, k.OtherRSA)), 401, challengeInvalid},
		{"BI-49/non-canonical base64url signature", bearerH(flipped), 401, challengeInvalid},
		{"BI-49/padded signature", bearerH(valid + "="), 401, challengeInvalid},
		{"BI-50/another IdP's key under our kid", bearerH(p.rs("kid-1", k.OtherRSA, nil)), 401, challengeInvalid},
		{"BI-50/another realm's HS256 secret", bearerH(authtest.SignRaw(t, map[string]any{"alg": "HS256"}, authtest.JSON(t, p.claims("user-a", nil)), jwt.SigningMethodHS256, []byte("another-realm-secret-0123456789abcdef"))), 401, challengeInvalid},
		{"F-33/IdP clock 2 min ahead: iat in the future", bearerH(p.hs(map[string]any{"iat": now.Add(2 * time.Minute).Unix(), "exp": now.Add(12 * time.Minute).Unix()})), 401, challengeInvalid},
		{"F-33/IdP clock 2 min behind: exp 20s ago", bearerH(p.hs(map[string]any{"iat": now.Add(-2 * time.Minute).Unix(), "exp": now.Add(-20 * time.Second).Unix()})), 200, ""},
		{"valid/HS256", bearerH(valid), 200, ""},
		{"valid/RS256 from the JWKS", bearerH(p.rs("kid-1", k.RSA, nil)), 200, ""},
	}
	var refusal []byte
	var mu sync.Mutex
	bodies := map[string]int{}
	for _, tt := range tests {
		for _, op := range authTargets {
			t.Run(tt.name+"/"+op.name, func(t *testing.T) {
				before := up.Calls.Load()
				a := h.Do(op.r(tt.header))
				if a.Status != tt.wantStatus || a.Header.Get("WWW-Authenticate") != tt.wantChallenge {
					t.Fatalf("answer %.200s with challenge %q, want %d %q", a, a.Header.Get("WWW-Authenticate"), tt.wantStatus, tt.wantChallenge)
				}
				calls := up.Calls.Load() - before
				if a.Status == 401 {
					if calls != 0 {
						t.Fatalf("a refused caller made %d upstream calls", calls)
					}
					var e struct{ Error json.RawMessage }
					_ = json.Unmarshal(a.Body, &e)
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
		if n := attacker.Calls.Load(); n != 0 {
			t.Fatalf("the attacker's host got %d requests", n)
		}
	})
	t.Run("BI-46/unknown kids made at most two JWKS refreshes", func(t *testing.T) {
		// One fetch at start; within the cooldown unknown kids add at most
		// one, and a kid refused before may use one reserve refresh, so
		// junk kids cannot starve a real rotation (OA-03).
		if n := p.jwks.Fetches.Load(); n > 3 {
			t.Fatalf("JWKS fetched %d times, want at most 3", n)
		}
	})
	t.Run("BI-28/the upstream receives the token unchanged", func(t *testing.T) {
		if got := up.Last().Header.Get("Authorization"); !strings.HasPrefix(got, "Bearer ey") {
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
	up := wiretest.NewUpstream(t, routeOK)
	h := startGateway(t, up.URL)
	if a := h.Do(wiretest.Get(checkPath+"?username=ola", wiretest.Bearer("someone"))); a.Status != 200 {
		t.Fatalf("priming = %s", a)
	}
	tests := []struct {
		name     string
		r        wiretest.Request
		wantCode int
	}{
		{"BI-25/anonymous check-username", wiretest.Get(checkPath+"?username=ola", nil), 401},
		{"BI-25/anonymous list is the contract's optional auth", wiretest.Get("/api/co/rating", nil), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.Calls.Load()
			a := h.Do(tt.r)
			if a.Status != tt.wantCode || a.Header.Get("X-Cache") != "" {
				t.Fatalf("answer %s X-Cache %q, want %d without a cache read", a, a.Header.Get("X-Cache"), tt.wantCode)
			}
			if tt.wantCode == 401 && up.Calls.Load() != before {
				t.Fatalf("anonymous caller reached the upstream")
			}
			if tt.wantCode == 200 && up.Last().Header.Get("Authorization") != "" {
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
	up := wiretest.NewUpstream(t, routeOK)
	h := startGateway(t, up.URL, p.configure()...)
	k := authtest.Keys()
	call := func(tok string) wiretest.Answer { return h.Do(wiretest.Get("/api/co/rating", wiretest.Bearer(tok))) }
	if a := call(p.rs("kid-1", k.RSA, nil)); a.Status != 200 {
		t.Fatalf("valid RS256 = %s", a)
	}

	t.Run("F-32/rotation: the first token with the new kid refreshes once and passes", func(t *testing.T) {
		p.jwks.SetKeys(t, rsJWK(t, "kid-1", k.RSA), rsJWK(t, "kid-2", k.RSA2))
		before := p.jwks.Fetches.Load()
		if a := call(p.rs("kid-2", k.RSA2, nil)); a.Status != 200 {
			t.Fatalf("new kid after rotation = %s, want 200", a)
		}
		if a := call(p.rs("kid-2", k.RSA2, map[string]any{"sub": "user-c"})); a.Status != 200 {
			t.Fatalf("second token with the new kid = %s", a)
		}
		if n := p.jwks.Fetches.Load() - before; n != 1 {
			t.Fatalf("rotation made %d JWKS fetches, want 1", n)
		}
	})
	t.Run("L-14/random-kid flood within the cooldown fetches nothing more", func(t *testing.T) {
		before := p.jwks.Fetches.Load()
		var wg sync.WaitGroup
		var refused atomic.Int64
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				a, err := h.Try(wiretest.Get("/api/co/rating", wiretest.Bearer(p.rs(fmt.Sprintf("random-%d", i), k.OtherRSA, nil))))
				if err == nil && a.Status == 401 {
					refused.Add(1)
				}
			}(i)
		}
		wg.Wait()
		if refused.Load() != 200 {
			t.Fatalf("%d of 200 random-kid tokens refused, want all", refused.Load())
		}
		if n := p.jwks.Fetches.Load() - before; n > 1 {
			t.Fatalf("the flood made %d JWKS fetches, want at most 1 per cooldown", n)
		}
	})
	t.Run("F-31/JWKS down: the last good keys keep serving, unknown kids are refused", func(t *testing.T) {
		p.jwks.Down.Store(true)
		c.Advance(2 * time.Minute) // past the cooldown: an unknown kid may try once
		before := p.jwks.Fetches.Load()
		tests := []struct {
			name       string
			token      string
			wantStatus int
		}{
			{"known kid", p.rs("kid-1", k.RSA, map[string]any{"sub": "user-d"}), 200},
			{"rotated kid", p.rs("kid-2", k.RSA2, map[string]any{"sub": "user-e"}), 200},
			{"unknown kid", p.rs("kid-3", k.OtherRSA, nil), 401},
			{"another unknown kid", p.rs("kid-4", k.OtherRSA, nil), 401},
		}
		for _, tt := range tests {
			if a := call(tt.token); a.Status != tt.wantStatus {
				t.Errorf("%s while the JWKS is down = %s, want %d", tt.name, a, tt.wantStatus)
			}
		}
		if n := p.jwks.Fetches.Load() - before; n > 1 {
			t.Errorf("%d JWKS fetches while down within one cooldown, want at most 1", n)
		}
	})
	t.Run("F-31/past max-stale the gateway fails closed with 401, not 500", func(t *testing.T) {
		c.Advance(25 * time.Hour)
		if a := call(p.rs("kid-1", k.RSA, map[string]any{"sub": "user-f"})); a.Status != 401 || a.Header.Get("WWW-Authenticate") != challengeInvalid {
			t.Fatalf("stale keys = %s, want 401 invalid_token", a)
		}
		p.jwks.Down.Store(false)
		c.Advance(2 * time.Minute)
		if a := call(p.rs("kid-1", k.RSA, map[string]any{"sub": "user-g"})); a.Status != 200 {
			t.Fatalf("after the JWKS recovered = %s, want 200", a)
		}
	})
}
