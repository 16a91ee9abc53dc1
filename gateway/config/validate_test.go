package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts/secret"
)

const testSecret = "0123456789abcdefghijklmnopqrstuvwxyz-HS256" // 42 bytes

func TestValidateAcceptsGoodConfigs(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"default", func(*Config) {}},
		{"jwt with a secret", func(c *Config) { c.Auth.Mode = "jwt"; c.Auth.JWT.HS256Secret = testSecret }},
		{"jwt with a JWKS URL", func(c *Config) { c.Auth.Mode = "jwt"; c.Auth.JWT.JWKSURL = "https://id.example/jwks.json?v=1" }},
		{"jwt with http JWKS on loopback", func(c *Config) { c.Auth.Mode = "jwt"; c.Auth.JWT.JWKSURL = "http://127.0.0.1:8080/jwks" }},
		{"jwt algorithms matching keys", func(c *Config) {
			c.Auth.Mode = "jwt"
			c.Auth.JWT.HS256Secret = testSecret
			c.Auth.JWT.JWKSURL = "https://id.example/jwks"
			c.Auth.JWT.Algorithms = []string{"HS256", "RS256", "ES256"}
		}},
		{"real upstream with passthrough and a key", func(c *Config) {
			c.Upstream.URL = "https://api.minbil.no"
			c.Upstream.APIKey = "k"
			c.Auth.Mode = "passthrough"
		}},
		{"real upstream with a base path and port", func(c *Config) {
			c.Upstream.URL = "http://10.0.0.1:8080/base/"
			c.Upstream.APIKey = "k"
			c.Auth.Mode = "passthrough"
		}},
		{"all operations require a token", func(c *Config) { c.Auth.RequireTokenOn = []string{"checkUsername", "listRatings", "rateBooking"} }},
		{"trusted proxies", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "192.168.1.1", "::1", "fd00::/8"} }},
		{"origins", func(c *Config) {
			c.CORS.AllowOrigins = []string{"https://minbil.no", "https://app.minbil.no:8443", "http://localhost:*", "http://[::1]:3000", "http://[::1]"}
		}},
		{"no origins", func(c *Config) { c.CORS.AllowOrigins = nil }},
		{"zero where zero means off", func(c *Config) {
			c.RateLimit.PerIP = 0
			c.RateLimit.PerIdentity = 0
			c.Auth.JWT.TokenCacheSize = 0
			c.Auth.JWT.Leeway = 0
		}},
		// Zero JWT durations mean their defaults, as in auth, so that
		// config and auth accept the same sections.
		{"zero JWT durations mean their defaults", func(c *Config) {
			c.Auth.Mode = AuthJWT
			c.Auth.JWT = JWT{HS256Secret: testSecret}
		}},
		{"zero min refresh is the default 1m, under a 5m refresh", func(c *Config) {
			c.Auth.JWT.JWKSMinRefreshInterval = 0
			c.Auth.JWT.JWKSRefreshInterval = 5 * time.Minute
		}},
		{"listen on any port", func(c *Config) { c.Server.Addr = "127.0.0.1:0" }},
		{"log json debug", func(c *Config) { c.Log.Format = "json"; c.Log.Level = "debug" }},
		{"enforce responses", func(c *Config) { c.Upstream.ValidateResponses = "enforce" }},
		{"JWKS with a real upstream, issuer and audience", func(c *Config) { realJWKS(c, issuer, audience) }},
		{"JWKS with a real upstream, any audience intended", func(c *Config) {
			realJWKS(c, issuer, "")
			c.Auth.JWT.AllowAnyAudience = true
		}},
		{"JWKS with the mock needs neither", func(c *Config) {
			realJWKS(c, "", "")
			c.Upstream.URL, c.Upstream.APIKey = "mock", ""
		}},
		{"HS256 only with a real upstream needs neither", func(c *Config) {
			realJWKS(c, "", "")
			c.Auth.JWT.JWKSURL, c.Auth.JWT.HS256Secret = "", testSecret
		}},
		{"other api key header", func(c *Config) { c.Upstream.APIKeyHeader = "X-Minbil-Key" }},
		{"access token type in jwt mode", func(c *Config) {
			c.Auth.Mode, c.Auth.JWT.HS256Secret, c.Auth.JWT.RequireAccessTokenType = AuthJWT, testSecret, true
		}},
		{"access token type in local-idp mode", func(c *Config) {
			c.Auth.Mode, c.Auth.JWT.RequireAccessTokenType = AuthLocalIDP, true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateRefusesBadConfigs(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(*Config)
		wantKeys  []string
		wantLines []string // substrings, one per problem, in order
	}{
		{
			name:      "ftp upstream",
			mutate:    func(c *Config) { c.Upstream.URL = "ftp://x" },
			wantKeys:  []string{"upstream.url"},
			wantLines: []string{`upstream.url: "ftp://x" is not "mock" or an http(s) URL`},
		},
		{
			name:      "relative upstream",
			mutate:    func(c *Config) { c.Upstream.URL = "api.minbil.no" },
			wantKeys:  []string{"upstream.url"},
			wantLines: []string{`upstream.url: "api.minbil.no" is not "mock" or an http(s) URL`},
		},
		{
			name: "upstream with a query",
			mutate: func(c *Config) {
				c.Upstream.URL = "https://api.minbil.no/?x=1"
				c.Auth.Mode = "jwt"
				c.Auth.JWT.HS256Secret = testSecret
			},
			wantKeys:  []string{"upstream.url"},
			wantLines: []string{"it has a query"},
		},
		{
			name:      "upstream with a fragment",
			mutate:    func(c *Config) { c.Upstream.URL = "https://api.minbil.no/#x"; c.Auth.Mode = "passthrough" },
			wantKeys:  []string{"upstream.url"},
			wantLines: []string{"it has a fragment"},
		},
		{
			name: "upstream with user info, which is not echoed",
			mutate: func(c *Config) {
				c.Upstream.URL = "https://user:hunter2hunter2@api.minbil.no"
				c.Auth.Mode = "passthrough"
			},
			wantKeys:  []string{"upstream.url"},
			wantLines: []string{`upstream.url: "https://***@api.minbil.no" is not "mock" or an http(s) URL: it has user info`},
		},
		{
			name:      "upstream without a host",
			mutate:    func(c *Config) { c.Upstream.URL = "https://"; c.Auth.Mode = "passthrough" },
			wantKeys:  []string{"upstream.url"},
			wantLines: []string{"it has no host"},
		},
		{
			name:      "upstream with a bad port",
			mutate:    func(c *Config) { c.Upstream.URL = "https://api.minbil.no:0"; c.Auth.Mode = "passthrough" },
			wantKeys:  []string{"upstream.url"},
			wantLines: []string{"the port is not 1-65535"},
		},
		{
			name:      "real upstream without an API key",
			mutate:    func(c *Config) { c.Upstream.URL = "https://api.minbil.no"; c.Auth.Mode = "passthrough" },
			wantKeys:  []string{"upstream.api_key"},
			wantLines: []string{"upstream.api_key: is required with a real upstream (upstream.url=https://api.minbil.no); set MINBIL_API_KEY"},
		},
		{
			name:     "dev auth with a real upstream",
			mutate:   func(c *Config) { c.Upstream.URL = "https://api.minbil.no"; c.Upstream.APIKey = "k" },
			wantKeys: []string{"auth.mode"},
			wantLines: []string{
				"auth.mode: dev accepts any token; it is refused with a real upstream (upstream.url=https://api.minbil.no); use jwt or passthrough",
			},
		},
		{
			name: "API key with a trailing newline",
			mutate: func(c *Config) {
				c.Upstream.URL = "https://api.minbil.no"
				c.Auth.Mode = "passthrough"
				c.Upstream.APIKey = "abcdefgh12345678\n"
			},
			wantKeys:  []string{"upstream.api_key"},
			wantLines: []string{"upstream.api_key: has a control character"},
		},
		{
			name:      "F-36: the real API key next to the mock",
			mutate:    func(c *Config) { c.Upstream.APIKey = "abcdefgh12345678" },
			wantKeys:  []string{"upstream.api_key"},
			wantLines: []string{`upstream.api_key: is set but upstream.url is "mock"`},
		},
		{
			name:      "unknown auth mode",
			mutate:    func(c *Config) { c.Auth.Mode = "oauth" },
			wantKeys:  []string{"auth.mode"},
			wantLines: []string{`auth.mode: "oauth" is not one of "dev", "jwt", "passthrough"`},
		},
		{
			name:      "jwt without a key",
			mutate:    func(c *Config) { c.Auth.Mode = "jwt" },
			wantKeys:  []string{"auth.jwt"},
			wantLines: []string{"auth.jwt: auth.mode jwt needs auth.jwt.hs256_secret (at least 32 bytes) or auth.jwt.jwks_url"},
		},
		{
			name:      "short secret",
			mutate:    func(c *Config) { c.Auth.Mode = "jwt"; c.Auth.JWT.HS256Secret = "too-short-secret" },
			wantKeys:  []string{"auth.jwt.hs256_secret"},
			wantLines: []string{"auth.jwt.hs256_secret: is 16 bytes, want at least 32"},
		},
		{
			name:      "JWKS URL not http",
			mutate:    func(c *Config) { c.Auth.Mode = "jwt"; c.Auth.JWT.JWKSURL = "file:///etc/jwks.json" },
			wantKeys:  []string{"auth.jwt.jwks_url"},
			wantLines: []string{`auth.jwt.jwks_url: "file:///etc/jwks.json" is not an http(s) URL`},
		},
		{
			name:      "JWKS URL over plain http to a remote host",
			mutate:    func(c *Config) { c.Auth.Mode = "jwt"; c.Auth.JWT.JWKSURL = "http://id.example/jwks" },
			wantKeys:  []string{"auth.jwt.jwks_url"},
			wantLines: []string{"use https"},
		},
		{
			name: "alg none in any case",
			mutate: func(c *Config) {
				c.Auth.Mode = "jwt"
				c.Auth.JWT.HS256Secret = testSecret
				c.Auth.JWT.Algorithms = []string{"HS256", "none", "NoNe"}
			},
			wantKeys:  []string{"auth.jwt.algorithms", "auth.jwt.algorithms"},
			wantLines: []string{`"none" is never accepted`, `"NoNe" is never accepted`},
		},
		{
			name: "unknown algorithm",
			mutate: func(c *Config) {
				c.Auth.Mode = "jwt"
				c.Auth.JWT.HS256Secret = testSecret
				c.Auth.JWT.Algorithms = []string{"HS512"}
			},
			wantKeys:  []string{"auth.jwt.algorithms"},
			wantLines: []string{`auth.jwt.algorithms: "HS512" is not one of HS256, RS256, ES256`},
		},
		{
			name: "algorithm without its key",
			mutate: func(c *Config) {
				c.Auth.Mode = "jwt"
				c.Auth.JWT.HS256Secret = testSecret
				c.Auth.JWT.Algorithms = []string{"RS256"}
			},
			wantKeys:  []string{"auth.jwt.algorithms"},
			wantLines: []string{"auth.jwt.algorithms: RS256 needs auth.jwt.jwks_url"},
		},
		{
			name:      "leeway too large",
			mutate:    func(c *Config) { c.Auth.JWT.Leeway = time.Hour },
			wantKeys:  []string{"auth.jwt.leeway"},
			wantLines: []string{"auth.jwt.leeway: 1h0m0s is more than 5m0s"},
		},
		{
			name:      "min refresh above refresh",
			mutate:    func(c *Config) { c.Auth.JWT.JWKSMinRefreshInterval = time.Hour },
			wantKeys:  []string{"auth.jwt.jwks_min_refresh_interval"},
			wantLines: []string{"is longer than auth.jwt.jwks_refresh_interval"},
		},
		{
			name:      "unknown operation",
			mutate:    func(c *Config) { c.Auth.RequireTokenOn = []string{"listRatings", "CheckUsername"} },
			wantKeys:  []string{"auth.require_token_on"},
			wantLines: []string{`auth.require_token_on: "CheckUsername" is not an operationId (checkUsername, listRatings, rateBooking)`},
		},
		{
			name:      "negative duration",
			mutate:    func(c *Config) { c.Upstream.Timeout = -time.Second },
			wantKeys:  []string{"upstream.timeout"},
			wantLines: []string{"upstream.timeout: -1s is not a positive duration"},
		},
		{
			name:      "zero duration",
			mutate:    func(c *Config) { c.Cache.UsernameTTL = 0 },
			wantKeys:  []string{"cache.username_ttl"},
			wantLines: []string{"cache.username_ttl: 0s is not a positive duration"},
		},
		{
			name:      "zero size",
			mutate:    func(c *Config) { c.Limits.BodyBytes = 0 },
			wantKeys:  []string{"limits.body_bytes"},
			wantLines: []string{"limits.body_bytes: 0 is not positive"},
		},
		{
			name:      "mock budget below 1 MiB",
			mutate:    func(c *Config) { c.Mock.MaxBytes = 4096 },
			wantKeys:  []string{"mock.max_bytes"},
			wantLines: []string{"mock.max_bytes: 4096 is less than 1048576 (1 MiB)"},
		},
		{
			name:      "negative rate limit",
			mutate:    func(c *Config) { c.RateLimit.PerIP = -5 },
			wantKeys:  []string{"rate_limit.per_ip"},
			wantLines: []string{"rate_limit.per_ip: -5 is negative"},
		},
		{
			name:      "validate_responses",
			mutate:    func(c *Config) { c.Upstream.ValidateResponses = "strict" },
			wantKeys:  []string{"upstream.validate_responses"},
			wantLines: []string{`upstream.validate_responses: "strict" is not one of "off", "log", "enforce"`},
		},
		{
			name:      "log format and level",
			mutate:    func(c *Config) { c.Log.Format = "text"; c.Log.Level = "verbose" },
			wantKeys:  []string{"log.format", "log.level"},
			wantLines: []string{`log.format: "text" is not one of "", "console", "json"`, `log.level: "verbose" is not one of "debug", "info", "warn", "error"`},
		},
		{
			name:      "trusted proxies",
			mutate:    func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "proxy.local", "10.0.0.0/33"} },
			wantKeys:  []string{"server.trusted_proxies", "server.trusted_proxies"},
			wantLines: []string{`"proxy.local" is not an IP address or CIDR`, `"10.0.0.0/33" is not an IP address or CIDR`},
		},
		{
			name:      "listen address",
			mutate:    func(c *Config) { c.Server.Addr = "5000" },
			wantKeys:  []string{"server.addr"},
			wantLines: []string{`server.addr: "5000" is not host:port`},
		},
		{
			name:      "listen port",
			mutate:    func(c *Config) { c.Server.Addr = ":http" },
			wantKeys:  []string{"server.addr"},
			wantLines: []string{`server.addr: ":http" has a port that is not 0-65535`},
		},
		{
			name: "origins",
			mutate: func(c *Config) {
				c.CORS.AllowOrigins = []string{"*", "minbil.no", "https://minbil.no/", "https://Minbil.no", "https://*.minbil.no", "https://minbil.no:99999", "ws://minbil.no"}
			},
			wantKeys: slices.Repeat([]string{"cors.allow_origins"}, 7),
			wantLines: []string{
				`"*" allows every origin`,
				`"minbil.no" is not an origin`,
				`"https://minbil.no/" is not an origin: no path`,
				`"https://Minbil.no" is not lower case`,
				`"https://*.minbil.no" has no host, or a wildcard host`,
				`"https://minbil.no:99999" has a port that is not 1-65535 or *`,
				`"ws://minbil.no" is not an origin`,
			},
		},
		{
			name:     "OA-11/JWKS with a real upstream, no issuer or audience",
			mutate:   func(c *Config) { realJWKS(c, "", "") },
			wantKeys: []string{"auth.jwt.issuer", "auth.jwt.audience"},
			wantLines: []string{
				"auth.jwt.issuer: is required with auth.jwt.jwks_url and a real upstream (upstream.url=https://api.minbil.no)",
				"auth.jwt.audience: is required with auth.jwt.jwks_url and a real upstream",
			},
		},
		{
			name:      "OA-11/any audience does not waive the issuer",
			mutate:    func(c *Config) { realJWKS(c, "", ""); c.Auth.JWT.AllowAnyAudience = true },
			wantKeys:  []string{"auth.jwt.issuer"},
			wantLines: []string{"auth.jwt.issuer: is required"},
		},
		{
			name:      "OA-11/an audience and any audience",
			mutate:    func(c *Config) { realJWKS(c, issuer, audience); c.Auth.JWT.AllowAnyAudience = true },
			wantKeys:  []string{"auth.jwt.allow_any_audience"},
			wantLines: []string{"auth.jwt.allow_any_audience: is true but auth.jwt.audience is set"},
		},
		{
			name:      "R3-F11/access token type in dev mode",
			mutate:    func(c *Config) { c.Auth.JWT.RequireAccessTokenType = true },
			wantKeys:  []string{"auth.jwt.require_access_token_type"},
			wantLines: []string{"auth.jwt.require_access_token_type: is true but auth.mode dev verifies no token"},
		},
		{
			name: "R3-F11/access token type in passthrough mode",
			mutate: func(c *Config) {
				c.Upstream.URL, c.Upstream.APIKey = "https://api.minbil.no", "k"
				c.Auth.Mode, c.Auth.JWT.RequireAccessTokenType = AuthPassthrough, true
			},
			wantKeys:  []string{"auth.jwt.require_access_token_type"},
			wantLines: []string{"auth.jwt.require_access_token_type: is true but auth.mode passthrough verifies no token"},
		},
		{
			name:      "API key header reserved",
			mutate:    func(c *Config) { c.Upstream.APIKeyHeader = "authorization" },
			wantKeys:  []string{"upstream.api_key_header"},
			wantLines: []string{`upstream.api_key_header: "authorization" is reserved`},
		},
		{
			name:      "API key header cookie",
			mutate:    func(c *Config) { c.Upstream.APIKeyHeader = "Cookie" },
			wantKeys:  []string{"upstream.api_key_header"},
			wantLines: []string{`"Cookie" is reserved`},
		},
		{
			name:      "API key header not a token",
			mutate:    func(c *Config) { c.Upstream.APIKeyHeader = "X API Key:" },
			wantKeys:  []string{"upstream.api_key_header"},
			wantLines: []string{`upstream.api_key_header: "X API Key:" is not a valid header name`},
		},
		{
			name:      "API key header empty",
			mutate:    func(c *Config) { c.Upstream.APIKeyHeader = "" },
			wantKeys:  []string{"upstream.api_key_header"},
			wantLines: []string{`upstream.api_key_header: "" is not a valid header name`},
		},
		{
			name: "every problem at once",
			mutate: func(c *Config) {
				c.Server.Addr = ""
				c.Upstream.URL = "ftp://x"
				c.Auth.Mode = "jwt"
				c.Auth.JWT.Algorithms = []string{"none"}
				c.Breaker.OpenTimeout = -time.Second
				c.Log.Level = "loud"
			},
			wantKeys: []string{"server.addr", "upstream.url", "auth.jwt", "auth.jwt.algorithms", "breaker.open_timeout", "log.level"},
			wantLines: []string{
				`server.addr: "" is not host:port`,
				`upstream.url: "ftp://x" is not "mock" or an http(s) URL`,
				"auth.jwt: auth.mode jwt needs",
				`auth.jwt.algorithms: "none" is never accepted`,
				"breaker.open_timeout: -1s is not a positive duration",
				`log.level: "loud" is not one of`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			keys, others := problemKeys(err)
			if !slices.Equal(keys, tt.wantKeys) || others != nil {
				t.Fatalf("Validate() keys = %q (others %v), want %q; error:\n%v", keys, others, tt.wantKeys, err)
			}
			lines := strings.Split(err.Error(), "\n")
			for i, want := range tt.wantLines {
				if !strings.Contains(lines[i], want) {
					t.Errorf("Validate() line %d = %q, want it to contain %q", i, lines[i], want)
				}
				if !strings.HasPrefix(lines[i], tt.wantKeys[i]+": ") {
					t.Errorf("Validate() line %d = %q, want it to start with %q", i, lines[i], tt.wantKeys[i]+": ")
				}
			}
		})
	}
}

