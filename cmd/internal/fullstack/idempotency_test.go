package fullstack

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/config"
)

const goodRating = `{"service_rating":5,"service_rating_message":"Bra","private_service_rating":true}`

func keyed(key string) http.Header {
	return wiretest.JSONHeader(http.Header{"Idempotency-Key": {key}, "Authorization": {"Bearer caller-a"}})
}

func TestIdempotentReplayAndReuse(t *testing.T) {
	up := wiretest.NewUpstream(t, routeOK)
	h := wiretest.Start(t, wiretest.Config(up.URL))
	first := h.Do(wiretest.Post("/api/co/rating/rate/7", keyed("k-1"), goodRating))
	tests := []struct {
		name         string
		path         string
		header       http.Header
		body         string
		wantStatus   int
		wantReplayed bool
		wantCalls    int64
	}{
		{"same key, same body: replay", "/api/co/rating/rate/7", keyed("k-1"), goodRating, 200, true, 1},
		{"same key, same body, other JSON spelling: replay", "/api/co/rating/rate/7", keyed("k-1"), `{"private_service_rating":true,"service_rating":5.0,"service_rating_message":"Bra"}`, 200, true, 1},
		{"L-04 same key, other body: 422", "/api/co/rating/rate/7", keyed("k-1"), `{"service_rating":1,"private_service_rating":true}`, 422, false, 1},
		{"same key, other booking: 422", "/api/co/rating/rate/8", keyed("k-1"), goodRating, 422, false, 1},
		{"same key, other caller: a new submission", "/api/co/rating/rate/7", wiretest.JSONHeader(http.Header{"Idempotency-Key": {"k-1"}, "Authorization": {"Bearer caller-b"}}), goodRating, 200, false, 2},
		{"invalid key: 400", "/api/co/rating/rate/7", keyed(strings.Repeat("k", 256)), goodRating, 400, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.Do(wiretest.Post(tt.path, tt.header, tt.body))
			if a.Status != tt.wantStatus || (a.Header.Get("Idempotent-Replayed") == "true") != tt.wantReplayed || up.Calls.Load() != tt.wantCalls {
				t.Fatalf("= %d replayed=%q calls=%d, want %d replayed=%v calls=%d: %s", a.Status, a.Header.Get("Idempotent-Replayed"), up.Calls.Load(), tt.wantStatus, tt.wantReplayed, tt.wantCalls, a.Body)
			}
			if tt.wantReplayed && string(a.Body) != string(first.Body) {
				t.Fatalf("replayed body %s, want the first answer %s", a.Body, first.Body)
			}
		})
	}
}

// L-03: 50 concurrent submissions with one key make exactly one upstream
// call; every other answer is a 409 in flight or a replay of the first.
func TestIdempotentConcurrentDuplicates(t *testing.T) {
	release := make(chan struct{})
	up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		routeOK(w, r)
	})
	h := wiretest.Start(t, wiretest.Config(up.URL))
	const n = 50
	var wg sync.WaitGroup
	answers := make([]wiretest.Answer, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			answers[i] = h.Do(wiretest.Post("/api/co/rating/rate/11", keyed("dup"), goodRating))
		}(i)
	}
	time.Sleep(300 * time.Millisecond)
	close(release)
	wg.Wait()
	if up.Calls.Load() != 1 {
		t.Fatalf("upstream submissions = %d, want 1", up.Calls.Load())
	}
	counts := map[int]int{}
	for _, a := range answers {
		counts[a.Status]++
		if a.Status != 200 && a.Status != 409 {
			t.Fatalf("answer %d %s, want 200 or 409", a.Status, a.Body)
		}
	}
	if counts[200] < 1 {
		t.Fatalf("answers %v, want at least one 200", counts)
	}
}

