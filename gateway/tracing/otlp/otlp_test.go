package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	// The collector's service package links gRPC: tests may decode with
	// it, production must not import it.
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// received is one request a collector got.
type received struct {
	method, path string
	header       http.Header
	body         []byte // decompressed
	export       *coltracepb.ExportTraceServiceRequest
}

// collector is an OTLP/HTTP trace receiver on 127.0.0.1 that answers each
// request with the next of its answers (the last one repeats) and decodes
// every body with the official collector message.
type collector struct {
	*httptest.Server
	mu       sync.Mutex
	answers  []answer
	requests []received
}

// answer is what the collector says to one request; hang waits for the
// request's context to end first.
type answer struct {
	status     int
	retryAfter string
	location   string
	body       []byte
	hang       bool
}

func newCollector(t *testing.T, answers ...answer) *collector {
	t.Helper()
	c := &collector{answers: answers}
	c.Server = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) serve(w http.ResponseWriter, r *http.Request) {
	rec := received{method: r.Method, path: r.URL.Path, header: r.Header.Clone()}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	rec.body, _ = io.ReadAll(body)
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(rec.body, &req); err == nil {
		rec.export = &req
	}
	c.mu.Lock()
	c.requests = append(c.requests, rec)
	a := answer{status: http.StatusOK}
	if n := len(c.requests); len(c.answers) > 0 {
		a = c.answers[min(n, len(c.answers))-1]
	}
	c.mu.Unlock()
	if a.hang {
		<-r.Context().Done()
		return
	}
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	if a.location != "" {
		w.Header().Set("Location", a.location)
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

func (c *collector) received() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.requests...)
}

// testClient is a client toward url whose waits are recorded instead of
// slept and whose backoff has no jitter.
func testClient(t *testing.T, cfg Config) (*client, *[]time.Duration) {
	t.Helper()
	c := newClient(cfg)
	var waits []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	c.jitter = func(d time.Duration) time.Duration { return d }
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c, &waits
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// someSpans are one resource's spans, for the tests that look at the
// transport rather than the content.
func someSpans() []*tracepb.ResourceSpans {
	return []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
		TraceId: bytes.Repeat([]byte{1}, 16), SpanId: bytes.Repeat([]byte{2}, 8), Name: "GET",
	}}}}}}
}

