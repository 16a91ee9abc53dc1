package upstream

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/minbil/minbil-bff/gateway/config"
)

// TestEveryHeaderSetIsReserved keeps config.ReservedHeaders, the one list
// of headers upstream.api_key_header may not name (R3-F17), true to what
// the client sends: with every option of a Request set and a trace in the
// context, every header the upstream receives is reserved, but the API
// key's own.
func TestEveryHeaderSetIsReserved(t *testing.T) {
	f := newFake(t, okJSON)
	c, _ := newClient(t, f.URL)
	state, err := trace.ParseTraceState("vendor=value")
	if err != nil {
		t.Fatal(err)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled,
		TraceState: state,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	_, err = c.Do(ctx, Request{
		Operation: "rateBooking", Method: "POST", Path: "/api/co/rating/rate/1",
		BearerToken: "tok", RequestID: "rid-1", IdempotencyKey: "idem-1",
		Body: []byte(`{"service_rating":5}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := f.last()
	sent := []string{"Host"} // net/http moves Host out of Header
	for name := range got.Header {
		sent = append(sent, name)
	}
	keyHeader := config.Default().Upstream.APIKeyHeader
	for _, want := range []string{"traceparent", "tracestate", "Idempotency-Key"} {
		if !slices.ContainsFunc(sent, func(h string) bool { return strings.EqualFold(h, want) }) {
			t.Fatalf("the upstream got no %s, so this test does not see every header: %v", want, sent)
		}
	}
	for _, name := range sent {
		if strings.EqualFold(name, keyHeader) {
			continue
		}
		if !slices.ContainsFunc(config.ReservedHeaders(), func(h string) bool { return strings.EqualFold(h, name) }) {
			t.Errorf("the client sets %s, which config.ReservedHeaders does not list", name)
		}
	}
}
