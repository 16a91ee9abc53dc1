package tracing

import (
	"context"
	"testing"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

const (
	traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	spanID  = "00f067aa0ba902b7"
)

// Without a tracer, Request gives a request that carries a valid trace a
// span context of its own; one that carries none (or a broken one) starts
// a new trace, not sampled; Inject then writes the new span id.
func TestPropagationOnly(t *testing.T) {
	tests := []struct {
		name        string
		traceparent string
		tracestate  string
		wantTraceID string // "": a new one
		wantFlags   trace.TraceFlags
		wantState   string
	}{
		{name: "sampled", traceparent: "00-" + traceID + "-" + spanID + "-01", tracestate: "congo=t61rcWkgMzE", wantTraceID: traceID, wantFlags: trace.FlagsSampled, wantState: "congo=t61rcWkgMzE"},
		{name: "not sampled", traceparent: "00-" + traceID + "-" + spanID + "-00", wantTraceID: traceID},
		{name: "absent"},
		{name: "absent with a tracestate", tracestate: "congo=t61rcWkgMzE"},
		{name: "upper case hex", traceparent: "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + spanID + "-01"},
		{name: "zero span id", traceparent: "00-" + traceID + "-0000000000000000-01"},
		{name: "version ff", traceparent: "ff-" + traceID + "-" + spanID + "-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in fasthttp.RequestHeader
			if tt.traceparent != "" {
				in.Set("traceparent", tt.traceparent)
			}
			if tt.tracestate != "" {
				in.Set("tracestate", tt.tracestate)
			}
			tr := New(nil, nil)
			ctx, span := tr.Request(&in, "GET")
			if span.IsRecording() {
				t.Error("propagation-only span is recording")
			}
			sc := trace.SpanContextFromContext(ctx)
			wantTraceID := tt.wantTraceID
			if wantTraceID == "" {
				wantTraceID = sc.TraceID().String()
				if wantTraceID == traceID || !sc.TraceID().IsValid() {
					t.Errorf("Request(%q) trace id = %s, want a new valid one", tt.traceparent, wantTraceID)
				}
			}
			if sc.TraceID().String() != wantTraceID || sc.SpanID().String() == spanID || !sc.SpanID().IsValid() || sc.IsRemote() || sc.TraceFlags() != tt.wantFlags {
				t.Fatalf("Request(%q) = %s/%s remote=%v flags=%v, want trace %s, a fresh local span id, flags %v",
					tt.traceparent, sc.TraceID(), sc.SpanID(), sc.IsRemote(), sc.TraceFlags(), wantTraceID, tt.wantFlags)
			}
			var out fasthttp.RequestHeader
			tr.Inject(ctx, &out)
			want := "00-" + wantTraceID + "-" + sc.SpanID().String() + "-" + tt.wantFlags.String()
			if got := string(out.Peek("traceparent")); got != want {
				t.Errorf("Inject wrote traceparent %q, want %q", got, want)
			}
			if got := string(out.Peek("tracestate")); got != tt.wantState {
				t.Errorf("Inject wrote tracestate %q, want %q", got, tt.wantState)
			}
		})
	}
}

// Without a tracer, an inner span allocates nothing, with or without a
// trace: the gateway's own spans cost nothing when nothing records them.
func TestPropagationOnlyInnerSpansAllocateNothing(t *testing.T) {
	tr := New(nil, nil)
	var in fasthttp.RequestHeader
	ctx, span := tr.Request(&in, "GET")
	allocs := testing.AllocsPerRun(100, func() {
		_, inner := tr.Start(ctx, "authenticate", trace.SpanKindInternal)
		End(inner, "")
	})
	End(span, "")
	if allocs != 0 {
		t.Errorf("propagation only: %v allocations per inner span, want 0", allocs)
	}
}

// BenchmarkRequest is the cost of Request without a tracer: continuing a
// caller's trace, and starting one for a request that carries none.
func BenchmarkRequest(b *testing.B) {
	for _, tt := range []struct{ name, traceparent string }{
		{"continue", "00-" + traceID + "-" + spanID + "-01"},
		{"start", ""},
	} {
		b.Run(tt.name, func(b *testing.B) {
			var in fasthttp.RequestHeader
			if tt.traceparent != "" {
				in.Set("traceparent", tt.traceparent)
			}
			tr := New(nil, nil)
			b.ReportAllocs()
			for b.Loop() {
				ctx, span := tr.Request(&in, "GET")
				if !trace.SpanContextFromContext(ctx).IsValid() {
					b.Fatal("no trace")
				}
				End(span, "")
			}
		})
	}
}

func TestNoPropagator(t *testing.T) {
	var in fasthttp.RequestHeader
	in.Set("traceparent", "00-"+traceID+"-"+spanID+"-01")
	tr := New(nil, propagation.NewCompositeTextMapPropagator())
	ctx, _ := tr.Request(&in, "GET")
	if trace.SpanContextFromContext(ctx).IsValid() {
		t.Error("an empty propagator read the traceparent")
	}
	var out fasthttp.RequestHeader
	tr.Inject(trace.ContextWithSpanContext(context.Background(), trace.SpanContextFromContext(ctx)), &out)
	if v := out.Peek("traceparent"); len(v) != 0 {
		t.Errorf("an empty propagator wrote traceparent %q", v)
	}
}

func TestHeaderCarrier(t *testing.T) {
	var h fasthttp.RequestHeader
	c := (*Header)(&h)
	c.Set("traceparent", "a")
	c.Set("tracestate", "b")
	if c.Get("Traceparent") != "a" || c.Get("tracestate") != "b" || c.Get("baggage") != "" {
		t.Errorf("Get = %q, %q, %q", c.Get("Traceparent"), c.Get("tracestate"), c.Get("baggage"))
	}
	if keys := c.Keys(); len(keys) != 2 {
		t.Errorf("Keys() = %v, want 2", keys)
	}
}

func TestNewTraceID(t *testing.T) {
	seen := map[trace.TraceID]bool{}
	for range 1000 {
		id := NewTraceID()
		if !id.IsValid() || seen[id] {
			t.Fatalf("NewTraceID() = %s: invalid or repeated", id)
		}
		seen[id] = true
	}
}

func TestNewSpanID(t *testing.T) {
	seen := map[trace.SpanID]bool{}
	for range 1000 {
		id := NewSpanID()
		if !id.IsValid() || seen[id] {
			t.Fatalf("NewSpanID() = %s: invalid or repeated", id)
		}
		seen[id] = true
	}
}
