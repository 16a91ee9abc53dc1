package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/minbil/minbil-bff/gateway/auth/authtest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// unsigned is a JWT-shaped token whose signature is junk: dev and
// passthrough accept it without verifying anything.
func unsigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	return authtest.B64([]byte(`{"alg":"RS256"}`)) + "." + authtest.B64(authtest.JSON(t, claims)) + ".c2ln"
}

var hashedSubjectRE = regexp.MustCompile(`^` + regexp.QuoteMeta(HashedSubjectPrefix) + `[0-9a-f]{32}$`)

// TestOpaqueIdentity is OA-05: without verification the Subject (the
// key of rate limits, the username cache and idempotency records) is a
// digest of the whole token, never a claim, so a forged token naming a
// victim's sub gets a key of its own.
func TestOpaqueIdentity(t *testing.T) {
	victim := unsigned(t, map[string]any{"sub": "victim"})
	tests := []struct {
		name  string
		token string
	}{
		{name: "JWT-shaped token with a sub", token: unsigned(t, map[string]any{"sub": "alice"})},
		{name: "expired JWT with a sub", token: unsigned(t, map[string]any{"sub": "bob", "exp": 1})},
		{name: "forged token naming the victim's sub", token: unsigned(t, map[string]any{"sub": "victim", "jti": "forged"})},
		{name: "same sub, another signature", token: strings.TrimSuffix(victim, "c2ln") + "Zm9yZ2Vk"},
		{name: "opaque token", token: "opaque-token_123"},
		{name: "JWT without sub", token: unsigned(t, map[string]any{"name": "x"})},
		{name: "4 segments", token: victim + ".x"},
		{name: "payload not base64", token: "e30.+/+/.x"},
	}
	for _, mode := range []config.AuthMode{config.AuthDev, config.AuthPassthrough} {
		a := newAuth(t, configWithMode(mode), authtest.NewClock(t0), nil)
		victimID, err := a.Authenticate(context.Background(), bearer(victim))
		if err != nil {
			t.Fatalf("%s: Authenticate(victim) = %v", mode, err)
		}
		for _, tt := range tests {
			t.Run(string(mode)+"/"+tt.name, func(t *testing.T) {
				id, err := a.Authenticate(context.Background(), bearer(tt.token))
				if err != nil {
					t.Fatalf("Authenticate() = %v", err)
				}
				if id.Token != tt.token {
					t.Errorf("Token = %q, want %q", id.Token, tt.token)
				}
				if want := hashedSubject(tt.token); id.Subject != want || !hashedSubjectRE.MatchString(id.Subject) {
					t.Errorf("Subject = %q, want %q (the digest of the whole token)", id.Subject, want)
				}
				if id.Subject == victimID.Subject || id.LogSubject() == victimID.LogSubject() {
					t.Errorf("Subject = %q, the victim's: a forged token shares the victim's keys", id.Subject)
				}
				again, _ := newAuth(t, configWithMode(mode), authtest.NewClock(t0), nil).Authenticate(context.Background(), bearer(tt.token))
				if again.Subject != id.Subject {
					t.Errorf("Subject is not stable: %q then %q", id.Subject, again.Subject)
				}
			})
		}
	}
}

func TestLogSubject(t *testing.T) {
	tests := []struct {
		name string
		id   Identity
		want string
	}{
		{name: "zero Identity", id: Identity{}, want: ""},
		{name: "hash of the subject", id: Identity{Subject: "user-a", Token: "t"}, want: logSubjectOf("user-a")},
	}
	for _, tt := range tests {
		t.Run("S-09/"+tt.name, func(t *testing.T) {
			if got := tt.id.LogSubject(); got != tt.want {
				t.Errorf("LogSubject() = %q, want %q", got, tt.want)
			}
		})
	}
	if got := logSubjectOf("user-a"); !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(got) {
		t.Errorf("logSubjectOf(user-a) = %q, want 16 hex digits", got)
	}
}

