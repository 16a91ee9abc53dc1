// Package config holds the gateway's whole configuration tree: one YAML
// file, overridden by MINBIL_* environment variables, overridden by flags.
// Loading, environment overrides and validation walk one tree; every field
// documents its default, which is what Default returns and what
// configs/gateway.yaml shows. Validate is the one place the configuration is
// checked: packages that consume a section (auth) call it rather than
// checking again. It imports only contracts, for the operation ids, and
// gateway/scrub, for the one redaction of URLs in errors and dumps.
package config

import "time"

// Config is the gateway's configuration. The zero value is not usable; start
// from Default.
type Config struct {
	Server      Server      `yaml:"server"`
	Upstream    Upstream    `yaml:"upstream"`
	Auth        Auth        `yaml:"auth"`
	Cache       Cache       `yaml:"cache"`
	Breaker     Breaker     `yaml:"breaker"`
	Limits      Limits      `yaml:"limits"`
	CORS        CORS        `yaml:"cors"`
	Idempotency Idempotency `yaml:"idempotency"`
	RateLimit   RateLimit   `yaml:"rate_limit"`
	Mock        Mock        `yaml:"mock"`
	Log         Log         `yaml:"log"`
	Store       Store       `yaml:"store"`
}

// Server configures the listening side.
type Server struct {
	// Addr is the listen address. Default ":5000".
	Addr string `yaml:"addr"`
	// ReadTimeout bounds reading a whole request, headers and body. Default 5s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout closes idle keep-alive connections. Default 60s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ShutdownTimeout is how long in-flight requests may run after SIGTERM.
	// Default 15s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MaxConns bounds concurrent connections (fasthttp Concurrency). Default 10000.
	MaxConns int `yaml:"max_conns"`
	// TrustedProxies lists the IPs or CIDRs whose X-Forwarded-For (for
	// the client IP) and X-Forwarded-Host and -Proto (for the gateway's own
	// URL) are believed. Default empty: the peer address is the client IP
	// and the Host header names the gateway.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// PublicURL is the gateway's URL as browsers reach it, such as
	// "https://bff.example.no" (scheme and host only): what the built-in
	// mock's identity provider names in its discovery document when the
	// gateway relays it. Default empty: the request's Host, or
	// X-Forwarded-Host from a trusted proxy.
	PublicURL string `yaml:"public_url"`
}

// Upstream configures where ratings calls go.
type Upstream struct {
	// URL is "mock" (the built-in mock, in process) or the base URL of the
	// real upstream, e.g. https://api.minbil.no. Default "mock".
	URL string `yaml:"url"`
	// APIKey is added to every upstream request; also read from
	// MINBIL_API_KEY. Never logged. Default empty.
	APIKey string `yaml:"api_key"`
	// APIKeyHeader is the header that carries APIKey. A client-sent header of
	// this name is dropped. Default "X-API-Key".
	APIKeyHeader string `yaml:"api_key_header"`
	// Timeout bounds one upstream call end to end. Default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxResponseBytes caps an upstream response body. Default 1048576 (1 MiB).
	MaxResponseBytes int `yaml:"max_response_bytes"`
	// MaxInflightBytes bounds the upstream answers the gateway holds at
	// once, counted as four times their size (the answer, its decoded
	// form, the cleaned answer): a call whose answer does not fit waits up
	// to two seconds for room, then gets 503 with Retry-After. An answer
	// larger than the whole budget waits until it is alone. Default
	// 8388608 (8 MiB: two 1 MiB answers, or over a thousand ordinary lists,
	// at once).
	MaxInflightBytes int `yaml:"max_inflight_bytes"`
	// MaxConns bounds connections to the upstream. Default 512.
	MaxConns int `yaml:"max_conns"`
	// IdleTimeout closes an upstream connection idle this long. Keep it
	// below the upstream's keep-alive timeout, so the gateway closes first.
	// Default 4s (Node.js servers close after 5s).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ValidateResponses is ValidateOff, ValidateLog or ValidateEnforce:
	// upstream answers are checked against the contract; log counts and
	// logs violations, enforce turns a violating answer into 502. Default
	// "log".
	ValidateResponses ValidateMode `yaml:"validate_responses"`
}

// ValidateMode says what the gateway does with an upstream answer that
// breaks the contract (upstream.validate_responses). It loads from the
// strings "off", "log" and "enforce".
type ValidateMode string

// The values of upstream.validate_responses.
const (
	// ValidateOff does not check upstream answers.
	ValidateOff ValidateMode = "off"
	// ValidateLog counts and logs answers that break the contract.
	ValidateLog ValidateMode = "log"
	// ValidateEnforce turns an answer that breaks the contract into 502.
	ValidateEnforce ValidateMode = "enforce"
)

