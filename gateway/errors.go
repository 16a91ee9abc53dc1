package gateway

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/linger"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/scrub"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// apiError is an answer the gateway decided on: status, contract error code
// and a message that is safe to show. cause is only logged.
type apiError struct {
	status     int
	code       string
	message    string
	retryAfter time.Duration
	challenge  string
	cause      error
	// upstream marks a refusal the upstream decided (its 4xx).
	upstream bool
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.code + ": " + e.cause.Error()
	}
	return e.code + ": " + e.message
}

func (e *apiError) Unwrap() error { return e.cause }

func badRequest(code, message string) *apiError {
	return &apiError{status: fiber.StatusBadRequest, code: code, message: message}
}

// toAPIError maps any error to the answer a client gets. An *apiError is
// an answer already decided where the reason is known, and passes as it
// is: the refusals of a request's own input (handlers.go, middleware.go,
// devheader.go), of the idempotency records and the rate limiters
// (handlers.go, middleware.go), and an upstream's 4xx passed on
// (forward.go, upstreamClientError). Every other error (auth's, the
// upstream client's, Fiber's, anything unexpected) becomes a status here,
// matched with errors.Is and find, never by its text. Either way, fail
// is the one place an error becomes an answer.
func (g *Gateway) toAPIError(err error, op string) *apiError {
	ae, isAPI := find[*apiError](err)
	fe, isFiber := find[*fiber.Error](err)
	se, isStatus := find[*upstream.StatusError](err)
	switch {
	case isAPI:
		return ae
	case errors.Is(err, auth.ErrMissingToken), errors.Is(err, auth.ErrMalformedToken), errors.Is(err, auth.ErrInvalidToken):
		return &apiError{status: fiber.StatusUnauthorized, code: contracts.CodeUnauthorized,
			message: "A valid Bearer token is required.", challenge: auth.Challenge(err), cause: err}
	case errors.Is(err, upstream.ErrBreakerOpen):
		return &apiError{status: fiber.StatusServiceUnavailable, code: contracts.CodeUnavailable,
			message: "The ratings service is temporarily unavailable; retry later.", retryAfter: g.breakers.RetryAfter(op), cause: err}
	case errors.Is(err, upstream.ErrOverloaded):
		return &apiError{status: fiber.StatusServiceUnavailable, code: contracts.CodeUnavailable,
			message: "The gateway is overloaded; retry later.", retryAfter: time.Second, cause: err}
	case errors.Is(err, upstream.ErrTimeout):
		return &apiError{status: fiber.StatusGatewayTimeout, code: contracts.CodeGatewayTimeout,
			message: "The ratings service did not answer in time.", cause: err}
	case isStatus && se.Status == fiber.StatusServiceUnavailable:
		return &apiError{status: fiber.StatusServiceUnavailable, code: contracts.CodeUnavailable,
			message: "The ratings service is temporarily unavailable; retry later.", retryAfter: time.Second, cause: err}
	case isStatus && se.Status == fiber.StatusGatewayTimeout:
		return &apiError{status: fiber.StatusGatewayTimeout, code: contracts.CodeGatewayTimeout,
			message: "The ratings service did not answer in time.", cause: err}
	case isStatus, errors.Is(err, upstream.ErrUnreachable), errors.Is(err, upstream.ErrBadResponse):
		return &apiError{status: fiber.StatusBadGateway, code: contracts.CodeBadGateway,
			message: "The ratings service could not be reached or gave an unusable answer.", cause: err}
	case isFiber:
		return fiberError(fe)
	}
	return &apiError{status: fiber.StatusInternalServerError, code: contracts.CodeInternal,
		message: "An unexpected error occurred.", cause: err}
}

// find is errors.As for a concrete error type T, without the allocation
// errors.As costs for its target: it walks err's tree (Unwrap() error and
// Unwrap() []error, depth first, as errors.As does) for the first T.
func find[T error](err error) (T, bool) {
	for err != nil {
		if t, ok := err.(T); ok {
			return t, true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if t, ok := find[T](e); ok {
					return t, true
				}
			}
			return *new(T), false
		default:
			return *new(T), false
		}
	}
	return *new(T), false
}

