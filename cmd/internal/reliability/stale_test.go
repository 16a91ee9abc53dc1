package reliability

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// wantStale fails unless a is the stale answer of want: 200, X-Cache:
// STALE, an Age in whole seconds under the window, no-store (hygiene), and
// want's body.
func wantStale(t *testing.T, a wiretest.Answer, want []byte) {
	t.Helper()
	age, err := strconv.Atoi(a.Header.Get("Age"))
	if a.Status != 200 || a.Header.Get("X-Cache") != "STALE" || err != nil || age < 0 || age >= 300 {
		t.Fatalf("answer %.200s X-Cache %q Age %q, want 200 STALE with an Age under 300", a, a.Header.Get("X-Cache"), a.Header.Get("Age"))
	}
	if !bytes.Equal(a.Body, want) {
		t.Fatalf("stale body %.200s, want the last good list %.200s", a.Body, want)
	}
}

// TestStaleIfErrorThroughTheMock is what a frontend developer sees with
// `make run`: the gateway in front of the built-in mock, whose
// fault header Prefer: code=503 it forwards. The caller's last good list
// answers while the mock fails; a 4xx is not masked; other callers and
// anonymous ones get no stale list; a rating drops the list until the next
// good one.
func TestStaleIfErrorThroughTheMock(t *testing.T) {
	t.Parallel()
	// The breaker stays closed here: it is TestStaleIfErrorFaults's.
	h := startGateway(t, "mock", wiretest.WithConfig(func(c *config.Config) { c.Breaker.ConsecutiveFailures = 100 }))
	fault := func(tok, code string) wiretest.Request {
		hdr := http.Header{"Prefer": {"code=" + code}}
		if tok != "" {
			hdr.Set("Authorization", "Bearer "+tok)
		}
		return wiretest.Get("/api/co/rating", hdr)
	}
	// demo is the mock's demo owner, with booking 123 to rate.
	good := h.Do(wiretest.Get("/api/co/rating", wiretest.Bearer("demo")))
	if good.Status != 200 || good.Header.Get("X-Cache") != "" {
		t.Fatalf("a good list = %s X-Cache %q, want 200 without X-Cache", good, good.Header.Get("X-Cache"))
	}

	t.Run("a 503 from the upstream answers the caller's last good list", func(t *testing.T) {
		wantStale(t, h.Do(fault("demo", "503")), good.Body)
	})
	t.Run("so do 500, 502 and 504", func(t *testing.T) {
		for _, code := range []string{"500", "502", "504"} {
			wantStale(t, h.Do(fault("demo", code)), good.Body)
		}
	})
	tests := []struct {
		name       string
		tok, code  string
		wantStatus int
	}{
		{"a 401 from the upstream is not masked", "demo", "401", 401},
		{"a 429 from the upstream is not masked", "demo", "429", 429},
		{"another caller has no list of theirs", "someone-else", "503", 503},
		{"an anonymous caller gets no stale list", "", "503", 503},
	}
	h.Do(wiretest.Get("/api/co/rating", nil)) // an anonymous good list, never kept
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := h.Do(fault(tt.tok, tt.code)); a.Status != tt.wantStatus || a.Header.Get("X-Cache") != "" {
				t.Fatalf("answer %s X-Cache %q, want %d", a, a.Header.Get("X-Cache"), tt.wantStatus)
			}
		})
	}

	t.Run("a rating drops the list until the next good one, which has it", func(t *testing.T) {
		rate := wiretest.Post("/api/co/rating/rate/123", wiretest.JSONHeader(wiretest.Bearer("demo")), validRating)
		if a := h.Do(rate); a.Status != 200 {
			t.Fatalf("rating 123 = %s", a)
		}
		if a := h.Do(fault("demo", "503")); a.Status != 503 {
			t.Fatalf("after the rating = %s, want 503: the kept list lacks the rating", a)
		}
		fresh := h.Do(wiretest.Get("/api/co/rating", wiretest.Bearer("demo")))
		var list struct {
			Items []struct {
				BookingID int64 `json:"booking_id"`
			} `json:"items"`
		}
		if err := json.Unmarshal(fresh.Body, &list); err != nil {
			t.Fatal(err)
		}
		rated := false
		for _, it := range list.Items {
			rated = rated || it.BookingID == 123
		}
		if !rated {
			t.Fatalf("the fresh list lacks booking 123: %.300s", fresh.Body)
		}
		wantStale(t, h.Do(fault("demo", "503")), fresh.Body)
	})

	t.Run("the stale answers are counted", func(t *testing.T) {
		if body := string(metrics(t, h).Body); !strings.Contains(body, `minbil_bff_stale_answers_total{operation="listRatings"} 5`) {
			t.Errorf("/metrics lacks 5 stale listRatings answers:\n%s", grep(body, "minbil_bff_stale"))
		}
	})
}

