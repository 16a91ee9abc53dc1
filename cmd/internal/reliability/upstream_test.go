package reliability

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
)

// The behaviours of this suite's fake upstreams (wiretest.Upstream): each
// answers, fails, hangs, trickles, resets or redirects.

// routeOK answers each operation with a valid body; a rating echoes its
// booking id.
func routeOK(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/api/co/profile/check-username":
		name := r.URL.Query().Get("username")
		b, _ := json.Marshal(map[string]any{"username": name, "available": true, "message": "Username is available."})
		wiretest.Reply(200, string(b))(w, r)
	case r.URL.Path == "/api/co/rating":
		wiretest.Reply(200, wiretest.ListBody)(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/co/rating/rate/"):
		id := strings.TrimPrefix(r.URL.Path, "/api/co/rating/rate/")
		wiretest.Reply(200, `{"data":{"booking_id":`+id+`,"service_rating":5},"meta":{"request_id":"up","generated_at":"2026-02-12T10:00:00Z"}}`)(w, r)
	default:
		wiretest.Reply(404, `{"error":{"code":"not_found","message":"No such resource."},"meta":{"request_id":"up","generated_at":"2026-02-12T10:00:00Z"}}`)(w, r)
	}
}

// resetNow drops the connection with a TCP RST before any answer.
func resetNow(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// resetMidBody sends the status line, headers and part of the body, then
// resets the connection.
func resetMidBody(w http.ResponseWriter, _ *http.Request) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n" + `{"total":1,"items":[{"booking_id":1,`)
	_ = buf.Flush()
	time.Sleep(20 * time.Millisecond)
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// trickle sends headers, then the body one byte at a time, slower than
// any gateway deadline.
func trickle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(200)
	fl := w.(http.Flusher)
	fl.Flush()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for i := 0; i < 1000; i++ {
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

// redirect answers code with a Location.
func redirect(code int, location string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", location)
		w.WriteHeader(code)
	}
}

func upstreamError(status int, code string) http.HandlerFunc {
	return wiretest.Reply(status, fmt.Sprintf(`{"error":{"code":%q,"message":"Upstream says %d."},"meta":{"request_id":"up","generated_at":"2026-02-12T10:00:00Z"}}`, code, status))
}
