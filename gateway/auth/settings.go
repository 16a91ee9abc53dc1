package auth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/minbil/minbil-bff/gateway/config"
)

// Defaults applied when a config.JWT duration is zero. Leeway has none: zero
// leeway is a valid choice.
const (
	defaultMaxLifetime        = 24 * time.Hour
	defaultJWKSRefresh        = 15 * time.Minute
	defaultJWKSMinRefresh     = time.Minute
	defaultJWKSMaxStale       = 24 * time.Hour
	maxLeeway                 = 5 * time.Minute
	minHS256SecretBytes       = 32
	algHS256, algRS256, algES = "HS256", "RS256", "ES256"
)

// settings is config.Auth checked and with defaults filled in.
type settings struct {
	mode        mode
	secret      string
	jwksURL     string
	issuer      string
	audience    string
	algs        []string
	leeway      time.Duration
	maxLifetime time.Duration
	refresh     time.Duration
	minRefresh  time.Duration
	maxStale    time.Duration
	cacheSize   int
}

// resolve validates cfg and reports every problem at once, each naming its
// key. It only reads cfg.
func resolve(cfg config.Auth) (settings, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("auth.%s: "+format, append([]any{key}, args...)...))
	}
	var s settings
	switch cfg.Mode {
	case "dev":
		s.mode = modeDev
	case "passthrough":
		s.mode = modePassthrough
	case "jwt":
		s.mode = modeJWT
	default:
		bad("mode", "%q is not dev, passthrough or jwt", cfg.Mode)
	}
	if s.mode != modeJWT {
		return s, errors.Join(errs...)
	}

	j := cfg.JWT
	s.secret, s.jwksURL, s.issuer, s.audience = j.HS256Secret, j.JWKSURL, j.Issuer, j.Audience
	if j.HS256Secret == "" && j.JWKSURL == "" {
		bad("jwt", "jwt mode needs hs256_secret or jwks_url")
	}
	if j.HS256Secret != "" && len(j.HS256Secret) < minHS256SecretBytes {
		// RFC 8725 §3.5: an HMAC key needs at least 256 bits of entropy.
		bad("jwt.hs256_secret", "is %d bytes, want at least %d", len(j.HS256Secret), minHS256SecretBytes)
	}
	if j.JWKSURL != "" {
		if err := checkJWKSURL(j.JWKSURL); err != nil {
			bad("jwt.jwks_url", "%v", err)
		}
	}

	s.algs = j.EffectiveAlgorithms()
	for _, alg := range s.algs {
		switch alg {
		case algHS256:
			if j.HS256Secret == "" {
				bad("jwt.algorithms", "HS256 needs hs256_secret")
			}
		case algRS256, algES:
			if j.JWKSURL == "" {
				bad("jwt.algorithms", "%s needs jwks_url", alg)
			}
		default:
			if strings.EqualFold(alg, "none") {
				bad("jwt.algorithms", "none is never allowed")
			} else {
				bad("jwt.algorithms", "%q is not one of HS256, RS256, ES256", alg)
			}
		}
	}

	s.leeway = j.Leeway
	if j.Leeway < 0 || j.Leeway > maxLeeway {
		bad("jwt.leeway", "%v is outside [0, %v]", j.Leeway, maxLeeway)
	}
	s.maxLifetime = orDefault(j.MaxLifetime, defaultMaxLifetime)
	s.refresh = orDefault(j.JWKSRefreshInterval, defaultJWKSRefresh)
	s.minRefresh = orDefault(j.JWKSMinRefreshInterval, defaultJWKSMinRefresh)
	s.maxStale = orDefault(j.JWKSMaxStale, defaultJWKSMaxStale)
	for key, d := range map[string]time.Duration{
		"jwt.max_lifetime":              j.MaxLifetime,
		"jwt.jwks_refresh_interval":     j.JWKSRefreshInterval,
		"jwt.jwks_min_refresh_interval": j.JWKSMinRefreshInterval,
		"jwt.jwks_max_stale":            j.JWKSMaxStale,
	} {
		if d < 0 {
			bad(key, "%v is negative", d)
		}
	}
	s.cacheSize = j.TokenCacheSize
	if j.TokenCacheSize < 0 {
		bad("jwt.token_cache_size", "%d is negative", j.TokenCacheSize)
	}
	// Sort so the joined error reads the same on every run (map order).
	slices.SortStableFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return s, errors.Join(errs...)
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// checkJWKSURL accepts an absolute https URL, or http to a loopback host
// (tests, sidecars): key material fetched in clear text could be replaced
// on the way.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Host == "" || u.User != nil {
		return errors.New("want an absolute URL without userinfo")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return errors.New("http is only allowed to a loopback host; use https")
	default:
		return fmt.Errorf("scheme %q is not https", u.Scheme)
	}
}
