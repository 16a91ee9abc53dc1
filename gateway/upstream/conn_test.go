package upstream

import (
	"net"
	"testing"
	"time"
)

// TestPeekOnlyWhereItCounts: the closed-peer check (one system call) runs
// before a request that may not be sent twice, and before a GET only on a
// connection idle for peekAfter; a busy connection's GETs make none.
func TestPeekOnlyWhereItCounts(t *testing.T) {
	tests := []struct {
		name     string
		request  string
		idle     time.Duration
		wantPeek bool
	}{
		{name: "GET on a connection that just answered", request: "GET /api/co/rating HTTP/1.1\r\n", idle: 100 * time.Microsecond, wantPeek: false},
		{name: "HEAD on a connection that just answered", request: "HEAD /api/co/rating HTTP/1.1\r\n", idle: time.Millisecond, wantPeek: false},
		{name: "GET on a connection idle for peekAfter", request: "GET /api/co/rating HTTP/1.1\r\n", idle: peekAfter, wantPeek: true},
		{name: "POST on a connection that just answered", request: "POST /api/co/rating/rate/1 HTTP/1.1\r\n", idle: 100 * time.Microsecond, wantPeek: true},
		{name: "PUT", request: "PUT /x HTTP/1.1\r\n", idle: 0, wantPeek: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := net.Pipe()
			t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
			go func() {
				buf := make([]byte, 256)
				for {
					if _, err := server.Read(buf); err != nil {
						return
					}
				}
			}()
			peeks := 0
			c := &watchedConn{Conn: client, born: time.Now().Add(-time.Hour), peek: func(net.Conn) bool { peeks++; return false }}
			// The last answer was read tt.idle ago.
			c.idleSince.Store(int64(time.Hour - tt.idle))
			if _, err := c.Write([]byte(tt.request)); err != nil {
				t.Fatal(err)
			}
			// A second write of the same request never looks again.
			if _, err := c.Write([]byte("X-Request-ID: 1\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			if got := peeks == 1; got != tt.wantPeek || peeks > 1 {
				t.Errorf("Write(%q) after %v idle made %d peeks, want peek %v", tt.request, tt.idle, peeks, tt.wantPeek)
			}
		})
	}
}