// TestValidateRefusesNegativeNumbers covers every duration and integer key,
// so a key added later is not left unchecked. mock.seed may be anything.
func TestValidateRefusesNegativeNumbers(t *testing.T) {
	for _, k := range Keys() {
		kind := k.typ.Kind()
		if (kind != reflect.Int && kind != reflect.Int64) || k.Path == "mock.seed" {
			continue
		}
		t.Run(k.Path, func(t *testing.T) {
			c := Default()
			k.field(&c).SetInt(-1)
			keys, _ := problemKeys(c.Validate())
			if !slices.Contains(keys, k.Path) {
				t.Errorf("Validate() with %s = -1: keys %v, want %s among them", k.Path, keys, k.Path)
			}
		})
	}
}

func TestValidateChangesNothing(t *testing.T) {
	c := Default()
	c.Auth.Mode = "jwt"
	c.Auth.JWT.Algorithms = []string{"none"}
	c.CORS.AllowOrigins = []string{"*"}
	before := c.Redacted() // a deep copy
	before.Upstream.APIKey, before.Auth.JWT.HS256Secret = c.Upstream.APIKey, c.Auth.JWT.HS256Secret
	_ = c.Validate()
	if !reflect.DeepEqual(c, before) {
		t.Errorf("Validate() changed the config:\n%v\nwant\n%v", c, before)
	}
}

