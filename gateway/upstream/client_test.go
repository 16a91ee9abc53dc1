package upstream

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.uber.org/goleak"

	"github.com/minbil/minbil-bff/contracts/secret"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/tracing"
)

// fasthttp's idle-connection cleaner sleeps for MaxIdleConnDuration and
// exits on its own once Close dropped the connections, and its default TCP
// dialer keeps one DNS-cache cleaner for the process; both are the
// library's goroutines, not ours.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"))
}

// fakeUpstream is an upstream on 127.0.0.1 that counts calls, records what
// it received and answers as told.
type fakeUpstream struct {
	*httptest.Server
	calls   atomic.Int64
	mu      sync.Mutex
	seen    []*http.Request
	bodies  []string
	respond func(w http.ResponseWriter, r *http.Request)
}

func newFake(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{respond: respond}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, r)
		f.bodies = append(f.bodies, string(b))
		f.mu.Unlock()
		f.respond(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeUpstream) last() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[len(f.seen)-1]
}

func testConfig(url string) (config.Upstream, config.Breaker) {
	d := config.Default()
	u := d.Upstream
	u.URL = url
	u.APIKey = "secret-upstream-key"
	u.Timeout = 500 * time.Millisecond
	u.MaxResponseBytes = 4096
	b := d.Breaker
	b.ConsecutiveFailures = 3
	b.OpenTimeout = 200 * time.Millisecond
	b.HalfOpenRequests = 1
	return u, b
}

func newClient(t *testing.T, url string) (*Client, *Breakers) {
	t.Helper()
	u, b := testConfig(url)
	br := NewBreakers(b, nil)
	c, err := New(u, br, nil, tracing.Tracing{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, br
}

func okJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"total":0,"items":[]}`)
}

func TestHeadersSentUpstream(t *testing.T) {
	f := newFake(t, okJSON)
	c, _ := newClient(t, f.URL)
	_, err := c.Do(context.Background(), Request{
		Operation: "rateBooking", Method: "POST", Path: "/api/co/rating/rate/123",
		BearerToken: "tok", RequestID: "rid-1", Body: []byte(`{"service_rating":5}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := f.last()
	checks := []struct{ header, want string }{
		{"X-Api-Key", "secret-upstream-key"},
		{"Authorization", "Bearer tok"},
		{"X-Request-Id", "rid-1"},
		{"Content-Type", "application/json"},
		{"Cookie", ""},
	}
	for _, tt := range checks {
		if v := got.Header.Get(tt.header); v != tt.want {
			t.Errorf("upstream header %s = %q, want %q", tt.header, v, tt.want)
		}
	}
	if n := len(got.Header.Values("X-Api-Key")); n != 1 {
		t.Errorf("upstream got %d API key headers, want 1", n)
	}
}

func TestPathIsNotNormalised(t *testing.T) {
	f := newFake(t, okJSON)
	c, _ := newClient(t, f.URL+"/base")
	if _, err := c.Do(context.Background(), Request{Operation: "x", Method: "GET", Path: "/api/co/rating", Query: "username=a%2Fb"}); err != nil {
		t.Fatal(err)
	}
	if got := f.last().URL.RequestURI(); got != "/base/api/co/rating?username=a%2Fb" {
		t.Fatalf("upstream request URI = %q, want /base/api/co/rating?username=a%%2Fb", got)
	}
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		respond   func(w http.ResponseWriter, r *http.Request)
		wantErr   error
		wantCalls int64
	}{
		{"4xx is an answer", "GET", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404) }, nil, 1},
		{"5xx is a status error", "GET", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }, &StatusError{}, 1},
		{"redirect not followed", "GET", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
		}, ErrBadResponse, 1},
		{"oversized body", "GET", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, strings.Repeat("x", 10000))
		}, ErrBadResponse, 1},
		{"hang is a timeout", "GET", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}, ErrTimeout, 1},
		{"GET reset is retried once", "GET", hangUp, ErrUnreachable, 2},
		{"POST reset is never retried", "POST", hangUp, ErrUnreachable, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.respond)
			c, _ := newClient(t, f.URL)
			_, err := c.Do(context.Background(), Request{Operation: "op", Method: tt.method, Path: "/p", Body: bodyFor(tt.method)})
			var se *StatusError
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("Do() = %v, want nil", err)
				}
			case *StatusError:
				if !errors.As(err, &se) {
					t.Fatalf("Do() = %v, want a *StatusError", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("Do() = %v, want %v", err, want)
				}
			}
			if got := f.calls.Load(); got != tt.wantCalls {
				t.Fatalf("upstream calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func bodyFor(method string) []byte {
	if method == "POST" {
		return []byte(`{}`)
	}
	return nil
}

// hangUp closes the connection without answering, after the request
// arrived (for a POST: after the upstream could have committed it).
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func TestUnreachableUpstream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c, _ := newClient(t, "http://"+addr)
	_, err = c.Do(context.Background(), Request{Operation: "op", Method: "GET", Path: "/p"})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Do() = %v, want ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), "secret-upstream-key") {
		t.Fatalf("error %q contains the API key", err)
	}
}