// F-09: the upstream hangs up after the POST arrived (outcome unknown): the
// gateway answers 502 and releases the key, so the client's retry with the
// same key reaches the upstream, which decides (a real upstream answers 409
// already_rated if the first one committed: never a second rating).
func TestIdempotencyKeyReleasedWhenOutcomeUnknown(t *testing.T) {
	up := wiretest.NewUpstream(t, hangUp)
	h := wiretest.Start(t, wiretest.Config(up.URL))
	if a := h.Do(wiretest.Post("/api/co/rating/rate/12", keyed("retry-me"), goodRating)); a.Status != 502 {
		t.Fatalf("first attempt = %d, want 502", a.Status)
	}
	up.Set(wiretest.Reply(409, `{"error":{"code":"already_rated","message":"Already rated."},"meta":{"request_id":"a","generated_at":"2026-02-12T10:00:00Z"}}`))
	a := h.Do(wiretest.Post("/api/co/rating/rate/12", keyed("retry-me"), goodRating))
	if a.Status != 409 || up.Calls.Load() != 2 {
		t.Fatalf("retry = %d with %d upstream calls, want 409 from the upstream (2 calls): %s", a.Status, up.Calls.Load(), a.Body)
	}
	if again := h.Do(wiretest.Post("/api/co/rating/rate/12", keyed("retry-me"), goodRating)); again.Status != 409 || again.Header.Get("Idempotent-Replayed") != "true" || up.Calls.Load() != 2 {
		t.Fatalf("third attempt = %d replayed=%q calls=%d, want the recorded 409 replayed", again.Status, again.Header.Get("Idempotent-Replayed"), up.Calls.Load())
	}
}

func TestRateLimits(t *testing.T) {
	up := wiretest.NewUpstream(t, routeOK)
	h := wiretest.Start(t, wiretest.Config(up.URL), wiretest.WithConfig(func(cfg *config.Config) {
		cfg.RateLimit.PerIdentity = 5
		cfg.RateLimit.PerIP = 12
		cfg.RateLimit.Window = time.Minute
	}))
	for i := 0; i < 5; i++ {
		if a := h.Do(wiretest.Get("/api/co/rating", wiretest.Bearer("greedy"))); a.Status != 200 {
			t.Fatalf("request %d = %d, want 200", i, a.Status)
		}
	}
	a := h.Do(wiretest.Get("/api/co/rating", wiretest.Bearer("greedy")))
	if a.Status != 429 || a.Header.Get("Retry-After") == "" {
		t.Fatalf("6th request of one caller = %d Retry-After %q, want 429 with Retry-After", a.Status, a.Header.Get("Retry-After"))
	}
	if a := h.Do(wiretest.Get("/api/co/rating", wiretest.Bearer("polite"))); a.Status != 200 {
		t.Fatalf("another caller = %d, want 200 (limits are per caller)", a.Status)
	}
	// L-11: X-Forwarded-For from an untrusted peer does not give a new IP.
	var last wiretest.Answer
	for i := 0; i < 12; i++ {
		last = h.Do(wiretest.Get("/api/co/rating", http.Header{"X-Forwarded-For": {"10.0.0." + string(rune('1'+i%9))}}))
	}
	if last.Status != 429 {
		t.Fatalf("rotating X-Forwarded-For past the per-IP limit = %d, want 429", last.Status)
	}
	if a := h.Do(wiretest.Get("/healthz", nil)); a.Status != 200 {
		t.Fatalf("/healthz while limited = %d, want 200 (exempt)", a.Status)
	}
}

// TestIdempotencyKeysPerMockSession: in front of the built-in mock, the
// same caller's Idempotency-Key in two X-Mock-Session worlds names two
// submissions (each world rates its own booking 123); before, the second
// world was answered with the first world's replay.
func TestIdempotencyKeysPerMockSession(t *testing.T) {
	h := wiretest.Start(t, wiretest.Config("mock"))
	for _, session := range []string{"worker-a", "worker-b"} {
		hdr := wiretest.JSONHeader(http.Header{"Idempotency-Key": {"same-key"}, "X-Mock-Session": {session}})
		a := h.Do(wiretest.Post("/api/co/rating/rate/123", hdr, `{"service_rating":5,"private_service_rating":false}`))
		if a.Status != http.StatusOK || a.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("session %s: %d, Idempotent-Replayed %q; want a fresh 200", session, a.Status, a.Header.Get("Idempotent-Replayed"))
		}
	}
}
