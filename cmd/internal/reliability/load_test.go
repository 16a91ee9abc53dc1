package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/auth/authtest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// TestOwnershipThroughTheMock is BI-59, BI-60 (uniform 404s) and L-05
// against the built-in mock, which knows owners and bookings.
func TestOwnershipThroughTheMock(t *testing.T) {
	t.Parallel()
	h := startGateway(t, "mock")
	t.Run("BI-59/another owner's booking answers 404 and stores nothing", func(t *testing.T) {
		a := h.Do(wiretest.Post("/api/co/rating/rate/123", wiretest.JSONHeader(wiretest.Bearer("user-b")), validRating))
		if a.Status != 404 || a.ErrorCode() != "not_found" {
			t.Fatalf("user B rating the demo owner's booking 123 = %s, want 404", a)
		}
		list := h.Do(wiretest.Get("/api/co/rating", nil))
		if strings.Contains(string(list.Body), `"booking_id":123,`) {
			t.Fatalf("booking 123 was rated by another owner: %s", list.Body)
		}
	})
	t.Run("BI-60/unknown and foreign bookings answer the same 404", func(t *testing.T) {
		var first string
		for _, id := range []string{"123", "124", "9999999", "555555555", "121"} {
			a := h.Do(wiretest.Post("/api/co/rating/rate/"+id, wiretest.JSONHeader(wiretest.Bearer("user-b")), validRating))
			var e struct{ Error json.RawMessage }
			_ = json.Unmarshal(a.Body, &e)
			if first == "" {
				first = string(e.Error)
			}
			if a.Status != 404 || string(e.Error) != first {
				t.Fatalf("booking %s = %s, want the same 404 as %s", id, a, first)
			}
		}
	})
	t.Run("L-05/the same booking twice at once without a key: one 200, the rest 409", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		count := map[int]int{}
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, err := h.Try(wiretest.Post("/api/co/rating/rate/123", wiretest.JSONHeader(nil), validRating))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					count[-1]++
					return
				}
				count[a.Status]++
			}()
		}
		wg.Wait()
		if count[200] != 1 || count[409] != 9 {
			t.Fatalf("answers %v, want one 200 and nine 409", count)
		}
		list := h.Do(wiretest.Get("/api/co/rating", nil))
		if n := strings.Count(string(list.Body), `"booking_id":123,`); n != 1 {
			t.Fatalf("booking 123 listed %d times, want 1", n)
		}
	})
}