func TestBreakerLifecycle(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(503)
			return
		}
		okJSON(w, r)
	})
	c, br := newClient(t, f.URL)
	do := func() error {
		_, err := c.Do(context.Background(), Request{Operation: "listRatings", Method: "GET", Path: "/p"})
		return err
	}
	for i := 0; i < 3; i++ {
		_ = do()
	}
	if st := br.State("listRatings"); st != gobreaker.StateOpen {
		t.Fatalf("state after 3 failures = %v, want open", st)
	}
	before := f.calls.Load()
	for i := 0; i < 50; i++ {
		if err := do(); !errors.Is(err, ErrBreakerOpen) {
			t.Fatalf("Do() while open = %v, want ErrBreakerOpen", err)
		}
	}
	if f.calls.Load() != before {
		t.Fatalf("upstream called %d times while open, want 0", f.calls.Load()-before)
	}
	if ra := br.RetryAfter("listRatings"); ra < time.Second {
		t.Fatalf("RetryAfter = %v, want >= 1s", ra)
	}
	if st := br.State("rateBooking"); st != gobreaker.StateClosed {
		t.Fatalf("another operation's breaker = %v, want closed (isolation)", st)
	}
	failing.Store(false)
	waitFor(t, func() bool { return br.State("listRatings") == gobreaker.StateHalfOpen })
	if err := do(); err != nil {
		t.Fatalf("probe = %v, want success", err)
	}
	if st := br.State("listRatings"); st != gobreaker.StateClosed {
		t.Fatalf("state after a good probe = %v, want closed", st)
	}
}

func TestClientErrorsDoNotOpenTheBreaker(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404) })
	c, br := newClient(t, f.URL)
	for i := 0; i < 50; i++ {
		if _, err := c.Do(context.Background(), Request{Operation: "rateBooking", Method: "POST", Path: "/p", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if st := br.State("rateBooking"); st != gobreaker.StateClosed {
		t.Fatalf("state after 50 upstream 404s = %v, want closed", st)
	}
}

func TestCancelledCallerDoesNotCount(t *testing.T) {
	f := newFake(t, okJSON)
	c, br := newClient(t, f.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 10; i++ {
		if _, err := c.Do(ctx, Request{Operation: "op", Method: "GET", Path: "/p"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Do(cancelled) = %v, want context.Canceled", err)
		}
	}
	if st := br.State("op"); st != gobreaker.StateClosed || f.calls.Load() != 0 {
		t.Fatalf("state = %v, calls = %d; want closed and 0", st, f.calls.Load())
	}
}

// waitFor polls cond; the breaker has no injectable clock, so the test
// waits for its (short) open timeout instead of asserting a duration.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNewRefusesBadURLsUnshown: a URL New refuses is shown redacted, as
// the configuration shows it, so a password or key in its user info or
// query never reaches the error (and the log line or exit message made of
// it); one with user info is refused, since the client would not send it.
func TestNewRefusesBadURLsUnshown(t *testing.T) {
	const password = "s3cr3t-pw-1234"
	tests := []struct {
		name     string
		url      string
		wantHost string // the error still names where it points
	}{
		{"scheme not http", "ftp://svc:" + password + "@api.example/base", "api.example"},
		{"user info on https", "https://svc:" + password + "@api.example/base", "api.example"},
		{"user info that does not parse", "https://svc:" + password + "%zz@api.example/", "api.example"},
		{"no host, key in the query", "http:///base?key=" + password, "http://"},
		{"scheme-less with user info", "svc:" + password + "@api.example", "api.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, b := testConfig(tt.url)
			c, err := New(u, NewBreakers(b, nil), nil, tracing.Tracing{})
			if err == nil {
				c.Close()
				t.Fatalf("New(%q) = nil error, want a refusal", tt.url)
			}
			if secret.Quotes(err.Error(), password) {
				t.Errorf("New(%q) = %q, shows the password", tt.url, err)
			}
			if !strings.Contains(err.Error(), tt.wantHost) {
				t.Errorf("New(%q) = %q, want it to name %q", tt.url, err, tt.wantHost)
			}
		})
	}
}
