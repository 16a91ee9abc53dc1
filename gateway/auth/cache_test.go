package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/minbil/minbil-bff/gateway/auth/authtest"
)

func wantVerifications(t *testing.T, a *Authenticator, want int64, what string) {
	t.Helper()
	if got := a.verifications.Load(); got != want {
		t.Fatalf("%s: verifications = %d, want %d", what, got, want)
	}
}

func TestTokenCache(t *testing.T) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(t, authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256))
	cfg := jwksConfig(idp.URL())
	cfg.JWT.TokenCacheSize = 100

	t.Run("second Authenticate of an RS256 token does not verify again", func(t *testing.T) {
		a := newAuth(t, cfg, authtest.NewClock(t0), nil)
		tok := authtest.RS256(t, stdClaims())
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
		clock := authtest.NewClock(t0)
		a := newAuth(t, cfg, clock, nil)
		tok := authtest.RS256(t, stdClaims()) // exp t0+10m, leeway 30s
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
		a := newAuth(t, cfg, authtest.NewClock(t0), nil)
		tok := authtest.RS256(t, with(map[string]any{"aud": "billing"}))
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
		a := newAuth(t, small, authtest.NewClock(t0), nil)
		toks := []string{
			authtest.RS256(t, with(map[string]any{"sub": "u1"})),
			authtest.RS256(t, with(map[string]any{"sub": "u2"})),
			authtest.RS256(t, with(map[string]any{"sub": "u3"})),
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
		a := newAuth(t, off, authtest.NewClock(t0), nil)
		tok := authtest.RS256(t, stdClaims())
		for range 3 {
			if err := authenticate(a, tok); err != nil {
				t.Fatalf("Authenticate() = %v", err)
			}
		}
		wantVerifications(t, a, 3, "no cache")
	})
	t.Run("keys are hashes, not tokens", func(t *testing.T) {
		a := newAuth(t, cfg, authtest.NewClock(t0), nil)
		tok := authtest.RS256(t, stdClaims())
		_ = authenticate(a, tok)
		want := sha256.Sum256([]byte(tok))
		if !a.cache.Contains(want) {
			t.Errorf("cache does not hold sha256(token)")
		}
	})
}

// TestCachedTokenNeedsItsKey is OA-03: a cached verification is valid
// only while its key is in the current key set, so a key the JWKS drops
// (or a kid re-published with other key material) stops working at the
// next refresh, not at the token's expiry.
func TestCachedTokenNeedsItsKey(t *testing.T) {
	k := authtest.Keys()
	key1 := authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256)
	key2 := authtest.JWK(t, &k.RSA2.PublicKey, "key-2", jwkset.AlgRS256)
	tests := []struct {
		name        string
		newSet      []jwkset.JWKMarshal
		wantKey1Err error
		wantVerify  int64 // verifications after both tokens again
	}{
		{name: "both keys kept: both served from the cache", newSet: []jwkset.JWKMarshal{key2, key1}, wantVerify: 2},
		{name: "key-1 dropped: its cached token is refused", newSet: []jwkset.JWKMarshal{key2}, wantKey1Err: ErrInvalidToken, wantVerify: 3},
		{name: "key-1 re-published with another key: refused", newSet: []jwkset.JWKMarshal{key2, authtest.JWK(t, &k.OtherRSA.PublicKey, authtest.KID, jwkset.AlgRS256)},
			wantKey1Err: ErrInvalidToken, wantVerify: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := authtest.NewJWKS(t, key1, key2)
			clock := authtest.NewClock(t0)
			cfg := jwksConfig(idp.URL())
			cfg.JWT.TokenCacheSize = 100
			a := newAuth(t, cfg, clock, nil)
			tok1 := authtest.RS256(t, stdClaims())
			tok2 := authtest.Sign(t, jwt.SigningMethodRS256, k.RSA2, "key-2", with(map[string]any{"sub": "user-b"}), nil)
			for _, tok := range []string{tok1, tok2} {
				if err := authenticate(a, tok); err != nil {
					t.Fatalf("Authenticate() before the rotation = %v", err)
				}
			}
			idp.SetKeys(t, tt.newSet...)
			clock.Advance(time.Minute)
			if _, err := a.jwks.refresh(context.Background(), scheduled, 0); err != nil {
				t.Fatalf("refresh() = %v", err)
			}
			if err := authenticate(a, tok1); !errors.Is(err, tt.wantKey1Err) || (tt.wantKey1Err == nil && err != nil) {
				t.Errorf("Authenticate(cached key-1 token) = %v, want %v", err, tt.wantKey1Err)
			}
			if err := authenticate(a, tok2); err != nil {
				t.Errorf("Authenticate(cached key-2 token) = %v, want nil", err)
			}
			wantVerifications(t, a, tt.wantVerify, "after the refresh")
		})
	}
}
