package reliability

import (
	"net/http"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
)

// TestR3T6Preflight: a browser on an allowed origin may send W3C Trace
// Context (traceparent, tracestate), as OpenTelemetry's fetch
// instrumentation does, and the preflight names exactly the methods the
// routes serve: the contract's GET and POST, and in development the
// pass-through routes' PUT (never DELETE, which no route takes).
func TestR3T6Preflight(t *testing.T) {
	tests := []struct {
		name        string
		start       func(t *testing.T) *wiretest.Server
		wantMethods string
	}{
		{name: "production", start: func(t *testing.T) *wiretest.Server { return startGateway(t, closedPortURL(t)) }, wantMethods: "GET,POST,OPTIONS"},
		{name: "in front of the built-in mock", start: func(t *testing.T) *wiretest.Server { return wiretest.Start(t, wiretest.Config("mock")) }, wantMethods: "GET,POST,PUT,OPTIONS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.start(t)
			a, err := h.Try(wiretest.Request{Method: http.MethodOptions, Target: "/api/co/rating", Header: http.Header{
				"Origin":                         {"http://localhost:5173"},
				"Access-Control-Request-Method":  {"GET"},
				"Access-Control-Request-Headers": {"authorization,traceparent,tracestate"},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != http.StatusNoContent {
				t.Fatalf("preflight = %d %s, want 204", a.Status, a.Body)
			}
			allowed := strings.ToLower(a.Header.Get("Access-Control-Allow-Headers"))
			for _, h := range []string{"authorization", "traceparent", "tracestate"} {
				if !strings.Contains(allowed, h) {
					t.Errorf("Access-Control-Allow-Headers = %q, want it to allow %s", allowed, h)
				}
			}
			if got := a.Header.Get("Access-Control-Allow-Methods"); got != tt.wantMethods {
				t.Errorf("Access-Control-Allow-Methods = %q, want %q", got, tt.wantMethods)
			}
		})
	}
}
