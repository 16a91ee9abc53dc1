// Package tracing is the gateway's part in W3C Trace Context: it continues
// the trace an incoming request carries, makes the gateway's spans when a
// tracer provider is given, and writes the trace into the headers of the
// upstream call.
//
// Without a tracer provider (no exporter configured) it only propagates: a
// request that carries a traceparent gets a span context of its own (the
// same trace, a fresh span id, not recording), so the upstream sees the
// gateway as its caller; a request that carries none (or a broken one)
// starts a trace of its own, random ids and not sampled, so the upstream's
// logs and the gateway's access line share a trace id all the same.
package tracing

import (
	"context"
	"math/rand/v2"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of the gateway's spans.
const ScopeName = "github.com/minbil/minbil-bff/gateway"

// Attributes of our own, for what the semantic conventions do not name.
// None ever holds a token, a key or a value a caller chose.
const (
	// Operation is the contract's operationId of an upstream call.
	Operation = attribute.Key("minbil.operation")
	// BreakerState is the operation's breaker state when a call arrived.
	BreakerState = attribute.Key("minbil.breaker.state")
	// CacheHit tells whether the username cache answered.
	CacheHit = attribute.Key("minbil.cache.hit")
)

// Tracing makes spans and moves the trace through headers. The zero value
// makes no spans and propagates W3C Trace Context.
type Tracing struct {
	tracer trace.Tracer // nil: propagation only
	prop   propagation.TextMapPropagator
	// off: prop moves no header (tracing switched off), so a trace
	// started here would reach nobody and none is started.
	off bool
}

// New returns the tracing of tp (nil: propagation only) and prop (nil: W3C
// Trace Context; one with no fields, such as an empty composite, switches
// tracing off when tp is nil).
func New(tp trace.TracerProvider, prop propagation.TextMapPropagator) Tracing {
	t := Tracing{prop: prop, off: prop != nil && len(prop.Fields()) == 0}
	if tp != nil {
		t.tracer = tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
	}
	return t
}

func (t Tracing) propagator() propagation.TextMapPropagator {
	if t.prop == nil {
		return propagation.TraceContext{}
	}
	return t.prop
}

// Request starts the server span of an incoming request named by its
// method (Name renames it once the route is known), continuing the trace
// its headers carry or starting one. Without a tracer the span does not
// record: a request that carries a valid traceparent gets a span context
// with a fresh span id and the caller's flags; one that carries none gets a
// new trace, not sampled: W3C Trace Context's sampled flag says that the
// caller may have recorded the request, and nothing here records it.
func (t Tracing) Request(h *fasthttp.RequestHeader, method string) (context.Context, trace.Span) {
	ctx := t.propagator().Extract(context.Background(), (*Header)(h))
	if t.tracer != nil {
		return t.tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer))
	}
	sc := trace.SpanContextFromContext(ctx)
	switch {
	case t.off:
		return ctx, noop.Span{}
	case sc.IsValid():
		sc = sc.WithSpanID(NewSpanID()).WithRemote(false)
	default:
		sc = trace.NewSpanContext(trace.SpanContextConfig{TraceID: NewTraceID(), SpanID: NewSpanID()})
	}
	ctx = trace.ContextWithSpanContext(ctx, sc)
	return ctx, trace.SpanFromContext(ctx)
}

// Start starts an internal or client span below ctx's; without a tracer it
// makes nothing and allocates nothing.
func (t Tracing) Start(ctx context.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	if t.tracer == nil {
		return ctx, noop.Span{}
	}
	return t.tracer.Start(ctx, name, trace.WithSpanKind(kind))
}

// Inject writes ctx's trace into the outbound headers h.
func (t Tracing) Inject(ctx context.Context, h *fasthttp.RequestHeader) {
	t.propagator().Inject(ctx, (*Header)(h))
}

// End ends span; a non-empty errType marks it failed with that
// low-cardinality error.type (never an error's text, which may quote what
// the upstream sent).
func End(span trace.Span, errType string) {
	if errType != "" && span.IsRecording() {
		span.SetAttributes(semconv.ErrorTypeKey.String(errType))
		span.SetStatus(codes.Error, errType)
	}
	span.End()
}

// NewSpanID returns a random, valid span id.
func NewSpanID() trace.SpanID {
	for {
		var id trace.SpanID
		n := rand.Uint64()
		for i := range id {
			id[i] = byte(n >> (8 * i))
		}
		if id.IsValid() {
			return id
		}
	}
}

// NewTraceID returns a random, valid trace id. Its bits come from
// math/rand/v2, as the span ids' do: a trace id names a request, it guards
// nothing.
func NewTraceID() trace.TraceID {
	for {
		var id trace.TraceID
		hi, lo := rand.Uint64(), rand.Uint64()
		for i := range 8 {
			id[i], id[8+i] = byte(hi>>(8*i)), byte(lo>>(8*i))
		}
		if id.IsValid() {
			return id
		}
	}
}

// Header is a fasthttp request header as a propagation.TextMapCarrier.
type Header fasthttp.RequestHeader

var _ propagation.TextMapCarrier = (*Header)(nil)

// Get returns the first value of key.
func (h *Header) Get(key string) string {
	return string((*fasthttp.RequestHeader)(h).Peek(key))
}

// Set replaces the values of key.
func (h *Header) Set(key, value string) {
	(*fasthttp.RequestHeader)(h).Set(key, value)
}

// Keys lists the header names.
func (h *Header) Keys() []string {
	var keys []string
	for k := range (*fasthttp.RequestHeader)(h).All() {
		keys = append(keys, string(k))
	}
	return keys
}