// fiberError maps Fiber's and fasthttp's own errors (routing, limits,
// malformed requests) without ever showing their text.
func fiberError(fe *fiber.Error) *apiError {
	e := &apiError{status: fe.Code, cause: fe}
	switch fe.Code {
	case fiber.StatusNotFound:
		e.code, e.message = contracts.CodeNotFound, "No such resource."
	case fiber.StatusMethodNotAllowed:
		e.code, e.message = contracts.CodeMethodNotAllowed, "This method is not allowed on this resource."
	case fiber.StatusRequestEntityTooLarge:
		e.code, e.message = contracts.CodePayloadTooLarge, "The request body is too large."
	case fiber.StatusRequestHeaderFieldsTooLarge:
		e.code, e.message = contracts.CodeBadRequest, "The request headers are too large."
	case fiber.StatusRequestTimeout:
		e.code, e.message = contracts.CodeBadRequest, "The request was not received in time."
	case fiber.StatusTooManyRequests:
		e.code, e.message = contracts.CodeRateLimited, "Too many requests; retry later."
	default:
		if fe.Code >= 500 {
			e.status, e.code, e.message = fiber.StatusInternalServerError, contracts.CodeInternal, "An unexpected error occurred."
		} else {
			e.status, e.code, e.message = fiber.StatusBadRequest, contracts.CodeBadRequest, "The request is malformed."
		}
	}
	return e
}

// fail is the one entry to the error path: it maps err to the answer the
// client gets, notes it for the access line and writes the contract's
// error body.
func (g *Gateway) fail(c *fiber.Ctx, err error) {
	rs := stateOf(c)
	ae := g.toAPIError(err, rs.operation)
	rs.errCode = ae.code
	if ae.status >= 500 || ae.cause != nil {
		rs.cause = ae.cause
	}
	g.writeError(c, rs, ae)
}

// refused is fiber.Config.ErrorHandler. Every request that reaches the
// app is answered by begin, which returns no error, so Fiber calls this only
// for requests fasthttp refused while reading them (framing, limits,
// timeouts) or guardMethods refused: begin never ran, so it also writes
// their access line. The connection is closed: after a framing error the
// next request's start is unknown. It lingers first, draining what the
// client still sends (a body over the limit), so that the client reads
// this answer instead of a reset (R3-T7). The cause stays out of the log:
// fasthttp's text can quote the raw request.
func (g *Gateway) refused(c *fiber.Ctx, err error) error {
	c.Context().SetConnectionClose()
	linger.Mark(c.Context().Conn())
	g.fail(c, err)
	rs := stateOf(c)
	rs.cause = nil
	g.finish(c, rs, 0)
	return nil
}

// maxCauseBytes caps the error field of an access line: one line of why.
const maxCauseBytes = 512

// logCause is the error field of the access line of a request answered
// with status. A refusal the client caused (a 4xx) logs no text: its
// error_code says what it was, and the text of those errors quotes the
// client's own bytes (Fiber's 404 the raw path, the body decoder an
// unknown field's name: R3-F16). Only an auth refusal keeps its text, a
// fixed reason that package auth promises never quotes the token. Any
// other cause (the upstream's or the gateway's failure, or why a stale
// answer was served) is logged, capped at maxCauseBytes.
func (g *Gateway) logCause(rs *reqState, status int) zap.Field {
	switch {
	case rs.cause == nil:
		return zap.Skip()
	case status >= 400 && status < 500 && !isAuthRefusal(rs.cause):
		return zap.Skip()
	}
	return zap.String("error", scrub.Cap(rs.cause.Error(), maxCauseBytes))
}

// isAuthRefusal reports whether err is one of package auth's refusals.
func isAuthRefusal(err error) bool {
	return errors.Is(err, auth.ErrMissingToken) || errors.Is(err, auth.ErrMalformedToken) || errors.Is(err, auth.ErrInvalidToken)
}

// errUnknownMethod answers a method Fiber does not know.
var errUnknownMethod = badRequest(contracts.CodeBadRequest, "Unknown HTTP method.")

// guardMethods answers a request whose method Fiber does not know (Fiber
// itself would write a bare text/plain "Invalid http method", without the
// error body or a request id, and keep the connection) through refused
// (OA-10).
func (g *Gateway) guardMethods(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(rctx *fasthttp.RequestCtx) {
		if knownMethod(rctx.Method()) {
			next(rctx)
			return
		}
		c := g.app.AcquireCtx(rctx)
		defer g.app.ReleaseCtx(c)
		_ = g.refused(c, errUnknownMethod)
	}
}

// knownMethod reports whether m is one of the methods Fiber routes.
func knownMethod(m []byte) bool {
	switch string(m) {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodDelete,
		fiber.MethodConnect, fiber.MethodOptions, fiber.MethodTrace, fiber.MethodPatch:
		return true
	}
	return false
}