func TestValidateNeverEchoesSecrets(t *testing.T) {
	const shortSecret = "short-hs256-secret"
	const badKey = "api-key-with-newline-0123456789\n"
	c := Default()
	c.Upstream.URL = "https://api.minbil.no"
	c.Upstream.APIKey = badKey
	c.Auth.Mode = "jwt"
	c.Auth.JWT.HS256Secret = shortSecret
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want problems")
	}
	for _, s := range []string{shortSecret, strings.TrimSpace(badKey)} {
		if secret.Quotes(err.Error(), s) {
			t.Errorf("Validate() error quotes the secret %q:\n%v", s, err)
		}
	}
}

const (
	issuer   = "https://id.example/"
	audience = "minbil-bff"
)

// realJWKS is jwt mode with a JWKS URL in front of a real upstream.
func realJWKS(c *Config, iss, aud string) {
	c.Upstream.URL, c.Upstream.APIKey = "https://api.minbil.no", "ak_live_0123456789abcdef"
	c.Auth.Mode = AuthJWT
	c.Auth.JWT.JWKSURL = "https://id.example/jwks"
	c.Auth.JWT.Issuer, c.Auth.JWT.Audience = iss, aud
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // keys the lines start with
	}{
		{"default", func(*Config) {}, nil},
		{"issuer and audience", func(c *Config) { realJWKS(c, issuer, audience) }, nil},
		{"any audience intended", func(c *Config) {
			realJWKS(c, issuer, "")
			c.Auth.JWT.AllowAnyAudience = true
		}, []string{"auth.jwt.allow_any_audience"}},
		{"any audience outside jwt mode", func(c *Config) { c.Auth.JWT.AllowAnyAudience = true }, nil},
		// R3-F20: a short key is MinBil's to choose, so it is allowed,
		// and said to be weak.
		{"R3-F20 one-byte API key", func(c *Config) {
			realJWKS(c, issuer, audience)
			c.Upstream.APIKey = "k"
		}, []string{"upstream.api_key"}},
		{"R3-F20 15-byte API key", func(c *Config) {
			realJWKS(c, issuer, audience)
			c.Upstream.APIKey = strings.Repeat("k", WeakSecretBytes-1)
		}, []string{"upstream.api_key"}},
		{"R3-F20 16-byte API key", func(c *Config) {
			realJWKS(c, issuer, audience)
			c.Upstream.APIKey = strings.Repeat("k", WeakSecretBytes)
		}, nil},
		{"R3-F20 short Redis password", func(c *Config) { c.Store.Redis.Password = "pw" }, []string{"store.redis.password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			var got []string
			for _, w := range c.Warnings() {
				key, _, _ := strings.Cut(w, ":")
				got = append(got, key)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Warnings() = %q, want lines for %q", c.Warnings(), tt.want)
			}
		})
	}
}