// TestNothingLeaksToLogs is S-01/S-09: across accepted and refused tokens,
// JWKS outages and formatting an Identity every way, neither logs nor
// error texts contain a token, a signature segment, "eyJ" or a raw sub.
func TestNothingLeaksToLogs(t *testing.T) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(t, authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256))
	core, logs := observer.New(zapcore.DebugLevel)
	clock := authtest.NewClock(t0)
	cfg := authtest.JWTConfig(idp.URL())
	a := newAuth(t, cfg, clock, zap.New(core))
	dev := newAuth(t, configWithMode("dev"), clock, zap.New(core))

	secretSub := "leaky-subject-42"
	tokens := []string{
		authtest.RS256(t, with(map[string]any{"sub": secretSub})),
		authtest.HS256(t, with(map[string]any{"sub": secretSub})),
		authtest.HS256(t, with(map[string]any{"sub": secretSub, "exp": t0.Add(-time.Hour).Unix()})),
		authtest.Sign(t, jwt.SigningMethodRS256, k.OtherRSA, authtest.KID, with(map[string]any{"sub": secretSub}), nil),
		authtest.Sign(t, jwt.SigningMethodRS256, k.OtherRSA, "unknown-kid", with(map[string]any{"sub": secretSub}), nil),
		rawClaims(t, `{"sub":"`+secretSub+`","exp":"soon"}`),
		"eyJ-not-a-jwt",
	}
	var texts []string
	for _, tok := range tokens {
		for _, auth := range []*Authenticator{a, dev} {
			id, err := auth.Authenticate(context.Background(), bearer(tok))
			if err != nil {
				texts = append(texts, err.Error(), fmt.Sprintf("%v %+v", err, err))
				auth.log.Warn("authentication failed", zap.Error(err))
				continue
			}
			texts = append(texts, fmt.Sprint(id), fmt.Sprintf("%v|%+v|%#v|%s", id, id, id, id))
			auth.log.Info("authenticated", zap.Any("identity", id), zap.Object("id", id), zap.Stringer("s", id), zap.String("sub_hash", id.LogSubject()))
		}
	}
	idp.Down.Store(true)
	clock.Advance(time.Hour)
	_, _ = a.jwks.refresh(context.Background(), scheduled, 0)

	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	for _, e := range logs.All() {
		buf, err := enc.EncodeEntry(e.Entry, e.Context)
		if err != nil {
			t.Fatalf("EncodeEntry: %v", err)
		}
		texts = append(texts, buf.String())
	}
	if len(logs.All()) < len(tokens) {
		t.Fatalf("captured %d log entries, want at least %d", len(logs.All()), len(tokens))
	}
	forbidden := []string{"eyJ", secretSub, authtest.Secret}
	for _, tok := range tokens {
		forbidden = append(forbidden, tok)
		if i := strings.LastIndexByte(tok, '.'); i >= 0 && len(tok)-i > 8 {
			forbidden = append(forbidden, tok[i+1:])
		}
	}
	for _, text := range texts {
		for _, f := range forbidden {
			if strings.Contains(text, f) {
				t.Errorf("S-01: %.120q contains %.40q", text, f)
			}
		}
	}
}

func TestRefusalsLookAlike(t *testing.T) {
	k := authtest.Keys()
	idp := authtest.NewJWKS(t, authtest.JWK(t, &k.RSA.PublicKey, authtest.KID, jwkset.AlgRS256))
	a := newAuth(t, authtest.JWTConfig(idp.URL()), authtest.NewClock(t0), nil)
	tokens := map[string]string{
		"expired":       authtest.RS256(t, with(map[string]any{"exp": t0.Add(-time.Hour).Unix()})),
		"bad signature": authtest.Sign(t, jwt.SigningMethodRS256, k.OtherRSA, authtest.KID, stdClaims(), nil),
		"unknown kid":   authtest.Sign(t, jwt.SigningMethodRS256, k.RSA, "nope", stdClaims(), nil),
		"wrong aud":     authtest.RS256(t, with(map[string]any{"aud": "x"})),
		"alg none":      authtest.B64([]byte(`{"alg":"none"}`)) + "." + authtest.B64(authtest.JSON(t, stdClaims())) + ".",
	}
	for name, tok := range tokens {
		t.Run("S-12/"+name, func(t *testing.T) {
			_, err := a.Authenticate(context.Background(), bearer(tok))
			if !errors.Is(err, ErrInvalidToken) || Challenge(err) != challengeInvalid {
				t.Errorf("Authenticate(%s) = %v, Challenge %q; want %v and %q", name, err, Challenge(err), ErrInvalidToken, challengeInvalid)
			}
		})
	}
}

