package reliability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/config"
)

// rstListener is an upstream that accepts TCP connections, counts them and
// resets each at once: the request never reaches an HTTP server, so a POST
// to it is never committed.
type rstListener struct {
	ln    net.Listener
	conns atomic.Int64
	wg    sync.WaitGroup
}

func newRSTListener(t *testing.T) *rstListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rstListener{ln: ln}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.conns.Add(1)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); r.wg.Wait() })
	return r
}

// settled returns the count of the gateway's connections once the
// listener has accepted every one of them: a client's dial completes
// before the listener's Accept returns, so the count read right after an
// answer may miss the last connection. Accept takes connections in order,
// so when a sentinel dialled after the answer is counted, so is every
// connection before it.
func (r *rstListener) settled(t *testing.T) func() int64 {
	return func() int64 {
		before := r.conns.Load()
		c, err := net.Dial("tcp", r.ln.Addr().String())
		switch {
		case errors.Is(err, syscall.ECONNRESET):
			// The listener accepted and reset the sentinel before the
			// dial read its outcome: it was accepted all the same.
		case err != nil:
			t.Fatal(err)
		default:
			_ = c.Close()
		}
		for r.conns.Load() <= before {
			runtime.Gosched()
		}
		return r.conns.Load() - 1
	}
}

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// TestUpstreamFaults is F-01…F-15 (one fresh gateway and upstream per
// case): every failure is the contract's error body with the right status,
// the upstream is called exactly as often as the retry policy allows (one
// retry of a GET on a broken connection, never a retried POST), and no
// internal detail reaches the client.
func TestUpstreamFaults(t *testing.T) {
	t.Parallel()
	hugeBody := `{"total":0,"items":[],"pad":"` + strings.Repeat("x", 2<<20) + `"}`
	tests := []struct {
		name       string
		behave     http.HandlerFunc
		method     string
		wantStatus int
		wantCode   string
		wantCalls  int64
		wantRetry  string        // Retry-After
		timeout    time.Duration // upstream.timeout; 2s unless the case waits for it
	}{
		{name: "F-03/hung upstream on GET", behave: wiretest.Hang, method: "GET", wantStatus: 504, wantCode: "gateway_timeout", wantCalls: 1, timeout: 500 * time.Millisecond},
		{name: "F-03/hung upstream on POST", behave: wiretest.Hang, method: "POST", wantStatus: 504, wantCode: "gateway_timeout", wantCalls: 1, timeout: 500 * time.Millisecond},
		{name: "F-04/trickling body", behave: trickle, method: "GET", wantStatus: 504, wantCode: "gateway_timeout", wantCalls: 1, timeout: 500 * time.Millisecond},
		{name: "F-08/reset before any answer on GET: one retry", behave: resetNow, method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 2},
		{name: "F-08/reset mid-body on GET: one retry", behave: resetMidBody, method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 2},
		{name: "F-09/reset after the POST was committed: no retry", behave: resetNow, method: "POST", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-09/reset mid-answer after the POST was committed: no retry", behave: resetMidBody, method: "POST", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/truncated JSON", behave: wiretest.Reply(200, `{"total":1,"items":[`), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/trailing data", behave: wiretest.Reply(200, wiretest.ListBody+`{"total":0}`), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/HTML error page with status 200", behave: wiretest.Raw(200, "text/html", "<html><body>Oops at db-internal-7</body></html>"), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/JSON with an HTML content type", behave: wiretest.Raw(200, "text/html", wiretest.ListBody), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/garbage on a POST", behave: wiretest.Raw(200, "application/json", "\x00\xff garbage"), method: "POST", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-12/2 MiB body over the response cap", behave: wiretest.Reply(200, hugeBody), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-12/claimed Content-Length of 10^12", behave: func(w http.ResponseWriter, _ *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{")
			_ = buf.Flush()
			_ = conn.Close()
		}, method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-07/429 with Retry-After on a POST: passed on, not retried", behave: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "5")
			upstreamError(429, "rate_limited")(w, r)
		}, method: "POST", wantStatus: 429, wantCode: "rate_limited", wantCalls: 1, wantRetry: "5"},
		{name: "F-05/upstream 500 maps to 502", behave: wiretest.Reply(500, `{"trace":"at db.query(SELECT * FROM secret_table)"}`), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-05/upstream 502 maps to 502", behave: wiretest.Raw(502, "text/plain", "bad gateway from nginx/1.2"), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-05/upstream 503 maps to 503 with Retry-After", behave: wiretest.Raw(503, "text/plain", "maintenance"), method: "POST", wantStatus: 503, wantCode: "upstream_unavailable", wantCalls: 1, wantRetry: "1"},
		{name: "F-05/upstream 504 maps to 504", behave: wiretest.Raw(504, "text/plain", "timeout"), method: "GET", wantStatus: 504, wantCode: "gateway_timeout", wantCalls: 1},
		{name: "S-04/upstream 500 with a stack trace and SQL", behave: wiretest.Raw(500, "text/plain", "panic: runtime error\ngoroutine 1 [running]:\nmain.go:12 SELECT * FROM secret_table"), method: "POST", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
	}
	for _, tt := range tests {
		if tt.timeout == 0 {
			tt.timeout = 2 * time.Second
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := wiretest.NewUpstream(t, tt.behave)
			h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { c.Upstream.Timeout = tt.timeout }))
			r := wiretest.Get("/api/co/rating", wiretest.Bearer("u1"))
			if tt.method == "POST" {
				r = wiretest.Post("/api/co/rating/rate/42", wiretest.JSONHeader(merge(wiretest.Bearer("u1"), http.Header{"Idempotency-Key": {"k-" + fmt.Sprint(time.Now().UnixNano())}})), validRating)
			}
			a := h.Do(r)
			if a.Status != tt.wantStatus || a.ErrorCode() != tt.wantCode || a.Header.Get("Retry-After") != tt.wantRetry {
				t.Fatalf("answer %.300s Retry-After %q, want %d %q Retry-After %q", a, a.Header.Get("Retry-After"), tt.wantStatus, tt.wantCode, tt.wantRetry)
			}
			if got := up.Calls.Load(); got != tt.wantCalls {
				t.Fatalf("upstream calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}

	connTests := []struct {
		name       string
		dial       func(t *testing.T) (url string, count func() int64)
		method     string
		wantStatus int
		wantCalls  int64
		// atMost takes wantCalls as a bound: whether a reset reaches the
		// gateway while it writes (fasthttp does not resend a request on a
		// new connection that failed to write) or while it reads (a GET is
		// resent once) is the kernel's timing.
		atMost bool
	}{
		{"F-01/connection refused on GET", func(t *testing.T) (string, func() int64) {
			return "http://" + closedPort(t), func() int64 { return 0 }
		}, "GET", 502, 0, false},
		{"F-01/connection refused on POST", func(t *testing.T) (string, func() int64) {
			return "http://" + closedPort(t), func() int64 { return 0 }
		}, "POST", 502, 0, false},
		{"F-09/reset before the POST was committed: one connection, no retry", func(t *testing.T) (string, func() int64) {
			r := newRSTListener(t)
			return "http://" + r.ln.Addr().String(), r.settled(t)
		}, "POST", 502, 1, false},
		{"F-25/reset before any answer on GET: at most one retry", func(t *testing.T) (string, func() int64) {
			r := newRSTListener(t)
			return "http://" + r.ln.Addr().String(), r.settled(t)
		}, "GET", 502, 2, true},
		{"F-15/self-signed TLS upstream: fail closed", func(t *testing.T) (string, func() int64) {
			var n atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { n.Add(1) }))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.StartTLS()
			t.Cleanup(srv.Close)
			return srv.URL, n.Load
		}, "GET", 502, 0, false},
	}
	for _, tt := range connTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, count := tt.dial(t)
			h := startGateway(t, u)
			r := wiretest.Get("/api/co/rating", nil)
			if tt.method == "POST" {
				r = wiretest.Post("/api/co/rating/rate/42", wiretest.JSONHeader(nil), validRating)
			}
			a := h.Do(r)
			if a.Status != tt.wantStatus || a.ErrorCode() != "bad_gateway" {
				t.Fatalf("answer %s, want %d bad_gateway", a, tt.wantStatus)
			}
			if got := count(); got != tt.wantCalls && !(tt.atMost && got >= 1 && got < tt.wantCalls) {
				t.Fatalf("upstream connections/calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}

	t.Run("F-02/unresolvable upstream host", func(t *testing.T) {
		t.Parallel()
		var dials atomic.Int64
		nx := func(string) (net.Conn, error) {
			dials.Add(1)
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "ratings.nxdomain.invalid", IsNotFound: true}}
		}
		h := startGateway(t, "http://ratings.nxdomain.invalid", wiretest.WithDial(nx))
		a := h.Do(wiretest.Get("/api/co/rating", nil))
		if a.Status != 502 || strings.Contains(string(a.Body), "nxdomain") || strings.Contains(string(a.Body), "no such host") {
			t.Fatalf("answer %s, want 502 without the resolver's error", a)
		}
		if dials.Load() > 2 {
			t.Fatalf("%d dial attempts, want at most 2", dials.Load())
		}
	})

	t.Run("F-13/redirects are never followed", func(t *testing.T) {
		t.Parallel()
		evil := wiretest.NewUpstream(t, routeOK)
		for _, code := range []int{301, 302, 303, 307, 308} {
			t.Run(fmt.Sprint(code), func(t *testing.T) {
				up := wiretest.NewUpstream(t, redirect(code, evil.URL+"/api/co/rating"))
				h := startGateway(t, up.URL)
				for _, r := range []wiretest.Request{wiretest.Get("/api/co/rating", wiretest.Bearer("u1")), wiretest.Post("/api/co/rating/rate/3", wiretest.JSONHeader(wiretest.Bearer("u1")), validRating)} {
					if a := h.Do(r); a.Status != 502 {
						t.Errorf("%s after a %d = %s, want 502", r.Method, code, a)
					}
				}
			})
		}
		if n := evil.Calls.Load(); n != 0 {
			t.Fatalf("the redirect target got %d requests (and the API key)", n)
		}
	})

	t.Run("F-14/upstream headers are not passed on", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			for k, v := range map[string]string{"Set-Cookie": "session=upstream", "Server": "Apache/2.2.3", "X-Powered-By": "PHP/5.1",
				"Access-Control-Allow-Origin": "*", "X-Internal-Host": "db-internal-7", "X-Api-Key": wiretest.APIKey} {
				w.Header().Set(k, v)
			}
			routeOK(w, r)
		})
		h := startGateway(t, up.URL)
		for _, r := range []wiretest.Request{wiretest.Get("/api/co/rating", nil), wiretest.Get(checkPath+"?username=ola", wiretest.Bearer("u")), wiretest.Post("/api/co/rating/rate/4", wiretest.JSONHeader(nil), validRating)} {
			a := h.Do(r)
			for _, k := range []string{"Set-Cookie", "Server", "X-Powered-By", "Access-Control-Allow-Origin", "X-Internal-Host", "X-Api-Key"} {
				if v := a.Header.Get(k); v != "" {
					t.Errorf("%s %s: upstream header %s: %s passed on", r.Method, r.Target, k, v)
				}
			}
		}
	})

	t.Run("F-11/extra fields are dropped", func(t *testing.T) {
		t.Parallel()
		extra := strings.Replace(wiretest.RatingItem, `"booking_id":1,`, `"booking_id":1,"user_email":"ola@example.no","internal_notes":"VIP",`, 1)
		up := wiretest.NewUpstream(t, wiretest.Reply(200, `{"total":1,"items":[`+extra+`],"debug":{"sql":"SELECT"}}`))
		h := startGateway(t, up.URL)
		a := h.Do(wiretest.Get("/api/co/rating", nil))
		if a.Status != 200 || strings.Contains(string(a.Body), "user_email") || strings.Contains(string(a.Body), "internal_notes") || strings.Contains(string(a.Body), "debug") {
			t.Fatalf("answer %s: extra upstream fields passed on", a)
		}
	})
}