// TestLoad is L-01, L-06, L-13 and L-15 at a size that fits the suite: the
// invariants, not the throughput, are what is tested here (gateway/perf
// measures throughput).
func TestLoad(t *testing.T) {
	t.Parallel()
	t.Run("L-01/concurrency ladder: no errors, the upstream sees misses only", func(t *testing.T) {
		up := wiretest.NewUpstream(t, routeOK)
		h := startGateway(t, up.URL)
		for _, n := range []int{1, 10, 50, 200} {
			cold := up.Calls.Load()
			errs := burst(h, n, func(i int) wiretest.Request {
				return wiretest.Get(checkPath+fmt.Sprintf("?username=step%d-%d", n, i%25), wiretest.Bearer("ladder"))
			})
			misses := up.Calls.Load() - cold
			if errs != 0 || misses > int64(min(n, 25)) {
				t.Fatalf("cold step %d: %d errors, %d upstream calls, want 0 errors and at most %d", n, errs, misses, min(n, 25))
			}
			warm := up.Calls.Load()
			if errs := burst(h, n, func(i int) wiretest.Request {
				return wiretest.Get(checkPath+fmt.Sprintf("?username=step%d-%d", n, i%min(n, 25)), wiretest.Bearer("ladder"))
			}); errs != 0 || up.Calls.Load() != warm {
				t.Fatalf("warm step %d: %d errors, %d upstream calls, want none", n, errs, up.Calls.Load()-warm)
			}
		}
	})

	t.Run("L-06/load with injected faults: no POST twice upstream, every 2xx recorded once", func(t *testing.T) {
		var seq atomic.Int64
		up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			switch n := seq.Add(1); {
			case n%10 == 0:
				wiretest.Raw(503, "text/plain", "overloaded")(w, r)
			case n%100 == 1:
				resetNow(w, r)
			case n%100 == 51:
				wiretest.Hang(w, r)
			default:
				routeOK(w, r)
			}
		})
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) {
			c.Upstream.Timeout = 300 * time.Millisecond
			c.Breaker.ConsecutiveFailures = 1000 // the invariants, not the breaker, are under test here
		}))
		const n = 300
		statuses := make([]int, n)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 30)
		for i := 0; i < n; i++ {
			wg.Add(1)
			sem <- struct{}{}
			go func(i int) {
				defer wg.Done()
				defer func() { <-sem }()
				r := wiretest.Post(fmt.Sprintf("/api/co/rating/rate/%d", 5000+i), wiretest.JSONHeader(nil), validRating)
				a, err := h.Try(r)
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				h.Check(r, a)
				statuses[i] = a.Status
			}(i)
		}
		wg.Wait()
		seen := map[string]int{}
		for _, rec := range up.Records() {
			seen[rec.Line]++
		}
		for line, k := range seen {
			if k > 1 {
				t.Errorf("%s reached the upstream %d times", line, k)
			}
		}
		for i, s := range statuses {
			line := fmt.Sprintf("POST /api/co/rating/rate/%d HTTP/1.1", 5000+i)
			if s == 200 && seen[line] != 1 {
				t.Errorf("booking %d answered 200 with %d upstream records", 5000+i, seen[line])
			}
		}
	})

	t.Run("L-13/cache keys and values stay with their names under concurrency", func(t *testing.T) {
		up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			name := r.URL.Query().Get("username")
			wiretest.Reply(200, string(authtest.JSON(t, map[string]any{"username": name, "available": len(name)%2 == 0, "message": "m"})))(w, r)
		})
		h := startGateway(t, up.URL)
		for pass := 0; pass < 2; pass++ {
			var wg sync.WaitGroup
			for g := 0; g < 100; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					name := fmt.Sprintf("n%0*d", 3+g%7, g)
					a, err := h.Try(wiretest.Get(checkPath+"?username="+name, wiretest.Bearer("same")))
					var got struct {
						Username  string
						Available bool
					}
					if err == nil {
						_ = json.Unmarshal(a.Body, &got)
					}
					if err != nil || got.Username != name || got.Available != (len(name)%2 == 0) {
						t.Errorf("pass %d: %s answered %+v (%v)", pass, name, got, err)
					}
				}(g)
			}
			wg.Wait()
		}
		if up.Calls.Load() != 100 {
			t.Errorf("%d upstream calls for 100 names asked twice, want 100", up.Calls.Load())
		}
	})

	t.Run("L-15/exact counts under parallelism", func(t *testing.T) {
		up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "1") || strings.HasSuffix(r.URL.Path, "3") {
				upstreamError(404, "not_found")(w, r)
				return
			}
			routeOK(w, r)
		})
		h := startGateway(t, up.URL)
		var wg sync.WaitGroup
		for g := 0; g < 10; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					_, _ = h.Try(wiretest.Post(fmt.Sprintf("/api/co/rating/rate/%d%d", g+1, i%4), wiretest.JSONHeader(nil), validRating))
				}
			}(g)
		}
		wg.Wait()
		body := string(metrics(t, h).Body)
		for _, want := range []string{
			`minbil_bff_requests_total{route="rateBooking",status="200"} 100`,
			`minbil_bff_requests_total{route="rateBooking",status="404"} 100`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
		if up.Calls.Load() != 200 {
			t.Errorf("%d upstream calls, want 200 (4xx kept the breaker closed)", up.Calls.Load())
		}
	})
}

// burst sends n requests at once and counts the non-2xx answers.
func burst(h *wiretest.Server, n int, r func(i int) wiretest.Request) int64 {
	var wg sync.WaitGroup
	var errs atomic.Int64
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			a, err := h.Try(r(i))
			if err != nil || a.Status != 200 {
				errs.Add(1)
			}
		}(i)
	}
	wg.Wait()
	return errs.Load()
}

