package fullstack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/secret"
)

const (
	incomingTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingSpanID  = "00f067aa0ba902b7"
	traceparent     = "00-" + incomingTraceID + "-" + incomingSpanID + "-01"
	tracestate      = "congo=t61rcWkgMzE"
	// traceToken is the caller's bearer token: it must reach no span.
	traceToken = "tok-Qw3rTy9Uiop2Asdf7Ghjk"
	// traceUsername is the name checked: it must reach no span either.
	traceUsername = "solveig.haugen"
)

func tracedStart(t *testing.T, up *wiretest.Upstream) (*wiretest.Server, *tracetest.SpanRecorder) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	h := wiretest.Start(t, wiretest.Config(up.URL), wiretest.WithTracer(tp))
	// Registered after Start's cleanup, so it runs first: the gateway has
	// drained before the provider shuts down.
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	h.Secret(traceToken, traceUsername)
	return h, sr
}

func traced(h http.Header) http.Header {
	if h == nil {
		h = http.Header{}
	}
	h.Set("traceparent", traceparent)
	h.Set("tracestate", tracestate)
	return h
}

// byName indexes ended spans by name; a name may occur once.
func byName(t *testing.T, spans []sdktrace.ReadOnlySpan) map[string]sdktrace.ReadOnlySpan {
	t.Helper()
	out := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if _, dup := out[s.Name()]; dup {
			t.Fatalf("span %q ended twice", s.Name())
		}
		out[s.Name()] = s
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

// checkNoSecrets fails when a span's name, attributes, status or events
// hold a token, a run of the API key or a username.
func checkNoSecrets(t *testing.T, spans []sdktrace.ReadOnlySpan, secrets ...string) {
	t.Helper()
	for _, s := range spans {
		text := []string{s.Name(), s.Status().Description}
		for _, kv := range s.Attributes() {
			text = append(text, string(kv.Key)+"="+kv.Value.String())
		}
		for _, e := range s.Events() {
			text = append(text, e.Name)
			for _, kv := range e.Attributes {
				text = append(text, kv.Value.String())
			}
		}
		for _, x := range text {
			if secret.Quotes(x, wiretest.Keys()...) {
				t.Errorf("span %q quotes the API key or the HS256 secret in %q", s.Name(), x)
			}
			for _, f := range secrets {
				if strings.Contains(x, f) {
					t.Errorf("span %q holds %q in %q", s.Name(), f, x)
				}
			}
		}
	}
}

func TestTracingSpansOfACheckUsernameMiss(t *testing.T) {
	up := wiretest.NewUpstream(t, wiretest.Reply(200, `{"username":"`+traceUsername+`","available":true,"message":"Username is available."}`))
	h, sr := tracedStart(t, up)
	a := h.Do(wiretest.Get(contracts.PathCheckUsername+"?username="+traceUsername, traced(wiretest.Bearer(traceToken))))
	if a.Status != 200 {
		t.Fatalf("check-username = %s, want 200", a)
	}
	spans := sr.Ended()
	got := byName(t, spans)
	wantNames := []string{"GET " + contracts.PathCheckUsername, "authenticate", "username cache", "breaker", "GET"}
	if len(spans) != len(wantNames) {
		t.Errorf("%d spans ended, want %d (%v)", len(spans), len(wantNames), wantNames)
	}
	for _, n := range wantNames {
		if got[n] == nil {
			t.Fatalf("no span %q among %v", n, got)
		}
	}
	server, client := got["GET "+contracts.PathCheckUsername], got["GET"]

	// Parents: the caller's span, then server → authenticate, server →
	// username cache → breaker → GET.
	parents := []struct{ child, parent string }{
		{"authenticate", server.Name()},
		{"username cache", server.Name()},
		{"breaker", "username cache"},
		{"GET", "breaker"},
	}
	for _, p := range parents {
		if c, want := got[p.child].Parent().SpanID(), got[p.parent].SpanContext().SpanID(); c != want {
			t.Errorf("parent of %q = %s, want %q's %s", p.child, c, p.parent, want)
		}
	}
	if p := server.Parent(); p.TraceID().String() != incomingTraceID || p.SpanID().String() != incomingSpanID || !p.IsRemote() {
		t.Errorf("server span's parent = %s/%s remote=%v, want the caller's %s/%s", p.TraceID(), p.SpanID(), p.IsRemote(), incomingTraceID, incomingSpanID)
	}
	for _, s := range spans {
		if s.SpanContext().TraceID().String() != incomingTraceID {
			t.Errorf("span %q in trace %s, want %s", s.Name(), s.SpanContext().TraceID(), incomingTraceID)
		}
	}
	if server.SpanKind() != trace.SpanKindServer || client.SpanKind() != trace.SpanKindClient {
		t.Errorf("kinds: server %v, client %v", server.SpanKind(), client.SpanKind())
	}

	// The upstream is called with the trace and the client span's id.
	rec := up.Last()
	wantParent := fmt.Sprintf("00-%s-%s-01", incomingTraceID, client.SpanContext().SpanID())
	if v := rec.Header.Get("traceparent"); v != wantParent {
		t.Errorf("upstream traceparent = %q, want %q", v, wantParent)
	}
	if v := rec.Header.Get("tracestate"); v != tracestate {
		t.Errorf("upstream tracestate = %q, want %q", v, tracestate)
	}

	u, _ := url.Parse(up.URL)
	attrTests := []struct {
		span string
		key  attribute.Key
		want string
	}{
		{server.Name(), "http.request.method", "GET"},
		{server.Name(), "http.route", contracts.PathCheckUsername},
		{server.Name(), "http.response.status_code", "200"},
		{server.Name(), "url.scheme", "http"},
		{"username cache", "minbil.cache.hit", "false"},
		{"breaker", "minbil.operation", contracts.OpCheckUsername},
		{"breaker", "minbil.breaker.state", "closed"},
		{"GET", "http.request.method", "GET"},
		{"GET", "server.address", u.Hostname()},
		{"GET", "server.port", u.Port()},
		{"GET", "url.scheme", "http"},
		{"GET", "url.path", contracts.PathCheckUsername},
		{"GET", "http.response.status_code", "200"},
	}
	for _, tt := range attrTests {
		v, ok := attrs(got[tt.span])[tt.key]
		if !ok || v.String() != tt.want {
			t.Errorf("span %q attribute %s = %q (set %v), want %q", tt.span, tt.key, v.String(), ok, tt.want)
		}
	}
	checkNoSecrets(t, spans, traceToken, traceUsername)

	// The access line leads to the server span.
	lines := h.AccessLines()
	if len(lines) != 1 {
		t.Fatalf("%d access lines, want 1", len(lines))
	}
	fields := lines[0].ContextMap()
	if fields["trace_id"] != incomingTraceID || fields["span_id"] != server.SpanContext().SpanID().String() {
		t.Errorf("access line trace_id, span_id = %v, %v; want %s, %s", fields["trace_id"], fields["span_id"], incomingTraceID, server.SpanContext().SpanID())
	}

	// A second check is answered by the cache: no upstream call, no breaker.
	sr.Reset()
	h.Do(wiretest.Get(contracts.PathCheckUsername+"?username="+traceUsername, wiretest.Bearer(traceToken)))
	got = byName(t, sr.Ended())
	if got["breaker"] != nil || got["GET"] != nil {
		t.Errorf("a cache hit made spans %v, want no breaker or upstream span", got)
	}
	if v := attrs(got["username cache"])["minbil.cache.hit"]; v.String() != "true" {
		t.Errorf("cache hit span's minbil.cache.hit = %q, want true", v.String())
	}
}

func TestTracingRouteIsTheTemplate(t *testing.T) {
	up := wiretest.NewUpstream(t, wiretest.Reply(201, `{"data":{"booking_id":48213,"service_rating":5},"meta":{"request_id":"x","generated_at":"2026-02-12T10:00:00Z"}}`))
	h, sr := tracedStart(t, up)
	a := h.Do(wiretest.Post(contracts.RatePath(48213), traced(wiretest.JSONHeader(wiretest.Bearer(traceToken))), `{"service_rating":5,"service_rating_message":"Bra","private_service_rating":true}`))
	if a.Status != 200 {
		t.Fatalf("rate = %s, want 200", a)
	}
	spans := sr.Ended()
	got := byName(t, spans)
	route := "/api/co/rating/rate/:booking_id"
	server := got["POST "+route]
	if server == nil {
		t.Fatalf("no server span named by the route template among %v", got)
	}
	if v := attrs(server)["http.route"]; v.String() != route {
		t.Errorf("http.route = %q, want %q", v.String(), route)
	}
	for _, s := range spans {
		if s.SpanKind() != trace.SpanKindClient && strings.Contains(fmt.Sprint(s.Name(), s.Attributes()), "48213") {
			t.Errorf("span %q names the booking id: %v", s.Name(), s.Attributes())
		}
	}
	checkNoSecrets(t, spans, traceToken)
}

func TestTracingFailuresAndOpenBreaker(t *testing.T) {
	up := wiretest.NewUpstream(t, wiretest.Reply(500, `{}`))
	h, sr := tracedStart(t, up)
	// wiretest.Config's breaker opens after 3 failures.
	for range 3 {
		sr.Reset()
		if a := h.Do(wiretest.Get(contracts.PathRatings, traced(nil))); a.Status != 502 {
			t.Fatalf("list = %s, want 502", a)
		}
	}
	failed := byName(t, sr.Ended())
	if s := failed["GET"]; s.Status().Code != codes.Error || attrs(s)["error.type"].String() != "500" {
		t.Errorf("upstream span status %v, error.type %q; want error, 500", s.Status(), attrs(s)["error.type"].String())
	}
	if s := failed["GET "+contracts.PathRatings]; s.Status().Code != codes.Error || attrs(s)["http.response.status_code"].String() != "502" {
		t.Errorf("server span status %v, status code %q; want error, 502", s.Status(), attrs(s)["http.response.status_code"].String())
	}

	sr.Reset()
	if a := h.Do(wiretest.Get(contracts.PathRatings, traced(nil))); a.Status != 503 {
		t.Fatalf("list with the breaker open = %s, want 503", a)
	}
	got := byName(t, sr.Ended())
	if got["GET"] != nil {
		t.Errorf("an open breaker still made an upstream span")
	}
	if s := got["breaker"]; s == nil || s.Status().Code != codes.Error || attrs(s)["error.type"].String() != "breaker_open" {
		t.Errorf("breaker span = %v, want an error with error.type breaker_open", s)
	}
}

// Without a tracer provider (no exporter configured) the gateway only
// propagates: an incoming trace reaches the upstream under a fresh span id;
// a request without one (or with a broken one) starts a trace, not sampled
// (R3-T5).
func TestTraceparentPropagatedWithoutTracer(t *testing.T) {
	up := wiretest.NewUpstream(t, wiretest.Reply(200, wiretest.ListBody))
	h := wiretest.Start(t, wiretest.Config(up.URL))
	tests := []struct {
		name          string
		header        http.Header
		wantTraceID   string // "": a new trace, started by the gateway
		wantFlags     string
		wantStateSent string
	}{
		{name: "sampled with state", header: traced(nil), wantTraceID: incomingTraceID, wantFlags: "01", wantStateSent: tracestate},
		{name: "not sampled", header: http.Header{"Traceparent": {"00-" + incomingTraceID + "-" + incomingSpanID + "-00"}}, wantTraceID: incomingTraceID, wantFlags: "00"},
		{name: "none", header: http.Header{}, wantFlags: "00"},
		{name: "malformed", header: http.Header{"Traceparent": {"00-" + incomingTraceID + "-" + incomingSpanID}}, wantFlags: "00"},
		{name: "zero trace id", header: http.Header{"Traceparent": {"00-00000000000000000000000000000000-" + incomingSpanID + "-01"}}, wantFlags: "00"},
		{name: "state without a parent", header: http.Header{"Tracestate": {tracestate}}, wantFlags: "00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.AccessLines())
			if a := h.Do(wiretest.Get(contracts.PathRatings, tt.header)); a.Status != 200 {
				t.Fatalf("list = %s, want 200", a)
			}
			rec := up.Last()
			sent := rec.Header.Get("traceparent")
			line := h.AccessLines()[before].ContextMap()
			sc, ok := parseTraceparent(sent)
			if !ok {
				t.Fatalf("upstream traceparent = %q, want a valid one", sent)
			}
			wantTraceID := tt.wantTraceID
			if wantTraceID == "" {
				wantTraceID = sc.TraceID().String()
				if wantTraceID == incomingTraceID {
					t.Errorf("upstream trace id = %s, want a new one", wantTraceID)
				}
			}
			parts := strings.Split(sent, "-")
			if parts[0] != "00" || parts[1] != wantTraceID || parts[3] != tt.wantFlags {
				t.Fatalf("upstream traceparent = %q, want trace %s flags %s", sent, wantTraceID, tt.wantFlags)
			}
			if parts[2] == incomingSpanID {
				t.Errorf("upstream traceparent span id = %s, want a fresh one", parts[2])
			}
			if v := rec.Header.Get("tracestate"); v != tt.wantStateSent {
				t.Errorf("upstream tracestate = %q, want %q", v, tt.wantStateSent)
			}
			if line["trace_id"] != wantTraceID || line["span_id"] != parts[2] {
				t.Errorf("access line trace_id, span_id = %v, %v; want %s, %s", line["trace_id"], line["span_id"], wantTraceID, parts[2])
			}
		})
	}
}