// breakerConfig is a small breaker: 3 failures open it for 300 ms, then 2
// probes. The fake upstreams answer by the X-Request-ID the gateway
// forwards, so one test can make single requests fail or hang.
func breakerConfig(c *config.Config) {
	c.Breaker.ConsecutiveFailures = 3
	c.Breaker.OpenTimeout = 300 * time.Millisecond
	c.Breaker.HalfOpenRequests = 2
}

// TestBreaker is F-05, F-06, F-07, F-16…F-22: the per-operation breakers
// open on upstream failures only, fail fast while open, probe with exactly
// the configured number of requests, and close again.
func TestBreaker(t *testing.T) {
	t.Parallel()
	list := func(rid string) wiretest.Request {
		return wiretest.Get("/api/co/rating", http.Header{"X-Request-ID": {rid}})
	}
	open := func(t *testing.T, h *wiretest.Server, up *wiretest.Upstream) {
		t.Helper()
		for i := 0; i < 3; i++ {
			h.Do(list(fmt.Sprint("trip-", i)))
		}
		before := up.Calls.Load()
		a := h.Do(list("probe-open"))
		if a.Status != 503 || a.ErrorCode() != "upstream_unavailable" || a.Header.Get("Retry-After") == "" || up.Calls.Load() != before {
			t.Fatalf("after 3 failures: %s Retry-After %q (%d calls), want 503 with Retry-After and no call", a, a.Header.Get("Retry-After"), up.Calls.Load()-before)
		}
	}

	for _, status := range []int{500, 502, 503, 504} {
		t.Run(fmt.Sprintf("F-05/%d storm opens the breaker and freezes the upstream count", status), func(t *testing.T) {
			t.Parallel()
			up := wiretest.NewUpstream(t, wiretest.Raw(status, "text/plain", "down"))
			h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { breakerConfig(c); c.Breaker.OpenTimeout = time.Minute }))
			open(t, h, up)
			frozen := up.Calls.Load()
			for i := 0; i < 20; i++ {
				if a := h.Do(list(fmt.Sprint("open-", i))); a.Status != 503 {
					t.Fatalf("while open: %s", a)
				}
			}
			if up.Calls.Load() != frozen {
				t.Fatalf("%d upstream calls while open", up.Calls.Load()-frozen)
			}
		})
	}

	for _, tt := range []struct {
		name   string
		status int
		code   string
	}{
		{"F-06/404 flood from one user", 404, "not_found"},
		{"F-06/409 flood from one user", 409, "already_rated"},
		{"F-06/422 flood from one user", 422, "validation_failed"},
		{"F-07/429 flood counts as no failure", 429, "rate_limited"},
	} {
		t.Run(tt.name+": the breaker stays closed", func(t *testing.T) {
			t.Parallel()
			up := wiretest.NewUpstream(t, upstreamError(tt.status, tt.code))
			h := startGateway(t, up.URL, wiretest.WithConfig(breakerConfig))
			for i := 0; i < 20; i++ {
				a := h.Do(wiretest.Post(fmt.Sprintf("/api/co/rating/rate/%d", 100+i), wiretest.JSONHeader(wiretest.Bearer("mallory")), validRating))
				if a.Status != tt.status || a.ErrorCode() != tt.code {
					t.Fatalf("upstream %d answered %s", tt.status, a)
				}
			}
			up.Set(routeOK)
			before := up.Calls.Load()
			if a := h.Do(wiretest.Post("/api/co/rating/rate/200", wiretest.JSONHeader(wiretest.Bearer("alice")), validRating)); a.Status != 200 || up.Calls.Load() != before+1 {
				t.Fatalf("another user after the flood = %s, want 200 through a closed breaker", a)
			}
		})
	}

	t.Run("F-16/open breaker under 200 concurrent requests: all 503, no upstream call", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, wiretest.Raw(500, "text/plain", "down"))
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { breakerConfig(c); c.Breaker.OpenTimeout = time.Minute }))
		open(t, h, up)
		frozen := up.Calls.Load()
		var wg sync.WaitGroup
		var not503 atomic.Int64
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				a, err := h.Try(list(fmt.Sprint("c-", i)))
				if err != nil || a.Status != 503 || a.Header.Get("Retry-After") == "" {
					not503.Add(1)
				}
			}(i)
		}
		wg.Wait()
		if not503.Load() != 0 || up.Calls.Load() != frozen {
			t.Fatalf("%d answers were not 503 with Retry-After; %d upstream calls while open", not503.Load(), up.Calls.Load()-frozen)
		}
	})

	t.Run("F-17/half-open lets exactly HalfOpenRequests probes through, then closes", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		var probes atomic.Int64
		up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.Header.Get("X-Request-Id"), "trip-") {
				wiretest.Raw(500, "text/plain", "down")(w, r)
				return
			}
			probes.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			routeOK(w, r)
		})
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { breakerConfig(c); c.Upstream.Timeout = 5 * time.Second }))
		open(t, h, up)
		time.Sleep(350 * time.Millisecond) // the open timeout passes: half-open
		var wg sync.WaitGroup
		statuses := make(chan int, 50)
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				a, err := h.Try(list(fmt.Sprint("half-", i)))
				if err == nil {
					statuses <- a.Status
				}
			}(i)
		}
		waitFor(t, "48 fast 503s", func() bool { return len(statuses) >= 48 })
		if n := probes.Load(); n != 2 {
			t.Fatalf("%d probes reached the upstream while half-open, want exactly 2", n)
		}
		close(release)
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		if count[200] != 2 || count[503] != 48 {
			t.Fatalf("half-open answers %v, want 2×200 and 48×503", count)
		}
		if a := h.Do(list("after")); a.Status != 200 {
			t.Fatalf("after two good probes = %s, want 200 (closed)", a)
		}
	})

	t.Run("F-18/a hanging half-open probe ends at the upstream timeout and reopens", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.Header.Get("X-Request-Id"), "trip-") {
				wiretest.Raw(500, "text/plain", "down")(w, r)
				return
			}
			wiretest.Hang(w, r)
		})
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) {
			breakerConfig(c)
			c.Breaker.HalfOpenRequests = 1
			c.Upstream.Timeout = 400 * time.Millisecond
		}))
		open(t, h, up)
		time.Sleep(350 * time.Millisecond)
		if a := h.Do(list("probe")); a.Status != 504 {
			t.Fatalf("hanging probe = %s, want 504 at the upstream timeout", a)
		}
		before := up.Calls.Load()
		if a := h.Do(list("next")); a.Status != 503 || up.Calls.Load() != before {
			t.Fatalf("after the failed probe = %s, want 503 without an upstream call (open again)", a)
		}
	})

	t.Run("F-19/the upstream heals while open: the breaker closes", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, wiretest.Raw(500, "text/plain", "down"))
		h := startGateway(t, up.URL, wiretest.WithConfig(breakerConfig))
		open(t, h, up)
		up.Set(routeOK)
		waitFor(t, "the breaker to close", func() bool { return h.Do(list("heal")).Status == 200 })
		for i := 0; i < 10; i++ {
			if a := h.Do(list(fmt.Sprint("healed-", i))); a.Status != 200 {
				t.Fatalf("after closing: %s (flapping)", a)
			}
		}
	})

	t.Run("F-20/a failure that started before the breaker opened does not extend it", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			switch id := r.Header.Get("X-Request-Id"); {
			case id == "slow":
				wiretest.Hang(w, r)
			case strings.HasPrefix(id, "trip-"):
				wiretest.Raw(500, "text/plain", "down")(w, r)
			default:
				routeOK(w, r)
			}
		})
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) {
			breakerConfig(c)
			c.Breaker.HalfOpenRequests = 1
			c.Upstream.Timeout = 800 * time.Millisecond
		}))
		slow := make(chan wiretest.Answer, 1)
		go func() { a, _ := h.Try(list("slow")); slow <- a }()
		waitFor(t, "the slow request upstream", func() bool { return up.Calls.Load() == 1 })
		open(t, h, up)
		if a := <-slow; a.Status != 504 {
			t.Fatalf("slow request = %s, want 504", a)
		}
		// The slow failure arrived after the open timeout (800 ms > 300 ms):
		// it belongs to an older generation and must not reopen the
		// breaker, so the next request is a successful probe.
		if a := h.Do(list("probe")); a.Status != 200 {
			t.Fatalf("probe after the stale failure = %s, want 200", a)
		}
	})

	t.Run("F-21/one operation's outage leaves the others alone", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == checkPath {
				wiretest.Raw(500, "text/plain", "down")(w, r)
				return
			}
			routeOK(w, r)
		})
		h := startGateway(t, up.URL, wiretest.WithConfig(breakerConfig))
		for i := 0; i < 4; i++ {
			h.Do(wiretest.Get(checkPath+fmt.Sprintf("?username=name%d", i), wiretest.Bearer("u")))
		}
		if a := h.Do(wiretest.Get(checkPath+"?username=other", wiretest.Bearer("u"))); a.Status != 503 {
			t.Fatalf("checkUsername after its outage = %s, want 503", a)
		}
		if a := h.Do(list("l")); a.Status != 200 {
			t.Fatalf("listRatings = %s, want 200", a)
		}
		if a := h.Do(wiretest.Post("/api/co/rating/rate/5", wiretest.JSONHeader(nil), validRating)); a.Status != 200 {
			t.Fatalf("rateBooking = %s, want 200", a)
		}
	})

	t.Run("F-22/state changes are observed without deadlock", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, wiretest.Raw(500, "text/plain", "down"))
		h := startGateway(t, up.URL, wiretest.WithConfig(breakerConfig))
		open(t, h, up)
		gauge := func() string {
			a := metrics(t, h)
			for _, line := range strings.Split(string(a.Body), "\n") {
				if strings.HasPrefix(line, `minbil_bff_breaker_state{operation="listRatings"}`) {
					return strings.TrimSpace(strings.TrimPrefix(line, `minbil_bff_breaker_state{operation="listRatings"}`))
				}
			}
			return ""
		}
		if g := gauge(); g != "2" {
			t.Fatalf("breaker gauge = %q, want 2 (open)", g)
		}
		up.Set(routeOK)
		waitFor(t, "the breaker to close", func() bool { return h.Do(list("heal")).Status == 200 })
		h.Do(list("heal-2"))
		if g := gauge(); g != "0" {
			t.Fatalf("breaker gauge = %q, want 0 (closed)", g)
		}
	})
}