func TestJWTWithDefaults(t *testing.T) {
	def := Default().Auth.JWT
	tests := []struct {
		name string
		jwt  JWT
		want JWT
	}{
		{"zero takes the defaults, leeway and cache stay off", JWT{HS256Secret: testSecret},
			JWT{HS256Secret: testSecret, Algorithms: []string{AlgHS256}, MaxLifetime: def.MaxLifetime,
				JWKSRefreshInterval: def.JWKSRefreshInterval, JWKSMinRefreshInterval: def.JWKSMinRefreshInterval, JWKSMaxStale: def.JWKSMaxStale}},
		{"set values are kept", JWT{JWKSURL: "https://id.example/jwks", Leeway: time.Second, MaxLifetime: time.Hour,
			JWKSRefreshInterval: 2 * time.Minute, JWKSMinRefreshInterval: 30 * time.Second, JWKSMaxStale: time.Hour, TokenCacheSize: 5},
			JWT{JWKSURL: "https://id.example/jwks", Algorithms: []string{AlgRS256, AlgES256}, Leeway: time.Second, MaxLifetime: time.Hour,
				JWKSRefreshInterval: 2 * time.Minute, JWKSMinRefreshInterval: 30 * time.Second, JWKSMaxStale: time.Hour, TokenCacheSize: 5}},
		{"Default is its own defaults", def, func() JWT { d := def; d.Algorithms = nil; return d }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.jwt.WithDefaults(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WithDefaults() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEffectiveAlgorithms(t *testing.T) {
	tests := []struct {
		name string
		jwt  JWT
		want []string
	}{
		{"none configured", JWT{}, nil},
		{"secret", JWT{HS256Secret: testSecret}, []string{"HS256"}},
		{"jwks", JWT{JWKSURL: "https://id.example/jwks"}, []string{"RS256", "ES256"}},
		{"both", JWT{HS256Secret: testSecret, JWKSURL: "https://id.example/jwks"}, []string{"HS256", "RS256", "ES256"}},
		{"explicit", JWT{HS256Secret: testSecret, JWKSURL: "https://id.example/jwks", Algorithms: []string{"ES256"}}, []string{"ES256"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.jwt.EffectiveAlgorithms(); !slices.Equal(got, tt.want) {
				t.Errorf("EffectiveAlgorithms() = %v, want %v", got, tt.want)
			}
		})
	}
}
