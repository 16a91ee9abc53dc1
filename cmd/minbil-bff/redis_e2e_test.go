package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/minbil/minbil-bff/gateway/store/redistest"
)

// countingUpstream is the one upstream both replicas share; it counts
// calls per operation.
type countingUpstream struct {
	url                    string
	checks, lists, ratings atomic.Int64
	rateDelay              time.Duration
	listsFail              atomic.Bool // the list answers 503
}

// newCountingUpstream answers each rating after rateDelay.
func newCountingUpstream(t *testing.T, rateDelay time.Duration) *countingUpstream {
	t.Helper()
	u := &countingUpstream{rateDelay: rateDelay}
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
	redis := redistest.Start(t)
	redisAddr := redis.Addr
	up := newCountingUpstream(t, 300*time.Millisecond)
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

	redis.Stop(t)
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

	redis.Restart(t)
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

// redisEnv is a gateway in front of up with its state in the Redis at
// redisAddr. A keyed request is bounded by 3 s (upstream timeout 2 s,
// write timeout 1 s): the claim the gateway used to give it.
func redisEnv(up *countingUpstream, redisAddr string, extra ...string) []string {
	return append([]string{"MINBIL_AUTH_MODE=passthrough", "MINBIL_API_KEY=e2e-key-not-a-secret", "MINBIL_UPSTREAM_URL=" + up.url,
		"MINBIL_STORE_BACKEND=redis", "MINBIL_STORE_REDIS_ADDR=" + redisAddr, "MINBIL_UPSTREAM_VALIDATE_RESPONSES=off",
		"MINBIL_UPSTREAM_TIMEOUT=2s", "MINBIL_SERVER_WRITE_TIMEOUT=1s"}, extra...)
}

// skipUnlessRedis skips a test that runs processes in -short mode or
// without redis-server.
func skipUnlessRedis(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs processes")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install -y redis-server; .ci/run does it)")
	}
}

// answer is one HTTP answer of the gateway.
type answer struct {
	code     int
	replayed bool
	body     string
}

// postAsync sends a keyed rating of caller in the background.
func postAsync(t *testing.T, base, caller, key string) <-chan answer {
	t.Helper()
	done := make(chan answer, 1)
	go func() {
		code, h, body := call(t, "POST", base+"/api/co/rating/rate/77", caller, key, rating)
		done <- answer{code, h.Get("Idempotent-Replayed") == "true", body}
	}()
	return done
}

// TestR3F1KeyedPostSurvivesARedisPause: Redis pauses 0.3 s into a 1 s
// keyed POST and stays paused for 3 s, longer than the 3 s the claim used
// to live from the claim; the client retries its key every 0.5 s. The
// upstream sees one POST, and the retries end in the first answer,
// replayed: while Redis is paused from the copy the gateway keeps, after
// it from Redis, where the gateway wrote it on Redis's return.
func TestR3F1KeyedPostSurvivesARedisPause(t *testing.T) {
	skipUnlessRedis(t)
	redis := redistest.Start(t)
	up := newCountingUpstream(t, time.Second)
	addr := freeAddr(t)
	start(t, addr, redisEnv(up, redis.Addr), "serve", "--addr", addr)
	base := "http://" + addr

	began := time.Now()
	firstDone := postAsync(t, base, "f1-user", "K")
	time.Sleep(300 * time.Millisecond)
	redis.Pause(t)
	resumed := false
	var first *answer
	var retries []answer
	for i := 1; i <= 12; i++ {
		time.Sleep(time.Until(began.Add(time.Duration(i) * 500 * time.Millisecond)))
		if !resumed && time.Since(began) >= 3300*time.Millisecond {
			redis.Resume(t)
			resumed = true
		}
		code, h, body := call(t, "POST", base+"/api/co/rating/rate/77", "f1-user", "K", rating)
		retries = append(retries, answer{code, h.Get("Idempotent-Replayed") == "true", body})
		select {
		case a := <-firstDone:
			first = &a
		default:
		}
	}
	if !resumed {
		redis.Resume(t)
	}
	if first == nil {
		a := <-firstDone
		first = &a
	}
	if first.code != 200 {
		t.Fatalf("the first POST = %d %s, want 200", first.code, first.body)
	}
	for i, r := range retries {
		if r.code == 200 && (!r.replayed || r.body != first.body) {
			t.Errorf("retry %d = 200 replayed=%v %s; a 200 must be the first answer replayed (%s)", i+1, r.replayed, r.body, first.body)
		}
	}
	if last := retries[len(retries)-1]; last.code != 200 || !last.replayed || last.body != first.body {
		t.Errorf("the last retry = %d replayed=%v %s, want the first answer replayed", last.code, last.replayed, last.body)
	}
	if n := up.ratings.Load(); n != 1 {
		t.Errorf("upstream POSTs = %d, want exactly 1 (retries %v)", n, retries)
	}
}

