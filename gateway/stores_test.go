package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/cmd/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway"
	"github.com/minbil/minbil-bff/gateway/config"
)

// metricsText is the gateway's /metrics.
func metricsText(t *testing.T, h *wiretest.Server) string {
	t.Helper()
	a := h.Do(wiretest.Get("/metrics", nil))
	if a.Status != 200 {
		t.Fatalf("/metrics = %d", a.Status)
	}
	return string(a.Body)
}

// TestStoreMetricsExistFromTheStart: the series of the stores' refusals
// and of the outcomes waiting for the store are there on a fresh gateway,
// so a dashboard shows 0 and an alert on them can fire.
func TestStoreMetricsExistFromTheStart(t *testing.T) {
	up := wiretest.NewUpstream(t, routeOK)
	h := wiretest.Start(t, wiretest.Config(up.URL))
	body := metricsText(t, h)
	for _, series := range []string{
		`minbil_bff_store_full_total{store="idempotency"} 0`,
		`minbil_bff_store_full_total{store="rate_limit"} 0`,
		`minbil_bff_idempotency_outcomes_waiting 0`,
		`minbil_bff_idempotency_outcomes_lost_total 0`,
	} {
		if !strings.Contains(body, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

// The username cache's bytes are on /metrics, read at each scrape: 0 on a
// fresh gateway, then what the cache accounts for once it holds an answer.
func TestUsernameCacheBytesOnMetrics(t *testing.T) {
	up := wiretest.NewUpstream(t, routeOK)
	h := wiretest.Start(t, wiretest.Config(up.URL))
	if body := metricsText(t, h); !strings.Contains(body, "\nminbil_bff_username_cache_bytes 0\n") {
		t.Errorf("a fresh gateway's /metrics lacks minbil_bff_username_cache_bytes 0")
	}
	if a := h.Do(wiretest.Get("/api/co/profile/check-username?username=ola", wiretest.Bearer("caller"))); a.Status != 200 {
		t.Fatalf("check-username = %s, want 200", a)
	}
	held, _ := gateway.CacheBytes(h.Gateway)
	want := fmt.Sprintf("\nminbil_bff_username_cache_bytes %d\n", held)
	if body := metricsText(t, h); held == 0 || !strings.Contains(body, want) {
		t.Errorf("after one answer, the cache holds %d bytes and /metrics lacks %q", held, strings.TrimSpace(want))
	}
}

// keyedAs is a keyed rating submission of caller.
func keyedAs(caller, key string) wiretest.Request {
	return wiretest.Post("/api/co/rating/rate/7", wiretest.JSONHeader(http.Header{
		"Idempotency-Key": {key}, "Authorization": {"Bearer " + caller}}), goodRating)
}

// R3-F10: the memory idempotency store never drops a recorded outcome to
// make room. One caller's flood of keys fills that caller's share and is
// refused (503 with Retry-After), while another caller's outcome is still
// replayed and their new keys still fit; a store filled by many callers
// refuses new keys and still replays what it holds.
func TestR3F10FloodOfKeysKeepsAnotherCallersOutcome(t *testing.T) {
	up := wiretest.NewUpstream(t, routeOK)
	h := wiretest.Start(t, wiretest.Config(up.URL), wiretest.WithConfig(func(c *config.Config) {
		c.Idempotency.MaxBytes = 64 << 10 // 64 KiB: a caller's share is 16 KiB
	}))
	first := h.Do(keyedAs("victim", "K"))
	if first.Status != 200 {
		t.Fatalf("the victim's submission = %s", first)
	}
	flood := func(caller string, n int) (ok, refused int) {
		for i := range n {
			a := h.Do(keyedAs(caller, fmt.Sprintf("flood-%d", i)))
			switch {
			case a.Status == 200:
				ok++
			case a.Status == 503 && a.Header.Get("Retry-After") != "":
				refused++
			default:
				t.Fatalf("%s's key %d = %s, want 200 or 503 with Retry-After", caller, i, a)
			}
		}
		return ok, refused
	}
	replayed := func(when string) {
		t.Helper()
		calls := up.Calls.Load()
		a := h.Do(keyedAs("victim", "K"))
		if a.Status != 200 || a.Header.Get("Idempotent-Replayed") != "true" || string(a.Body) != string(first.Body) || up.Calls.Load() != calls {
			t.Fatalf("%s: the victim's retry = %s replayed=%q (%d upstream calls), want the first answer replayed without a call",
				when, a, a.Header.Get("Idempotent-Replayed"), up.Calls.Load()-calls)
		}
	}

	ok, refused := flood("attacker", 300)
	replayed("after one caller's flood")
	if refused == 0 || ok >= 300 {
		t.Fatalf("one caller's 300 keys: %d taken, %d refused; want refusals once its share is full", ok, refused)
	}
	if a := h.Do(keyedAs("victim", "new")); a.Status != 200 {
		t.Fatalf("the victim's new key after another caller's flood = %s, want 200", a)
	}
	for i := range 8 {
		flood(fmt.Sprintf("attacker-%d", i), 40)
	}
	if a := h.Do(keyedAs("newcomer", "K")); a.Status != 503 || a.Header.Get("Retry-After") == "" {
		t.Fatalf("a new key in a full store = %s, want 503 with Retry-After", a)
	}
	replayed("in a full store")
	if body := metricsText(t, h); strings.Contains(body, `minbil_bff_store_full_total{store="idempotency"} 0`) {
		t.Errorf("/metrics does not count the refusals:\n%s", body)
	}
}

// A flood of distinct identities evicts rate-limit counters: it must not.
// A caller at its limit stays limited however many new identities arrive,
// and the new identities that find the counters full are counted together
// (limited as one), never let through uncounted.
func TestFloodOfIdentitiesKeepsRateLimits(t *testing.T) {
	up := wiretest.NewUpstream(t, routeOK)
	h := wiretest.Start(t, wiretest.Config(up.URL), wiretest.WithConfig(func(c *config.Config) {
		c.RateLimit.PerIdentity = 3
		c.RateLimit.MaxBytes = 64 << 10 // about 150 windows
	}))
	list := func(caller string) wiretest.Answer {
		return h.Do(wiretest.Get("/api/co/rating", wiretest.Bearer(caller)))
	}
	for i := range 3 {
		if a := list("victim"); a.Status != 200 {
			t.Fatalf("the victim's request %d = %s", i, a)
		}
	}
	if a := list("victim"); a.Status != 429 {
		t.Fatalf("the victim's 4th request = %s, want 429", a)
	}
	limited := 0
	for i := range 1000 {
		if a := list(fmt.Sprintf("flood-%d", i)); a.Status == 429 {
			limited++
		}
	}
	if a := list("victim"); a.Status != 429 || a.Header.Get("Retry-After") == "" {
		t.Fatalf("the victim after a flood of 1,000 identities = %s, want 429 with Retry-After: its count kept", a)
	}
	if a := list("newcomer"); a.Status != 429 {
		t.Fatalf("a new identity while the counters are full = %s, want 429: counted with the other newcomers", a)
	}
	if limited < 800 {
		t.Errorf("%d of the flood's 1,000 identities limited, want most: they share one window once the counters are full", limited)
	}
	if body := metricsText(t, h); strings.Contains(body, `minbil_bff_store_full_total{store="rate_limit"} 0`) {
		t.Errorf("/metrics does not count the full counter store")
	}
}

// R3-F6: a kept list belongs to its X-Mock-Session world. A list of the
// default world is not served stale in a session, a session's list is
// served stale in that session, and a rating in a session drops only that
// session's list.
func TestR3F6StaleListStaysInItsWorld(t *testing.T) {
	h := wiretest.Start(t, wiretest.Config("mock"), wiretest.WithConfig(func(c *config.Config) { c.Breaker.ConsecutiveFailures = 100 }))
	list := func(session, prefer string) wiretest.Answer {
		hdr := wiretest.Bearer("demo")
		if session != "" {
			hdr.Set("X-Mock-Session", session)
		}
		if prefer != "" {
			hdr.Set("Prefer", prefer)
		}
		return h.Do(wiretest.Get("/api/co/rating", hdr))
	}
	stale := func(a wiretest.Answer, want []byte) bool {
		return a.Status == 200 && a.Header.Get("X-Cache") == "STALE" && string(a.Body) == string(want)
	}
	home := list("", "")
	if home.Status != 200 {
		t.Fatalf("the default world's list = %s", home)
	}
	if a := list("s1", "code=503"); a.Status != 503 {
		t.Fatalf("session s1 failing before it listed = %s X-Cache %q, want 503: the default world's list is not s1's", a, a.Header.Get("X-Cache"))
	}
	rate := wiretest.Post("/api/co/rating/rate/123", wiretest.JSONHeader(http.Header{
		"Authorization": {"Bearer demo"}, "X-Mock-Session": {"s1"}}), `{"service_rating":5,"private_service_rating":false}`)
	if a := h.Do(rate); a.Status != 200 {
		t.Fatalf("rating 123 in s1 = %s", a)
	}
	s1 := list("s1", "")
	if s1.Status != 200 || string(s1.Body) == string(home.Body) {
		t.Fatalf("s1's list after its rating = %s, want 200 and unlike the default world's", s1)
	}
	if a := list("s1", "code=503"); !stale(a, s1.Body) {
		t.Fatalf("s1 failing = %s X-Cache %q, want s1's own list, stale", a, a.Header.Get("X-Cache"))
	}
	if a := list("", "code=503"); !stale(a, home.Body) {
		t.Fatalf("the default world failing after a rating in s1 = %s X-Cache %q, want its own list, stale", a, a.Header.Get("X-Cache"))
	}
	if a := list("s2", "code=503"); a.Status != 503 {
		t.Fatalf("session s2 failing = %s X-Cache %q, want 503", a, a.Header.Get("X-Cache"))
	}
}
