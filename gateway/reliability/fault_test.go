package reliability

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
		behave     behaviour
		method     string
		wantStatus int
		wantCode   string
		wantCalls  int64
		wantRetry  string        // Retry-After
		timeout    time.Duration // upstream.timeout; 2s unless the case waits for it
	}{
		{name: "F-03/hung upstream on GET", behave: hang, method: "GET", wantStatus: 504, wantCode: "gateway_timeout", wantCalls: 1, timeout: 500 * time.Millisecond},
		{name: "F-03/hung upstream on POST", behave: hang, method: "POST", wantStatus: 504, wantCode: "gateway_timeout", wantCalls: 1, timeout: 500 * time.Millisecond},
		{name: "F-04/trickling body", behave: trickle, method: "GET", wantStatus: 504, wantCode: "gateway_timeout", wantCalls: 1, timeout: 500 * time.Millisecond},
		{name: "F-08/reset before any answer on GET: one retry", behave: resetNow, method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 2},
		{name: "F-08/reset mid-body on GET: one retry", behave: resetMidBody, method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 2},
		{name: "F-09/reset after the POST was committed: no retry", behave: resetNow, method: "POST", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-09/reset mid-answer after the POST was committed: no retry", behave: resetMidBody, method: "POST", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/wrong types", behave: reply(200, `{"total":"1","items":null}`), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/empty object", behave: reply(200, `{}`), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/truncated JSON", behave: reply(200, `{"total":1,"items":[`), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/total not matching items", behave: reply(200, `{"total":3,"items":[`+ratingItem+`]}`), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/trailing data", behave: reply(200, listBody+`{"total":0}`), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/HTML error page with status 200", behave: raw(200, "text/html", "<html><body>Oops at db-internal-7</body></html>"), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/JSON with an HTML content type", behave: raw(200, "text/html", listBody), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-10/garbage on a POST", behave: raw(200, "application/json", "\x00\xff garbage"), method: "POST", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-12/2 MiB body over the response cap", behave: reply(200, hugeBody), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-12/claimed Content-Length of 10^12", behave: func(w http.ResponseWriter, _ *http.Request, _ *fake) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{")
			_ = buf.Flush()
			_ = conn.Close()
		}, method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-07/429 with Retry-After on a POST: passed on, not retried", behave: func(w http.ResponseWriter, r *http.Request, f *fake) {
			w.Header().Set("Retry-After", "5")
			upstreamError(429, "rate_limited")(w, r, f)
		}, method: "POST", wantStatus: 429, wantCode: "rate_limited", wantCalls: 1, wantRetry: "5"},
		{name: "F-05/upstream 500 maps to 502", behave: reply(500, `{"trace":"at db.query(SELECT * FROM secret_table)"}`), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-05/upstream 502 maps to 502", behave: raw(502, "text/plain", "bad gateway from nginx/1.2"), method: "GET", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
		{name: "F-05/upstream 503 maps to 503 with Retry-After", behave: raw(503, "text/plain", "maintenance"), method: "POST", wantStatus: 503, wantCode: "upstream_unavailable", wantCalls: 1, wantRetry: "1"},
		{name: "F-05/upstream 504 maps to 504", behave: raw(504, "text/plain", "timeout"), method: "GET", wantStatus: 504, wantCode: "gateway_timeout", wantCalls: 1},
		{name: "S-04/upstream 500 with a stack trace and SQL", behave: raw(500, "text/plain", "panic: runtime error\ngoroutine 1 [running]:\nmain.go:12 SELECT * FROM secret_table"), method: "POST", wantStatus: 502, wantCode: "bad_gateway", wantCalls: 1},
	}
	for _, tt := range tests {
		if tt.timeout == 0 {
			tt.timeout = 2 * time.Second
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newFake(t, tt.behave)
			h := startGateway(t, up.url, withConfig(func(c *config.Config) { c.Upstream.Timeout = tt.timeout }))
			r := get("/api/co/rating", bearer("u1"))
			if tt.method == "POST" {
				r = post("/api/co/rating/rate/42", jsonHeader(merge(bearer("u1"), http.Header{"Idempotency-Key": {"k-" + fmt.Sprint(time.Now().UnixNano())}})), validRating)
			}
			a := h.do(r)
			if a.status != tt.wantStatus || a.errorCode() != tt.wantCode || a.header.Get("Retry-After") != tt.wantRetry {
				t.Fatalf("answer %.300s Retry-After %q, want %d %q Retry-After %q", a, a.header.Get("Retry-After"), tt.wantStatus, tt.wantCode, tt.wantRetry)
			}
			if got := up.calls.Load(); got != tt.wantCalls {
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
	}{
		{"F-01/connection refused on GET", func(t *testing.T) (string, func() int64) {
			return "http://" + closedPort(t), func() int64 { return 0 }
		}, "GET", 502, 0},
		{"F-01/connection refused on POST", func(t *testing.T) (string, func() int64) {
			return "http://" + closedPort(t), func() int64 { return 0 }
		}, "POST", 502, 0},
		{"F-09/reset before the POST was committed: one connection, no retry", func(t *testing.T) (string, func() int64) {
			r := newRSTListener(t)
			return "http://" + r.ln.Addr().String(), r.conns.Load
		}, "POST", 502, 1},
		{"F-25/reset before any answer on GET: at most one retry", func(t *testing.T) (string, func() int64) {
			r := newRSTListener(t)
			return "http://" + r.ln.Addr().String(), r.conns.Load
		}, "GET", 502, 2},
		{"F-15/self-signed TLS upstream: fail closed", func(t *testing.T) (string, func() int64) {
			var n atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { n.Add(1) }))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.StartTLS()
			t.Cleanup(srv.Close)
			return srv.URL, n.Load
		}, "GET", 502, 0},
	}
	for _, tt := range connTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, count := tt.dial(t)
			h := startGateway(t, u)
			r := get("/api/co/rating", nil)
			if tt.method == "POST" {
				r = post("/api/co/rating/rate/42", jsonHeader(nil), validRating)
			}
			a := h.do(r)
			if a.status != tt.wantStatus || a.errorCode() != "bad_gateway" {
				t.Fatalf("answer %s, want %d bad_gateway", a, tt.wantStatus)
			}
			if got := count(); got != tt.wantCalls {
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
		h := startGateway(t, "http://ratings.nxdomain.invalid", withDial(nx))
		a := h.do(get("/api/co/rating", nil))
		if a.status != 502 || strings.Contains(string(a.body), "nxdomain") || strings.Contains(string(a.body), "no such host") {
			t.Fatalf("answer %s, want 502 without the resolver's error", a)
		}
		if dials.Load() > 2 {
			t.Fatalf("%d dial attempts, want at most 2", dials.Load())
		}
	})

	t.Run("F-13/redirects are never followed", func(t *testing.T) {
		t.Parallel()
		evil := newFake(t, routeOK)
		for _, code := range []int{301, 302, 303, 307, 308} {
			t.Run(fmt.Sprint(code), func(t *testing.T) {
				up := newFake(t, redirect(code, evil.url+"/api/co/rating"))
				h := startGateway(t, up.url)
				for _, r := range []req{get("/api/co/rating", bearer("u1")), post("/api/co/rating/rate/3", jsonHeader(bearer("u1")), validRating)} {
					if a := h.do(r); a.status != 502 {
						t.Errorf("%s after a %d = %s, want 502", r.method, code, a)
					}
				}
			})
		}
		if n := evil.calls.Load(); n != 0 {
			t.Fatalf("the redirect target got %d requests (and the API key)", n)
		}
	})

	t.Run("F-14/upstream headers are not passed on", func(t *testing.T) {
		t.Parallel()
		up := newFake(t, func(w http.ResponseWriter, r *http.Request, f *fake) {
			for k, v := range map[string]string{"Set-Cookie": "session=upstream", "Server": "Apache/2.2.3", "X-Powered-By": "PHP/5.1",
				"Access-Control-Allow-Origin": "*", "X-Internal-Host": "db-internal-7", "X-Api-Key": apiKey} {
				w.Header().Set(k, v)
			}
			routeOK(w, r, f)
		})
		h := startGateway(t, up.url)
		for _, r := range []req{get("/api/co/rating", nil), get(checkPath+"?username=ola", bearer("u")), post("/api/co/rating/rate/4", jsonHeader(nil), validRating)} {
			a := h.do(r)
			for _, k := range []string{"Set-Cookie", "Server", "X-Powered-By", "Access-Control-Allow-Origin", "X-Internal-Host", "X-Api-Key"} {
				if v := a.header.Get(k); v != "" {
					t.Errorf("%s %s: upstream header %s: %s passed on", r.method, r.target, k, v)
				}
			}
		}
	})

	t.Run("F-11/extra fields are dropped", func(t *testing.T) {
		t.Parallel()
		extra := strings.Replace(ratingItem, `"booking_id":1,`, `"booking_id":1,"user_email":"ola@example.no","internal_notes":"VIP",`, 1)
		up := newFake(t, reply(200, `{"total":1,"items":[`+extra+`],"debug":{"sql":"SELECT"}}`))
		h := startGateway(t, up.url)
		a := h.do(get("/api/co/rating", nil))
		if a.status != 200 || strings.Contains(string(a.body), "user_email") || strings.Contains(string(a.body), "internal_notes") || strings.Contains(string(a.body), "debug") {
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
	list := func(rid string) req { return get("/api/co/rating", http.Header{"X-Request-ID": {rid}}) }
	open := func(t *testing.T, h *gw, up *fake) {
		t.Helper()
		for i := 0; i < 3; i++ {
			h.do(list(fmt.Sprint("trip-", i)))
		}
		before := up.calls.Load()
		a := h.do(list("probe-open"))
		if a.status != 503 || a.errorCode() != "upstream_unavailable" || a.header.Get("Retry-After") == "" || up.calls.Load() != before {
			t.Fatalf("after 3 failures: %s Retry-After %q (%d calls), want 503 with Retry-After and no call", a, a.header.Get("Retry-After"), up.calls.Load()-before)
		}
	}

	for _, status := range []int{500, 502, 503, 504} {
		t.Run(fmt.Sprintf("F-05/%d storm opens the breaker and freezes the upstream count", status), func(t *testing.T) {
			t.Parallel()
			up := newFake(t, raw(status, "text/plain", "down"))
			h := startGateway(t, up.url, withConfig(func(c *config.Config) { breakerConfig(c); c.Breaker.OpenTimeout = time.Minute }))
			open(t, h, up)
			frozen := up.calls.Load()
			for i := 0; i < 20; i++ {
				if a := h.do(list(fmt.Sprint("open-", i))); a.status != 503 {
					t.Fatalf("while open: %s", a)
				}
			}
			if up.calls.Load() != frozen {
				t.Fatalf("%d upstream calls while open", up.calls.Load()-frozen)
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
			up := newFake(t, upstreamError(tt.status, tt.code))
			h := startGateway(t, up.url, withConfig(breakerConfig))
			for i := 0; i < 20; i++ {
				a := h.do(post(fmt.Sprintf("/api/co/rating/rate/%d", 100+i), jsonHeader(bearer("mallory")), validRating))
				if a.status != tt.status || a.errorCode() != tt.code {
					t.Fatalf("upstream %d answered %s", tt.status, a)
				}
			}
			up.set(routeOK)
			before := up.calls.Load()
			if a := h.do(post("/api/co/rating/rate/200", jsonHeader(bearer("alice")), validRating)); a.status != 200 || up.calls.Load() != before+1 {
				t.Fatalf("another user after the flood = %s, want 200 through a closed breaker", a)
			}
		})
	}

	t.Run("F-16/open breaker under 200 concurrent requests: all 503, no upstream call", func(t *testing.T) {
		t.Parallel()
		up := newFake(t, raw(500, "text/plain", "down"))
		h := startGateway(t, up.url, withConfig(func(c *config.Config) { breakerConfig(c); c.Breaker.OpenTimeout = time.Minute }))
		open(t, h, up)
		frozen := up.calls.Load()
		var wg sync.WaitGroup
		var not503 atomic.Int64
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				a, err := h.try(list(fmt.Sprint("c-", i)))
				if err != nil || a.status != 503 || a.header.Get("Retry-After") == "" {
					not503.Add(1)
				}
			}(i)
		}
		wg.Wait()
		if not503.Load() != 0 || up.calls.Load() != frozen {
			t.Fatalf("%d answers were not 503 with Retry-After; %d upstream calls while open", not503.Load(), up.calls.Load()-frozen)
		}
	})

	t.Run("F-17/half-open lets exactly HalfOpenRequests probes through, then closes", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		var probes atomic.Int64
		up := newFake(t, func(w http.ResponseWriter, r *http.Request, f *fake) {
			if strings.HasPrefix(r.Header.Get("X-Request-Id"), "trip-") {
				raw(500, "text/plain", "down")(w, r, f)
				return
			}
			probes.Add(1)
			select {
			case <-release:
			case <-f.stop:
			}
			routeOK(w, r, f)
		})
		h := startGateway(t, up.url, withConfig(func(c *config.Config) { breakerConfig(c); c.Upstream.Timeout = 5 * time.Second }))
		open(t, h, up)
		time.Sleep(350 * time.Millisecond) // the open timeout passes: half-open
		var wg sync.WaitGroup
		statuses := make(chan int, 50)
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				a, err := h.try(list(fmt.Sprint("half-", i)))
				if err == nil {
					statuses <- a.status
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
		if a := h.do(list("after")); a.status != 200 {
			t.Fatalf("after two good probes = %s, want 200 (closed)", a)
		}
	})

	t.Run("F-18/a hanging half-open probe ends at the upstream timeout and reopens", func(t *testing.T) {
		t.Parallel()
		up := newFake(t, func(w http.ResponseWriter, r *http.Request, f *fake) {
			if strings.HasPrefix(r.Header.Get("X-Request-Id"), "trip-") {
				raw(500, "text/plain", "down")(w, r, f)
				return
			}
			hang(w, r, f)
		})
		h := startGateway(t, up.url, withConfig(func(c *config.Config) {
			breakerConfig(c)
			c.Breaker.HalfOpenRequests = 1
			c.Upstream.Timeout = 400 * time.Millisecond
		}))
		open(t, h, up)
		time.Sleep(350 * time.Millisecond)
		if a := h.do(list("probe")); a.status != 504 {
			t.Fatalf("hanging probe = %s, want 504 at the upstream timeout", a)
		}
		before := up.calls.Load()
		if a := h.do(list("next")); a.status != 503 || up.calls.Load() != before {
			t.Fatalf("after the failed probe = %s, want 503 without an upstream call (open again)", a)
		}
	})

	t.Run("F-19/the upstream heals while open: the breaker closes", func(t *testing.T) {
		t.Parallel()
		up := newFake(t, raw(500, "text/plain", "down"))
		h := startGateway(t, up.url, withConfig(breakerConfig))
		open(t, h, up)
		up.set(routeOK)
		waitFor(t, "the breaker to close", func() bool { return h.do(list("heal")).status == 200 })
		for i := 0; i < 10; i++ {
			if a := h.do(list(fmt.Sprint("healed-", i))); a.status != 200 {
				t.Fatalf("after closing: %s (flapping)", a)
			}
		}
	})

	t.Run("F-20/a failure that started before the breaker opened does not extend it", func(t *testing.T) {
		t.Parallel()
		up := newFake(t, func(w http.ResponseWriter, r *http.Request, f *fake) {
			switch id := r.Header.Get("X-Request-Id"); {
			case id == "slow":
				hang(w, r, f)
			case strings.HasPrefix(id, "trip-"):
				raw(500, "text/plain", "down")(w, r, f)
			default:
				routeOK(w, r, f)
			}
		})
		h := startGateway(t, up.url, withConfig(func(c *config.Config) {
			breakerConfig(c)
			c.Breaker.HalfOpenRequests = 1
			c.Upstream.Timeout = 800 * time.Millisecond
		}))
		slow := make(chan answer, 1)
		go func() { a, _ := h.try(list("slow")); slow <- a }()
		waitFor(t, "the slow request upstream", func() bool { return up.calls.Load() == 1 })
		open(t, h, up)
		if a := <-slow; a.status != 504 {
			t.Fatalf("slow request = %s, want 504", a)
		}
		// The slow failure arrived after the open timeout (800 ms > 300 ms):
		// it belongs to an older generation and must not reopen the
		// breaker, so the next request is a successful probe.
		if a := h.do(list("probe")); a.status != 200 {
			t.Fatalf("probe after the stale failure = %s, want 200", a)
		}
	})

	t.Run("F-21/one operation's outage leaves the others alone", func(t *testing.T) {
		t.Parallel()
		up := newFake(t, func(w http.ResponseWriter, r *http.Request, f *fake) {
			if r.URL.Path == checkPath {
				raw(500, "text/plain", "down")(w, r, f)
				return
			}
			routeOK(w, r, f)
		})
		h := startGateway(t, up.url, withConfig(breakerConfig))
		for i := 0; i < 4; i++ {
			h.do(get(checkPath+fmt.Sprintf("?username=name%d", i), bearer("u")))
		}
		if a := h.do(get(checkPath+"?username=other", bearer("u"))); a.status != 503 {
			t.Fatalf("checkUsername after its outage = %s, want 503", a)
		}
		if a := h.do(list("l")); a.status != 200 {
			t.Fatalf("listRatings = %s, want 200", a)
		}
		if a := h.do(post("/api/co/rating/rate/5", jsonHeader(nil), validRating)); a.status != 200 {
			t.Fatalf("rateBooking = %s, want 200", a)
		}
	})

	t.Run("F-22/state changes are observed without deadlock", func(t *testing.T) {
		t.Parallel()
		up := newFake(t, raw(500, "text/plain", "down"))
		h := startGateway(t, up.url, withConfig(breakerConfig))
		open(t, h, up)
		gauge := func() string {
			a := h.metrics()
			for _, line := range strings.Split(string(a.body), "\n") {
				if strings.HasPrefix(line, `minbil_bff_breaker_state{operation="listRatings"}`) {
					return strings.TrimSpace(strings.TrimPrefix(line, `minbil_bff_breaker_state{operation="listRatings"}`))
				}
			}
			return ""
		}
		if g := gauge(); g != "2" {
			t.Fatalf("breaker gauge = %q, want 2 (open)", g)
		}
		up.set(routeOK)
		waitFor(t, "the breaker to close", func() bool { return h.do(list("heal")).status == 200 })
		h.do(list("heal-2"))
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
		up := newFake(t, routeOK)
		h := startGateway(t, up.url, withAuthenticator(panicky{}))
		for i := 0; i < 3; i++ {
			a := h.do(get(checkPath+"?username=ola", bearer("u")))
			if a.status != 500 || a.errorCode() != "internal_error" {
				t.Fatalf("panic answered %s, want 500 internal_error", a)
			}
		}
		if a := h.do(get("/healthz", nil)); a.status != 200 {
			t.Fatalf("after panics /healthz = %s", a)
		}
		t.Run("S-06/the stack is in the log, never in the answer", func(t *testing.T) {
			if !stackLogged(h) {
				t.Fatalf("no stack trace in the log")
			}
		})
		if up.calls.Load() != 0 {
			t.Fatalf("upstream called after a panic")
		}
	})
	t.Run("F-23/panic inside the upstream call counts as a breaker failure", func(t *testing.T) {
		t.Parallel()
		up := newFake(t, routeOK)
		var dials atomic.Int64
		boom := func(string) (net.Conn, error) {
			dials.Add(1)
			panic("dialer exploded")
		}
		h := startGateway(t, up.url, withDial(boom), withConfig(func(c *config.Config) { c.Breaker.OpenTimeout = time.Minute }))
		for i := 0; i < 3; i++ {
			if a := h.do(post(fmt.Sprintf("/api/co/rating/rate/%d", 10+i), jsonHeader(nil), validRating)); a.status != 500 || a.errorCode() != "internal_error" {
				t.Fatalf("panic in the upstream call answered %s, want 500", a)
			}
		}
		before := dials.Load()
		if a := h.do(post("/api/co/rating/rate/20", jsonHeader(nil), validRating)); a.status != 503 || dials.Load() != before {
			t.Fatalf("after 3 panics = %s (%d more dials), want 503 from the open breaker", a, dials.Load()-before)
		}
		if a := h.do(get("/api/co/rating", nil)); a.status != 500 {
			t.Fatalf("another operation = %s, want 500 (its own breaker, same panicking dialer)", a)
		}
		t.Run("S-06/the stack is in the log, never in the answer", func(t *testing.T) {
			if !stackLogged(h) {
				t.Fatalf("no stack trace in the log")
			}
		})
	})
}

func stackLogged(h *gw) bool {
	for _, e := range h.logs.FilterMessage("panic in handler").All() {
		if strings.Contains(logText(e), "goroutine") || strings.Contains(logText(e), ".go:") {
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
	up := newFake(t, routeOK)
	release := make(chan struct{})
	var dials atomic.Int64
	upAddr := strings.TrimPrefix(up.url, "http://")
	dial := func(string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			<-release // the first connection hangs in dial, holding the only slot
		}
		return net.Dial("tcp", upAddr)
	}
	h := startGateway(t, up.url, withDial(dial), withConfig(func(c *config.Config) {
		c.Upstream.MaxConns = 1
		c.Upstream.Timeout = 300 * time.Millisecond
	}))
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	first := make(chan answer, 1)
	go func() { a, _ := h.try(post("/api/co/rating/rate/1", jsonHeader(nil), validRating)); first <- a }()
	waitFor(t, "the first dial", func() bool { return dials.Load() == 1 })
	for i := 0; i < 4; i++ {
		a := h.do(get("/api/co/rating", nil))
		if a.status != 503 || a.errorCode() != "upstream_unavailable" || a.header.Get("Retry-After") == "" {
			t.Fatalf("pool exhausted answered %s, want 503 with Retry-After", a)
		}
	}
	unblock()
	<-first
	if a := h.do(get("/api/co/rating", nil)); a.status != 200 {
		t.Fatalf("after the pool freed = %s, want 200 (4 overloads did not open the breaker)", a)
	}
}

// TestUsernameCacheFaults is F-26…F-30.
func TestUsernameCacheFaults(t *testing.T) {
	t.Parallel()
	check := func(name, tok string) req { return get(checkPath+"?username="+name, bearer(tok)) }

	t.Run("F-26/an upstream error is never cached", func(t *testing.T) {
		t.Parallel()
		up := newFake(t, raw(500, "text/plain", "down"))
		h := startGateway(t, up.url)
		if a := h.do(check("ola", "u")); a.status != 502 {
			t.Fatalf("upstream 500 = %s, want 502", a)
		}
		up.set(routeOK)
		a := h.do(check("ola", "u"))
		if a.status != 200 || a.header.Get("X-Cache") != "MISS" || up.calls.Load() != 2 {
			t.Fatalf("after recovery = %s X-Cache %q (%d calls), want a MISS that reaches the upstream", a, a.header.Get("X-Cache"), up.calls.Load())
		}
	})

	t.Run("F-27/stampede of 200 on one uncached name makes one upstream call", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		up := newFake(t, func(w http.ResponseWriter, r *http.Request, f *fake) {
			select {
			case <-release:
			case <-f.stop:
			}
			routeOK(w, r, f)
		})
		h := startGateway(t, up.url, withConfig(func(c *config.Config) { c.Upstream.Timeout = 5 * time.Second }))
		var wg sync.WaitGroup
		bodies := make(chan string, 200)
		var started atomic.Int64
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				started.Add(1)
				a, err := h.try(check("stampede", "same-caller"))
				if err == nil && a.status == 200 {
					bodies <- string(a.body)
				}
			}()
		}
		waitFor(t, "the first upstream call", func() bool { return up.calls.Load() == 1 })
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
		if n != 200 || up.calls.Load() != 1 {
			t.Fatalf("%d answers with %d upstream calls, want 200 with 1", n, up.calls.Load())
		}
	})

	t.Run("F-28/many different names: the cache stays within its cap", func(t *testing.T) {
		t.Parallel()
		up := newFake(t, routeOK)
		h := startGateway(t, up.url, withConfig(func(c *config.Config) { c.Cache.UsernameMaxEntries = 50 }))
		for i := 0; i < 120; i++ {
			h.do(check(fmt.Sprintf("name%03d", i), "u"))
		}
		hits := 0
		for i := 0; i < 120; i++ {
			if h.do(check(fmt.Sprintf("name%03d", i), "u")).header.Get("X-Cache") == "HIT" {
				hits++
			}
		}
		if hits > 50 || hits == 0 {
			t.Fatalf("%d of 120 names answered from the cache, want 1…50 (the cap)", hits)
		}
	})

	t.Run("F-29/an expired entry is not served", func(t *testing.T) {
		t.Parallel()
		up := newFake(t, routeOK)
		h := startGateway(t, up.url, withConfig(func(c *config.Config) { c.Cache.UsernameTTL = 200 * time.Millisecond }))
		h.do(check("ttl", "u"))
		if a := h.do(check("ttl", "u")); a.header.Get("X-Cache") != "HIT" {
			t.Fatalf("within the TTL: X-Cache %q", a.header.Get("X-Cache"))
		}
		time.Sleep(250 * time.Millisecond)
		if a := h.do(check("ttl", "u")); a.header.Get("X-Cache") != "MISS" || up.calls.Load() != 2 {
			t.Fatalf("after the TTL: X-Cache %q with %d calls, want a MISS and a second call", a.header.Get("X-Cache"), up.calls.Load())
		}
	})

	t.Run("F-30/open breaker: a caller's cached answer is served, never another caller's", func(t *testing.T) {
		t.Parallel()
		up := newFake(t, routeOK)
		h := startGateway(t, up.url, withConfig(func(c *config.Config) { c.Breaker.OpenTimeout = time.Minute }))
		h.do(check("cached", "alice"))
		up.set(raw(500, "text/plain", "down"))
		for i := 0; i < 3; i++ {
			h.do(check(fmt.Sprintf("miss%d", i), "alice"))
		}
		if a := h.do(check("cached", "alice")); a.status != 200 || a.header.Get("X-Cache") != "HIT" {
			t.Fatalf("alice's cached name while open = %s X-Cache %q, want 200 HIT", a, a.header.Get("X-Cache"))
		}
		if a := h.do(check("cached", "bob")); a.status != 503 {
			t.Fatalf("bob's uncached name while open = %s, want 503", a)
		}
	})
}
