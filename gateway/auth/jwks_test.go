package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/minbil/minbil-bff/gateway/auth/authtest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// jwksConfig is jwt mode with only a JWKS URL, a 1 min refresh cooldown and
// a 1 h max-stale bound; the token cache is off unless a test turns it on.
func jwksConfig(url string) config.Auth {
	c := authtest.JWTConfig(url)
	c.JWT.HS256Secret = ""
	c.JWT.JWKSMinRefreshInterval = time.Minute
	c.JWT.JWKSMaxStale = time.Hour
	c.JWT.TokenCacheSize = 0
	return c
}

// randomKIDToken is an RS256-shaped token with the given kid and a junk
// signature: cheap to make, and the kid lookup fails before any
// verification.
func randomKIDToken(t testing.TB, kid string) string {
	t.Helper()
	return authtest.B64(authtest.JSON(t, map[string]any{"alg": "RS256", "kid": kid})) + "." + authtest.B64(authtest.JSON(t, stdClaims())) + "." + authtest.B64([]byte("junk-signature"))
}

func authenticate(a *Authenticator, tok string) error {
	_, err := a.Authenticate(context.Background(), bearer(tok))
	return err
}

func wantFetches(t *testing.T, idp *authtest.JWKS, want int64, what string) {
	t.Helper()
	if got := idp.Fetches.Load(); got != want {
		t.Fatalf("%s: JWKS fetches = %d, want %d", what, got, want)
	}
}

func TestJWKSOutage(t *testing.T) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(t, authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256))
	clock := authtest.NewClock(t0)
	cfg := jwksConfig(idp.URL())
	cfg.JWT.HS256Secret = authtest.Secret
	cfg.JWT.TokenCacheSize = 100
	a := newAuth(t, cfg, clock, nil)
	wantFetches(t, idp, 1, "start")
	cached := authtest.RS256(t, stdClaims())
	if err := authenticate(a, cached); err != nil {
		t.Fatalf("Authenticate(valid) = %v", err)
	}

	idp.Down.Store(true)
	clock.Advance(2 * time.Minute)
	t.Run("F-31/scheduled refresh fails, last good keys keep serving", func(t *testing.T) {
		if _, err := a.jwks.refresh(context.Background(), scheduled, 0); err == nil {
			t.Fatalf("refresh() with the IdP down = nil error, want one")
		}
		wantFetches(t, idp, 2, "scheduled refresh")
		if err := authenticate(a, authtest.RS256(t, with(map[string]any{"sub": "user-b"}))); err != nil {
			t.Errorf("Authenticate(known kid, IdP down) = %v, want nil", err)
		}
	})
	t.Run("F-31/unknown kid during the outage: 401, cooldown after the failed fetch", func(t *testing.T) {
		err := authenticate(a, randomKIDToken(t, "new-kid"))
		if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, errUnknownKID) {
			t.Errorf("Authenticate(unknown kid) = %v, want %v (unknown kid)", err, ErrInvalidToken)
		}
		wantFetches(t, idp, 2, "within the cooldown of a failed fetch")
		clock.Advance(time.Minute)
		for i := range 20 {
			if err := authenticate(a, randomKIDToken(t, fmt.Sprint("kid-", i))); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Authenticate(unknown kid) = %v, want %v", err, ErrInvalidToken)
			}
		}
		wantFetches(t, idp, 3, "one retry per cooldown")
	})
	t.Run("F-31/past max-stale: fail closed, even for cached tokens", func(t *testing.T) {
		clock.Advance(time.Hour) // keys fetched at t0, now t0+63m, max stale 1h
		for _, tok := range []string{cached, authtest.RS256(t, with(map[string]any{"sub": "user-c", "exp": clock.Now().Add(time.Minute).Unix(), "iat": clock.Now().Unix()}))} {
			err := authenticate(a, tok)
			if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, errKeysUnavailable) {
				t.Errorf("Authenticate(known kid, keys stale) = %v, want %v (no fresh key set)", err, ErrInvalidToken)
			}
		}
		wantFetches(t, idp, 4, "stale keys trigger one rate-limited retry")
		hsTok := authtest.HS256(t, with(map[string]any{"exp": clock.Now().Add(time.Minute).Unix(), "iat": clock.Now().Unix()}))
		if err := authenticate(a, hsTok); err != nil {
			t.Errorf("Authenticate(HS256) with stale JWKS = %v, want nil (independent of the JWKS)", err)
		}
	})
	t.Run("F-31/recovery: the next attempt after the cooldown restores service", func(t *testing.T) {
		idp.Down.Store(false)
		tok := authtest.RS256(t, with(map[string]any{"exp": clock.Now().Add(time.Minute).Unix(), "iat": clock.Now().Unix()}))
		if err := authenticate(a, tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Authenticate() within the cooldown = %v, want %v", err, ErrInvalidToken)
		}
		clock.Advance(time.Minute)
		if err := authenticate(a, tok); err != nil {
			t.Errorf("Authenticate() after the IdP recovered = %v, want nil", err)
		}
		wantFetches(t, idp, 5, "recovery")
	})
}

