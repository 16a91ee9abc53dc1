package gateway

import (
	"bytes"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/header"
)

// begin runs first on every request: request id, security headers, and,
// after everything else, the error answer, the development contract check,
// the access log line and the request metrics.
func (g *Gateway) begin(c *fiber.Ctx) error {
	rs := stateOf(c)
	setCommonHeaders(c, rs)
	g.startRequest(c, rs)

	err := framingError(&c.Request().Header)
	if err != nil {
		c.Context().SetConnectionClose()
	} else {
		err = c.Next()
	}
	if err != nil {
		g.fail(c, err)
	}
	if g.own != nil {
		g.checkOwn(c)
	}
	g.finish(c, rs, time.Since(rs.start))
	rs.release()
	return nil
}

// framingError refuses requests whose framing a front proxy may read
// differently: a Transfer-Encoding that is not exactly chunked (BI-82), or
// trailer fields, which fasthttp merges into the header section although
// RFC 9110 §6.5.1 forbids it; a proxy or WAF in front never sees them, so
// they must not reach routing, identity, idempotency or the upstream
// (OA-08).
func framingError(h *fasthttp.RequestHeader) error {
	if h.ContentLength() == -1 && !exactChunked(h.RawHeaders()) {
		return badRequest(contracts.CodeBadRequest, "Transfer-Encoding must be exactly chunked.")
	}
	for range h.Trailers() {
		return badRequest(contracts.CodeBadRequest, "Trailer fields are not accepted.")
	}
	return nil
}

// exactChunked reports whether the raw request headers carry exactly one
// Transfer-Encoding whose value is exactly "chunked". fasthttp trims
// trailing white space ("chunked\t") where a front proxy may not, which
// would let the two disagree on where the request ends (BI-82).
func exactChunked(raw []byte) bool {
	const name = "transfer-encoding:"
	found := 0
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) < len(name) || !bytes.EqualFold(line[:len(name)], []byte(name)) {
			continue
		}
		found++
		if v := bytes.TrimLeft(line[len(name):], " "); !bytes.EqualFold(v, []byte("chunked")) {
			return false
		}
	}
	return found == 1
}

// finish writes the access log line and the metrics of one request and
// ends its span. No token, API key, cookie or user-chosen value is logged;
// the caller is a hashed subject; trace_id and span_id lead to the trace.
func (g *Gateway) finish(c *fiber.Ctx, rs *reqState, took time.Duration) {
	status := c.Response().StatusCode()
	g.endRequest(c, rs, status)
	g.metrics.request(g.metrics.route(rs.operation), status, took.Seconds())
	if ce := g.accessLog.Check(zap.InfoLevel, "request"); ce != nil {
		fp := accessFields.Get().(*[]zap.Field)
		fields := (*fp)[:0]
		fields = append(fields,
			zap.String("request_id", rs.requestID),
			zap.String("method", c.Method()),
			zap.String("route", rs.operation),
			zap.Int("status", status),
			zap.Duration("latency", took),
		)
		if rs.upstreamStatus != 0 {
			fields = append(fields, zap.Int("upstream_status", rs.upstreamStatus))
		}
		if rs.cache != "" {
			fields = append(fields, zap.String("cache", rs.cache))
		}
		if rs.operation != "other" {
			fields = append(fields, zap.String("breaker", g.breakers.State(rs.operation).String()))
		}
		if rs.identity.Subject != "" {
			fields = append(fields, zap.String("subject", rs.identity.LogSubject()))
		}
		if rs.errCode != "" {
			fields = append(fields, zap.String("error_code", rs.errCode))
		}
		if rs.trace.IsValid() {
			fields = append(fields, zap.String("trace_id", rs.trace.TraceID().String()), zap.String("span_id", rs.trace.SpanID().String()))
		}
		fields = append(fields, g.logCause(rs, status))
		ce.Write(fields...)
		// The encoder has copied the fields into the line; clear the
		// slice so the pool holds no request's strings.
		clear(fields)
		*fp = fields[:0]
		accessFields.Put(fp)
	}
}