// Spans made through the SDK with the batch span processor reach the
// collector as the official ExportTraceServiceRequest: names, ids, parent
// ids, kinds, attributes, status, events, the resource and the scope, in a
// protobuf POST to the configured path with the configured headers.
func TestExportsSpansTheCollectorDecodes(t *testing.T) {
	col := newCollector(t)
	exp, err := New(context.Background(), Config{
		URL:     mustURL(t, col.URL+"/v1/traces"),
		Headers: http.Header{"Api-Key": {"s3cret"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "minbil-bff-test"), attribute.String("deployment.environment.name", "test"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	tracer := tp.Tracer("github.com/minbil/minbil-bff/gateway", trace.WithInstrumentationVersion("1.2.3"))
	ctx, server := tracer.Start(context.Background(), "GET /api/co/rating", trace.WithSpanKind(trace.SpanKindServer))
	_, call := tracer.Start(ctx, "GET", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("server.address", "upstream.example"),
		attribute.Int("http.response.status_code", 503),
		attribute.Bool("minbil.cache.hit", false),
	))
	call.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
	call.SetStatus(codes.Error, "upstream_unavailable")
	call.End()
	server.End()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}

	got := col.received()
	if len(got) != 1 {
		t.Fatalf("collector got %d requests, want 1", len(got))
	}
	r := got[0]
	for _, c := range []struct{ what, got, want string }{
		{"method", r.method, http.MethodPost},
		{"path", r.path, "/v1/traces"},
		{"Content-Type", r.header.Get("Content-Type"), "application/x-protobuf"},
		{"Api-Key", r.header.Get("Api-Key"), "s3cret"},
		{"User-Agent", r.header.Get("User-Agent"), userAgent},
		{"Content-Encoding", r.header.Get("Content-Encoding"), ""},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if r.export == nil || len(r.export.ResourceSpans) != 1 || len(r.export.ResourceSpans[0].ScopeSpans) != 1 {
		t.Fatalf("export = %v, want one resource with one scope", r.export)
	}
	rs := r.export.ResourceSpans[0]
	if got := attrs(rs.GetResource().GetAttributes()); got["service.name"] != "minbil-bff-test" || got["deployment.environment.name"] != "test" {
		t.Errorf("resource attributes = %v, want service.name and deployment.environment.name", got)
	}
	scope := rs.ScopeSpans[0].GetScope()
	if scope.GetName() != "github.com/minbil/minbil-bff/gateway" || scope.GetVersion() != "1.2.3" {
		t.Errorf("scope = %s %s, want github.com/minbil/minbil-bff/gateway 1.2.3", scope.GetName(), scope.GetVersion())
	}
	spans := map[string]*tracepb.Span{}
	for _, s := range rs.ScopeSpans[0].Spans {
		spans[s.Name] = s
	}
	tests := []struct {
		name       string
		sc         trace.SpanContext
		wantParent []byte
		wantKind   tracepb.Span_SpanKind
		wantAttrs  map[string]any
		wantStatus *tracepb.Status
		wantEvents []string
	}{
		{
			name: "GET /api/co/rating", sc: server.SpanContext(), wantParent: nil,
			wantKind: tracepb.Span_SPAN_KIND_SERVER, wantAttrs: map[string]any{},
			wantStatus: &tracepb.Status{},
		},
		{
			name: "GET", sc: call.SpanContext(), wantParent: spanID(server.SpanContext()),
			wantKind:   tracepb.Span_SPAN_KIND_CLIENT,
			wantAttrs:  map[string]any{"server.address": "upstream.example", "http.response.status_code": int64(503), "minbil.cache.hit": false},
			wantStatus: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "upstream_unavailable"},
			wantEvents: []string{"retry map[attempt:2]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spans[tt.name]
			if s == nil {
				t.Fatalf("no span %q in %v", tt.name, spans)
			}
			if got, want := hex.EncodeToString(s.TraceId), tt.sc.TraceID().String(); got != want {
				t.Errorf("trace id = %s, want %s", got, want)
			}
			if got, want := hex.EncodeToString(s.SpanId), tt.sc.SpanID().String(); got != want {
				t.Errorf("span id = %s, want %s", got, want)
			}
			if !bytes.Equal(s.ParentSpanId, tt.wantParent) {
				t.Errorf("parent span id = %x, want %x", s.ParentSpanId, tt.wantParent)
			}
			if s.Kind != tt.wantKind {
				t.Errorf("kind = %v, want %v", s.Kind, tt.wantKind)
			}
			if got := attrs(s.Attributes); !equalAttrs(got, tt.wantAttrs) {
				t.Errorf("attributes = %v, want %v", got, tt.wantAttrs)
			}
			if !proto.Equal(s.Status, tt.wantStatus) {
				t.Errorf("status = %v, want %v", s.Status, tt.wantStatus)
			}
			var events []string
			for _, e := range s.Events {
				events = append(events, e.Name+" "+fmt.Sprint(attrs(e.Attributes)))
			}
			if strings.Join(events, "|") != strings.Join(tt.wantEvents, "|") {
				t.Errorf("events = %q, want %q", events, tt.wantEvents)
			}
			if s.StartTimeUnixNano == 0 || s.EndTimeUnixNano < s.StartTimeUnixNano {
				t.Errorf("times = %d..%d, want a start and an end after it", s.StartTimeUnixNano, s.EndTimeUnixNano)
			}
		})
	}
}

func spanID(sc trace.SpanContext) []byte {
	id := sc.SpanID()
	return id[:]
}

// attrs flattens OTLP attributes of scalar types.
func attrs(kvs []*commonpb.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = v.IntValue
		case *commonpb.AnyValue_BoolValue:
			m[kv.Key] = v.BoolValue
		case *commonpb.AnyValue_DoubleValue:
			m[kv.Key] = v.DoubleValue
		default:
			m[kv.Key] = kv.GetValue().String()
		}
	}
	return m
}