// TestStaleIfErrorFaults is the upstream failing in every way the breaker
// counts, in front of a fake upstream: each answers the last good list;
// ratings_stale_if_error 0 turns it off.
func TestStaleIfErrorFaults(t *testing.T) {
	t.Parallel()
	list := func(tok string) wiretest.Request { return wiretest.Get("/api/co/rating", wiretest.Bearer(tok)) }
	short := wiretest.WithConfig(func(c *config.Config) { c.Upstream.Timeout = 300 * time.Millisecond })

	t.Run("timeout, 5xx, garbage, reset, breaker open: the last good list", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, routeOK)
		h := startGateway(t, up.URL, short)
		good := h.Do(list("alice"))
		steps := []struct {
			name    string
			respond http.HandlerFunc
		}{
			{"not JSON", wiretest.Raw(200, "text/html", "<html>")}, // a 200: the breaker's count stays 0
			{"timeout", wiretest.Hang},
			{"500", wiretest.Raw(500, "text/plain", "down")},
			{"connection reset", resetNow},
		}
		for _, s := range steps {
			up.Set(s.respond)
			if a := h.Do(list("alice")); a.Status != 200 || a.Header.Get("X-Cache") != "STALE" {
				t.Fatalf("%s: answer %s X-Cache %q, want the stale list", s.name, a, a.Header.Get("X-Cache"))
			}
		}
		// Three failures open the breaker (wiretest.Config): the next
		// answers without an upstream call.
		calls := up.Calls.Load()
		wantStale(t, h.Do(list("alice")), good.Body)
		if up.Calls.Load() != calls {
			t.Errorf("breaker open: %d upstream calls, want none", up.Calls.Load()-calls)
		}
		if a := h.Do(list("bob")); a.Status != 503 || a.Header.Get("Retry-After") == "" {
			t.Errorf("breaker open, a caller without a list = %s, want 503 with Retry-After", a)
		}
	})

	t.Run("an upstream 401 is the caller's to see", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, routeOK)
		h := startGateway(t, up.URL)
		h.Do(list("alice"))
		up.Set(wiretest.Reply(401, `{"error":{"code":"unauthorized","message":"Token expired."},"meta":{"request_id":"up","generated_at":"2026-02-12T10:00:00Z"}}`))
		if a := h.Do(list("alice")); a.Status != 401 || a.Header.Get("X-Cache") != "" {
			t.Fatalf("upstream 401 = %s X-Cache %q, want 401", a, a.Header.Get("X-Cache"))
		}
	})

	t.Run("ratings_stale_if_error 0 turns it off", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, routeOK)
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { c.Cache.RatingsStaleIfError = 0 }))
		h.Do(list("alice"))
		up.Set(wiretest.Raw(503, "text/plain", "down"))
		if a := h.Do(list("alice")); a.Status != 503 {
			t.Fatalf("with stale-if-error off = %s, want 503", a)
		}
	})

	t.Run("a rating whose outcome is unknown drops the list too", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, routeOK)
		h := startGateway(t, up.URL, short)
		h.Do(list("alice"))
		up.Set(wiretest.Hang)
		if a := h.Do(wiretest.Post("/api/co/rating/rate/5", wiretest.JSONHeader(wiretest.Bearer("alice")), validRating)); a.Status != 504 {
			t.Fatalf("a rating that timed out = %s, want 504", a)
		}
		if a := h.Do(list("alice")); a.Status != 504 {
			t.Fatalf("the list after it = %s, want 504: the rating may have been stored", a)
		}
	})
}

// grep returns the lines of s that contain sub.
func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
