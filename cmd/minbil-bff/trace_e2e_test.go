package main

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver on 127.0.0.1: it decodes
// every POST /v1/traces and keeps the requests and their content types.
type otlpReceiver struct {
	*httptest.Server
	mu           sync.Mutex
	requests     []*coltracepb.ExportTraceServiceRequest
	contentTypes []string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rcv.mu.Lock()
		rcv.requests = append(rcv.requests, &req)
		rcv.contentTypes = append(rcv.contentTypes, r.Header.Get("Content-Type"))
		rcv.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

// The real binary, told by the standard OTEL_* variables only, exports
// the spans of a request over OTLP/HTTP, continuing the caller's trace,
// and flushes them when it stops.
func TestTracesExportedOverOTLP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	rcv := newOTLPReceiver(t)
	addr := freeAddr(t)
	p := startUnmanaged(t, addr, []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + rcv.URL,
		"OTEL_SERVICE_NAME=minbil-bff-e2e",
		// Far beyond the test: only the shutdown's flush can send them.
		"OTEL_BSP_SCHEDULE_DELAY=600000",
	}, "serve", "--addr", addr)

	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/co/rating", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/co/rating = %d, want 200", resp.StatusCode)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(20 * time.Second); err != nil {
		t.Fatalf("after SIGTERM: %v; output:\n%s", err, p.out)
	}

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.requests) == 0 {
		t.Fatalf("the receiver got no export; output:\n%s", p.out)
	}
	for _, ct := range rcv.contentTypes {
		if ct != "application/x-protobuf" {
			t.Errorf("export content type %q, want application/x-protobuf", ct)
		}
	}
	names := map[string]bool{}
	for _, r := range rcv.requests {
		for _, rs := range r.ResourceSpans {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			if service != "minbil-bff-e2e" {
				t.Errorf("service.name = %q, want minbil-bff-e2e (OTEL_SERVICE_NAME)", service)
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					if got := hex.EncodeToString(s.TraceId); got != traceID {
						t.Errorf("span %q in trace %s, want the caller's %s", s.Name, got, traceID)
					}
					names[s.Name] = true
				}
			}
		}
	}
	for _, want := range []string{"GET /api/co/rating", "breaker", "GET"} {
		if !names[want] {
			t.Errorf("no span %q exported; got %v", want, names)
		}
	}
	if !strings.Contains(p.out.String(), traceID) {
		t.Errorf("no log line names trace %s; output:\n%s", traceID, p.out)
	}
}
