package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestStopSignalsDrain is OA-07: SIGHUP (closing the terminal that
// runs `make run`), SIGINT and SIGTERM all let POSTs in flight finish and
// log why the gateway stopped. Before, SIGHUP killed the process at once:
// the upstream applied the ratings while the clients saw resets.
func TestStopSignalsDrain(t *testing.T) {
	tests := []struct {
		name    string
		signal  syscall.Signal
		wantLog string
	}{
		{name: "SIGHUP", signal: syscall.SIGHUP, wantLog: "hangup"},
		{name: "SIGINT", signal: syscall.SIGINT, wantLog: "interrupt"},
		{name: "SIGTERM", signal: syscall.SIGTERM, wantLog: "terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const inFlight = 3
			arrived := make(chan struct{}, inFlight)
			release := make(chan struct{})
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				<-release
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"data":{"booking_id":1},"meta":{"request_id":"u","generated_at":"2026-12-01T10:00:00Z"}}`)
			}))
			defer up.Close()
			var releaseOnce sync.Once
			free := func() { releaseOnce.Do(func() { close(release) }) }
			defer free() // before up.Close, which waits for the held handlers
			addr := freeAddr(t)
			p := startUnmanaged(t, addr, []string{"MINBIL_AUTH_MODE=passthrough", "MINBIL_API_KEY=e2e-api-key-not-a-secret",
				"MINBIL_UPSTREAM_URL=" + up.URL}, "serve", "--addr", addr)

			var wg sync.WaitGroup
			statuses := make(chan int, inFlight)
			for range inFlight {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest("POST", "http://"+addr+"/api/co/rating/rate/1",
						strings.NewReader(`{"service_rating":5,"private_service_rating":false}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer e2e-token")
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						statuses <- 0
						return
					}
					res.Body.Close()
					statuses <- res.StatusCode
				}()
			}
			for range inFlight {
				<-arrived
			}
			if err := p.cmd.Process.Signal(tt.signal); err != nil {
				t.Fatal(err)
			}
			for !strings.Contains(p.out.String(), "shutting down") {
				if err := p.wait(10 * time.Millisecond); err == nil || !strings.HasPrefix(err.Error(), "did not exit") {
					t.Fatalf("gateway exited (%v) with POSTs in flight after %s; output:\n%s", err, tt.name, p.out)
				}
			}
			free()
			wg.Wait()
			close(statuses)
			for s := range statuses {
				if s != http.StatusOK {
					t.Errorf("a POST in flight at %s answered %d, want 200 (0: connection broken)", tt.name, s)
				}
			}
			if err := p.wait(20 * time.Second); err != nil {
				t.Errorf("gateway exited with %v after %s, want 0; output:\n%s", err, tt.name, p.out)
			}
			if out := p.out.String(); !strings.Contains(out, "shutting down") || !strings.Contains(out, tt.wantLog) {
				t.Errorf("the log does not say the gateway stopped on %s:\n%s", tt.wantLog, out)
			}
		})
	}
}