func TestJWKSDownAtStart(t *testing.T) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(t, authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256))
	idp.Down.Store(true)
	clock := authtest.NewClock(t0)
	a := newAuth(t, jwksConfig(idp.URL()), clock, nil) // not an error: fail closed, retry
	tok := authtest.RS256(t, stdClaims())
	t.Run("F-31/no keys yet: fail closed", func(t *testing.T) {
		if err := authenticate(a, tok); !errors.Is(err, ErrInvalidToken) || !errors.Is(err, errKeysUnavailable) {
			t.Errorf("Authenticate() with no keys = %v, want %v (no fresh key set)", err, ErrInvalidToken)
		}
		wantFetches(t, idp, 1, "cooldown after the failed first fetch")
	})
	t.Run("F-31/IdP back: served after the cooldown", func(t *testing.T) {
		idp.Down.Store(false)
		clock.Advance(time.Minute)
		if err := authenticate(a, tok); err != nil {
			t.Errorf("Authenticate() = %v, want nil", err)
		}
		wantFetches(t, idp, 2, "after the cooldown")
	})
}

func TestJWKSRotation(t *testing.T) {
	k := authtest.Keys()
	key1 := authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256)
	key2 := authtest.JWK(t, &k.RSA2.PublicKey, "key-2", jwkset.AlgRS256)
	key3 := authtest.JWK(t, &k.EC.PublicKey, "key-3", jwkset.AlgES256)
	idp := authtest.NewJWKS(t, key1)
	clock := authtest.NewClock(t0)
	a := newAuth(t, jwksConfig(idp.URL()), clock, nil)
	wantFetches(t, idp, 1, "start")

	t.Run("F-32/new kid right after start: one refresh, accepted", func(t *testing.T) {
		idp.SetKeys(t, key2, key1)
		tok := authtest.Sign(t, jwt.SigningMethodRS256, k.RSA2, "key-2", stdClaims(), nil)
		if err := authenticate(a, tok); err != nil {
			t.Fatalf("Authenticate(new kid) = %v, want nil", err)
		}
		wantFetches(t, idp, 2, "first token with the new kid")
		if err := authenticate(a, authtest.Sign(t, jwt.SigningMethodRS256, k.RSA2, "key-2", with(map[string]any{"sub": "user-b"}), nil)); err != nil {
			t.Fatalf("Authenticate(new kid, second token) = %v, want nil", err)
		}
		wantFetches(t, idp, 2, "second token with the new kid")
	})
	t.Run("F-32/50 concurrent first tokens with a new kid: one refresh, no 401", func(t *testing.T) {
		clock.Advance(time.Minute)
		idp.SetKeys(t, key3, key2)
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			tok := authtest.Sign(t, jwt.SigningMethodES256, k.EC, "key-3", with(map[string]any{"sub": fmt.Sprint("user-", i)}), nil)
			wg.Go(func() { errs <- authenticate(a, tok) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Authenticate(new kid, concurrent) = %v, want nil", err)
			}
		}
		wantFetches(t, idp, 3, "coalesced refresh")
	})
	t.Run("F-32/removed key is refused after the refresh", func(t *testing.T) {
		if err := authenticate(a, authtest.RS256(t, stdClaims())); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Authenticate(removed kid) = %v, want %v", err, ErrInvalidToken)
		}
	})
	t.Run("BI-46/random kids: at most one refresh per cooldown", func(t *testing.T) {
		clock.Advance(time.Minute)
		before := idp.Fetches.Load()
		for i := range 100 {
			if err := authenticate(a, randomKIDToken(t, fmt.Sprint("random-", i))); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Authenticate(random kid) = %v, want %v", err, ErrInvalidToken)
			}
		}
		wantFetches(t, idp, before+1, "100 random kids in one cooldown")
		clock.Advance(59 * time.Second)
		_ = authenticate(a, randomKIDToken(t, "one-more"))
		wantFetches(t, idp, before+1, "59 s later")
		clock.Advance(time.Second)
		_ = authenticate(a, randomKIDToken(t, "and-another"))
		wantFetches(t, idp, before+2, "a full cooldown later")
	})
}

