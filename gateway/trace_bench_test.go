package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/minbil/minbil-bff/contracts"
)

// BenchmarkTracing compares a forwarded rating list (jwt, breaker, upstream
// call, access log) through a gateway with tracing switched off (a
// propagator that reads and writes nothing: the gateway as it was before
// tracing) against the same request through a gateway that traces, in the
// same run, batch by batch, so that a busy machine slows both alike. It
// reports the ratio of their times (traced/off) and each one's
// allocations per request. The cases:
//
//   - propagate: no tracer provider (no exporter configured, what
//     production runs by default), a request without a traceparent;
//   - propagate-traceparent: the same with an incoming traceparent (a fresh
//     span id sent upstream, trace_id and span_id logged);
//   - sdk-sampled: the SDK with every span sampled and batched to an
//     exporter that drops them: the gateway's cost of full tracing, without
//     the network.
func BenchmarkTracing(b *testing.B) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	off := newBenchGatewayDeps(b, false, func(d *Deps) { d.Propagator = propagation.NewCompositeTextMapPropagator() })
	sdk := func(d *Deps) {
		p := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		// Not b.Context(): it is done before cleanups run, and a
		// shutdown that is cancelled leaves the processor running.
		b.Cleanup(func() { _ = p.Shutdown(context.Background()) })
		d.Tracer = p
	}
	tests := []struct {
		name        string
		deps        func(*Deps)
		traceparent string
	}{
		{name: "propagate"},
		{name: "propagate-traceparent", traceparent: tp},
		{name: "sdk-sampled", deps: sdk, traceparent: tp},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			on := newBenchGatewayDeps(b, false, tt.deps)
			var ctx fasthttp.RequestCtx
			run := func(bg *benchGateway, n int) time.Duration {
				start := time.Now()
				for range n {
					if s := bg.doTraced(&ctx, contracts.PathRatings, tt.traceparent); s != fasthttp.StatusOK {
						b.Fatalf("status %d, want 200", s)
					}
				}
				return time.Since(start)
			}
			run(off, 100) // warm both: pools, connections, the breaker
			run(on, 100)
			var offTime, onTime time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(64, b.N-done)
				if done%128 == 0 { // neither always goes first
					offTime += run(off, n)
					onTime += run(on, n)
				} else {
					onTime += run(on, n)
					offTime += run(off, n)
				}
				done += n
			}
			b.StopTimer()
			b.ReportMetric(float64(onTime)/float64(offTime), "traced/off")
			b.ReportMetric(float64(offTime.Nanoseconds())/float64(b.N), "off-ns/req")
			b.ReportMetric(float64(onTime.Nanoseconds())/float64(b.N), "traced-ns/req")
			b.ReportMetric(testing.AllocsPerRun(200, func() { run(off, 1) }), "off-allocs/req")
			b.ReportMetric(testing.AllocsPerRun(200, func() { run(on, 1) }), "traced-allocs/req")
		})
	}
}

// doTraced runs one authenticated GET through the app, with traceparent
// when not empty, and returns the status.
func (bg *benchGateway) doTraced(ctx *fasthttp.RequestCtx, uri, traceparent string) int {
	ctx.Request.Reset()
	ctx.Response.Reset()
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	ctx.Request.SetRequestURI(uri)
	ctx.Request.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+bg.token)
	if traceparent != "" {
		ctx.Request.Header.Set("traceparent", traceparent)
	}
	bg.handler(ctx)
	return ctx.Response.StatusCode()
}