// TestR3T5TraceStartedWithoutTraceparent: without an exporter, every
// request that comes without a traceparent starts a trace of its own: the
// counting upstream receives one valid traceparent per request, each with
// another trace id, not sampled, and each access line names that trace.
func TestR3T5TraceStartedWithoutTraceparent(t *testing.T) {
	up := wiretest.NewUpstream(t, wiretest.Reply(200, wiretest.ListBody))
	h := wiretest.Start(t, wiretest.Config(up.URL))
	const n = 3
	for range n {
		if a := h.Do(wiretest.Get(contracts.PathRatings, nil)); a.Status != 200 {
			t.Fatalf("list = %s, want 200", a)
		}
	}
	recs, lines := up.Records(), h.AccessLines()
	if len(recs) != n || len(lines) != n {
		t.Fatalf("upstream got %d requests, %d access lines; want %d of each", len(recs), len(lines), n)
	}
	seen := map[trace.TraceID]bool{}
	for i, rec := range recs {
		sent := rec.Header.Get("traceparent")
		sc, ok := parseTraceparent(sent)
		if !ok || sc.IsSampled() {
			t.Fatalf("request %d: upstream traceparent %q, want a valid one, not sampled", i, sent)
		}
		if seen[sc.TraceID()] {
			t.Errorf("request %d: trace id %s repeated, want one trace per request", i, sc.TraceID())
		}
		seen[sc.TraceID()] = true
		line := lines[i].ContextMap()
		if line["trace_id"] != sc.TraceID().String() || line["span_id"] != sc.SpanID().String() {
			t.Errorf("request %d: access line trace_id, span_id = %v, %v; want %s, %s",
				i, line["trace_id"], line["span_id"], sc.TraceID(), sc.SpanID())
		}
	}
}

// parseTraceparent reads a traceparent as W3C Trace Context does.
func parseTraceparent(v string) (trace.SpanContext, bool) {
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": v})
	sc := trace.SpanContextFromContext(ctx)
	return sc, sc.IsValid()
}

// With a tracer, a request without a traceparent starts a trace.
func TestTracingStartsATrace(t *testing.T) {
	up := wiretest.NewUpstream(t, wiretest.Reply(200, wiretest.ListBody))
	h, sr := tracedStart(t, up)
	h.Do(wiretest.Get(contracts.PathRatings, nil))
	got := byName(t, sr.Ended())
	server, client := got["GET "+contracts.PathRatings], got["GET"]
	if server == nil || client == nil {
		t.Fatalf("spans %v, want a server and an upstream span", got)
	}
	if server.Parent().IsValid() {
		t.Errorf("server span has parent %v, want a new trace", server.Parent())
	}
	want := fmt.Sprintf("00-%s-%s-01", server.SpanContext().TraceID(), client.SpanContext().SpanID())
	if v := up.Last().Header.Get("traceparent"); v != want {
		t.Errorf("upstream traceparent = %q, want %q", v, want)
	}
}