// shippedRedisArgs are the redis-server arguments of
// configs/kubernetes/redis.yaml, less its port (redistest picks one).
func shippedRedisArgs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "configs", "kubernetes", "redis.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := yaml.Unmarshal(bytes.Split(raw, []byte("\n---\n"))[0], &d); err != nil {
		t.Fatalf("redis.yaml: %v", err)
	}
	var args []string
	in := d.Spec.Template.Spec.Containers[0].Args
	for i := 0; i < len(in); i++ {
		if in[i] == "--port" {
			i++
			continue
		}
		args = append(args, in[i])
	}
	return args
}

// TestR3F2FullRedisRefusesInsteadOfEvicting runs the shipped Redis
// configuration (configs/kubernetes/redis.yaml) with a small memory limit,
// and fills it while a keyed POST is in flight. Nothing is evicted: the
// in-flight request's outcome, which Redis has no room for, is kept by the
// gateway and replayed; a new key is refused with 503 and Retry-After and
// never reaches the upstream; once Redis has room again the outcome is
// written. The gateway warns at start against a Redis whose policy could
// evict, and says so when it cannot read the policy.
func TestR3F2FullRedisRefusesInsteadOfEvicting(t *testing.T) {
	skipUnlessRedis(t)
	args := shippedRedisArgs(t)
	if !slices.Contains(args, "noeviction") {
		t.Fatalf("configs/kubernetes/redis.yaml runs redis-server with %q, want maxmemory-policy noeviction", args)
	}
	redis := redistest.Start(t, append(args, "--maxmemory", "4mb")...)
	up := newCountingUpstream(t, time.Second)
	addr := freeAddr(t)
	p := start(t, addr, redisEnv(up, redis.Addr), "serve", "--addr", addr)
	base := "http://" + addr

	firstDone := postAsync(t, base, "f2-user", "K")
	time.Sleep(300 * time.Millisecond)
	redis.Fill(t, "filler:", 10<<10, 0)
	first := <-firstDone
	if first.code != 200 {
		t.Fatalf("the POST in flight while Redis filled = %d %s, want 200", first.code, first.body)
	}
	if code, h, body := call(t, "POST", base+"/api/co/rating/rate/77", "f2-user", "K", rating); code != 200 || h.Get("Idempotent-Replayed") != "true" || body != first.body {
		t.Fatalf("its retry with Redis full = %d replayed=%q %s, want the first answer replayed", code, h.Get("Idempotent-Replayed"), body)
	}
	code, h, body := call(t, "POST", base+"/api/co/rating/rate/78", "f2-user", "new-key", rating)
	if code != 503 || h.Get("Retry-After") == "" || up.ratings.Load() != 1 {
		t.Fatalf("a new key with Redis full = %d Retry-After %q %s (%d upstream POSTs), want 503 with Retry-After and none", code, h.Get("Retry-After"), body, up.ratings.Load()-1)
	}
	if evicted := redis.Info(t, "stats")["evicted_keys"]; evicted != "0" {
		t.Errorf("Redis evicted %s keys, want none", evicted)
	}
	if err := redis.Client(t).ConfigSet(context.Background(), "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(metricsOf(t, base), "minbil_bff_idempotency_outcomes_waiting 0") {
		if time.Now().After(deadline) {
			t.Fatalf("the outcome still waits for Redis 15 s after it had room:\n%s", p.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(metricsOf(t, base), `minbil_bff_store_full_total{store="idempotency"} 1`) {
		t.Error("/metrics does not count the refused key")
	}
	if !p.logged("gateway listening") || strings.Contains(p.out.String(), "Redis may evict") {
		t.Errorf("the gateway warns against the shipped configuration:\n%s", p.out)
	}

	t.Run("a policy that evicts is warned about; a refused CONFIG is said", func(t *testing.T) {
		tests := []struct {
			name    string
			args    []string
			wantLog string
		}{
			{"the old manifest's volatile-ttl", redistest.Memory("10mb", "volatile-ttl"), "Redis may evict idempotency records"},
			{"a managed Redis refuses CONFIG", []string{"--rename-command", "CONFIG", ""}, "could not read Redis's maxmemory-policy"},
		}
		for _, tt := range tests {
			r := redistest.Start(t, tt.args...)
			addr := freeAddr(t)
			p := start(t, addr, redisEnv(up, r.Addr), "serve", "--addr", addr)
			if !p.logged(tt.wantLog) {
				t.Errorf("%s: the start-up log lacks %q:\n%s", tt.name, tt.wantLog, p.out)
			}
		}
	})
}

// logged reports whether the process has written a line containing s,
// waiting a little for its output to be copied.
func (p *process) logged(s string) bool {
	for range 100 {
		if strings.Contains(p.out.String(), s) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// metricsOf is the gateway's /metrics.
func metricsOf(t *testing.T, base string) string {
	t.Helper()
	_, _, body := callPlain(t, base+"/metrics")
	return body
}

// TestR3F3RatingDuringARedisPauseDropsTheList: the caller's list is kept in
// Redis; Redis pauses; the caller rates (200) among other traffic; Redis
// resumes; the upstream fails. The list from before the rating is never served: not by the
// replica that took the rating (its own drop-mark), and not by another
// replica once that one has written its mark to Redis.
func TestR3F3RatingDuringARedisPauseDropsTheList(t *testing.T) {
	skipUnlessRedis(t)
	redis := redistest.Start(t)
	up := newCountingUpstream(t, 0)
	a, b := freeAddr(t), freeAddr(t)
	start(t, a, redisEnv(up, redis.Addr), "serve", "--addr", a)
	start(t, b, redisEnv(up, redis.Addr), "serve", "--addr", b)
	A, B := "http://"+a, "http://"+b

	if code, _, body := call(t, "GET", A+"/api/co/rating", "f3-user", "", ""); code != 200 {
		t.Fatalf("the list = %d %s", code, body)
	}
	redis.Pause(t)
	// Other traffic meanwhile: its Redis calls time out and open A's Redis
	// breaker, so the rating's own writes are not even sent (commands sent
	// to a paused Redis still run when it resumes).
	call(t, "GET", A+"/api/co/rating", "f3-other", "", "")
	code, _, body := call(t, "POST", A+"/api/co/rating/rate/81", "f3-user", "", rating)
	redis.Resume(t)
	if code != 200 {
		t.Fatalf("the rating while Redis is paused = %d %s, want 200", code, body)
	}
	// A fell back to its own state while Redis was paused; wait until it
	// reads Redis again (a name B cached is a hit on A), so that what A
	// answers next is what it makes of Redis's copy.
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		name := fmt.Sprintf("probe%d", i)
		call(t, "GET", B+"/api/co/profile/check-username?username="+name, "f3-probe", "", "")
		if _, h, _ := call(t, "GET", A+"/api/co/profile/check-username?username="+name, "f3-probe", "", ""); h.Get("X-Cache") == "HIT" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("A does not read Redis 15 s after it resumed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	up.listsFail.Store(true)
	if code, h, body := call(t, "GET", A+"/api/co/rating", "f3-user", "", ""); code == 200 {
		t.Fatalf("the list on A once Redis resumed, the upstream failing = %d X-Cache %q %s; want the error, never the list from before the rating", code, h.Get("X-Cache"), body)
	}
	ctx, rc := context.Background(), redis.Client(t)
	for {
		marks, err := rc.Keys(ctx, "minbil-bff:stale:drop:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(marks) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("A has not written its drop-mark to Redis 15 s after Redis resumed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, h, body := call(t, "GET", B+"/api/co/rating", "f3-user", "", ""); code == 200 {
		t.Fatalf("the list on B after A wrote its mark = %d X-Cache %q %s; want the error", code, h.Get("X-Cache"), body)
	}
}

// TestShutdownWritesWaitingOutcomes: a replica scaled down during a Redis
// blip. Its keyed POST finished while Redis was paused, so the outcome
// waits in the process; SIGTERM comes, Redis resumes during the drain, and
// the replica writes the outcome before it exits, within
// server.shutdown_timeout: a retry on another replica is the first answer
// replayed. A replica whose Redis never comes back exits within
// server.shutdown_timeout all the same, and says what it could not write.
func TestShutdownWritesWaitingOutcomes(t *testing.T) {
	skipUnlessRedis(t)
	redis := redistest.Start(t)
	up := newCountingUpstream(t, time.Second)
	waitingOutcome := func(caller string, shutdown string) (*process, answer) {
		t.Helper()
		addr := freeAddr(t)
		p := startUnmanaged(t, addr, redisEnv(up, redis.Addr, "MINBIL_SERVER_SHUTDOWN_TIMEOUT="+shutdown), "serve", "--addr", addr)
		done := postAsync(t, "http://"+addr, caller, "K")
		time.Sleep(300 * time.Millisecond)
		redis.Pause(t)
		first := <-done
		if first.code != 200 {
			redis.Resume(t)
			t.Fatalf("the POST while Redis paused = %d %s, want 200", first.code, first.body)
		}
		if !strings.Contains(metricsOf(t, "http://"+addr), "minbil_bff_idempotency_outcomes_waiting 1") {
			t.Error("/metrics does not show the outcome waiting for Redis")
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		return p, first
	}

	p, first := waitingOutcome("shutdown-user", "10s")
	time.Sleep(time.Second)
	redis.Resume(t)
	if err := p.wait(20 * time.Second); err != nil {
		t.Fatalf("the replica after SIGTERM: %v\n%s", err, p.out)
	}
	other := freeAddr(t)
	start(t, other, redisEnv(up, redis.Addr), "serve", "--addr", other)
	code, h, body := call(t, "POST", "http://"+other+"/api/co/rating/rate/77", "shutdown-user", "K", rating)
	if code != 200 || h.Get("Idempotent-Replayed") != "true" || body != first.body || up.ratings.Load() != 1 {
		t.Fatalf("the retry on another replica = %d replayed=%q %s (%d upstream POSTs), want the first answer replayed and 1 POST",
			code, h.Get("Idempotent-Replayed"), body, up.ratings.Load())
	}

	p, _ = waitingOutcome("stranded-user", "2s")
	defer redis.Resume(t)
	if err := p.wait(20 * time.Second); err == nil {
		t.Error("a replica that could not write an outcome exited 0, want an error")
	}
	if !p.logged("idempotency outcomes not written to the store before exit") {
		t.Errorf("the replica does not say what it could not write:\n%s", p.out)
	}
}

// TestSlowRedisCostsAFewTimeoutsNotOnePerRequest ("a slow Redis slows
// every request"): Redis stalls under a stream of requests that each use
// it several times (two rate limiters, the username cache, the stale list).
// Every command sent to the stalled Redis is a wait of store.redis.timeout
// for some request, so the count of commands sent during the stall is the
// count of those waits: the store's breaker allows three failed calls, then
// one probe a second. Every request is answered all the same, from the
// memory fallback, and Redis is used again once it answers.
func TestSlowRedisCostsAFewTimeoutsNotOnePerRequest(t *testing.T) {
	skipUnlessRedis(t)
	proxy := redistest.Start(t).Proxy(t)
	up := newCountingUpstream(t, 0)
	addr := freeAddr(t)
	// Limits high enough for one loopback client's 400 requests in a few
	// seconds: the limiters' Redis calls are what this test counts.
	start(t, addr, redisEnv(up, proxy.Addr, "MINBIL_RATE_LIMIT_PER_IP=100000", "MINBIL_RATE_LIMIT_PER_IDENTITY=100000"), "serve", "--addr", addr)
	base := "http://" + addr
	request := func(i int) (int, string) {
		if i%2 == 0 {
			code, _, body := call(t, "GET", base+"/api/co/rating", fmt.Sprintf("slow-%d", i%7), "", "")
			return code, body
		}
		code, _, body := call(t, "GET", fmt.Sprintf("%s/api/co/profile/check-username?username=slow.name%d", base, i), "slow-user", "", "")
		return code, body
	}
	for i := range 4 {
		if code, body := request(i); code != 200 {
			t.Fatalf("before the stall: request %d = %d %s", i, code, body)
		}
	}
	if proxy.Commands() == 0 {
		t.Fatal("the gateway sent Redis no command before the stall: the test measures nothing")
	}
	breakerIs := func(when, state string) {
		t.Helper()
		if m := metricsOf(t, base); !strings.Contains(m, "\nminbil_bff_store_breaker_state "+state+"\n") {
			t.Fatalf("%s: want minbil_bff_store_breaker_state %s in the metrics", when, state)
		}
	}
	breakerIs("before the stall", "0")

	const requests = 400
	proxy.Pause()
	before, began := proxy.Commands(), time.Now()
	for i := range requests {
		if code, body := request(i); code != 200 {
			t.Fatalf("during the stall: request %d = %d %s, want 200 from the memory fallback", i, code, body)
		}
	}
	stalled, elapsed := proxy.Commands()-before, time.Since(began)
	breakerIs("during the stall", "2")
	proxy.Resume()

	// A breaker call is at most six commands (a new connection's HELLO, and
	// a rate-limit transaction's MULTI, SET, INCR, PTTL, EXEC). Three calls
	// fail before the breaker opens; then it lets one probe through each
	// second it stays open.
	probes := 1 + int64(elapsed/time.Second)
	limit := 6 * (3 + probes)
	t.Logf("%d requests during the stall sent %d commands in %v (at most %d allowed)", requests, stalled, elapsed.Round(time.Millisecond), limit)
	if stalled > limit {
		t.Fatalf("%d requests during the stall sent %d commands to the stalled Redis, each a timeout some request waited; want at most %d (three failures, then a probe a second)", requests, stalled, limit)
	}
	// Without a breaker every request waits at least once, so the stall
	// also takes a second per five requests and the allowance above grows
	// with it; counted per request, the waits cannot hide behind the time
	// they take.
	if stalled >= requests/4 {
		t.Fatalf("%d requests during the stall sent %d commands to the stalled Redis; want fewer than one wait per four requests", requests, stalled)
	}

	// Once the breaker closes, one request sends more commands than one
	// breaker call can (two rate-limit transactions alone are ten).
	deadline := time.Now().Add(15 * time.Second)
	for {
		mark := proxy.Commands()
		if code, body := request(1); code != 200 {
			t.Fatalf("after the stall: %d %s", code, body)
		}
		if proxy.Commands()-mark > 6 {
			breakerIs("after the stall", "0")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the gateway does not use Redis again 15 s after it answers")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
