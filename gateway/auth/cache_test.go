package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

func wantVerifications(t *testing.T, a *Authenticator, want int64, what string) {
	t.Helper()
	if got := a.verifications.Load(); got != want {
		t.Fatalf("%s: verifications = %d, want %d", what, got, want)
	}
}

func TestTokenCache(t *testing.T) {
	k := keys(t)
	idp := newJWKSServer(t, jwk(t, &k.rsa.PublicKey, testKID, jwkset.AlgRS256))
	cfg := jwksConfig(idp.url())
	cfg.JWT.TokenCacheSize = 100

	t.Run("second Authenticate of an RS256 token does not verify again", func(t *testing.T) {
		a := newAuth(t, cfg, newClock(), nil)
		tok := rs(t, stdClaims())
		first, err := a.Authenticate(context.Background(), bearer(tok))
		if err != nil {
			t.Fatalf("Authenticate() = %v", err)
		}
		second, err := a.Authenticate(context.Background(), bearer(tok))
		if err != nil {
			t.Fatalf("Authenticate() again = %v", err)
		}
		wantVerifications(t, a, 1, "same token twice")
		if first != second || second.Token != tok || second.LogSubject() != logSubjectOf("user-a") {
			t.Errorf("cached Identity = %v, want %v with the same token and log subject", second, first)
		}
	})
	t.Run("BI-35/cached token past exp+leeway is refused", func(t *testing.T) {
		clock := newClock()
		a := newAuth(t, cfg, clock, nil)
		tok := rs(t, stdClaims()) // exp t0+10m, leeway 30s
		if err := authenticate(a, tok); err != nil {
			t.Fatalf("Authenticate() = %v", err)
		}
		clock.Advance(10*time.Minute + 29*time.Second)
		if err := authenticate(a, tok); err != nil {
			t.Fatalf("Authenticate() 1 s before exp+leeway = %v, want nil", err)
		}
		wantVerifications(t, a, 1, "within exp+leeway")
		clock.Advance(time.Second)
		err := authenticate(a, tok)
		if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, jwt.ErrTokenExpired) {
			t.Fatalf("Authenticate() at exp+leeway = %v, want %v (expired)", err, ErrInvalidToken)
		}
		wantVerifications(t, a, 2, "expired entry verified again")
		_ = authenticate(a, tok)
		wantVerifications(t, a, 3, "an expired token is never cached")
	})
	t.Run("refused tokens are not cached", func(t *testing.T) {
		a := newAuth(t, cfg, newClock(), nil)
		tok := rs(t, with(map[string]any{"aud": "billing"}))
		for range 3 {
			if err := authenticate(a, tok); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Authenticate(wrong aud) = %v, want %v", err, ErrInvalidToken)
			}
		}
		wantVerifications(t, a, 3, "refused token three times")
	})
	t.Run("size bound evicts the least recently used token", func(t *testing.T) {
		small := cfg
		small.JWT.TokenCacheSize = 2
		a := newAuth(t, small, newClock(), nil)
		toks := []string{
			rs(t, with(map[string]any{"sub": "u1"})),
			rs(t, with(map[string]any{"sub": "u2"})),
			rs(t, with(map[string]any{"sub": "u3"})),
		}
		for _, tok := range toks {
			_ = authenticate(a, tok)
		}
		_ = authenticate(a, toks[2])
		wantVerifications(t, a, 3, "most recent still cached")
		_ = authenticate(a, toks[0])
		wantVerifications(t, a, 4, "oldest evicted")
		if n := a.cache.Len(); n != 2 {
			t.Errorf("cache.Len() = %d, want 2", n)
		}
	})
	t.Run("cache disabled verifies every time", func(t *testing.T) {
		off := cfg
		off.JWT.TokenCacheSize = 0
		a := newAuth(t, off, newClock(), nil)
		tok := rs(t, stdClaims())
		for range 3 {
			if err := authenticate(a, tok); err != nil {
				t.Fatalf("Authenticate() = %v", err)
			}
		}
		wantVerifications(t, a, 3, "no cache")
	})
	t.Run("keys are hashes, not tokens", func(t *testing.T) {
		a := newAuth(t, cfg, newClock(), nil)
		tok := rs(t, stdClaims())
		_ = authenticate(a, tok)
		want := sha256.Sum256([]byte(tok))
		if !a.cache.Contains(want) {
			t.Errorf("cache does not hold sha256(token)")
		}
	})
}
