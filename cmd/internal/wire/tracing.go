package wire

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/minbil/minbil-bff/gateway/tracing/otlp"
)

// serviceName names the gateway's traces unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES say otherwise.
const serviceName = "minbil-bff"

// Tracer builds the tracer provider the standard OTEL_* environment asks
// for, read with getenv, or nil when it asks for none: the gateway then
// only propagates the trace a request carries, or starts one, not sampled,
// for a request that carries none (a few hundred nanoseconds, two
// allocations).
//
// OTEL_TRACES_EXPORTER is "otlp" (OTLP over HTTP with protobuf, configured
// by OTEL_EXPORTER_OTLP_* as otlp.FromEnv reads them: endpoint, headers,
// timeout, compression, certificates; a value it cannot read stops the
// start) or "none". Unset, it is "otlp" when an OTLP endpoint is set and
// "none" otherwise, rather than the specification's "otlp" toward
// localhost: a gateway nobody asked to trace exports nothing.
// OTEL_SDK_DISABLED=true and OTEL_TRACES_SAMPLER=always_off (no span would
// ever be recorded) also mean none. The sampler (OTEL_TRACES_SAMPLER,
// default parentbased_always_on), the batch processor's and the span
// limits' variables are read by the SDK.
func Tracer(getenv func(string) string) (*sdktrace.TracerProvider, error) {
	exporter := getenv("OTEL_TRACES_EXPORTER")
	if exporter == "" {
		exporter = "none"
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
			exporter = "otlp"
		}
	}
	if getenv("OTEL_SDK_DISABLED") == "true" || getenv("OTEL_TRACES_SAMPLER") == "always_off" {
		exporter = "none"
	}
	switch exporter {
	case "none":
		return nil, nil
	case "otlp":
	default:
		return nil, fmt.Errorf("wire: OTEL_TRACES_EXPORTER %q: minbil-bff exports traces with \"otlp\" or \"none\"", exporter)
	}
	cfg, err := otlp.FromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("wire: trace exporter: %w", err)
	}
	ctx := context.Background()
	// New only configures; the exporter connects when the first batch is
	// sent.
	exp, err := otlp.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("wire: trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(serviceName)),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("wire: trace resource: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}