// TestRotationNotStarvedByJunk is OA-03: random kids spend the
// unknown-kid allowance, yet a key published right after is picked up on
// the second request that carries it, not a cooldown later. Kids that come
// back spend the reserve allowance once per cooldown, so whatever the kids,
// at most two fetches per cooldown reach the IdP.
func TestRotationNotStarvedByJunk(t *testing.T) {
	k := authtest.Keys()
	key1 := authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256)
	idp := authtest.NewJWKS(t, key1)
	clock := authtest.NewClock(t0)
	a := newAuth(t, jwksConfig(idp.URL()), clock, nil)
	junk := func(kids ...string) {
		t.Helper()
		for _, kid := range kids {
			if err := authenticate(a, randomKIDToken(t, kid)); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Authenticate(junk kid %s) = %v, want %v", kid, err, ErrInvalidToken)
			}
		}
	}
	for i := range 100 {
		junk(fmt.Sprint("random-", i))
	}
	wantFetches(t, idp, 2, "100 random kids")

	clock.Advance(10 * time.Second)
	idp.SetKeys(t, key1, authtest.JWK(t, &k.RSA2.PublicKey, "key-2", jwkset.AlgRS256))
	rotated := func(sub string) string {
		return authtest.Sign(t, jwt.SigningMethodRS256, k.RSA2, "key-2", with(map[string]any{"sub": sub}), nil)
	}
	if err := authenticate(a, rotated("user-a")); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Authenticate(first token of the new kid, allowance spent) = %v, want %v", err, ErrInvalidToken)
	}
	wantFetches(t, idp, 2, "first token of the new kid")
	if err := authenticate(a, rotated("user-b")); err != nil {
		t.Fatalf("Authenticate(second token of the new kid) = %v, want nil: junk starved the rotation", err)
	}
	wantFetches(t, idp, 3, "the new kid came back")

	tests := []struct {
		name        string
		advance     time.Duration
		kids        []string
		wantFetches int64
	}{
		{name: "reserve spent: a kid that comes back waits", kids: []string{"again", "again", "again"}, wantFetches: 3},
		{name: "next cooldown: random kids spend the first allowance", advance: time.Minute, kids: []string{"r1", "r2", "r3"}, wantFetches: 4},
		{name: "a repeating flood spends the reserve too", kids: []string{"rep-1", "rep-1", "rep-2", "rep-2"}, wantFetches: 5},
		{name: "and no more in this cooldown", advance: 59 * time.Second, kids: []string{"rep-3", "rep-3", "r4"}, wantFetches: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(tt.advance)
			junk(tt.kids...)
			wantFetches(t, idp, tt.wantFetches, tt.name)
		})
	}
}

