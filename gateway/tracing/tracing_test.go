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
// span context of its own, and one that carries none (or a broken one)
// nothing; Inject then writes the new span id.
func TestPropagationOnly(t *testing.T) {
	tests := []struct {
		name        string
		traceparent string
		tracestate  string
		wantValid   bool
		wantFlags   trace.TraceFlags
	}{
		{name: "sampled", traceparent: "00-" + traceID + "-" + spanID + "-01", tracestate: "congo=t61rcWkgMzE", wantValid: true, wantFlags: trace.FlagsSampled},
		{name: "not sampled", traceparent: "00-" + traceID + "-" + spanID + "-00", wantValid: true},
		{name: "absent"},
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
			var out fasthttp.RequestHeader
			tr.Inject(ctx, &out)
			sent := string(out.Peek("traceparent"))
			if !tt.wantValid {
				if sc.IsValid() || sent != "" {
					t.Fatalf("Request(%q) = %v, sent %q; want no trace", tt.traceparent, sc, sent)
				}
				return
			}
			if sc.TraceID().String() != traceID || sc.SpanID().String() == spanID || !sc.SpanID().IsValid() || sc.IsRemote() || sc.TraceFlags() != tt.wantFlags {
				t.Fatalf("Request(%q) = %s/%s remote=%v flags=%v, want trace %s, a fresh local span id, flags %v",
					tt.traceparent, sc.TraceID(), sc.SpanID(), sc.IsRemote(), sc.TraceFlags(), traceID, tt.wantFlags)
			}
			want := "00-" + traceID + "-" + sc.SpanID().String() + "-" + tt.traceparent[len(tt.traceparent)-2:]
			if sent != want {
				t.Errorf("Inject wrote traceparent %q, want %q", sent, want)
			}
			if got := string(out.Peek("tracestate")); got != tt.tracestate {
				t.Errorf("Inject wrote tracestate %q, want %q", got, tt.tracestate)
			}
		})
	}
}

// Without a tracer, neither a request without a trace nor an inner span
// allocates.
func TestPropagationOnlyAllocatesNothingWithoutATrace(t *testing.T) {
	tr := New(nil, nil)
	var in, out fasthttp.RequestHeader
	allocs := testing.AllocsPerRun(100, func() {
		ctx, span := tr.Request(&in, "GET")
		ctx, inner := tr.Start(ctx, "authenticate", trace.SpanKindInternal)
		End(inner, "")
		tr.Inject(ctx, &out)
		End(span, "")
	})
	if allocs != 0 {
		t.Errorf("propagation only, no traceparent: %v allocations per request, want 0", allocs)
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
