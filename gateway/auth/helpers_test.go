package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/gateway/auth/authtest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// The identity provider these tests talk to (keys, tokens, JWKS, clock)
// is authtest's, shared with the gateway's suites; what is left here binds
// it to this package's internals and to t0.

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the simulated "now" of every test.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// newAuth builds an Authenticator on clock and closes it at cleanup.
func newAuth(t testing.TB, cfg config.Auth, clock *authtest.Clock, log *zap.Logger) *Authenticator {
	t.Helper()
	a, err := New(cfg, log, WithClock(clock.Now))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// stdClaims are valid claims for user A at t0.
func stdClaims() jwt.MapClaims { return authtest.Claims("user-a", t0) }

// with returns a copy of stdClaims with changes; a nil value deletes.
func with(changes map[string]any) jwt.MapClaims { return authtest.With(stdClaims(), changes) }

func bearer(tok string) []string { return []string{"Bearer " + tok} }
