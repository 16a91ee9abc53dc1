package gateway

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/gateway/config"
)

const goodRating = `{"service_rating":5,"service_rating_message":"Bra","private_service_rating":true}`

func keyed(key string) http.Header {
	return jsonHeader(http.Header{"Idempotency-Key": {key}, "Authorization": {"Bearer caller-a"}})
}

func TestIdempotentReplayAndReuse(t *testing.T) {
	up := newUpstream(t, routeOK)
	h := startGateway(t, up.url)
	first := h.do("POST", "/api/co/rating/rate/7", keyed("k-1"), goodRating)
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
		{"same key, other caller: a new submission", "/api/co/rating/rate/7", jsonHeader(http.Header{"Idempotency-Key": {"k-1"}, "Authorization": {"Bearer caller-b"}}), goodRating, 200, false, 2},
		{"invalid key: 400", "/api/co/rating/rate/7", keyed(strings.Repeat("k", 256)), goodRating, 400, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.do("POST", tt.path, tt.header, tt.body)
			if a.status != tt.wantStatus || (a.header.Get("Idempotent-Replayed") == "true") != tt.wantReplayed || up.calls.Load() != tt.wantCalls {
				t.Fatalf("= %d replayed=%q calls=%d, want %d replayed=%v calls=%d: %s", a.status, a.header.Get("Idempotent-Replayed"), up.calls.Load(), tt.wantStatus, tt.wantReplayed, tt.wantCalls, a.body)
			}
			if tt.wantReplayed && string(a.body) != string(first.body) {
				t.Fatalf("replayed body %s, want the first answer %s", a.body, first.body)
			}
		})
	}
}

// L-03: 50 concurrent submissions with one key make exactly one upstream
// call; every other answer is a 409 in flight or a replay of the first.
func TestIdempotentConcurrentDuplicates(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		routeOK(w, r)
	})
	h := startGateway(t, up.url)
	const n = 50
	var wg sync.WaitGroup
	answers := make([]answer, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			answers[i] = h.do("POST", "/api/co/rating/rate/11", keyed("dup"), goodRating)
		}(i)
	}
	time.Sleep(300 * time.Millisecond)
	close(release)
	wg.Wait()
	if up.calls.Load() != 1 {
		t.Fatalf("upstream submissions = %d, want 1", up.calls.Load())
	}
	counts := map[int]int{}
	for _, a := range answers {
		counts[a.status]++
		if a.status != 200 && a.status != 409 {
			t.Fatalf("answer %d %s, want 200 or 409", a.status, a.body)
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
	up := newUpstream(t, hangUp)
	h := startGateway(t, up.url)
	if a := h.do("POST", "/api/co/rating/rate/12", keyed("retry-me"), goodRating); a.status != 502 {
		t.Fatalf("first attempt = %d, want 502", a.status)
	}
	up.set(writeJSON(409, `{"error":{"code":"already_rated","message":"Already rated."},"meta":{"request_id":"a","generated_at":"2026-02-12T10:00:00Z"}}`))
	a := h.do("POST", "/api/co/rating/rate/12", keyed("retry-me"), goodRating)
	if a.status != 409 || up.calls.Load() != 2 {
		t.Fatalf("retry = %d with %d upstream calls, want 409 from the upstream (2 calls): %s", a.status, up.calls.Load(), a.body)
	}
	if again := h.do("POST", "/api/co/rating/rate/12", keyed("retry-me"), goodRating); again.status != 409 || again.header.Get("Idempotent-Replayed") != "true" || up.calls.Load() != 2 {
		t.Fatalf("third attempt = %d replayed=%q calls=%d, want the recorded 409 replayed", again.status, again.header.Get("Idempotent-Replayed"), up.calls.Load())
	}
}

func TestRateLimits(t *testing.T) {
	up := newUpstream(t, routeOK)
	h := startGateway(t, up.url, func(cfg *config.Config) {
		cfg.RateLimit.PerIdentity = 5
		cfg.RateLimit.PerIP = 12
		cfg.RateLimit.Window = time.Minute
	})
	for i := 0; i < 5; i++ {
		if a := h.do("GET", "/api/co/rating", bearer("greedy"), ""); a.status != 200 {
			t.Fatalf("request %d = %d, want 200", i, a.status)
		}
	}
	a := h.do("GET", "/api/co/rating", bearer("greedy"), "")
	if a.status != 429 || a.header.Get("Retry-After") == "" {
		t.Fatalf("6th request of one caller = %d Retry-After %q, want 429 with Retry-After", a.status, a.header.Get("Retry-After"))
	}
	if a := h.do("GET", "/api/co/rating", bearer("polite"), ""); a.status != 200 {
		t.Fatalf("another caller = %d, want 200 (limits are per caller)", a.status)
	}
	// L-11: X-Forwarded-For from an untrusted peer does not give a new IP.
	var last answer
	for i := 0; i < 12; i++ {
		last = h.do("GET", "/api/co/rating", http.Header{"X-Forwarded-For": {"10.0.0." + string(rune('1'+i%9))}}, "")
	}
	if last.status != 429 {
		t.Fatalf("rotating X-Forwarded-For past the per-IP limit = %d, want 429", last.status)
	}
	if a := h.do("GET", "/healthz", nil, ""); a.status != 200 {
		t.Fatalf("/healthz while limited = %d, want 200 (exempt)", a.status)
	}
}
