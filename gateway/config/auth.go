package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/secret"
	"github.com/minbil/minbil-bff/gateway/scrub"
)

// The signing algorithms auth.jwt.algorithms may name.
const (
	AlgHS256 = "HS256"
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

// Defaults of JWT, set by Default; a zero duration means its default (see
// JWT).
const (
	defaultLeeway         = 30 * time.Second
	defaultMaxLifetime    = 24 * time.Hour
	defaultJWKSRefresh    = 15 * time.Minute
	defaultJWKSMinRefresh = time.Minute
	defaultJWKSMaxStale   = 24 * time.Hour
	defaultTokenCacheSize = 10000
)

// Limits of the auth checks.
const (
	// minHS256SecretBytes is 256 bits, the size of the HS256 output (RFC 8725
	// §3.5, RELIABILITY S-14).
	minHS256SecretBytes = 32
	// maxLeeway keeps the clock-skew allowance from becoming a way to accept
	// expired tokens.
	maxLeeway = 5 * time.Minute
)

// jwtAlgorithms returns the signing algorithms auth.jwt.algorithms may name.
func jwtAlgorithms() []string { return []string{AlgHS256, AlgRS256, AlgES256} }

// Validate checks the auth section on its own and reports every problem at
// once, as Config.Validate does (which calls it and also checks auth against
// the upstream). auth.New calls it, so an Authenticator is never built from
// a section nobody checked. It changes nothing.
func (a Auth) Validate() error {
	v := &validator{}
	a.validate(v)
	return errors.Join(v.errs...)
}

func (a Auth) validate(v *validator) {
	oneOf(v, "auth.mode", a.Mode, AuthDev, AuthJWT, AuthPassthrough, AuthLocalIDP)
	ops := contracts.OperationIDs()
	for _, op := range a.RequireTokenOn {
		if !slices.Contains(ops, op) {
			v.add("auth.require_token_on", "%s is not an operationId (%s)", show(false, op), strings.Join(ops, ", "))
		}
	}
	a.JWT.validate(v, a.Mode == AuthJWT)
	if a.JWT.RequireAccessTokenType && (a.Mode == AuthDev || a.Mode == AuthPassthrough) {
		v.add("auth.jwt.require_access_token_type", "is true but auth.mode %s verifies no token, so it cannot refuse one by its typ; use jwt (local-idp always requires the type)", a.Mode)
	}
}

// validateWith checks what depends on the upstream: dev mode is refused with
// a real one, local-idp with anything but the mock. Only a usable URL is a
// real upstream; a bad one is reported on
// its own.
func (a Auth) validateWith(v *validator, up Upstream) {
	realUp := up.URL != "mock" && checkHTTPURL(up.URL, false) == ""
	if a.Mode == AuthDev && realUp {
		v.add("auth.mode", "dev accepts any token; it is refused with a real upstream (upstream.url=%s); use jwt or passthrough", scrub.URL(up.URL))
	}
	if a.Mode == AuthLocalIDP && up.URL != "mock" {
		v.add("auth.mode", "local-idp trusts the built-in mock's identity provider; it works with upstream.url: mock only (upstream.url=%s); use jwt", scrub.URL(up.URL))
	}
	if a.Mode == AuthJWT && realUp && a.JWT.JWKSURL != "" {
		a.JWT.validateClaimsPinned(v, scrub.URL(up.URL))
	}
}

// validateClaimsPinned requires issuer and audience with a JWKS in front of
// a real upstream (OA-11): the identity provider's keys also sign
// tokens for its other applications, and a token for any of them would
// otherwise be accepted here.
func (j JWT) validateClaimsPinned(v *validator, upstream string) {
	if j.Issuer == "" {
		v.add("auth.jwt.issuer", "is required with auth.jwt.jwks_url and a real upstream (upstream.url=%s): set the identity provider's iss", upstream)
	}
	switch {
	case j.Audience == "" && !j.AllowAnyAudience:
		v.add("auth.jwt.audience", "is required with auth.jwt.jwks_url and a real upstream (upstream.url=%s): set this gateway's aud, or auth.jwt.allow_any_audience: true if tokens for any audience are intended", upstream)
	case j.Audience != "" && j.AllowAnyAudience:
		v.add("auth.jwt.allow_any_audience", "is true but auth.jwt.audience is set: choose one")
	}
}

// Warnings returns what a valid configuration allows that an operator
// should see at start: one line each, naming the key. The command logs
// them; they are not errors.
func (c Config) Warnings() []string {
	var w []string
	if c.Auth.Mode == AuthJWT && c.Auth.JWT.AllowAnyAudience && c.Auth.JWT.Audience == "" {
		w = append(w, "auth.jwt.allow_any_audience: tokens are accepted whatever their aud, so a token the identity provider issued for another application is accepted too")
	}
	for _, k := range Keys() {
		if !k.Secret {
			continue
		}
		if n := k.field(&c).Len(); n > 0 && n < WeakSecretBytes {
			w = append(w, fmt.Sprintf("%s: is %d bytes, a weak secret (want at least %d); the log redacts one shorter than %d bytes only where it stands whole, not inside other text",
				k.Path, n, WeakSecretBytes, secret.Window))
		}
	}
	return w
}

// WeakSecretBytes is the length under which Warnings calls a secret weak:
// 16 characters are 64 bits in hexadecimal, the least dense way a random
// key is commonly written, and 64 bits is the least entropy OWASP asks of
// a session identifier. A key's format is its issuer's, so a shorter one is
// warned about, not refused.
const WeakSecretBytes = 16

// Secrets returns the values of the keys marked Secret that are set, for
// a log scrubber.
func (c Config) Secrets() []string {
	var out []string
	for _, k := range Keys() {
		if !k.Secret {
			continue
		}
		if s := k.field(&c).String(); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (j JWT) validate(v *validator, jwtMode bool) {
	j.validateKeys(v, jwtMode)
	j.validateAlgorithms(v, jwtMode)
	v.nonNegative("auth.jwt.leeway", j.Leeway)
	if j.Leeway > maxLeeway {
		v.add("auth.jwt.leeway", "%s is more than %s; a clock skew that large is a broken clock", j.Leeway, maxLeeway)
	}
	v.nonNegative("auth.jwt.max_lifetime", j.MaxLifetime)
	v.nonNegative("auth.jwt.jwks_refresh_interval", j.JWKSRefreshInterval)
	v.nonNegative("auth.jwt.jwks_min_refresh_interval", j.JWKSMinRefreshInterval)
	if d := j.WithDefaults(); j.JWKSMinRefreshInterval >= 0 && j.JWKSRefreshInterval >= 0 &&
		d.JWKSMinRefreshInterval > d.JWKSRefreshInterval {
		v.add("auth.jwt.jwks_min_refresh_interval", "%s is longer than auth.jwt.jwks_refresh_interval (%s)", d.JWKSMinRefreshInterval, d.JWKSRefreshInterval)
	}
	v.nonNegative("auth.jwt.jwks_max_stale", j.JWKSMaxStale)
	v.nonNegativeInt("auth.jwt.token_cache_size", j.TokenCacheSize)
}

func (j JWT) validateKeys(v *validator, jwtMode bool) {
	if j.HS256Secret != "" && len(j.HS256Secret) < minHS256SecretBytes {
		v.add("auth.jwt.hs256_secret", "is %d bytes, want at least %d (256 bits, RFC 8725 §3.5)", len(j.HS256Secret), minHS256SecretBytes)
	}
	v.secretText("auth.jwt.hs256_secret", j.HS256Secret)
	if j.JWKSURL != "" {
		if problem := checkHTTPURL(j.JWKSURL, true); problem != "" {
			v.add("auth.jwt.jwks_url", "%s is not an http(s) URL: %s", show(false, j.JWKSURL), problem)
		} else if u, _ := url.Parse(j.JWKSURL); u.Scheme == "http" && !isLoopback(u.Hostname()) {
			// Keys fetched in the clear can be swapped on the way.
			v.add("auth.jwt.jwks_url", "%s uses http to a host that is not loopback; use https", show(false, j.JWKSURL))
		}
	}
	if jwtMode && j.HS256Secret == "" && j.JWKSURL == "" {
		v.add("auth.jwt", "auth.mode jwt needs auth.jwt.hs256_secret (at least %d bytes) or auth.jwt.jwks_url", minHS256SecretBytes)
	}
}

func (j JWT) validateAlgorithms(v *validator, jwtMode bool) {
	for _, alg := range j.Algorithms {
		switch {
		case strings.EqualFold(alg, "none"):
			v.add("auth.jwt.algorithms", "%s is never accepted: unsigned tokens prove nothing", show(false, alg))
		case !slices.Contains(jwtAlgorithms(), alg):
			v.add("auth.jwt.algorithms", "%s is not one of %s", show(false, alg), strings.Join(jwtAlgorithms(), ", "))
		case !jwtMode:
		case alg == AlgHS256 && j.HS256Secret == "":
			v.add("auth.jwt.algorithms", "HS256 needs auth.jwt.hs256_secret")
		case alg != AlgHS256 && j.JWKSURL == "":
			v.add("auth.jwt.algorithms", "%s needs auth.jwt.jwks_url", alg)
		}
	}
}

// WithDefaults returns j as auth uses it: each zero duration that has a
// default (MaxLifetime, JWKSRefreshInterval, JWKSMinRefreshInterval,
// JWKSMaxStale) set to it, and Algorithms set to EffectiveAlgorithms. Leeway
// and TokenCacheSize keep their zero, which means none. It does not
// validate.
func (j JWT) WithDefaults() JWT {
	orDefault := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	orDefault(&j.MaxLifetime, defaultMaxLifetime)
	orDefault(&j.JWKSRefreshInterval, defaultJWKSRefresh)
	orDefault(&j.JWKSMinRefreshInterval, defaultJWKSMinRefresh)
	orDefault(&j.JWKSMaxStale, defaultJWKSMaxStale)
	j.Algorithms = j.EffectiveAlgorithms()
	return j
}

// EffectiveAlgorithms returns the signing algorithms accepted: Algorithms
// when set, else HS256 with a secret plus RS256 and ES256 with a JWKS URL.
func (j JWT) EffectiveAlgorithms() []string {
	if len(j.Algorithms) > 0 {
		return slices.Clone(j.Algorithms)
	}
	var algs []string
	if j.HS256Secret != "" {
		algs = append(algs, AlgHS256)
	}
	if j.JWKSURL != "" {
		algs = append(algs, AlgRS256, AlgES256)
	}
	return algs
}
