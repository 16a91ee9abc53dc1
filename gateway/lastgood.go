package gateway

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/minbil/minbil-bff/gateway/upstream"
)

// staleList answers a failed rating list with the caller's last good one
// (cache.ratings_stale_if_error; RFC 5861's stale-if-error, per caller):
// X-Cache: STALE and Age in whole seconds, the contract's normal shape, so
// the page keeps working while the upstream is down. It masks only what
// the gateway would answer with 502, 503 or 504 because of the upstream
// (5xx, timeout, unreachable, breaker open, an unusable answer); an
// upstream 4xx (401 and the like) is the caller's to see, and an anonymous
// caller has no list of their own. Otherwise it returns err as it is.
func (g *Gateway) staleList(c *fiber.Ctx, rs *reqState, err error) error {
	if !g.lastGood.Enabled() || rs.identity.Subject == "" || !upstreamFailure(g.toAPIError(err, rs.operation)) {
		return err
	}
	key, _ := staleKey(rs.identity.Subject, g.forwarded(c))
	answer, age, ok := g.lastGood.Get(key)
	if !ok {
		return err
	}
	rs.cache, rs.cause = "STALE", err // the access line says why
	g.metrics.staleAnswers.WithLabelValues(rs.operation).Inc()
	c.Set("X-Cache", rs.cache)
	c.Set(fiber.HeaderAge, strconv.FormatInt(int64(age/time.Second), 10))
	return g.write(c, fiber.StatusOK, answer)
}

// worldHeader is the development upstream's world header (the mock's
// X-Mock-Session): each value is a world of its own, with its own bookings
// and ratings. The gateway forwards it only when Dev.ForwardHeaders names
// it, so in production no request carries it.
const worldHeader = "X-Mock-Session"

// staleKey names the kept list a request reads, keeps or drops: the
// caller's subject and, in development, the world of its X-Mock-Session,
// so a list never crosses worlds (R3-F6). The other forwarded headers (a
// fault or a delay the developer asked for, such as Prefer: code=503, which
// is how they see a stale list) do not name another list; faults reports
// that the request carries one, so its answer is not kept. An anonymous
// caller's key is empty: nothing is kept for them.
func staleKey(subject string, fwd []upstream.Header) (key string, faults bool) {
	key = subject
	for _, h := range fwd {
		if strings.EqualFold(h.Name, worldHeader) {
			key += "\x00world=" + h.Value
		} else {
			faults = true
		}
	}
	if subject == "" {
		key = ""
	}
	return key, faults
}

// upstreamFailure reports whether ae is the upstream failing rather than
// refusing: the statuses RFC 5861 lets stale-if-error mask, less the 500
// the gateway only gives for its own faults.
func upstreamFailure(ae *apiError) bool {
	switch ae.status {
	case fiber.StatusBadGateway, fiber.StatusServiceUnavailable, fiber.StatusGatewayTimeout:
		return !ae.upstream
	}
	return false
}

// mayHaveRated reports whether a rating call that ended with err may have
// changed the caller's list: it succeeded, or its outcome is unknown (a
// timeout, a broken connection, a 5xx). A call the breaker or a full pool
// kept from leaving, and a 4xx the upstream refused with, changed nothing.
func mayHaveRated(err error) bool {
	var ae *apiError
	switch {
	case err == nil:
		return true
	case errors.Is(err, upstream.ErrBreakerOpen), errors.Is(err, upstream.ErrOverloaded):
		return false
	case errors.As(err, &ae) && ae.upstream:
		return false
	}
	return true
}