// TestRandomKIDFlood is L-14: a concurrent flood of random kids makes at
// most one JWKS fetch per cooldown.
func TestRandomKIDFlood(t *testing.T) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(t, authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256))
	clock := authtest.NewClock(t0)
	a := newAuth(t, jwksConfig(idp.URL()), clock, nil)
	const workers, each = 32, 300
	flood := func(round int) {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					if err := authenticate(a, randomKIDToken(t, fmt.Sprintf("r%d-w%d-%d", round, w, i))); !errors.Is(err, ErrInvalidToken) {
						t.Errorf("Authenticate(random kid) = %v, want %v", err, ErrInvalidToken)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	for round := range 3 {
		start := idp.Fetches.Load()
		flood(round)
		if got := idp.Fetches.Load() - start; got > 1 {
			t.Errorf("L-14 round %d: %d requests with random kids made %d JWKS fetches, want at most 1", round, workers*each, got)
		}
		clock.Advance(time.Minute)
	}
	if err := authenticate(a, authtest.RS256(t, stdClaims())); err != nil {
		t.Errorf("Authenticate(valid) after the flood = %v, want nil", err)
	}
}

// TestKeyURLHeadersAreNeverFetched is BI-48.
func TestKeyURLHeadersAreNeverFetched(t *testing.T) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(t, authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256))
	attacker := authtest.NewHost(t)
	a := newAuth(t, jwksConfig(idp.URL()), authtest.NewClock(t0), nil)
	attackerJWK := authtest.JWK(t, &k.OtherRSA.PublicKey, authtest.KID, jwkset.AlgRS256)
	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{name: "jku to the attacker, attacker's key and kid", token: authtest.Sign(t, jwt.SigningMethodRS256, k.OtherRSA, "attacker-1", stdClaims(), map[string]any{"jku": attacker.URL + "/jwks.json"}), wantErr: ErrInvalidToken},
		{name: "jku to the metadata service", token: authtest.Sign(t, jwt.SigningMethodRS256, k.OtherRSA, "attacker-2", stdClaims(), map[string]any{"jku": "http://169.254.169.254/latest/meta-data/"}), wantErr: ErrInvalidToken},
		{name: "x5u to the attacker", token: authtest.Sign(t, jwt.SigningMethodRS256, k.OtherRSA, "attacker-3", stdClaims(), map[string]any{"x5u": attacker.URL + "/cert.pem"}), wantErr: ErrInvalidToken},
		{name: "embedded jwk with our kid", token: authtest.Sign(t, jwt.SigningMethodRS256, k.OtherRSA, authtest.KID, stdClaims(), map[string]any{"jwk": attackerJWK}), wantErr: ErrInvalidToken},
		{name: "embedded jwk without kid", token: authtest.Sign(t, jwt.SigningMethodRS256, k.OtherRSA, "", stdClaims(), map[string]any{"jwk": attackerJWK}), wantErr: ErrInvalidToken},
		{name: "x5c chain", token: authtest.Sign(t, jwt.SigningMethodRS256, k.OtherRSA, "attacker-4", stdClaims(), map[string]any{"x5c": []string{"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"}}), wantErr: ErrInvalidToken},
		{name: "our valid token with a jku is verified with our keys only", token: authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, authtest.KID, stdClaims(), map[string]any{"jku": attacker.URL + "/jwks.json"})},
	}
	for _, tt := range tests {
		t.Run("BI-48/"+tt.name, func(t *testing.T) {
			err := authenticate(a, tt.token)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Authenticate() = %v, want %v", err, tt.wantErr)
			}
			if n := attacker.Calls.Load(); n != 0 {
				t.Errorf("requests to the attacker's host = %d, want 0", n)
			}
		})
	}
	if n := idp.Others.Load(); n != 0 {
		t.Errorf("BI-48: requests to the IdP outside its JWKS path = %d, want 0", n)
	}
}