func equalAttrs(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// With Gzip the body is gzipped and says so, and decodes to what was sent.
func TestGzip(t *testing.T) {
	col := newCollector(t)
	c, _ := testClient(t, Config{URL: mustURL(t, col.URL+"/v1/traces"), Gzip: true})
	if err := c.UploadTraces(context.Background(), someSpans()); err != nil {
		t.Fatalf("UploadTraces: %v", err)
	}
	got := col.received()
	if len(got) != 1 || got[0].header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("requests = %d, Content-Encoding %q; want one, gzip", len(got), got[0].header.Get("Content-Encoding"))
	}
	if got[0].export == nil || !proto.Equal(got[0].export, &coltracepb.ExportTraceServiceRequest{ResourceSpans: someSpans()}) {
		t.Errorf("decoded export = %v, want %v", got[0].export, someSpans())
	}
}

// The specification's retryable answers (429, 502, 503, 504) are retried
// with a growing backoff or after Retry-After, at most maxAttempts times
// and never past the export's deadline; every other answer is final.
func TestRetry(t *testing.T) {
	tests := []struct {
		name         string
		answers      []answer
		wantRequests int
		wantWaits    []time.Duration
		wantStatus   int // of the error; 0: none
	}{
		{name: "503 then 200", answers: []answer{{status: 503}, {status: 200}}, wantRequests: 2, wantWaits: []time.Duration{firstBackoff}},
		{name: "429 with Retry-After", answers: []answer{{status: 429, retryAfter: "7"}, {status: 200}}, wantRequests: 2, wantWaits: []time.Duration{7 * time.Second}},
		{name: "502 504 then 200", answers: []answer{{status: 502}, {status: 504}, {status: 200}}, wantRequests: 3, wantWaits: []time.Duration{firstBackoff, 2 * firstBackoff}},
		{name: "400 is final", answers: []answer{{status: 400}, {status: 200}}, wantRequests: 1, wantStatus: 400},
		{name: "500 is final", answers: []answer{{status: 500}, {status: 200}}, wantRequests: 1, wantStatus: 500},
		{name: "503 every time", answers: []answer{{status: 503}}, wantRequests: maxAttempts, wantWaits: []time.Duration{firstBackoff, 2 * firstBackoff, 4 * firstBackoff, 8 * firstBackoff}, wantStatus: 503},
		{name: "Retry-After past the deadline", answers: []answer{{status: 503, retryAfter: "3600"}, {status: 200}}, wantRequests: 1, wantStatus: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			col := newCollector(t, tt.answers...)
			c, waits := testClient(t, Config{URL: mustURL(t, col.URL+"/v1/traces")})
			err := c.UploadTraces(context.Background(), someSpans())
			var se *statusError
			switch {
			case tt.wantStatus == 0 && err != nil:
				t.Fatalf("UploadTraces: %v, want success", err)
			case tt.wantStatus != 0 && (!errors.As(err, &se) || se.Code != tt.wantStatus):
				t.Fatalf("UploadTraces = %v, want a %d", err, tt.wantStatus)
			}
			if got := len(col.received()); got != tt.wantRequests {
				t.Errorf("requests = %d, want %d", got, tt.wantRequests)
			}
			if !equalDurations(*waits, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", *waits, tt.wantWaits)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A redirect is not followed: it would carry the headers, secrets among
// them, to wherever it points.
func TestRedirectNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			elsewhere := newCollector(t)
			col := newCollector(t, answer{status: status, location: elsewhere.URL + "/v1/traces"})
			c, _ := testClient(t, Config{URL: mustURL(t, col.URL+"/v1/traces"), Headers: http.Header{"Api-Key": {"s3cret"}}})
			err := c.UploadTraces(context.Background(), someSpans())
			var se *statusError
			if !errors.As(err, &se) || se.Code != status {
				t.Fatalf("UploadTraces = %v, want a %d", err, status)
			}
			if got := len(elsewhere.received()); got != 0 {
				t.Errorf("the redirect's target got %d requests, want 0", got)
			}
		})
	}
}

