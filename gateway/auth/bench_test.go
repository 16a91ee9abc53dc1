package auth

import (
	"context"
	"testing"

	"github.com/MicahParks/jwkset"

	"github.com/minbil/minbil-bff/gateway/auth/authtest"
)

// BenchmarkAuthenticate compares the modes in one run: dev (no
// verification) is the baseline, hs256 and rs256-uncached verify every
// time, rs256-cached answers from the token cache after the first call.
func BenchmarkAuthenticate(b *testing.B) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(b, authtest.JWK(b, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256))
	clock := authtest.NewClock(t0)
	uncached := authtest.JWTConfig(idp.URL())
	uncached.JWT.TokenCacheSize = 0
	cached := authtest.JWTConfig(idp.URL())

	tests := []struct {
		name  string
		a     *Authenticator
		token string
	}{
		{name: "dev", a: newAuth(b, configWithMode("dev"), clock, nil), token: authtest.RS256(b, stdClaims())},
		{name: "hs256", a: newAuth(b, uncached, clock, nil), token: authtest.HS256(b, stdClaims())},
		{name: "rs256-cached", a: newAuth(b, cached, clock, nil), token: authtest.RS256(b, stdClaims())},
		{name: "rs256-uncached", a: newAuth(b, uncached, clock, nil), token: authtest.RS256(b, stdClaims())},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			values := bearer(tt.token)
			ctx := context.Background()
			if _, err := tt.a.Authenticate(ctx, values); err != nil {
				b.Fatalf("Authenticate() = %v", err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tt.a.Authenticate(ctx, values); err != nil {
					b.Fatalf("Authenticate() = %v", err)
				}
			}
		})
	}
}

// TestCachedPathAllocatesNothing pins the benchmark's allocation result for
// the cached path, so a regression fails the tests and not only the
// benchmark.
func TestCachedPathAllocatesNothing(t *testing.T) {
	a := newAuth(t, authtest.JWTConfig(""), authtest.NewClock(t0), nil)
	values := bearer(authtest.HS256(t, stdClaims()))
	if _, err := a.Authenticate(context.Background(), values); err != nil {
		t.Fatalf("Authenticate() = %v", err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := a.Authenticate(context.Background(), values); err != nil {
			t.Fatalf("Authenticate() = %v", err)
		}
	})
	if allocs != 0 {
		t.Errorf("cached Authenticate allocates %v times, want 0", allocs)
	}
}