// panicky panics on every call: a handler-side fault.
type panicky struct{}

func (panicky) Authenticate(context.Context, []string) (auth.Identity, error) {
	panic("authenticator exploded with a nil map")
}

// TestPanics is F-23 and S-06: a panic in a handler or inside the upstream
// call answers the contract's 500 body, the stack goes to the log only, the
// process serves the next request, and a panicking upstream call counts
// against the breaker.
func TestPanics(t *testing.T) {
	t.Parallel()
	t.Run("F-23/panic in a handler", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, routeOK)
		h := startGateway(t, up.URL, wiretest.WithAuthenticator(panicky{}))
		for i := 0; i < 3; i++ {
			a := h.Do(wiretest.Get(checkPath+"?username=ola", wiretest.Bearer("u")))
			if a.Status != 500 || a.ErrorCode() != "internal_error" {
				t.Fatalf("panic answered %s, want 500 internal_error", a)
			}
		}
		if a := h.Do(wiretest.Get("/healthz", nil)); a.Status != 200 {
			t.Fatalf("after panics /healthz = %s", a)
		}
		t.Run("S-06/the stack is in the log, never in the answer", func(t *testing.T) {
			if !stackLogged(h) {
				t.Fatalf("no stack trace in the log")
			}
		})
		if up.Calls.Load() != 0 {
			t.Fatalf("upstream called after a panic")
		}
	})
	t.Run("F-23/panic inside the upstream call counts as a breaker failure", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, routeOK)
		var dials atomic.Int64
		boom := func(string) (net.Conn, error) {
			dials.Add(1)
			panic("dialer exploded")
		}
		h := startGateway(t, up.URL, wiretest.WithDial(boom), wiretest.WithConfig(func(c *config.Config) { c.Breaker.OpenTimeout = time.Minute }))
		for i := 0; i < 3; i++ {
			if a := h.Do(wiretest.Post(fmt.Sprintf("/api/co/rating/rate/%d", 10+i), wiretest.JSONHeader(nil), validRating)); a.Status != 500 || a.ErrorCode() != "internal_error" {
				t.Fatalf("panic in the upstream call answered %s, want 500", a)
			}
		}
		before := dials.Load()
		if a := h.Do(wiretest.Post("/api/co/rating/rate/20", wiretest.JSONHeader(nil), validRating)); a.Status != 503 || dials.Load() != before {
			t.Fatalf("after 3 panics = %s (%d more dials), want 503 from the open breaker", a, dials.Load()-before)
		}
		if a := h.Do(wiretest.Get("/api/co/rating", nil)); a.Status != 500 {
			t.Fatalf("another operation = %s, want 500 (its own breaker, same panicking dialer)", a)
		}
		t.Run("S-06/the stack is in the log, never in the answer", func(t *testing.T) {
			if !stackLogged(h) {
				t.Fatalf("no stack trace in the log")
			}
		})
	})
}