// accessFields reuses the field slices of access lines: one line per
// request would otherwise allocate 13 fields.
var accessFields = sync.Pool{New: func() any { s := make([]zap.Field, 0, 13); return &s }}

// operation names the route for logs and metrics and authenticates the
// caller by the operation's policy: a token that is present must be valid;
// a missing one is refused where the operation requires one.
func (g *Gateway) operation(name string) fiber.Handler {
	required := g.required[name]
	return func(c *fiber.Ctx) error {
		rs := stateOf(c)
		rs.operation = name
		values := header.Values(&c.Request().Header, fiber.HeaderAuthorization)
		if len(values) == 0 && !required {
			return c.Next()
		}
		ctx, span := g.startSpan(c.UserContext(), "authenticate")
		id, err := g.auth.Authenticate(ctx, values)
		g.endSpan(span, err)
		if err != nil {
			return err
		}
		rs.identity = id
		return c.Next()
	}
}

// ipLimiter limits requests per client IP (X-Forwarded-For is believed only
// from server.trusted_proxies). Health, readiness and metrics are exempt.
func (g *Gateway) ipLimiter() fiber.Handler {
	return g.limiter(g.cfg.RateLimit.PerIP, func(c *fiber.Ctx) string { return "ip:" + g.clientIP(c) },
		func(c *fiber.Ctx) bool {
			switch c.Path() {
			case "/healthz", "/readyz", "/metrics":
				return true
			}
			return false
		})
}

// identityLimiter limits requests per authenticated caller; anonymous
// callers are limited by IP only.
func (g *Gateway) identityLimiter() fiber.Handler {
	return g.limiter(g.cfg.RateLimit.PerIdentity, func(c *fiber.Ctx) string { return "sub:" + stateOf(c).identity.Subject },
		func(c *fiber.Ctx) bool { return stateOf(c).identity.Subject == "" })
}

// limiter allows limit requests per key and window (rate_limit.window): a
// fixed window that starts at a key's first request, counted in the limits
// store (one increment per request; in Redis one round trip, shared by
// every replica). Over the limit the request is refused with 429 and a
// Retry-After of the window's rest. A store that cannot count lets the
// request through: a limiter must not become an outage.
func (g *Gateway) limiter(limit int, key func(*fiber.Ctx) string, skip func(*fiber.Ctx) bool) fiber.Handler {
	if limit <= 0 {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	window := g.cfg.RateLimit.Window
	return func(c *fiber.Ctx) error {
		if skip(c) {
			return c.Next()
		}
		n, left, err := g.limits.Hit(key(c), window)
		if err == nil && n > int64(limit) {
			// Retry-After in whole seconds, rounded up: never before the
			// window ends.
			return &apiError{status: fiber.StatusTooManyRequests, code: contracts.CodeRateLimited,
				retryAfter: max((left + time.Second - 1).Truncate(time.Second), time.Second),
				message:    "Too many requests; retry after the number of seconds in Retry-After."}
		}
		return c.Next()
	}
}

func (g *Gateway) healthz(c *fiber.Ctx) error {
	stateOf(c).operation = "healthz"
	return g.write(c, fiber.StatusOK, []byte(`{"status":"ok"}`))
}

func (g *Gateway) readyz(c *fiber.Ctx) error {
	stateOf(c).operation = "readyz"
	if g.draining.Load() {
		return g.write(c, fiber.StatusServiceUnavailable, []byte(`{"status":"draining"}`))
	}
	return g.write(c, fiber.StatusOK, []byte(`{"status":"ready"}`))
}

func (g *Gateway) openAPI(c *fiber.Ctx) error {
	stateOf(c).operation = "openapi"
	c.Set(fiber.HeaderContentType, "application/yaml")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(contracts.Spec())
}
