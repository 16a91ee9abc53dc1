package config

import (
	"errors"
	"fmt"
	"golang.org/x/net/http/httpguts"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/minbil/minbil-bff/gateway/scrub"
)

// FieldError is one configuration problem, naming its key.
type FieldError struct {
	// Source is where the value came from when known: "file.yaml:12" or
	// "env MINBIL_UPSTREAM_URL". Validate leaves it empty.
	Source string
	// Key is the dotted key path, e.g. "upstream.url", or a section such as
	// "auth.jwt" for a problem of several keys.
	Key string
	// Problem says what is wrong, without the key. It never contains the
	// value of a secret.
	Problem string
}

// Error returns "source: key: problem", or "key: problem" without a source.
func (e *FieldError) Error() string {
	if e.Source == "" {
		return e.Key + ": " + e.Problem
	}
	return e.Source + ": " + e.Key + ": " + e.Problem
}

// Validate checks the configuration and reports every problem at once: the
// result joins one *FieldError per problem (errors.Join; one line each,
// naming the key), or is nil. It changes nothing.
func (c Config) Validate() error {
	v := &validator{}
	c.Server.validate(v)
	c.Upstream.validate(v)
	c.Auth.validate(v)
	c.Auth.validateWith(v, c.Upstream)
	v.positive("cache.username_ttl", c.Cache.UsernameTTL)
	v.positiveInt("cache.username_max_bytes", c.Cache.UsernameMaxBytes)
	v.nonNegative("cache.ratings_stale_if_error", c.Cache.RatingsStaleIfError)
	v.positiveInt("cache.ratings_stale_max_bytes", c.Cache.RatingsStaleMaxBytes)
	v.positiveInt("breaker.consecutive_failures", c.Breaker.ConsecutiveFailures)
	v.positive("breaker.open_timeout", c.Breaker.OpenTimeout)
	v.positiveInt("breaker.half_open_requests", c.Breaker.HalfOpenRequests)
	v.positive("breaker.interval", c.Breaker.Interval)
	v.positiveInt("limits.body_bytes", c.Limits.BodyBytes)
	v.positiveInt("limits.header_bytes", c.Limits.HeaderBytes)
	for _, o := range c.CORS.AllowOrigins {
		if problem := checkOrigin(o); problem != "" {
			v.add("cors.allow_origins", "%s %s", show(false, o), problem)
		}
	}
	v.positive("idempotency.ttl", c.Idempotency.TTL)
	v.positiveInt("idempotency.max_bytes", c.Idempotency.MaxBytes)
	v.positiveInt("rate_limit.max_bytes", c.RateLimit.MaxBytes)
	v.nonNegativeInt("rate_limit.per_identity", c.RateLimit.PerIdentity)
	v.nonNegativeInt("rate_limit.per_ip", c.RateLimit.PerIP)
	v.positive("rate_limit.window", c.RateLimit.Window)
	if c.Mock.MaxBytes < 1<<20 {
		v.add("mock.max_bytes", "%d is less than 1048576 (1 MiB)", c.Mock.MaxBytes)
	}
	oneOf(v, "log.format", c.Log.Format, "", "console", "json")
	oneOf(v, "log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf(v, "store.backend", c.Store.Backend, "memory", "redis")
	if c.Store.Backend == "redis" {
		if _, _, err := net.SplitHostPort(c.Store.Redis.Addr); err != nil || c.Store.Redis.Addr == "" {
			v.add("store.redis.addr", "%s is not host:port", show(false, c.Store.Redis.Addr))
		}
	}
	v.secretText("store.redis.password", c.Store.Redis.Password)
	v.nonNegativeInt("store.redis.db", c.Store.Redis.DB)
	v.positive("store.redis.timeout", c.Store.Redis.Timeout)
	return errors.Join(v.errs...)
}

func (s Server) validate(v *validator) {
	if problem := checkListenAddr(s.Addr); problem != "" {
		v.add("server.addr", "%s %s", show(false, s.Addr), problem)
	}
	v.positive("server.read_timeout", s.ReadTimeout)
	v.positive("server.write_timeout", s.WriteTimeout)
	v.positive("server.idle_timeout", s.IdleTimeout)
	v.positive("server.shutdown_timeout", s.ShutdownTimeout)
	v.positiveInt("server.max_conns", s.MaxConns)
	for _, p := range s.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(p); err == nil {
			continue
		}
		v.add("server.trusted_proxies", "%s is not an IP address or CIDR", show(false, p))
	}
	if s.PublicURL != "" {
		u, err := url.Parse(s.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			v.add("server.public_url", "%s is not a scheme and host such as https://bff.example.no", show(false, s.PublicURL))
		}
	}
}