// TestNewValidation: New checks its section with config's checks (one set of
// rules), so it refuses exactly what Config.Validate refuses, with
// the same *config.FieldError per problem.
func TestNewValidation(t *testing.T) {
	jwtWith := func(f func(*config.JWT)) config.Auth {
		c := authtest.JWTConfig("https://idp.example.com/.well-known/jwks.json")
		f(&c.JWT)
		return c
	}
	withMode := func(m config.AuthMode) config.Auth {
		c := config.Default().Auth
		c.Mode = m
		return c
	}
	tests := []struct {
		name     string
		cfg      config.Auth
		wantKeys []string // keys of the problems; none means valid
	}{
		{name: "default dev", cfg: config.Default().Auth},
		{name: "passthrough", cfg: withMode(config.AuthPassthrough)},
		{name: "jwt with secret and JWKS", cfg: jwtWith(func(*config.JWT) {})},
		{name: "jwt JWKS on loopback http", cfg: jwtWith(func(j *config.JWT) { j.JWKSURL = "http://127.0.0.1:8080/jwks" })},
		{name: "jwt JWKS on localhost http", cfg: jwtWith(func(j *config.JWT) { j.JWKSURL = "http://localhost:8080/jwks" })},
		{name: "zero durations take defaults", cfg: jwtWith(func(j *config.JWT) { *j = config.JWT{HS256Secret: authtest.Secret} })},
		{name: "zero max_lifetime takes the default", cfg: jwtWith(func(j *config.JWT) { j.MaxLifetime = 0 })},
		{name: "empty mode", cfg: withMode(""), wantKeys: []string{"auth.mode"}},
		{name: "mode case matters", cfg: withMode("JWT"), wantKeys: []string{"auth.mode"}},
		{name: "jwt without keys", cfg: jwtWith(func(j *config.JWT) { j.HS256Secret, j.JWKSURL = "", "" }), wantKeys: []string{"auth.jwt"}},
		{name: "S-14/short HS256 secret", cfg: jwtWith(func(j *config.JWT) { j.HS256Secret = "short" }), wantKeys: []string{"auth.jwt.hs256_secret"}},
		{name: "S-14/31-byte secret", cfg: jwtWith(func(j *config.JWT) { j.HS256Secret = strings.Repeat("s", 31) }), wantKeys: []string{"auth.jwt.hs256_secret"}},
		{name: "JWKS over http to a remote host", cfg: jwtWith(func(j *config.JWT) { j.JWKSURL = "http://idp.example.com/jwks" }), wantKeys: []string{"auth.jwt.jwks_url"}},
		{name: "JWKS relative URL", cfg: jwtWith(func(j *config.JWT) { j.JWKSURL = "/jwks" }), wantKeys: []string{"auth.jwt.jwks_url"}},
		{name: "JWKS with userinfo", cfg: jwtWith(func(j *config.JWT) { j.JWKSURL = "https://u:p@idp.example.com/jwks" }), wantKeys: []string{"auth.jwt.jwks_url"}},
		{name: "JWKS file scheme", cfg: jwtWith(func(j *config.JWT) { j.JWKSURL = "file:///etc/jwks" }), wantKeys: []string{"auth.jwt.jwks_url"}},
		{name: "BI-32/alg none in the allowlist", cfg: jwtWith(func(j *config.JWT) { j.Algorithms = []string{"RS256", "none"} }), wantKeys: []string{"auth.jwt.algorithms"}},
		{name: "BI-34/unsupported alg", cfg: jwtWith(func(j *config.JWT) { j.Algorithms = []string{"HS512"} }), wantKeys: []string{"auth.jwt.algorithms"}},
		{name: "RS256 without JWKS", cfg: jwtWith(func(j *config.JWT) { j.JWKSURL, j.Algorithms = "", []string{"RS256"} }), wantKeys: []string{"auth.jwt.algorithms"}},
		{name: "HS256 without secret", cfg: jwtWith(func(j *config.JWT) { j.HS256Secret, j.Algorithms = "", []string{"HS256"} }), wantKeys: []string{"auth.jwt.algorithms"}},
		{name: "BI-36/unbounded leeway", cfg: jwtWith(func(j *config.JWT) { j.Leeway = time.Hour }), wantKeys: []string{"auth.jwt.leeway"}},
		{name: "negative leeway", cfg: jwtWith(func(j *config.JWT) { j.Leeway = -time.Second }), wantKeys: []string{"auth.jwt.leeway"}},
		{name: "negative durations and size", cfg: jwtWith(func(j *config.JWT) {
			j.MaxLifetime, j.JWKSMaxStale, j.JWKSRefreshInterval, j.JWKSMinRefreshInterval, j.TokenCacheSize = -1, -1, -1, -1, -1
		}), wantKeys: []string{"auth.jwt.max_lifetime", "auth.jwt.jwks_refresh_interval", "auth.jwt.jwks_min_refresh_interval", "auth.jwt.jwks_max_stale", "auth.jwt.token_cache_size"}},
		{name: "every problem at once", cfg: jwtWith(func(j *config.JWT) {
			j.HS256Secret, j.Leeway, j.Algorithms = "short", time.Hour, []string{"none"}
		}), wantKeys: []string{"auth.jwt.hs256_secret", "auth.jwt.algorithms", "auth.jwt.leeway"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprintf("%#v", tt.cfg)
			a, err := New(tt.cfg, nil)
			if a != nil {
				a.Close()
			}
			if fmt.Sprintf("%#v", tt.cfg) != before {
				t.Errorf("New changed its input")
			}
			if got := fieldKeys(t, err); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("New() = %v, names keys %q, want %q", err, got, tt.wantKeys)
			}
			if (err == nil) != (tt.cfg.Validate() == nil) {
				t.Errorf("New() = %v but cfg.Validate() = %v: one set of checks must decide", err, tt.cfg.Validate())
			}
			if err != nil && strings.Contains(err.Error(), "short") {
				t.Errorf("S-14: New() = %v, quotes the secret", err)
			}
		})
	}
}

