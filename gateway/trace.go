package gateway

import (
	"context"
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/tracing"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// startRequest continues the trace the request carries, or starts one,
// with or without a tracer (R3-T5), and makes it the context of everything
// below: the authentication, the username cache and the upstream call.
func (g *Gateway) startRequest(c *fiber.Ctx, rs *reqState) {
	ctx, span := g.tracing.Request(&c.Request().Header, c.Method())
	rs.span = span
	rs.trace = trace.SpanContextFromContext(ctx)
	if rs.trace.IsValid() {
		c.SetUserContext(ctx)
	}
}

// endRequest ends the request's span with the semantic conventions' HTTP
// server attributes. The route is the template (":booking_id"), and
// url.path is left out on purpose: the path and query are the caller's
// text (a booking id, a username), and the route says what was asked.
func (g *Gateway) endRequest(c *fiber.Ctx, rs *reqState, status int) {
	span := rs.span
	if span == nil {
		return // refused before begin
	}
	errType := ""
	if span.IsRecording() {
		method := c.Method()
		span.SetAttributes(
			semconv.HTTPRequestMethodKey.String(method),
			semconv.URLScheme(c.Protocol()),
			semconv.HTTPResponseStatusCode(status),
		)
		if rs.operation != "other" {
			route := c.Route().Path
			span.SetName(method + " " + route)
			span.SetAttributes(semconv.HTTPRoute(route))
		}
		// A server span fails on 5xx only: a 4xx is the caller's error.
		if status >= 500 {
			errType = rs.errCode
			if errType == "" {
				errType = strconv.Itoa(status)
			}
		}
	}
	tracing.End(span, errType)
}

// startSpan starts an internal span of the gateway's own work below ctx's.
func (g *Gateway) startSpan(ctx context.Context, name string) (context.Context, trace.Span) {
	return g.tracing.Start(ctx, name, trace.SpanKindInternal)
}

// endCacheSpan ends the username cache's span, saying whether it answered.
func (g *Gateway) endCacheSpan(span trace.Span, hit bool, err error) {
	if span.IsRecording() {
		span.SetAttributes(tracing.CacheHit.Bool(hit))
	}
	g.endSpan(span, err)
}

// endSpan ends a span of the gateway's own work; a failure is named by its
// contract error code or its upstream kind, never by the error's text.
func (g *Gateway) endSpan(span trace.Span, err error) {
	errType := ""
	if err != nil && span.IsRecording() {
		var ae *apiError
		switch {
		case errors.As(err, &ae):
			errType = ae.code
		case errors.Is(err, auth.ErrMissingToken), errors.Is(err, auth.ErrMalformedToken), errors.Is(err, auth.ErrInvalidToken):
			errType = contracts.CodeUnauthorized
		default:
			errType = upstream.ErrorType(err)
		}
	}
	tracing.End(span, errType)
}
