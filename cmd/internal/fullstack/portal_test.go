package fullstack

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/contracts/portal"
	"github.com/minbil/minbil-bff/gateway"
)

// The docs portal is served by the gateway with its own headers, and tells
// the page whether fault controls work (only with the built-in mock).
func TestDocsPortalServed(t *testing.T) {
	up := wiretest.NewUpstream(t, routeOK)
	tests := []struct {
		name       string
		upstream   string
		wantFaults bool
	}{
		{name: "built-in mock", upstream: "mock", wantFaults: true},
		{name: "real upstream", upstream: up.URL, wantFaults: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := wiretest.Start(t, wiretest.Config(tt.upstream))
			page := h.Do(wiretest.Get("/docs", nil))
			if page.Status != 200 || !strings.Contains(string(page.Body), "/docs/assets/portal.js") {
				t.Fatalf("GET /docs = %d %.200s, want 200 and the page", page.Status, page.Body)
			}
			if got := page.Header.Get("Content-Security-Policy"); got != portal.CSP {
				t.Errorf("GET /docs Content-Security-Policy = %q, want %q", got, portal.CSP)
			}
			if got := page.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
				t.Errorf("GET /docs Content-Type = %q, want text/html", got)
			}
			var settings struct {
				Server        string `json:"server"`
				FaultControls bool   `json:"faultControls"`
			}
			a := h.Do(wiretest.Get("/docs/portal.json", nil))
			if err := json.Unmarshal(a.Body, &settings); err != nil {
				t.Fatalf("GET /docs/portal.json: %v: %s", err, a.Body)
			}
			if settings.Server != portal.ServerGateway || settings.FaultControls != tt.wantFaults {
				t.Errorf("portal settings = %+v, want server %q, faultControls %v", settings, portal.ServerGateway, tt.wantFaults)
			}
		})
	}
}

// With the built-in mock, every answer to a contract operation carries the
// verdict of checking it against the contract; other paths carry none.
func TestContractCheckHeaderInMockMode(t *testing.T) {
	h := wiretest.Start(t, wiretest.Config("mock"))
	bearer := http.Header{"Authorization": {"Bearer demo"}}
	jsonBody := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name       string
		method     string
		path       string
		header     http.Header
		body       string
		wantStatus int
		want       string
	}{
		{name: "list", method: "GET", path: "/api/co/rating", wantStatus: 200, want: "ok"},
		{name: "check-username", method: "GET", path: "/api/co/profile/check-username?username=frontend.dev", header: bearer, wantStatus: 200, want: "ok"},
		{name: "gateway's own 401", method: "GET", path: "/api/co/profile/check-username?username=frontend.dev", wantStatus: 401, want: "ok"},
		{name: "gateway's own 400", method: "POST", path: "/api/co/rating/rate/123", header: jsonBody, body: `{"service_rating": 499}`, wantStatus: 400, want: "ok"},
		{name: "rating", method: "POST", path: "/api/co/rating/rate/123", header: jsonBody, body: `{"service_rating": 5, "private_service_rating": true}`, wantStatus: 200, want: "ok"},
		{name: "upstream's 409", method: "POST", path: "/api/co/rating/rate/123", header: jsonBody, body: `{"service_rating": 5, "private_service_rating": true}`, wantStatus: 409, want: "ok"},
		{name: "health check", method: "GET", path: "/healthz", wantStatus: 200, want: ""},
		{name: "docs", method: "GET", path: "/docs", wantStatus: 200, want: ""},
	}
	for _, tt := range tests {
		a := h.Do(wiretest.Request{Method: tt.method, Target: tt.path, Header: tt.header, Body: tt.body})
		if a.Status != tt.wantStatus {
			t.Errorf("%s: %s %s = %d %s, want %d", tt.name, tt.method, tt.path, a.Status, a.Body, tt.wantStatus)
		}
		if got := a.Header.Get(gateway.HeaderContractCheck); got != tt.want {
			t.Errorf("%s: %s = %q, want %q", tt.name, gateway.HeaderContractCheck, got, tt.want)
		}
	}
}

// A real upstream gets no contract check: the header is a development aid.
func TestContractCheckHeaderOffWithRealUpstream(t *testing.T) {
	up := wiretest.NewUpstream(t, routeOK)
	h := wiretest.Start(t, wiretest.Config(up.URL))
	a := h.Do(wiretest.Get("/api/co/rating", nil))
	if a.Status != 200 {
		t.Fatalf("GET /api/co/rating = %d %s, want 200", a.Status, a.Body)
	}
	if got := a.Header.Get(gateway.HeaderContractCheck); got != "" {
		t.Errorf("%s = %q with a real upstream, want none", gateway.HeaderContractCheck, got)
	}
}