// AuthMode is how callers are authenticated (auth.mode). It loads from the
// strings "dev", "jwt", "passthrough" and "local-idp".
type AuthMode string

// The values of auth.mode.
const (
	// AuthDev accepts any well-formed Bearer token without verifying it.
	// Validate refuses it with a real upstream.
	AuthDev AuthMode = "dev"
	// AuthJWT verifies signed tokens (see JWT).
	AuthJWT AuthMode = "jwt"
	// AuthPassthrough accepts a well-formed Bearer token and leaves its
	// verification to the upstream.
	AuthPassthrough AuthMode = "passthrough"
	// AuthLocalIDP verifies tokens exactly as AuthJWT does, against the
	// built-in mock's identity provider (its JWKS, issuer and audience;
	// cmd/internal/wire sets them, the auth.jwt keys are not used). Validate
	// refuses it with a real upstream.
	AuthLocalIDP AuthMode = "local-idp"
)

// Auth configures authentication of callers.
type Auth struct {
	// Mode is AuthDev (any non-empty Bearer token), AuthJWT (verified
	// tokens), AuthPassthrough (a well-formed Bearer token; the upstream
	// decides) or AuthLocalIDP (tokens of the built-in mock's identity
	// provider, verified as in jwt mode). Default "dev" with the mock
	// upstream; a real upstream
	// requires jwt or passthrough.
	Mode AuthMode `yaml:"mode"`
	// RequireTokenOn lists operationIds (checkUsername, listRatings,
	// rateBooking) that require a token in addition to those the contract
	// marks as requiring one. Default empty.
	RequireTokenOn []string `yaml:"require_token_on"`
	// JWT configures jwt mode.
	JWT JWT `yaml:"jwt"`
}

// JWT configures token verification in jwt mode. One of HS256Secret or
// JWKSURL is required. It is the one set of JWT settings: Validate checks
// it, and auth uses WithDefaults of a validated JWT as it is.
//
// A zero duration means the default named on the field, except Leeway,
// where zero means no leeway; a zero TokenCacheSize disables the cache.
// Default sets every default explicitly, so a loaded configuration shows
// the values in use. A negative value is refused.
type JWT struct {
	// HS256Secret verifies HS256 tokens; at least 32 bytes. Default empty.
	HS256Secret string `yaml:"hs256_secret"`
	// JWKSURL is fetched for RS256/ES256 public keys. Default empty.
	JWKSURL string `yaml:"jwks_url"`
	// Issuer, when set, must equal the iss claim. Default empty. Validate
	// requires it with a JWKS URL and a real upstream: keys of a shared
	// identity provider also sign tokens of other tenants.
	Issuer string `yaml:"issuer"`
	// Audience, when set, must be in the aud claim. Default empty. Validate
	// requires it with a JWKS URL and a real upstream unless
	// AllowAnyAudience is set: without it a token the identity provider
	// issued for any other application is accepted.
	Audience string `yaml:"audience"`
	// AllowAnyAudience says that accepting tokens for any audience is
	// intended, so Audience may be empty with a JWKS URL and a real
	// upstream; Warnings then names it. It cannot be set with Audience.
	// Default false.
	AllowAnyAudience bool `yaml:"allow_any_audience"`
	// RequireAccessTokenType refuses a token whose JOSE header typ is not
	// at+jwt or application/at+jwt, as RFC 9068 §4 asks of an API: an ID
	// token the identity provider issued to a client whose id equals
	// Audience is then refused, not taken for an access token. Default
	// false: many identity providers label access tokens typ JWT, as they
	// do ID tokens, or not at all, and every token of theirs would be
	// refused; set it when the provider issues RFC 9068 access tokens.
	// auth.mode local-idp always requires it; dev and passthrough verify
	// nothing, so Validate refuses it there.
	RequireAccessTokenType bool `yaml:"require_access_token_type"`
	// Algorithms is the allowlist of signing algorithms. Default: HS256 with
	// a secret, RS256 and ES256 with a JWKS URL. "none" is always refused.
	Algorithms []string `yaml:"algorithms"`
	// Leeway tolerates clock skew on exp, nbf and iat; at most 5m. Default
	// 30s; 0 means no leeway (not the default).
	Leeway time.Duration `yaml:"leeway"`
	// MaxLifetime refuses tokens whose exp-iat exceeds it. Default 24h; 0
	// means the default.
	MaxLifetime time.Duration `yaml:"max_lifetime"`
	// JWKSRefreshInterval refreshes the key set on a schedule. Default 15m;
	// 0 means the default.
	JWKSRefreshInterval time.Duration `yaml:"jwks_refresh_interval"`
	// JWKSMinRefreshInterval rate-limits refreshes triggered by unknown
	// kids; at most JWKSRefreshInterval. Default 1m; 0 means the default.
	JWKSMinRefreshInterval time.Duration `yaml:"jwks_min_refresh_interval"`
	// JWKSMaxStale is how long the last good key set keeps serving while the
	// JWKS URL is down. Default 24h; 0 means the default.
	JWKSMaxStale time.Duration `yaml:"jwks_max_stale"`
	// TokenCacheSize bounds the number of verified tokens remembered until
	// their expiry, so a token is not verified again on every request.
	// Default 10000; 0 disables the cache.
	TokenCacheSize int `yaml:"token_cache_size"`
}

