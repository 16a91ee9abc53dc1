package gateway

import (
	"errors"
	"strconv"
	"time"

	"github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/auth"
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

// toAPIError maps any error to the answer a client gets. It is the only
// place where errors become status codes; errors are matched with
// errors.Is/As, never by their text.
func (g *Gateway) toAPIError(err error, op string) *apiError {
	var ae *apiError
	var fe *fiber.Error
	var se *upstream.StatusError
	switch {
	case errors.As(err, &ae):
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
	case errors.As(err, &se) && se.Status == fiber.StatusServiceUnavailable:
		return &apiError{status: fiber.StatusServiceUnavailable, code: contracts.CodeUnavailable,
			message: "The ratings service is temporarily unavailable; retry later.", retryAfter: time.Second, cause: err}
	case errors.As(err, &se) && se.Status == fiber.StatusGatewayTimeout:
		return &apiError{status: fiber.StatusGatewayTimeout, code: contracts.CodeGatewayTimeout,
			message: "The ratings service did not answer in time.", cause: err}
	case errors.As(err, &se), errors.Is(err, upstream.ErrUnreachable), errors.Is(err, upstream.ErrBadResponse):
		return &apiError{status: fiber.StatusBadGateway, code: contracts.CodeBadGateway,
			message: "The ratings service could not be reached or gave an unusable answer.", cause: err}
	case errors.As(err, &fe):
		return fiberError(fe)
	}
	return &apiError{status: fiber.StatusInternalServerError, code: contracts.CodeInternal,
		message: "An unexpected error occurred.", cause: err}
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

// errorHandler is the one fiber.Config.ErrorHandler: every non-2xx answer
// leaves through here in the contract's error body.
func (g *Gateway) errorHandler(c *fiber.Ctx, err error) error {
	_, begun := c.Locals(stateKey).(*reqState)
	rs := stateOf(c)
	ae := g.toAPIError(err, rs.operation)
	rs.errCode = ae.code
	if ae.status >= 500 || ae.cause != nil {
		rs.cause = ae.cause
	}
	werr := g.writeError(c, ae)
	if !begun {
		// fasthttp refused the request while reading it (framing, limits,
		// timeouts), so begin never ran: write its access line here. The
		// cause stays out: fasthttp's text can quote the raw request.
		rs.cause = nil
		g.finish(c, rs, 0)
	}
	return werr
}

func (g *Gateway) writeError(c *fiber.Ctx, ae *apiError) error {
	rs := stateOf(c)
	// Errors fasthttp raises while reading a request (413, 431, 408,
	// malformed framing) reach the error handler before begin ran: give
	// them the headers every other answer gets.
	c.Set(fiber.HeaderXRequestID, rs.requestID)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderCacheControl, "no-store")
	if ae.challenge != "" {
		c.Set(fiber.HeaderWWWAuthenticate, ae.challenge)
	}
	if ae.retryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(ae.retryAfter/time.Second)))
	}
	c.Status(ae.status)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(g.errorBody(stateOf(c), ae))
}

// errorBody renders the contract's error body of ae.
func (g *Gateway) errorBody(rs *reqState, ae *apiError) []byte {
	b, err := json.Marshal(contracts.NewError(rs.requestID, ae.code, ae.message, time.Now()))
	if err != nil {
		// ErrorBody holds only strings and a time: it always encodes.
		g.log.Error("encode error body", zap.Error(err))
	}
	return b
}

func (g *Gateway) logCause(rs *reqState) zap.Field {
	if rs.cause == nil {
		return zap.Skip()
	}
	return zap.String("error", rs.cause.Error())
}