func (u Upstream) validate(v *validator) {
	if u.URL != "mock" {
		if problem := checkHTTPURL(u.URL, false); problem != "" {
			v.add("upstream.url", "%s is not \"mock\" or an http(s) URL: %s", show(false, u.URL), problem)
		} else if u.APIKey == "" {
			// The documentation gives every call an API key
			// (MINBIL_API_KEY); without one every upstream call would fail
			// at run time instead of here.
			v.add("upstream.api_key", "is required with a real upstream (upstream.url=%s); set %s", scrub.URL(u.URL), APIKeyEnv)
		}
	} else if u.APIKey != "" {
		// A real key next to the mock means production settings pointed at
		// the mock by mistake: the mock must never receive it (F-36, S-13).
		v.add("upstream.api_key", "is set but upstream.url is \"mock\": the real API key never goes to the built-in mock; unset %s (and %s) for development", APIKeyEnv, EnvName("upstream.api_key"))
	}
	if u.APIKey != "" && !validHeaderValue(u.APIKey) {
		v.add("upstream.api_key", "has a control character or leading or trailing white space (a newline at the end of a secret file?)")
	}
	switch {
	case !httpguts.ValidHeaderFieldName(u.APIKeyHeader):
		v.add("upstream.api_key_header", "%s is not a valid header name", show(false, u.APIKeyHeader))
	case reservedHeader(u.APIKeyHeader):
		v.add("upstream.api_key_header", "%s is reserved: the gateway sets or forwards it itself, or it frames the request", show(false, u.APIKeyHeader))
	}
	v.positive("upstream.timeout", u.Timeout)
	v.positiveInt("upstream.max_response_bytes", u.MaxResponseBytes)
	v.positiveInt("upstream.max_inflight_bytes", u.MaxInflightBytes)
	v.positiveInt("upstream.max_conns", u.MaxConns)
	v.positive("upstream.idle_timeout", u.IdleTimeout)
	oneOf(v, "upstream.validate_responses", u.ValidateResponses, ValidateOff, ValidateLog, ValidateEnforce)
}

// validator collects problems.
type validator struct {
	errs []error
}

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Key: key, Problem: fmt.Sprintf(format, args...)})
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.add(key, "%s is not a positive duration", d)
	}
}

func (v *validator) nonNegative(key string, d time.Duration) {
	if d < 0 {
		v.add(key, "%s is negative", d)
	}
}

func (v *validator) positiveInt(key string, n int) {
	if n <= 0 {
		v.add(key, "%d is not positive", n)
	}
}

func (v *validator) nonNegativeInt(key string, n int) {
	if n < 0 {
		v.add(key, "%d is negative", n)
	}
}

// secretText refuses a secret with white space around it or a control
// character in it: a newline at the end of a secret file, which would make
// every use of the secret fail (or, for a signing secret, make tokens
// signed with the secret the issuer holds fail) far from here. It never
// shows the secret.
func (v *validator) secretText(key, secret string) {
	if secret != strings.TrimSpace(secret) || strings.ContainsFunc(secret, unicode.IsControl) {
		v.add(key, "has a control character or leading or trailing white space (a newline at the end of a secret file?)")
	}
}

