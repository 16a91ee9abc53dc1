package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/mock"
)

// crossSite sends one request as a page on another site could make a
// browser send it: the given headers and body as they are.
func crossSite(t *testing.T, method, url string, header map[string]string, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// TestR3F14CrossSiteResetRefused: the simple requests a page on another
// site can send to POST /_mock/reset (text/plain, a form, an empty POST)
// are refused with the contract's error body and wipe nothing, on the
// standalone mock and through `serve`'s gateway in front of its
// in-process mock; the preflight a JSON request needs is not granted to
// that site. A JSON reset from a client without an Origin still works.
func TestR3F14CrossSiteResetRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	targets := []struct {
		name string
		args []string
	}{
		{"mock", []string{"mock"}},
		{"gateway", []string{"serve"}},
	}
	for _, target := range targets {
		t.Run(target.name, func(t *testing.T) {
			addr := freeAddr(t)
			start(t, addr, nil, append(target.args, "--addr", addr)...)
			base := "http://" + addr
			demo := map[string]string{"Authorization": "Bearer demo"}
			rated := func() bool {
				t.Helper()
				_, body := e2eDo(t, http.MethodGet, base+contracts.PathRatings, demo, "")
				return countID(listedIDs(t, body), 123) == 1
			}
			if st, body := e2eDo(t, http.MethodPost, base+contracts.PathRatePrefix+"123", demo, `{"service_rating": 4, "private_service_rating": false}`); st != 200 || !rated() {
				t.Fatalf("rate 123 = %d %s, want 200 and listed", st, body)
			}

			const evil = "https://evil.example"
			refused := []struct {
				name   string
				header map[string]string
				body   string
			}{
				{"text/plain", map[string]string{"Origin": evil, "Content-Type": "text/plain"}, "{}"},
				{"text/plain, empty", map[string]string{"Origin": evil, "Content-Type": "text/plain"}, ""},
				{"no body", map[string]string{"Origin": evil}, ""},
				{"a form", map[string]string{"Origin": evil, "Content-Type": "application/x-www-form-urlencoded"}, "reset=1"},
				{"a multipart form", map[string]string{"Origin": evil, "Content-Type": "multipart/form-data; boundary=x"}, "--x--\r\n"},
			}
			for _, tt := range refused {
				t.Run(tt.name, func(t *testing.T) {
					status, _, body := crossSite(t, http.MethodPost, base+mock.PathReset, tt.header, tt.body)
					var e contracts.ErrorBody
					if err := json.Unmarshal(body, &e); err != nil || status < 400 || status > 499 || e.Error.Code == "" {
						t.Errorf("POST %s = %d %s, want a 4xx with the contract's error body", mock.PathReset, status, body)
					}
				})
			}
			if !rated() {
				t.Fatal("a cross-site POST wiped the state")
			}

			_, header, _ := crossSite(t, http.MethodOptions, base+mock.PathReset, map[string]string{
				"Origin": evil, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}, "")
			if got := header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("preflight from %s: Access-Control-Allow-Origin %q, want none", evil, got)
			}

			if st, _, body := crossSite(t, http.MethodPost, base+mock.PathReset, map[string]string{"Content-Type": "application/json"}, "{}"); st != http.StatusNoContent {
				t.Fatalf("JSON reset = %d %s, want 204", st, body)
			}
			if rated() {
				t.Error("the JSON reset left the rating")
			}
		})
	}
}
