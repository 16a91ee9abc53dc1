package mock

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
)

// TestR3F14CrossSiteControlRequestsRefused: what a page on another site
// can make a browser send to a control route (a form, a no-cors fetch of
// text/plain, an empty POST) is refused and changes nothing; a foreign
// Origin is refused whatever the request. JSON or X-Mock-Session, from no
// Origin, the mock's own or localhost, still resets.
func TestR3F14CrossSiteControlRequestsRefused(t *testing.T) {
	h := start(t, Config{Seed: 3}, nil)
	rated := func() bool {
		t.Helper()
		res := h.do(t, request{method: http.MethodGet, path: contracts.PathRatings})
		var list contracts.RatingList
		if err := json.Unmarshal(res.body, &list); err != nil || res.status != http.StatusOK {
			t.Fatalf("list = %d %s", res.status, res.body)
		}
		for _, it := range list.Items {
			if it.BookingID == demoBookingID {
				return true
			}
		}
		return false
	}
	rate := func() {
		t.Helper()
		res := h.do(t, request{method: http.MethodPost, path: contracts.PathRatePrefix + itoa(demoBookingID),
			header: []string{"Content-Type", "application/json"}, body: goodBody})
		if res.status != http.StatusOK || !rated() {
			t.Fatalf("rate = %d %s, want 200 and listed", res.status, res.body)
		}
	}
	const evil = "https://evil.example"
	host := strings.TrimPrefix(h.base, "http://")
	rate()

	refused := []struct {
		name       string
		req        request
		wantStatus int
		wantCode   string
	}{
		{"text/plain from another site", request{method: http.MethodPost, path: PathReset,
			header: []string{"Origin", evil, "Content-Type", "text/plain"}, body: "{}"}, 403, contracts.CodeForbidden},
		{"text/plain without an Origin", request{method: http.MethodPost, path: PathReset,
			header: []string{"Content-Type", "text/plain"}, body: "{}"}, 415, contracts.CodeUnsupportedMedia},
		{"empty POST", request{method: http.MethodPost, path: PathReset}, 415, contracts.CodeUnsupportedMedia},
		{"a form", request{method: http.MethodPost, path: PathReset,
			header: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: "a=b"}, 415, contracts.CodeUnsupportedMedia},
		{"a multipart form", request{method: http.MethodPost, path: PathReset,
			header: []string{"Content-Type", "multipart/form-data; boundary=x"}, body: "--x--\r\n"}, 415, contracts.CodeUnsupportedMedia},
		{"JSON from another site", request{method: http.MethodPost, path: PathReset,
			header: []string{"Origin", evil, "Content-Type", "application/json"}, body: "{}"}, 403, contracts.CodeForbidden},
		{"JSON from a sandboxed page", request{method: http.MethodPost, path: PathReset,
			header: []string{"Origin", "null", "Content-Type", "application/json"}, body: "{}"}, 403, contracts.CodeForbidden},
		{"a session from another site", request{method: http.MethodPost, path: PathReset,
			header: []string{"Origin", evil, HeaderSession, "s"}}, 403, contracts.CodeForbidden},
		{"a localhost lookalike", request{method: http.MethodPost, path: PathReset,
			header: []string{"Origin", "http://localhost.evil.example", "Content-Type", "application/json"}, body: "{}"}, 403, contracts.CodeForbidden},
		{"a scenario from another site", request{method: http.MethodPut, path: PathScenario,
			header: []string{"Origin", evil, "Content-Type", "text/plain"}, body: `{"name": "empty"}`}, 403, contracts.CodeForbidden},
		{"a read from another site", request{method: http.MethodGet, path: PathBookings,
			header: []string{"Origin", evil}}, 403, contracts.CodeForbidden},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(t, tt.req)
			var body contracts.ErrorBody
			if err := json.Unmarshal(res.body, &body); err != nil || res.status != tt.wantStatus || body.Error.Code != tt.wantCode {
				t.Errorf("%s %s = %d %s, want %d %s", tt.req.method, tt.req.path, res.status, res.body, tt.wantStatus, tt.wantCode)
			}
		})
	}
	if !rated() {
		t.Fatal("a refused control request wiped the rating")
	}

	allowed := []struct {
		name string
		req  request
	}{
		{"JSON without an Origin", request{method: http.MethodPost, path: PathReset,
			header: []string{"Content-Type", "application/json"}, body: "{}"}},
		{"JSON from the mock's own page", request{method: http.MethodPost, path: PathReset,
			header: []string{"Origin", "http://" + host, "Content-Type", "application/json"}, body: "{}"}},
		{"JSON from a localhost dev server", request{method: http.MethodPost, path: PathReset,
			header: []string{"Origin", "http://localhost:5173", "Content-Type", "application/json; charset=utf-8"}}},
		{"a session alone", request{method: http.MethodPost, path: PathReset, header: []string{HeaderSession, "s"}}},
		{"a read from localhost", request{method: http.MethodGet, path: PathBookings, header: []string{"Origin", "http://127.0.0.1:3000"}}},
	}
	for _, tt := range allowed {
		t.Run(tt.name, func(t *testing.T) {
			if res := h.do(t, tt.req); res.status >= 300 {
				t.Errorf("%s %s = %d %s, want 2xx", tt.req.method, tt.req.path, res.status, res.body)
			}
		})
	}
	if rated() {
		t.Error("the allowed resets left the rating")
	}
}

// TestPortalTokenShortcutIsServed: the token shortcut the mock's /docs
// page offers (portal.json's devToken) is a route the mock's identity
// provider answers with an access token, so "Get a token" works.
func TestPortalTokenShortcutIsServed(t *testing.T) {
	h := start(t, Config{Seed: 1}, zap.NewNop())
	// The page and the provider are outside the contract: read them as
	// they are, without do's contract check.
	send := func(r request) response {
		t.Helper()
		_, resp := h.roundTrip(t, r)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: read body: %v", r.method, r.path, err)
		}
		return response{status: resp.StatusCode, header: resp.Header, body: b}
	}
	settings := send(request{method: http.MethodGet, path: "/docs/portal.json"})
	var page struct {
		DevToken string `json:"devToken"`
	}
	if err := json.Unmarshal(settings.body, &page); settings.status != http.StatusOK || err != nil || page.DevToken == "" {
		t.Fatalf("GET /docs/portal.json = %d %s, want settings naming devToken", settings.status, settings.body)
	}
	tok := send(request{method: http.MethodPost, path: page.DevToken, header: []string{"Content-Type", "application/json"}, body: `{"sub":"kari"}`})
	var answer struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(tok.body, &answer); tok.status != http.StatusOK || err != nil || answer.AccessToken == "" {
		t.Errorf("POST %s = %d %s, want 200 with an access token", page.DevToken, tok.status, tok.body)
	}
}
