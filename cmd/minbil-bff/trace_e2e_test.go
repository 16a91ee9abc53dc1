package main

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver on 127.0.0.1: it decodes
// every POST /v1/traces (gzipped or not) and keeps the requests, their
// content types and their headers.
type otlpReceiver struct {
	*httptest.Server
	mu           sync.Mutex
	requests     []*coltracepb.ExportTraceServiceRequest
	contentTypes []string
	headers      []http.Header
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		var body []byte
		var err error
		if r.Header.Get("Content-Encoding") == "gzip" {
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(r.Body); err == nil {
				body, err = io.ReadAll(zr)
			}
		} else {
			body, err = io.ReadAll(r.Body)
		}
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
		rcv.headers = append(rcv.headers, r.Header.Clone())
		rcv.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

// The real binary, told by the standard OTEL_* variables only, exports
// the spans of a request over OTLP/HTTP with the configured headers,
// continuing the caller's trace, and flushes them when it stops; the
// header's value is sent and never printed.
func TestTracesExportedOverOTLP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const collectorKey = "e2e-collector-key-7c1f"
	rcv := newOTLPReceiver(t)
	addr := freeAddr(t)
	p := startUnmanaged(t, addr, []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + rcv.URL,
		"OTEL_EXPORTER_OTLP_HEADERS=x-collector-key=" + collectorKey,
		"OTEL_EXPORTER_OTLP_COMPRESSION=gzip",
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
	for _, h := range rcv.headers {
		if got := h.Get("X-Collector-Key"); got != collectorKey {
			t.Errorf("export header X-Collector-Key = %q, want the configured one", got)
		}
	}
	if strings.Contains(p.out.String(), collectorKey) {
		t.Errorf("the output holds the collector key:\n%s", p.out)
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

// An OTEL_EXPORTER_OTLP_HEADERS the binary cannot read stops it at start,
// naming the variable and never printing the value: a collector key with a
// typo must not land in the log (S-02).
func TestUnreadableOTLPHeadersRefusedUnprinted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const collectorKey = "e2e-collector-key-9d2a"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), "serve", "--addr", freeAddr(t))
	cmd.Env = append(os.Environ(),
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9",
		"OTEL_EXPORTER_OTLP_HEADERS=x-collector-key=%zz"+collectorKey,
	)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || ctx.Err() != nil {
		t.Errorf("serve with unreadable OTLP headers: %v, want it to refuse to start; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "OTEL_EXPORTER_OTLP_HEADERS") {
		t.Errorf("the output does not name OTEL_EXPORTER_OTLP_HEADERS:\n%s", out)
	}
	if strings.Contains(string(out), collectorKey) {
		t.Errorf("the output holds the collector key:\n%s", out)
	}
}

// The binary exports OTLP without linking gRPC or the collector's service
// package, which the SDK's otlptracehttp pulled in (102 packages, 2.1 MB
// of the stripped binary).
func TestNoGRPCLinked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var linked []string
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "google.golang.org/grpc") || strings.HasPrefix(pkg, "go.opentelemetry.io/proto/otlp/collector/") {
			linked = append(linked, pkg)
		}
	}
	if len(linked) > 0 {
		t.Errorf("the binary links %d gRPC or collector packages, want none: %v", len(linked), linked)
	}
}