// oneOf adds a problem unless value is one of allowed.
func oneOf[S ~string](v *validator, key string, value S, allowed ...S) {
	if slices.Contains(allowed, value) {
		return
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = strconv.Quote(string(a))
	}
	v.add(key, "%s is not one of %s", show(false, string(value)), strings.Join(quoted, ", "))
}

// checkHTTPURL returns what keeps raw from being an absolute http or https
// URL with a host and without user info or fragment, or "". A query is
// refused unless allowQuery: a base URL gets paths appended to it.
func checkHTTPURL(raw string, allowQuery bool) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "it does not parse"
	case u.Scheme != "http" && u.Scheme != "https":
		return "the scheme is not http or https"
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "it has no host"
	case u.User != nil:
		return "it has user info; credentials go in their own keys"
	case !allowQuery && (u.RawQuery != "" || u.ForceQuery):
		return "it has a query"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "it has a fragment"
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "the port is not 1-65535"
		}
	}
	return ""
}

// checkListenAddr returns what keeps addr from being host:port with a
// numeric port, or "".
func checkListenAddr(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "is not host:port (e.g. :5000 or 127.0.0.1:5000)"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "has a port that is not 0-65535"
	}
	return ""
}

// checkOrigin returns what keeps o from being a CORS origin,
// scheme://host[:port] with port a number or "*", or "".
func checkOrigin(o string) string {
	if o == "*" {
		return "allows every origin; list the origins"
	}
	scheme, hostport, ok := strings.Cut(o, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return "is not an origin: want http(s)://host[:port]"
	}
	if o != strings.ToLower(o) {
		return "is not lower case, as browsers send origins"
	}
	if strings.ContainsAny(hostport, "/?#@ ") {
		return "is not an origin: no path, query, user info or spaces"
	}
	host, port := hostport, ""
	switch h, p, err := net.SplitHostPort(hostport); {
	case err == nil:
		host, port = h, p
	case strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]"):
		host = hostport[1 : len(hostport)-1]
	case strings.ContainsAny(hostport, ":[]"):
		return "is not an origin: bad host:port"
	}
	if host == "" || strings.Contains(host, "*") {
		return "has no host, or a wildcard host"
	}
	if port != "" && port != "*" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "has a port that is not 1-65535 or *"
		}
	}
	return ""
}

// isLoopback reports whether host is localhost or a loopback IP.
func isLoopback(host string) bool {
	// Names under .localhost are loopback names (RFC 6761 §6.3; Go's
	// resolver answers them without DNS); the in-process mock has one.
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// ReservedHeaders lists the request headers upstream.api_key_header may not
// name, because the key would overwrite them or they the key: every header
// the gateway sets on an upstream request itself (gateway/upstream's
// client: Accept, the caller's Authorization, X-Request-ID,
// Idempotency-Key, Content-Type, the trace context; in development the
// headers it forwards to the mock and X-Forwarded-Host/-Proto), the
// caller's credentials and cookies, and the message framing. It is the one
// list: tests in gateway/upstream and cmd/minbil-bff check it against the
// headers the client sends and the mock reads.
func ReservedHeaders() []string {
	return []string{
		// Set on every upstream request.
		"Accept", "Authorization", "X-Request-ID", "Idempotency-Key", "Content-Type",
		"traceparent", "tracestate", "baggage",
		// Forwarded to the mock in development.
		"Prefer", "X-Mock-Delay", "X-Mock-Session", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-For",
		// Credentials and cookies.
		"Proxy-Authorization", "Cookie", "Set-Cookie",
		// Framing.
		"Host", "Content-Length", "Transfer-Encoding", "Connection", "TE", "Upgrade", "Keep-Alive", "Trailer",
	}
}

// reservedHeader reports whether name is one of ReservedHeaders, in any
// case.
func reservedHeader(name string) bool {
	return slices.ContainsFunc(ReservedHeaders(), func(h string) bool { return strings.EqualFold(h, name) })
}

// validHeaderValue reports whether s can be sent as a header value as is:
// visible ASCII or inner spaces, nothing to trim.
func validHeaderValue(s string) bool {
	if s != strings.TrimSpace(s) {
		return false
	}
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