// With the built-in mock the fault-injection headers reach the mock, so the
// docs console's fault controls work through the gateway; an injected
// fault is never cached.
func TestMockFaultsReachTheBuiltInMock(t *testing.T) {
	h := wiretest.Start(t, wiretest.Config("mock"))
	bearer := "Bearer demo"
	tests := []struct {
		name       string
		method     string
		path       string
		header     http.Header
		body       string
		wantStatus int
		wantCode   string
	}{
		{name: "check-username warms the cache", method: "GET", path: "/api/co/profile/check-username?username=frontend.dev",
			header: http.Header{"Authorization": {bearer}}, wantStatus: 200},
		{name: "a cached name still gets the injected fault", method: "GET", path: "/api/co/profile/check-username?username=frontend.dev",
			header: http.Header{"Authorization": {bearer}, "Prefer": {"code=429"}}, wantStatus: 429, wantCode: "injected_fault"},
		{name: "list", method: "GET", path: "/api/co/rating",
			header: http.Header{"Prefer": {"code=401"}}, wantStatus: 401, wantCode: "injected_fault"},
		{name: "rating", method: "POST", path: "/api/co/rating/rate/123", body: `{"service_rating": 5, "private_service_rating": true}`,
			header: http.Header{"Prefer": {"code=409"}, "Content-Type": {"application/json"}}, wantStatus: 409, wantCode: "injected_fault"},
		{name: "the rating was not stored by the injected fault", method: "POST", path: "/api/co/rating/rate/123", body: `{"service_rating": 5, "private_service_rating": true}`,
			header: http.Header{"Content-Type": {"application/json"}}, wantStatus: 200},
	}
	for _, tt := range tests {
		a := h.Do(wiretest.Request{Method: tt.method, Target: tt.path, Header: tt.header, Body: tt.body})
		if a.Status != tt.wantStatus {
			t.Errorf("%s: %s %s = %d %s, want %d", tt.name, tt.method, tt.path, a.Status, a.Body, tt.wantStatus)
			continue
		}
		if tt.wantCode != "" && !strings.Contains(string(a.Body), `"code":"`+tt.wantCode+`"`) {
			t.Errorf("%s: body %s, want code %q", tt.name, a.Body, tt.wantCode)
		}
	}

	start := time.Now()
	a := h.Do(wiretest.Get("/api/co/rating", http.Header{"X-Mock-Delay": {"300ms"}}))
	if took := time.Since(start); a.Status != 200 || took < 300*time.Millisecond {
		t.Errorf("GET /api/co/rating with X-Mock-Delay: 300ms = %d after %s, want 200 after at least 300ms", a.Status, took)
	}
}

// F-36: a real upstream never sees the mock's fault headers.
func TestMockFaultsNeverReachARealUpstream(t *testing.T) {
	up := wiretest.NewUpstream(t, routeOK)
	h := wiretest.Start(t, wiretest.Config(up.URL))
	faults := func(extra ...string) http.Header {
		hd := http.Header{"Authorization": {"Bearer client-token"}, "Prefer": {"code=503"}, "X-Mock-Delay": {"2s"}}
		for i := 0; i+1 < len(extra); i += 2 {
			hd.Set(extra[i], extra[i+1])
		}
		return hd
	}
	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		body   string
	}{
		{name: "check-username", method: "GET", path: "/api/co/profile/check-username?username=ola", header: faults()},
		{name: "list", method: "GET", path: "/api/co/rating", header: faults()},
		{name: "rating", method: "POST", path: "/api/co/rating/rate/123", header: faults("Content-Type", "application/json"),
			body: `{"service_rating": 5, "private_service_rating": true}`},
	}
	for _, tt := range tests {
		a := h.Do(wiretest.Request{Method: tt.method, Target: tt.path, Header: tt.header, Body: tt.body})
		if a.Status != 200 {
			t.Errorf("%s: %s %s = %d %s, want 200", tt.name, tt.method, tt.path, a.Status, a.Body)
			continue
		}
		got := up.Last().Header
		for _, name := range []string{"Prefer", "X-Mock-Delay"} {
			if v := got.Get(name); v != "" {
				t.Errorf("%s: the real upstream got %s: %q, want none", tt.name, name, v)
			}
		}
	}
}
