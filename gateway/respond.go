package gateway

import (
	"cmp"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// write is the one place that writes an answer's body: JSON with status.
// body must not be modified afterwards: fasthttp may send it as it is.
func (g *Gateway) write(c *fiber.Ctx, status int, body []byte) error {
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Response().SetBodyRaw(body)
	return nil
}

// relay writes a pass-through answer as the upstream gave it: status,
// Content-Type (JSON when it named none), Location of a redirect, its
// security headers (a login page's Content-Security-Policy), body.
func (g *Gateway) relay(c *fiber.Ctx, resp *upstream.Response) error {
	c.Status(resp.Status)
	if resp.Location != "" {
		c.Set(fiber.HeaderLocation, resp.Location)
	}
	for _, h := range resp.Security {
		c.Set(h.Name, h.Value)
	}
	if resp.Status == fiber.StatusNoContent || resp.Status == fiber.StatusNotModified {
		return nil
	}
	c.Set(fiber.HeaderContentType, cmp.Or(resp.ContentType, fiber.MIMEApplicationJSONCharsetUTF8))
	c.Response().SetBodyRaw(resp.Body)
	return nil
}

// writeUsername writes a check-username answer.
func (g *Gateway) writeUsername(c *fiber.Ctx, a contracts.UsernameCheck) error {
	return g.write(c, fiber.StatusOK, contracts.AppendUsernameCheck(make([]byte, 0, 64+len(a.Username)+len(a.Message)), a))
}

// writeError writes ae in the contract's error body, with the headers every
// answer gets: errors fasthttp raises while reading a request reach here
// before begin set them.
func (g *Gateway) writeError(c *fiber.Ctx, rs *reqState, ae *apiError) {
	setCommonHeaders(c, rs)
	if ae.challenge != "" {
		c.Set(fiber.HeaderWWWAuthenticate, ae.challenge)
	}
	if ae.retryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(ae.retryAfter/time.Second)))
	}
	_ = g.write(c, ae.status, g.errorBody(rs, ae))
}

// The headers every answer gets, in fasthttp's canonical form (as Set
// would normalise them): set without normalising on every request.
var (
	headerRequestID      = []byte("X-Request-Id")
	headerContentOptions = []byte("X-Content-Type-Options")
	headerCacheControl   = []byte(fiber.HeaderCacheControl)
	valueNoSniff         = []byte("nosniff")
	valueNoStore         = []byte("no-store")
)

// setCommonHeaders sets the headers of every answer.
func setCommonHeaders(c *fiber.Ctx, rs *reqState) {
	h := &c.Response().Header
	h.SetCanonical(headerRequestID, []byte(rs.requestID))
	h.SetCanonical(headerContentOptions, valueNoSniff)
	h.SetCanonical(headerCacheControl, valueNoStore)
}

// errorBody renders the contract's error body of ae (contracts.AppendError:
// one allocation, no reflection).
func (g *Gateway) errorBody(rs *reqState, ae *apiError) []byte {
	return contracts.AppendError(nil, rs.requestID, ae.code, ae.message, time.Now())
}