// A collector that never answers holds an export no longer than the
// configured timeout; a stopped exporter gives up its running exports.
func TestDeadlines(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		stop    bool
		wantErr error
	}{
		{name: "timeout", timeout: 50 * time.Millisecond, wantErr: context.DeadlineExceeded},
		{name: "stop", timeout: time.Hour, stop: true, wantErr: errStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			col := newCollector(t, answer{hang: true})
			c, _ := testClient(t, Config{URL: mustURL(t, col.URL+"/v1/traces"), Timeout: tt.timeout})
			done := make(chan error, 1)
			go func() { done <- c.UploadTraces(context.Background(), someSpans()) }()
			if tt.stop {
				waitForRequest(t, col)
				_ = c.Stop(context.Background())
			}
			err := <-done
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("UploadTraces = %v, want %v", err, tt.wantErr)
			}
			if got := len(col.received()); got != 1 {
				t.Errorf("requests = %d, want 1 (a timeout is not retried)", got)
			}
		})
	}
}

func waitForRequest(t *testing.T, col *collector) {
	t.Helper()
	for len(col.received()) == 0 {
		time.Sleep(time.Millisecond)
	}
}

// A connection refused (a collector restarting) is retried.
func TestRetriesARefusedConnection(t *testing.T) {
	col := newCollector(t)
	u := mustURL(t, col.URL+"/v1/traces")
	col.Close()
	c, waits := testClient(t, Config{URL: u})
	if err := c.UploadTraces(context.Background(), someSpans()); err == nil {
		t.Fatal("UploadTraces to a closed port succeeded")
	}
	if len(*waits) != maxAttempts-1 {
		t.Errorf("waits = %v, want %d retries", *waits, maxAttempts-1)
	}
}

// A 2xx whose ExportTraceServiceResponse reports rejected spans is an
// error naming how many; an empty or unreadable one is success.
func TestPartialSuccess(t *testing.T) {
	partial, err := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{
		RejectedSpans: 2, ErrorMessage: "span too large",
	}})
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	tests := []struct {
		name         string
		body         []byte
		wantRejected int64
		wantMessage  string
	}{
		{name: "rejected spans", body: partial, wantRejected: 2, wantMessage: "span too large"},
		{name: "empty answer", body: empty},
		{name: "garbage", body: []byte{0xff, 0xff, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			col := newCollector(t, answer{status: 200, body: tt.body})
			c, _ := testClient(t, Config{URL: mustURL(t, col.URL+"/v1/traces")})
			err := c.UploadTraces(context.Background(), someSpans())
			var pe *partialSuccessError
			if tt.wantRejected == 0 {
				if err != nil {
					t.Fatalf("UploadTraces = %v, want success", err)
				}
				return
			}
			if !errors.As(err, &pe) || pe.Rejected != tt.wantRejected || pe.Message != tt.wantMessage {
				t.Fatalf("UploadTraces = %v, want %d rejected: %q", err, tt.wantRejected, tt.wantMessage)
			}
		})
	}
}

// Errors of a failed export name neither the header values nor the
// endpoint's query or credentials.
func TestErrorsHoldNoSecrets(t *testing.T) {
	col := newCollector(t, answer{status: 401})
	u := mustURL(t, col.URL+"/v1/traces?token=qu3ry")
	u.User = url.UserPassword("user", "pa55")
	c, _ := testClient(t, Config{URL: u, Headers: http.Header{"Authorization": {"Bearer s3cret"}}})
	err := c.UploadTraces(context.Background(), someSpans())
	if err == nil {
		t.Fatal("UploadTraces answered 401 succeeded")
	}
	closed := newCollector(t)
	cu := mustURL(t, closed.URL+"/v1/traces?token=qu3ry")
	closed.Close()
	c2, _ := testClient(t, Config{URL: cu, Headers: http.Header{"Authorization": {"Bearer s3cret"}}})
	err2 := c2.UploadTraces(context.Background(), someSpans())
	for _, e := range []error{err, err2} {
		for _, secret := range []string{"s3cret", "qu3ry", "pa55"} {
			if e == nil || strings.Contains(e.Error(), secret) {
				t.Errorf("error %q holds %q", e, secret)
			}
		}
	}
}