func stackLogged(h *wiretest.Server) bool {
	for _, e := range h.Logs.FilterMessage("panic in handler").All() {
		if strings.Contains(wiretest.LogText(e), "goroutine") || strings.Contains(wiretest.LogText(e), ".go:") {
			return true
		}
	}
	return false
}

// TestPoolExhausted is F-24: when every upstream connection is busy the
// caller waits at most MaxConnWaitTimeout and gets 503 with Retry-After;
// a full local pool does not count against the breaker.
func TestPoolExhausted(t *testing.T) {
	t.Parallel()
	t.Run("F-24/a full upstream pool answers 503 and leaves the breaker closed", testPoolExhausted)
}

func testPoolExhausted(t *testing.T) {
	up := wiretest.NewUpstream(t, routeOK)
	release := make(chan struct{})
	var dials atomic.Int64
	upAddr := strings.TrimPrefix(up.URL, "http://")
	dial := func(string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			<-release // the first connection hangs in dial, holding the only slot
		}
		return net.Dial("tcp", upAddr)
	}
	h := startGateway(t, up.URL, wiretest.WithDial(dial), wiretest.WithConfig(func(c *config.Config) {
		c.Upstream.MaxConns = 1
		c.Upstream.Timeout = 300 * time.Millisecond
	}))
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	first := make(chan wiretest.Answer, 1)
	go func() {
		a, _ := h.Try(wiretest.Post("/api/co/rating/rate/1", wiretest.JSONHeader(nil), validRating))
		first <- a
	}()
	waitFor(t, "the first dial", func() bool { return dials.Load() == 1 })
	for i := 0; i < 4; i++ {
		a := h.Do(wiretest.Get("/api/co/rating", nil))
		if a.Status != 503 || a.ErrorCode() != "upstream_unavailable" || a.Header.Get("Retry-After") == "" {
			t.Fatalf("pool exhausted answered %s, want 503 with Retry-After", a)
		}
	}
	unblock()
	<-first
	if a := h.Do(wiretest.Get("/api/co/rating", nil)); a.Status != 200 {
		t.Fatalf("after the pool freed = %s, want 200 (4 overloads did not open the breaker)", a)
	}
}