// TestJWKSContent checks what a key set may contain.
func TestJWKSContent(t *testing.T) {
	k := authtest.Keys()
	oct := jwkset.JWKMarshal{KTY: jwkset.KtyOct, KID: "hmac", K: authtest.B64([]byte(authtest.Secret)), ALG: jwkset.AlgHS256}
	tests := []struct {
		name    string
		set     []jwkset.JWKMarshal
		token   func(t *testing.T) string
		wantErr error
	}{
		{name: "BI-33/symmetric key in the JWKS is ignored", set: []jwkset.JWKMarshal{oct, authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256)},
			token: func(t *testing.T) string {
				return authtest.Sign(t, jwt.SigningMethodHS256, []byte(authtest.Secret), "hmac", stdClaims(), nil)
			}, wantErr: ErrInvalidToken},
		{name: "JWK alg RS256 does not verify an ES256 token of the same kid", set: []jwkset.JWKMarshal{authtest.JWK(t, &k.EC.PublicKey, authtest.KID, jwkset.AlgRS256)},
			token: func(t *testing.T) string {
				return authtest.Sign(t, jwt.SigningMethodES256, k.EC, authtest.KID, stdClaims(), nil)
			}, wantErr: ErrInvalidToken},
		{name: "JWK use enc is not a signing key", set: []jwkset.JWKMarshal{func() jwkset.JWKMarshal {
			m := authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256)
			m.USE = jwkset.UseEnc
			return m
		}()}, token: func(t *testing.T) string { return authtest.RS256(t, stdClaims()) }, wantErr: ErrInvalidToken},
		{name: "JWK without use or alg verifies", set: []jwkset.JWKMarshal{func() jwkset.JWKMarshal {
			m := authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, "")
			m.USE = ""
			return m
		}()}, token: func(t *testing.T) string { return authtest.RS256(t, stdClaims()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := authtest.NewJWKS(t, tt.set...)
			a := newAuth(t, jwksConfig(idp.URL()), authtest.NewClock(t0), nil)
			err := authenticate(a, tt.token(t))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Authenticate() = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestJWKSUnusableResponses(t *testing.T) {
	k := authtest.Keys()
	good := authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256)
	oct := jwkset.JWKMarshal{KTY: jwkset.KtyOct, KID: "hmac", K: authtest.B64([]byte(authtest.Secret))}
	keysBody := func(set ...jwkset.JWKMarshal) []byte { return authtest.JSON(t, jwkset.JWKSMarshal{Keys: set}) }
	huge := append(append([]byte(`{"keys":[`), keysBody(good)[len(`{"keys":[`):len(keysBody(good))-2]...), []byte(`],"pad":"`+strings.Repeat("x", maxJWKSBytes)+`"}`)...)
	if !json.Valid(huge) {
		t.Fatalf("the oversized JWKS must be valid JSON, so only the size cap refuses it")
	}
	tests := []struct {
		name string
		body []byte
	}{
		{name: "F-31/empty key set keeps the last good keys", body: keysBody()},
		{name: "F-31/only unusable keys keep the last good keys", body: keysBody(oct)},
		{name: "F-31/not JSON keeps the last good keys", body: []byte("<html>maintenance</html>")},
		{name: "F-31/body over 1 MiB keeps the last good keys", body: huge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := authtest.NewJWKS(t, good)
			clock := authtest.NewClock(t0)
			a := newAuth(t, jwksConfig(idp.URL()), clock, nil)
			idp.SetBody(tt.body)
			clock.Advance(time.Minute)
			if _, err := a.jwks.refresh(context.Background(), scheduled, 0); err == nil {
				t.Errorf("refresh() = nil error, want one")
			}
			if err := authenticate(a, authtest.RS256(t, stdClaims())); err != nil {
				t.Errorf("Authenticate(known kid) = %v, want nil", err)
			}
		})
	}
}

func TestClose(t *testing.T) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(t, authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256))
	clock := authtest.NewClock(t0)
	a, err := New(jwksConfig(idp.URL()), nil, WithClock(clock.Now))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	a.Close()
	a.Close() // idempotent
	if err := authenticate(a, authtest.RS256(t, stdClaims())); err != nil {
		t.Errorf("Authenticate(known kid) after Close = %v, want nil", err)
	}
	clock.Advance(time.Hour)
	if err := authenticate(a, randomKIDToken(t, "after-close")); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Authenticate(unknown kid) after Close = %v, want %v", err, ErrInvalidToken)
	}
	wantFetches(t, idp, 1, "after Close")
}

// TestCancelledWhileWaitingForKeys: a caller that gives up while a refresh
// runs is refused, and the refresh still completes for the others.
func TestCancelledWhileWaitingForKeys(t *testing.T) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(t, authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256))
	a := newAuth(t, jwksConfig(idp.URL()), authtest.NewClock(t0), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := a.Authenticate(ctx, bearer(randomKIDToken(t, "unknown")))
	if !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Authenticate(cancelled, unknown kid) = %v, want %v", err, ErrInvalidToken)
	}
}