// Cache configures the check-username cache and the ratings list kept for
// stale-if-error.
type Cache struct {
	// UsernameTTL is how long a successful check-username answer is reused.
	// Default 30s.
	UsernameTTL time.Duration `yaml:"username_ttl"`
	// UsernameMaxBytes bounds the cache in bytes (keys, answers and a fixed
	// overhead per entry); the oldest answers make room. Default 8388608
	// (8 MiB, about 25,000 answers).
	UsernameMaxBytes int `yaml:"username_max_bytes"`
	// RatingsStaleIfError is how old a caller's last good rating list may
	// be and still answer GET /api/co/rating while the upstream fails (5xx,
	// timeout, unreachable, breaker open), with X-Cache: STALE and Age (RFC
	// 5861's stale-if-error, per caller). Default 5m; 0 turns it off.
	RatingsStaleIfError time.Duration `yaml:"ratings_stale_if_error"`
	// RatingsStaleMaxBytes bounds the lists kept in memory, in bytes (keys,
	// lists and a fixed overhead per caller); the oldest make room. Default
	// 8388608 (8 MiB, about 900 callers with 20 ratings each, 9 KB a
	// list). Lists in Redis are bounded by Redis.
	RatingsStaleMaxBytes int `yaml:"ratings_stale_max_bytes"`
}

// Breaker configures the per-operation circuit breakers.
type Breaker struct {
	// ConsecutiveFailures opens a breaker. Default 5.
	ConsecutiveFailures int `yaml:"consecutive_failures"`
	// OpenTimeout is how long a breaker stays open before probing. Default 10s.
	OpenTimeout time.Duration `yaml:"open_timeout"`
	// HalfOpenRequests is how many probes may run while half-open. Default 2.
	HalfOpenRequests int `yaml:"half_open_requests"`
	// Interval clears the counts of a closed breaker. Default 30s.
	Interval time.Duration `yaml:"interval"`
}

// Limits bounds what a client may send.
type Limits struct {
	// BodyBytes caps a request body (413 above). Default 16384.
	BodyBytes int `yaml:"body_bytes"`
	// HeaderBytes caps the request line plus headers (431 above). Default 16384.
	HeaderBytes int `yaml:"header_bytes"`
}

// CORS configures cross-origin access for browser frontends.
type CORS struct {
	// AllowOrigins lists allowed origins; a "*" port ("http://localhost:*")
	// matches any port. Default ["http://localhost:*", "http://127.0.0.1:*"].
	AllowOrigins []string `yaml:"allow_origins"`
}

// Idempotency configures Idempotency-Key handling of rating submissions.
type Idempotency struct {
	// TTL is how long an outcome is kept for replay. Default 24h.
	TTL time.Duration `yaml:"ttl"`
	// MaxBytes bounds the records kept in memory, in bytes. Nothing live
	// is ever dropped to make room (only expired records): a full store
	// refuses new keys with 503, and one caller holds at most 1/64 of it.
	// Default 16777216 (16 MiB, about 11,000 outcomes of 1,000-character
	// ratings). Redis records are bounded by Redis, which must not evict
	// them (maxmemory-policy noeviction).
	MaxBytes int `yaml:"max_bytes"`
}

// RateLimit configures request rate limits.
type RateLimit struct {
	// PerIdentity is the number of requests per Window for one caller
	// identity. Default 120; 0 disables.
	PerIdentity int `yaml:"per_identity"`
	// PerIP is the number of requests per Window for one client IP.
	// Default 600; 0 disables.
	PerIP int `yaml:"per_ip"`
	// Window is the rate-limit window. Default 1m.
	Window time.Duration `yaml:"window"`
	// MaxBytes bounds the counters kept in memory, in bytes. A live
	// window is never dropped: when full, newcomers share one window per
	// kind of key, so a flood of identities limits only itself. Default
	// 4194304 (4 MiB, about 9,000 callers per window).
	MaxBytes int `yaml:"max_bytes"`
}