// TestUsernameCacheFaults is F-26…F-30.
func TestUsernameCacheFaults(t *testing.T) {
	t.Parallel()
	check := func(name, tok string) wiretest.Request {
		return wiretest.Get(checkPath+"?username="+name, wiretest.Bearer(tok))
	}

	t.Run("F-26/an upstream error is never cached", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, wiretest.Raw(500, "text/plain", "down"))
		h := startGateway(t, up.URL)
		if a := h.Do(check("ola", "u")); a.Status != 502 {
			t.Fatalf("upstream 500 = %s, want 502", a)
		}
		up.Set(routeOK)
		a := h.Do(check("ola", "u"))
		if a.Status != 200 || a.Header.Get("X-Cache") != "MISS" || up.Calls.Load() != 2 {
			t.Fatalf("after recovery = %s X-Cache %q (%d calls), want a MISS that reaches the upstream", a, a.Header.Get("X-Cache"), up.Calls.Load())
		}
	})

	t.Run("F-27/stampede of 200 on one uncached name makes one upstream call", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		up := wiretest.NewUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			routeOK(w, r)
		})
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { c.Upstream.Timeout = 5 * time.Second }))
		var wg sync.WaitGroup
		bodies := make(chan string, 200)
		var started atomic.Int64
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				started.Add(1)
				a, err := h.Try(check("stampede", "same-caller"))
				if err == nil && a.Status == 200 {
					bodies <- string(a.Body)
				}
			}()
		}
		waitFor(t, "the first upstream call", func() bool { return up.Calls.Load() == 1 })
		waitFor(t, "all clients started", func() bool { return started.Load() == 200 })
		time.Sleep(100 * time.Millisecond) // let the stragglers join the flight
		close(release)
		wg.Wait()
		close(bodies)
		n, first := 0, ""
		for b := range bodies {
			if first == "" {
				first = b
			}
			if b != first {
				t.Errorf("answers differ: %s vs %s", b, first)
			}
			n++
		}
		if n != 200 || up.Calls.Load() != 1 {
			t.Fatalf("%d answers with %d upstream calls, want 200 with 1", n, up.Calls.Load())
		}
	})

	// cacheEntryBytes is about what one cached check-username answer
	// costs against cache.username_max_bytes (key, answer, overhead).
	const cacheEntryBytes = 350
	t.Run("F-28/many different names: the cache stays within its cap", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, routeOK)
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { c.Cache.UsernameMaxBytes = 50 * cacheEntryBytes }))
		for i := 0; i < 120; i++ {
			h.Do(check(fmt.Sprintf("name%03d", i), "u"))
		}
		// Newest first: the answers the byte budget kept are hits until
		// the first miss starts evicting.
		hits := 0
		for i := 119; i >= 0; i-- {
			if h.Do(check(fmt.Sprintf("name%03d", i), "u")).Header.Get("X-Cache") == "HIT" {
				hits++
			}
		}
		if hits > 60 || hits == 0 {
			t.Fatalf("%d of 120 names answered from the cache, want 1…60 (a budget of about 50 answers)", hits)
		}
	})

	t.Run("F-29/an expired entry is not served", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, routeOK)
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { c.Cache.UsernameTTL = 200 * time.Millisecond }))
		h.Do(check("ttl", "u"))
		if a := h.Do(check("ttl", "u")); a.Header.Get("X-Cache") != "HIT" {
			t.Fatalf("within the TTL: X-Cache %q", a.Header.Get("X-Cache"))
		}
		time.Sleep(250 * time.Millisecond)
		if a := h.Do(check("ttl", "u")); a.Header.Get("X-Cache") != "MISS" || up.Calls.Load() != 2 {
			t.Fatalf("after the TTL: X-Cache %q with %d calls, want a MISS and a second call", a.Header.Get("X-Cache"), up.Calls.Load())
		}
	})

	t.Run("F-30/open breaker: a caller's cached answer is served, never another caller's", func(t *testing.T) {
		t.Parallel()
		up := wiretest.NewUpstream(t, routeOK)
		h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) { c.Breaker.OpenTimeout = time.Minute }))
		h.Do(check("cached", "alice"))
		up.Set(wiretest.Raw(500, "text/plain", "down"))
		for i := 0; i < 3; i++ {
			h.Do(check(fmt.Sprintf("miss%d", i), "alice"))
		}
		if a := h.Do(check("cached", "alice")); a.Status != 200 || a.Header.Get("X-Cache") != "HIT" {
			t.Fatalf("alice's cached name while open = %s X-Cache %q, want 200 HIT", a, a.Header.Get("X-Cache"))
		}
		if a := h.Do(check("cached", "bob")); a.Status != 503 {
			t.Fatalf("bob's uncached name while open = %s, want 503", a)
		}
	})
}

// TestInflightBudgetIsGivenBack: every request gives back the room its
// upstream answer took in the in-flight budget, whatever the handler made of
// it (a list, an error, a stale answer): with room for one answer, request
// after request is answered at once.
func TestInflightBudgetIsGivenBack(t *testing.T) {
	list := `{"total":0,"items":[]}`
	up := wiretest.NewUpstream(t, wiretest.Reply(200, list))
	h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) {
		c.Upstream.MaxInflightBytes = 4 * len(list) // room for one answer
	}))
	for i := range 20 {
		if i == 10 {
			up.Set(wiretest.Reply(404, `{"error":{"code":"not_found","message":"No such booking."}}`))
		}
		a, err := h.Try(wiretest.Get("/api/co/rating", wiretest.Bearer("u1")))
		if err != nil {
			t.Fatal(err)
		}
		want := http.StatusOK
		if i >= 10 {
			want = http.StatusNotFound
		}
		if a.Status != want || a.Header.Get("X-Cache") == "STALE" {
			t.Fatalf("request %d = %d (X-Cache %q) %s, want %d fresh: the budget was not given back", i, a.Status, a.Header.Get("X-Cache"), a.Body, want)
		}
	}
}
