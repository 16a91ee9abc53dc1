package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// redisServer runs Debian's redis-server on a loopback port.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T, addr string) *redisServer {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &redisServer{addr: addr, cmd: cmd}
	t.Cleanup(r.kill)
	waitListening(t, addr)
	return r
}

func (r *redisServer) kill() {
	if r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Signal(syscall.SIGKILL)
		_ = r.cmd.Wait()
	}
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// countingUpstream is the one upstream both replicas share; it counts
// calls per operation.
type countingUpstream struct {
	url                    string
	checks, lists, ratings atomic.Int64
	rateDelay              time.Duration
	listsFail              atomic.Bool // the list answers 503
}

func newCountingUpstream(t *testing.T) *countingUpstream {
	t.Helper()
	u := &countingUpstream{rateDelay: 300 * time.Millisecond}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/co/profile/check-username", func(w http.ResponseWriter, r *http.Request) {
		u.checks.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"username":%q,"available":true,"message":"Username is available."}`, r.URL.Query().Get("username"))
	})
	mux.HandleFunc("GET /api/co/rating", func(w http.ResponseWriter, _ *http.Request) {
		u.lists.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if u.listsFail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"code":"unavailable","message":"Down."},"meta":{"request_id":"x","generated_at":"2026-02-12T10:00:00Z"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"total":0,"items":[]}`)
	})
	mux.HandleFunc("POST /api/co/rating/rate/{id}", func(w http.ResponseWriter, _ *http.Request) {
		u.ratings.Add(1)
		time.Sleep(u.rateDelay)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{},"meta":{"request_id":"x","generated_at":"2026-02-12T10:00:00Z"}}`)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	u.url = "http://" + ln.Addr().String()
	return u
}

func call(t *testing.T, method, url, token, key, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const rating = `{"service_rating":4,"private_service_rating":true}`

// TestTwoReplicasShareRedis runs two gateway processes sharing one Redis in
// front of one counting upstream, then kills and restarts Redis.
func TestTwoReplicasShareRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install -y redis-server; .ci/run does it): skipping the shared-state test")
	}
	redisAddr := freeAddr(t)
	redis := startRedis(t, redisAddr)
	up := newCountingUpstream(t)
	env := []string{"MINBIL_AUTH_MODE=passthrough", "MINBIL_API_KEY=e2e-key-not-a-secret", "MINBIL_UPSTREAM_URL=" + up.url,
		"MINBIL_STORE_BACKEND=redis", "MINBIL_STORE_REDIS_ADDR=" + redisAddr, "MINBIL_RATE_LIMIT_PER_IDENTITY=4",
		"MINBIL_UPSTREAM_VALIDATE_RESPONSES=off"}
	a, b := freeAddr(t), freeAddr(t)
	start(t, a, env, "serve", "--addr", a)
	start(t, b, env, "serve", "--addr", b)
	A, B := "http://"+a, "http://"+b

	t.Run("a cache entry written by one replica is a hit on the other", func(t *testing.T) {
		_, ha, _ := call(t, "GET", A+"/api/co/profile/check-username?username=delt.navn", "cache-user", "", "")
		_, hb, _ := call(t, "GET", B+"/api/co/profile/check-username?username=delt.navn", "cache-user", "", "")
		if ha.Get("X-Cache") != "MISS" || hb.Get("X-Cache") != "HIT" || up.checks.Load() != 1 {
			t.Fatalf("X-Cache A=%q B=%q, upstream calls %d; want MISS, HIT, 1", ha.Get("X-Cache"), hb.Get("X-Cache"), up.checks.Load())
		}
	})

	t.Run("one idempotency key sent to both replicas at once is submitted once", func(t *testing.T) {
		before := up.ratings.Load()
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, base := range []string{A, B} {
			wg.Add(1)
			go func(i int, base string) {
				defer wg.Done()
				codes[i], _, _ = call(t, "POST", base+"/api/co/rating/rate/77", "idem-user", "same-key", rating)
			}(i, base)
		}
		wg.Wait()
		if got := up.ratings.Load() - before; got != 1 {
			t.Fatalf("upstream submissions = %d, want 1 (answers %v)", got, codes)
		}
		code, h, _ := call(t, "POST", B+"/api/co/rating/rate/77", "idem-user", "same-key", rating)
		if code != 200 || h.Get("Idempotent-Replayed") != "true" || up.ratings.Load()-before != 1 {
			t.Fatalf("retry on the other replica = %d replayed=%q, want a replay without a new submission", code, h.Get("Idempotent-Replayed"))
		}
	})

	t.Run("the rate limit holds for the fleet", func(t *testing.T) {
		for i, base := range []string{A, B, A, B} {
			if code, _, body := call(t, "GET", base+"/api/co/rating", "limited-user", "", ""); code != 200 {
				t.Fatalf("request %d = %d %s, want 200", i, code, body)
			}
		}
		code, h, _ := call(t, "GET", A+"/api/co/rating", "limited-user", "", "")
		if code != 429 || h.Get("Retry-After") == "" {
			t.Fatalf("5th request across both replicas = %d, want 429 with Retry-After", code)
		}
	})

	t.Run("a list kept by one replica answers stale on the other; a rating on either drops it", func(t *testing.T) {
		if code, _, body := call(t, "GET", A+"/api/co/rating", "stale-user", "", ""); code != 200 {
			t.Fatalf("the list on A = %d %s", code, body)
		}
		up.listsFail.Store(true)
		defer up.listsFail.Store(false)
		if code, h, _ := call(t, "GET", B+"/api/co/rating", "stale-user", "", ""); code != 200 || h.Get("X-Cache") != "STALE" {
			t.Fatalf("the list on B while the upstream fails = %d X-Cache %q, want A's list, stale", code, h.Get("X-Cache"))
		}
		if code, _, body := call(t, "POST", B+"/api/co/rating/rate/80", "stale-user", "", rating); code != 200 {
			t.Fatalf("rating on B = %d %s", code, body)
		}
		if code, h, _ := call(t, "GET", A+"/api/co/rating", "stale-user", "", ""); code != 503 || h.Get("X-Cache") != "" {
			t.Fatalf("the list on A after the rating on B = %d X-Cache %q, want 503: the kept list lacks the rating", code, h.Get("X-Cache"))
		}
	})

	redis.kill()
	t.Run("Redis down: reads keep working, keyed POSTs are refused", func(t *testing.T) {
		for _, base := range []string{A, B} {
			if code, _, body := call(t, "GET", base+"/api/co/profile/check-username?username=uten.redis", "outage-user", "", ""); code != 200 {
				t.Fatalf("check-username without Redis = %d %s, want 200", code, body)
			}
			if code, _, body := call(t, "GET", base+"/api/co/rating", "outage-user", "", ""); code != 200 {
				t.Fatalf("list without Redis = %d %s, want 200", code, body)
			}
		}
		before := up.ratings.Load()
		code, h, body := call(t, "POST", A+"/api/co/rating/rate/78", "outage-user", "outage-key", rating)
		if code != 503 || h.Get("Retry-After") == "" || !strings.Contains(body, "upstream_unavailable") || up.ratings.Load() != before {
			t.Fatalf("keyed POST without Redis = %d %s (%d submissions), want 503 and none", code, body, up.ratings.Load()-before)
		}
		if code, _, body := call(t, "GET", A+"/metrics", "", "", ""); code != 200 || !strings.Contains(body, "minbil_bff_store_fallbacks_total") {
			t.Fatalf("metrics without the fallback counter: %d", code)
		}
	})

	startRedis(t, redisAddr)
	t.Run("Redis back: shared behaviour resumes without a restart", func(t *testing.T) {
		deadline := time.Now().Add(15 * time.Second)
		for i := 0; ; i++ {
			// A fresh caller each time: the fleet-wide rate limit is 4 a minute.
			code, _, _ := call(t, "POST", A+"/api/co/rating/rate/79", fmt.Sprintf("back-poster-%d", i), "back-key", rating)
			if code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("keyed POST after Redis returned = %d", code)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// Each replica's Redis breaker probes again within a second: poll
		// with a fresh name until a write on A is a hit on B.
		for i := 0; ; i++ {
			name, user := fmt.Sprintf("tilbake%d", i), fmt.Sprintf("back-reader-%d", i)
			before := up.checks.Load()
			_, ha, _ := call(t, "GET", A+"/api/co/profile/check-username?username="+name, user, "", "")
			_, hb, _ := call(t, "GET", B+"/api/co/profile/check-username?username="+name, user, "", "")
			if ha.Get("X-Cache") == "MISS" && hb.Get("X-Cache") == "HIT" && up.checks.Load()-before == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after Redis returned: X-Cache A=%q B=%q, upstream calls %d; want MISS, HIT, 1", ha.Get("X-Cache"), hb.Get("X-Cache"), up.checks.Load()-before)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}