// TestConnectionLimits is L-08, L-09 and L-10, scaled down: slow and idle
// clients are cut off by the server's timeouts, and overload is refused at
// the edge.
func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	t.Run("L-08/over Server.Concurrency fasthttp refuses at the connection level, then recovers", func(t *testing.T) {
		release := make(chan struct{})
		up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			routeOK(w, r)
		})
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { c.Server.MaxConns = 4; c.Upstream.Timeout = 5 * time.Second }))
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = h.Try(wiretest.Get("/api/co/rating", nil)) }()
		}
		waitFor(t, "4 requests upstream", func() bool { return up.Calls.Load() == 4 })
		a, err := h.Try(wiretest.Get("/api/co/rating", nil))
		if err != nil || a.Status != 503 {
			t.Fatalf("5th connection = %v %v, want fasthttp's 503", a, err)
		}
		close(release)
		wg.Wait()
		waitFor(t, "recovery", func() bool {
			a, err := h.Try(wiretest.Get("/api/co/rating", nil))
			return err == nil && a.Status == 200
		})
	})

	t.Run("L-09/slowloris connections are closed at ReadTimeout while others are served", func(t *testing.T) {
		up := wiretest.NewUpstream(t, routeOK)
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { c.Server.ReadTimeout = 500 * time.Millisecond }))
		var slow []net.Conn
		for i := 0; i < 100; i++ {
			c, err := net.Dial("tcp", h.Addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			_, _ = c.Write([]byte("GET /api/co/rating HTTP/1.1\r\nHost: x\r\nX-Slow: "))
			slow = append(slow, c)
		}
		for i := 0; i < 20; i++ {
			if a := h.Do(wiretest.Get("/api/co/rating", nil)); a.Status != 200 {
				t.Fatalf("normal request among slow ones = %s", a)
			}
		}
		for i, c := range slow {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got := readUntilQuiet(c, 10*time.Second)
			if len(got) > 0 && !strings.HasPrefix(string(got), "HTTP/1.1 408") {
				t.Fatalf("slow connection %d got %q, want a 408 or a close", i, got)
			}
		}
	})

	t.Run("L-10/idle keep-alive connections are closed at IdleTimeout", func(t *testing.T) {
		up := wiretest.NewUpstream(t, routeOK)
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { c.Server.IdleTimeout = 300 * time.Millisecond }))
		var idle []net.Conn
		for i := 0; i < 100; i++ {
			c, err := net.Dial("tcp", h.Addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
			idle = append(idle, c)
		}
		for i, c := range idle {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got := readUntilQuiet(c, 10*time.Second) // the answer, then EOF at the idle timeout
			if len(responses(got)) != 1 {
				t.Fatalf("idle connection %d: %q", i, got)
			}
		}
	})
}

// TestShutdownAndDisconnect is F-34 (SIGTERM with requests in flight,
// wired as `serve` wires it) and F-35 (a client that hangs up right after
// its POST).
func TestShutdownAndDisconnect(t *testing.T) {
	t.Run("F-34/SIGTERM: in-flight POSTs complete, new connections are refused", func(t *testing.T) {
		release := make(chan struct{})
		up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			routeOK(w, r)
		})
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { c.Upstream.Timeout = 5 * time.Second }))
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		shut := make(chan error, 1)
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			shut <- h.Shutdown(sctx)
		}()
		const n = 5
		answers := make(chan wiretest.Answer, n)
		for i := 0; i < n; i++ {
			go func(i int) {
				a, err := h.Try(wiretest.Post(fmt.Sprintf("/api/co/rating/rate/%d", 700+i), wiretest.JSONHeader(nil), validRating))
				if err != nil {
					t.Errorf("in-flight POST %d: %v", i, err)
				}
				answers <- a
			}(i)
		}
		waitFor(t, "the POSTs upstream", func() bool { return up.Calls.Load() == n })
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "new connections refused", func() bool {
			c, err := net.DialTimeout("tcp", h.Addr, time.Second)
			if err == nil {
				_ = c.Close()
			}
			return err != nil
		})
		close(release)
		for i := 0; i < n; i++ {
			a := <-answers
			var ok struct {
				Data struct {
					BookingID int64 `json:"booking_id"`
				}
			}
			if a.Status != 200 || json.Unmarshal(a.Body, &ok) != nil || ok.Data.BookingID == 0 {
				t.Errorf("in-flight POST answered %s, want a whole 200", a)
			}
		}
		if err := <-shut; err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	})

	t.Run("F-35/a client that hangs up after its POST: the upstream call completes and is logged", func(t *testing.T) {
		up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(200 * time.Millisecond)
			routeOK(w, r)
		})
		h := startGateway(t, up.URL)
		c, err := net.Dial("tcp", h.Addr)
		if err != nil {
			t.Fatal(err)
		}
		r := wiretest.Post("/api/co/rating/rate/811", wiretest.JSONHeader(http.Header{"X-Request-ID": {"gone-811"}}), validRating)
		_, _ = c.Write(r.Wire(h.Addr))
		_ = c.Close()
		waitFor(t, "the access line of the abandoned POST", func() bool {
			for _, e := range h.AccessLines() {
				for _, f := range e.Context {
					if f.Key == "request_id" && f.String == "gone-811" {
						return true
					}
				}
			}
			return false
		})
		if up.Calls.Load() != 1 {
			t.Fatalf("upstream calls = %d, want 1", up.Calls.Load())
		}
	})
}
