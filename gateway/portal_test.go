package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts/portal"
)

// The docs portal is served by the gateway with its own headers, and tells
// the page whether fault controls work (only with the built-in mock).
func TestDocsPortalServed(t *testing.T) {
	up := newUpstream(t, routeOK)
	tests := []struct {
		name       string
		upstream   string
		wantFaults bool
	}{
		{name: "built-in mock", upstream: "mock", wantFaults: true},
		{name: "real upstream", upstream: up.url, wantFaults: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startGateway(t, tt.upstream)
			page := h.do("GET", "/docs", nil, "")
			if page.status != 200 || !strings.Contains(string(page.body), "/docs/assets/portal.js") {
				t.Fatalf("GET /docs = %d %.200s, want 200 and the page", page.status, page.body)
			}
			if got := page.header.Get("Content-Security-Policy"); got != portal.CSP {
				t.Errorf("GET /docs Content-Security-Policy = %q, want %q", got, portal.CSP)
			}
			if got := page.header.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
				t.Errorf("GET /docs Content-Type = %q, want text/html", got)
			}
			var settings struct {
				Server        string `json:"server"`
				FaultControls bool   `json:"faultControls"`
			}
			a := h.do("GET", "/docs/portal.json", nil, "")
			if err := json.Unmarshal(a.body, &settings); err != nil {
				t.Fatalf("GET /docs/portal.json: %v: %s", err, a.body)
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
	h := startGateway(t, "mock")
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
		a := h.do(tt.method, tt.path, tt.header, tt.body)
		if a.status != tt.wantStatus {
			t.Errorf("%s: %s %s = %d %s, want %d", tt.name, tt.method, tt.path, a.status, a.body, tt.wantStatus)
		}
		if got := a.header.Get(HeaderContractCheck); got != tt.want {
			t.Errorf("%s: %s = %q, want %q", tt.name, HeaderContractCheck, got, tt.want)
		}
	}
}

// A real upstream gets no contract check: the header is a development aid.
func TestContractCheckHeaderOffWithRealUpstream(t *testing.T) {
	up := newUpstream(t, routeOK)
	h := startGateway(t, up.url)
	a := h.do("GET", "/api/co/rating", nil, "")
	if a.status != 200 {
		t.Fatalf("GET /api/co/rating = %d %s, want 200", a.status, a.body)
	}
	if got := a.header.Get(HeaderContractCheck); got != "" {
		t.Errorf("%s = %q with a real upstream, want none", HeaderContractCheck, got)
	}
}

// An answer that breaks the contract is counted in the header.
func TestContractCheckCountsViolations(t *testing.T) {
	g := &Gateway{contract: testContract, log: zap.NewNop(), own: newWatch(testContract, zap.NewNop(), "broken")}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/api/co/rating", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		_ = c.SendString(`{"total": "one", "items": [{"booking_id": 0}]}`)
		g.checkOwn(c)
		return nil
	})
	res, err := app.Test(httptest.NewRequest("GET", "/api/co/rating", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if got := res.Header.Get(HeaderContractCheck); !strings.HasPrefix(got, "violations=") || got == "violations=0" {
		t.Errorf("%s = %q for a broken answer, want violations=N with N > 0", HeaderContractCheck, got)
	}
}

// With the built-in mock the fault-injection headers reach the mock, so the
// docs console's fault controls work through the gateway; an injected
// fault is never cached.
func TestMockFaultsReachTheBuiltInMock(t *testing.T) {
	h := startGateway(t, "mock")
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
		a := h.do(tt.method, tt.path, tt.header, tt.body)
		if a.status != tt.wantStatus {
			t.Errorf("%s: %s %s = %d %s, want %d", tt.name, tt.method, tt.path, a.status, a.body, tt.wantStatus)
			continue
		}
		if tt.wantCode != "" && !strings.Contains(string(a.body), `"code":"`+tt.wantCode+`"`) {
			t.Errorf("%s: body %s, want code %q", tt.name, a.body, tt.wantCode)
		}
	}

	start := time.Now()
	a := h.do("GET", "/api/co/rating", http.Header{"X-Mock-Delay": {"300ms"}}, "")
	if took := time.Since(start); a.status != 200 || took < 300*time.Millisecond {
		t.Errorf("GET /api/co/rating with X-Mock-Delay: 300ms = %d after %s, want 200 after at least 300ms", a.status, took)
	}
}

// F-36: a real upstream never sees the mock's fault headers.
func TestMockFaultsNeverReachARealUpstream(t *testing.T) {
	up := newUpstream(t, routeOK)
	h := startGateway(t, up.url)
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
		a := h.do(tt.method, tt.path, tt.header, tt.body)
		if a.status != 200 {
			t.Errorf("%s: %s %s = %d %s, want 200", tt.name, tt.method, tt.path, a.status, a.body)
			continue
		}
		got := up.lastHeader()
		for _, name := range []string{"Prefer", "X-Mock-Delay"} {
			if v := got.Get(name); v != "" {
				t.Errorf("%s: the real upstream got %s: %q, want none", tt.name, name, v)
			}
		}
	}
}