// Mock configures the built-in mock used when upstream.url is "mock".
type Mock struct {
	// Seed makes the mock's data deterministic. Default 1.
	Seed int64 `yaml:"seed"`
	// StateFile persists the mock's state across restarts. Default empty
	// (memory only).
	StateFile string `yaml:"state_file"`
	// MaxBytes bounds what the mock holds for its owners, sessions and
	// scenarios; when the ratings and scenarios it must keep fill half of
	// it, new ones answer 503. Default 67108864 (64 MiB); at least 1 MiB.
	MaxBytes int `yaml:"max_bytes"`
}

// Store configures where the state shared by replicas lives: the username
// cache, idempotency records and rate-limit counters.
type Store struct {
	// Backend is memory (one process; the default) or redis (shared by every
	// replica). Default "memory".
	Backend string `yaml:"backend"`
	// Redis configures the redis backend.
	Redis Redis `yaml:"redis"`
}

// Redis configures the connection to Redis.
type Redis struct {
	// Addr is host:port of the Redis server. Default "127.0.0.1:6379".
	Addr string `yaml:"addr"`
	// Password authenticates to Redis; also a Secret in Kubernetes. Never
	// logged. Default empty.
	Password string `yaml:"password"`
	// DB is the Redis database number. Default 0.
	DB int `yaml:"db"`
	// Timeout bounds each Redis command; on timeout the gateway falls back
	// to local state (cache, limits) or refuses keyed POSTs. Default 200ms.
	Timeout time.Duration `yaml:"timeout"`
	// KeyPrefix namespaces the gateway's keys. Default "minbil-bff:".
	KeyPrefix string `yaml:"key_prefix"`
}

// Log configures logging.
type Log struct {
	// Format is console (readable) or json. Default console with the mock
	// upstream, json otherwise.
	Format string `yaml:"format"`
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
}

// Default returns the documented defaults.
func Default() Config {
	return Config{
		Server: Server{
			Addr:            ":5000",
			ReadTimeout:     5 * time.Second,
			WriteTimeout:    10 * time.Second,
			IdleTimeout:     60 * time.Second,
			ShutdownTimeout: 15 * time.Second,
			MaxConns:        10000,
		},
		Upstream: Upstream{
			URL:               "mock",
			APIKeyHeader:      "X-API-Key",
			Timeout:           5 * time.Second,
			MaxResponseBytes:  1 << 20,
			MaxInflightBytes:  8 << 20,
			MaxConns:          512,
			IdleTimeout:       4 * time.Second,
			ValidateResponses: ValidateLog,
		},
		Auth: Auth{
			Mode: AuthDev,
			JWT: JWT{
				Leeway:                 defaultLeeway,
				MaxLifetime:            defaultMaxLifetime,
				JWKSRefreshInterval:    defaultJWKSRefresh,
				JWKSMinRefreshInterval: defaultJWKSMinRefresh,
				JWKSMaxStale:           defaultJWKSMaxStale,
				TokenCacheSize:         defaultTokenCacheSize,
			},
		},
		Cache: Cache{UsernameTTL: 30 * time.Second, UsernameMaxBytes: 8 << 20,
			RatingsStaleIfError: 5 * time.Minute, RatingsStaleMaxBytes: 8 << 20},
		Breaker:     Breaker{ConsecutiveFailures: 5, OpenTimeout: 10 * time.Second, HalfOpenRequests: 2, Interval: 30 * time.Second},
		Limits:      Limits{BodyBytes: 16 << 10, HeaderBytes: 16 << 10},
		CORS:        CORS{AllowOrigins: []string{"http://localhost:*", "http://127.0.0.1:*"}},
		Idempotency: Idempotency{TTL: 24 * time.Hour, MaxBytes: 16 << 20},
		RateLimit:   RateLimit{PerIdentity: 120, PerIP: 600, Window: time.Minute, MaxBytes: 4 << 20},
		Mock:        Mock{Seed: 1, MaxBytes: 64 << 20},
		Log:         Log{Format: "", Level: "info"},
		Store: Store{Backend: "memory", Redis: Redis{
			Addr: "127.0.0.1:6379", Timeout: 200 * time.Millisecond, KeyPrefix: "minbil-bff:",
		}},
	}
}

// IsMock reports whether the upstream is the built-in mock.
func (c Config) IsMock() bool { return c.Upstream.URL == "mock" }
