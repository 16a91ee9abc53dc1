package upstream

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sony/gobreaker/v2"
)

// restartable is an upstream on a fixed 127.0.0.1 port that can be stopped
// (every connection closed, as a process exit does) and started again on
// the same port, counting the requests it received.
type restartable struct {
	t     *testing.T
	addr  string
	srv   *httptest.Server
	calls atomic.Int64
}

func newRestartable(t *testing.T) *restartable {
	t.Helper()
	u := &restartable{t: t, addr: "127.0.0.1:0"}
	u.start()
	u.addr = u.srv.Listener.Addr().String()
	t.Cleanup(func() { u.srv.Close() })
	return u
}

func (u *restartable) start() {
	u.t.Helper()
	ln, err := net.Listen("tcp", u.addr)
	if err != nil {
		u.t.Fatalf("listen %s: %v", u.addr, err)
	}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		okJSON(w, r)
	}))
	u.srv.Listener = ln
	u.srv.Start()
}

// restart closes the listener and every connection, then listens again.
func (u *restartable) restart() {
	u.srv.Close()
	u.start()
}

// TestUpstreamRestart: the pool holds keep-alive connections that an
// upstream restart killed, which a real upstream's deploy does. No call may fail, the
// breaker stays closed, and a POST is sent exactly once.
func TestUpstreamRestart(t *testing.T) {
	tests := []struct {
		name   string
		method string
	}{
		{name: "GET", method: "GET"},
		{name: "POST", method: "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newRestartable(t)
			c, br := newClient(t, "http://"+up.addr)
			call := func() error {
				r := Request{Operation: "op", Method: tt.method, Path: "/api/co/rating"}
				if tt.method == "POST" {
					r.Body = []byte(`{}`)
				}
				_, err := c.Do(context.Background(), r)
				return err
			}
			// Fill the pool with several keep-alive connections.
			var wg sync.WaitGroup
			for range 6 {
				wg.Add(1)
				go func() { defer wg.Done(); _ = call() }()
			}
			wg.Wait()
			up.restart()
			before := up.calls.Load()
			const n = 10
			for i := range n {
				if err := call(); err != nil {
					t.Fatalf("%s %d after the restart: %v", tt.method, i, err)
				}
			}
			if got := up.calls.Load() - before; got != n {
				t.Errorf("upstream received %d requests for %d calls, want %d", got, n, n)
			}
			if s := br.State("op"); s != gobreaker.StateClosed {
				t.Errorf("breaker %v after the restart, want closed", s)
			}
		})
	}
}
