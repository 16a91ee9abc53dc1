package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/contracts/secret"
)

// querySecret stands in a URL's query or user info in these tests; no
// error or dump may show it.
const querySecret = "qs-7Hk2Lm9Pz4Rt8Wv3"

// TestR3F17KeyHeaderRefusesGatewayHeaders: upstream.api_key_header may
// name no header the gateway sets or forwards itself (the key would
// overwrite the trace context, or an Idempotency-Key the key), in any
// case; an ordinary header name is accepted. Before, traceparent,
// tracestate and Idempotency-Key were accepted.
func TestR3F17KeyHeaderRefusesGatewayHeaders(t *testing.T) {
	tests := []struct {
		header  string
		refused bool
	}{
		{"X-API-Key", false},
		{"X-MinBil-Key", false},
		{"traceparent", true},
		{"TraceState", true},
		{"idempotency-key", true},
		{"Accept", true},
		{"X-Mock-Session", true},
		{"X-Forwarded-Host", true},
		{"authorization", true},
		{"Host", true},
	}
	for _, h := range ReservedHeaders() {
		tests = append(tests, struct {
			header  string
			refused bool
		}{h, true})
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			c := Default()
			c.Upstream.APIKeyHeader = tt.header
			keys, _ := problemKeys(c.Validate())
			if got := slices.Contains(keys, "upstream.api_key_header"); got != tt.refused {
				t.Errorf("Validate() with upstream.api_key_header %q refused = %v, want %v", tt.header, got, tt.refused)
			}
		})
	}
}

// TestR3F17SecretsWithWhiteSpaceRefused: every secret, not only the API
// key, is refused with white space around it (a newline at the end of a
// secret file) or a control character in it, and the error does not show
// it. Before, the HS256 secret and the Redis password were taken as given.
func TestR3F17SecretsWithWhiteSpaceRefused(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config, string)
		key     string
		secret  string
		refused bool
	}{
		{"hs256 trailing newline", setHS256, "auth.jwt.hs256_secret", testSecret + "\n", true},
		{"hs256 leading space", setHS256, "auth.jwt.hs256_secret", " " + testSecret, true},
		{"hs256 tab inside", setHS256, "auth.jwt.hs256_secret", testSecret[:10] + "\t" + testSecret[10:], true},
		{"hs256 clean", setHS256, "auth.jwt.hs256_secret", testSecret, false},
		{"hs256 inner space", setHS256, "auth.jwt.hs256_secret", testSecret[:10] + " " + testSecret[10:], false},
		{"redis trailing CRLF", setRedisPassword, "store.redis.password", "redis-pw-0123456789\r\n", true},
		{"redis clean", setRedisPassword, "store.redis.password", "redis-pw-0123456789", false},
		{"api key trailing newline", setAPIKey, "upstream.api_key", "ak_live_0123456789abcdef\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c, tt.secret)
			err := c.Validate()
			keys, _ := problemKeys(err)
			if got := slices.Contains(keys, tt.key); got != tt.refused {
				t.Fatalf("Validate() refused %s = %v, want %v; error: %v", tt.key, got, tt.refused, err)
			}
			if err == nil {
				return
			}
			if secret.Quotes(err.Error(), strings.TrimSpace(tt.secret)) {
				t.Errorf("Validate() error quotes the secret:\n%v", err)
			}
		})
	}
}

func setHS256(c *Config, s string) {
	c.Auth.Mode = AuthJWT
	c.Auth.JWT.HS256Secret = s
}

func setRedisPassword(c *Config, s string) { c.Store.Redis.Password = s }

func setAPIKey(c *Config, s string) {
	c.Upstream.URL, c.Upstream.APIKey = "https://api.minbil.no", s
	c.Auth.Mode = AuthPassthrough
}

// TestR3F17URLsRedactedInErrorsAndDumps: the user info, query and fragment
// of a URL never reach a validation error, an environment error or the
// configuration dump, whichever key holds the URL. Before, the query of
// upstream.url was quoted in its error, and a JWKS URL's query was in the
// start-up dump.
func TestR3F17URLsRedactedInErrorsAndDumps(t *testing.T) {
	withQuery := "https://api.minbil.no/?key=" + querySecret
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"upstream query", func(c *Config) { c.Upstream.URL = withQuery; c.Auth.Mode = AuthPassthrough }},
		{"upstream fragment", func(c *Config) { c.Upstream.URL = "https://api.minbil.no/#" + querySecret }},
		{"upstream user info", func(c *Config) { c.Upstream.URL = "https://svc:" + querySecret + "@api.minbil.no" }},
		{"upstream does not parse", func(c *Config) { c.Upstream.URL = "ht!tp://api.minbil.no/?key=" + querySecret }},
		{"jwks over http", func(c *Config) {
			c.Auth.Mode = AuthJWT
			c.Auth.JWT.JWKSURL = "http://id.example/jwks?client_secret=" + querySecret
		}},
		{"jwks user info", func(c *Config) {
			c.Auth.Mode = AuthJWT
			c.Auth.JWT.JWKSURL = "https://u:" + querySecret + "@id.example/jwks"
		}},
		{"dev auth with a real upstream with a query", func(c *Config) { c.Upstream.URL = withQuery }},
		{"cors origin", func(c *Config) { c.CORS.AllowOrigins = []string{"http://localhost:3000/?t=" + querySecret} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want a problem")
			}
			for name, text := range map[string]string{"Validate()": err.Error(), "String()": c.String()} {
				if strings.Contains(text, querySecret) {
					t.Errorf("%s shows the URL's secret:\n%s", name, text)
				}
			}
		})
	}
}

// TestR3F17JWKSQueryRedactedInDump: a JWKS URL may carry a query (an
// identity provider may need one), and the start-up dump shows it as
// "?***"; the URL in use keeps it.
func TestR3F17JWKSQueryRedactedInDump(t *testing.T) {
	c := Default()
	c.Auth.Mode = AuthJWT
	c.Auth.JWT.JWKSURL = "https://id.example/jwks?client_secret=" + querySecret
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want a JWKS URL with a query accepted", err)
	}
	if s := c.String(); strings.Contains(s, querySecret) || !strings.Contains(s, `auth.jwt.jwks_url="https://id.example/jwks?***"`) {
		t.Errorf("String() = %s, want auth.jwt.jwks_url=\"https://id.example/jwks?***\"", s)
	}
	if !strings.Contains(c.Auth.JWT.JWKSURL, querySecret) {
		t.Errorf("String() changed the configuration: %q", c.Auth.JWT.JWKSURL)
	}
}

// TestR3F17EnvErrorsRedactURLs: a value from the environment that does not
// parse is quoted redacted.
func TestR3F17EnvErrorsRedactURLs(t *testing.T) {
	_, err := Load("", env(map[string]string{"MINBIL_UPSTREAM_TIMEOUT": "https://u:" + querySecret + "@h/?k=" + querySecret}))
	if err == nil {
		t.Fatal("Load() = nil, want an error for a timeout that is a URL")
	}
	if strings.Contains(err.Error(), querySecret) {
		t.Errorf("Load() error shows the URL's secret: %v", err)
	}
}

// TestSecrets lists the values of the secret keys that are set.
func TestSecrets(t *testing.T) {
	c := Default()
	c.Upstream.APIKey = "k"
	c.Store.Redis.Password = "pw"
	if got, want := c.Secrets(), []string{"k", "pw"}; !slices.Equal(got, want) {
		t.Errorf("Secrets() = %q, want %q", got, want)
	}
}