// fieldKeys returns the keys of the *config.FieldError values err joins.
func fieldKeys(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("error %v joins no problems", err)
	}
	var keys []string
	for _, e := range joined.Unwrap() {
		var fe *config.FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("error %v is not a *config.FieldError", e)
		}
		keys = append(keys, fe.Key)
	}
	return keys
}

// TestZeroConfigDefaults: a zero duration means the default that
// config.JWT documents; zero leeway means none.
func TestZeroConfigDefaults(t *testing.T) {
	a, err := New(config.Auth{Mode: config.AuthJWT, JWT: config.JWT{HS256Secret: authtest.Secret}}, nil)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	defer a.Close()
	def := config.Default().Auth.JWT
	if a.maxLifetime != def.MaxLifetime || a.leeway != 0 || !slices.Equal(a.algs, []string{config.AlgHS256}) {
		t.Errorf("New(zero durations): max lifetime %v, leeway %v, algorithms %v; want %v, 0, [HS256]", a.maxLifetime, a.leeway, a.algs, def.MaxLifetime)
	}
	idp := authtest.NewJWKS(t, authtest.JWK(t, &authtest.Keys().RSA.PublicKey, authtest.KID, jwkset.AlgRS256))
	b := newAuth(t, config.Auth{Mode: config.AuthJWT, JWT: config.JWT{JWKSURL: idp.URL()}}, authtest.NewClock(t0), nil)
	s := b.jwks
	if s.every != def.JWKSRefreshInterval || s.minRefresh != def.JWKSMinRefreshInterval || s.maxStale != def.JWKSMaxStale {
		t.Errorf("JWKS (every, min, max stale) = (%v, %v, %v), want the defaults (%v, %v, %v)", s.every, s.minRefresh, s.maxStale,
			def.JWKSRefreshInterval, def.JWKSMinRefreshInterval, def.JWKSMaxStale)
	}
	if !slices.Equal(b.algs, []string{config.AlgRS256, config.AlgES256}) {
		t.Errorf("default algorithms with a JWKS URL = %v, want [RS256 ES256]", b.algs)
	}
}
