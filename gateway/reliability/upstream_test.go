package reliability

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// record is one request the fake upstream received, as it arrived.
type record struct {
	line   string // "POST /api/co/rating/rate/5 HTTP/1.1"
	host   string
	header http.Header
	body   string
}

// fake is a counting upstream on 127.0.0.1: it records every request and
// answers with whatever behaviour is set, which may fail, hang, trickle,
// reset or redirect.
type fake struct {
	t     *testing.T
	srv   *httptest.Server
	url   string
	calls atomic.Int64
	stop  chan struct{} // closed at cleanup: hanging behaviours return

	mu      sync.Mutex
	records []record
	respond atomic.Pointer[behaviour]
}

type behaviour func(w http.ResponseWriter, r *http.Request, f *fake)

func newFake(t *testing.T, b behaviour) *fake {
	t.Helper()
	f := &fake{t: t, stop: make(chan struct{})}
	f.set(b)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.records = append(f.records, record{
			line:   r.Method + " " + r.RequestURI + " " + r.Proto,
			host:   r.Host,
			header: r.Header.Clone(),
			body:   string(body),
		})
		f.mu.Unlock()
		(*f.respond.Load())(w, r, f)
	}))
	f.url = f.srv.URL
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.stop) })
	return f
}

func (f *fake) set(b behaviour) { f.respond.Store(&b) }

// all returns a copy of the records.
func (f *fake) all() []record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]record(nil), f.records...)
}

// last returns the last record; the test fails without one.
func (f *fake) last() record {
	f.t.Helper()
	rs := f.all()
	if len(rs) == 0 {
		f.t.Fatal("the upstream received no request")
	}
	return rs[len(rs)-1]
}

// reply answers status with a JSON body.
func reply(status int, body string) behaviour {
	return func(w http.ResponseWriter, _ *http.Request, _ *fake) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// raw answers with a given content type and body.
func raw(status int, contentType, body string) behaviour {
	return func(w http.ResponseWriter, _ *http.Request, _ *fake) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// routeOK answers each operation with a valid body; a rating echoes its
// booking id.
func routeOK(w http.ResponseWriter, r *http.Request, f *fake) {
	switch {
	case r.URL.Path == "/api/co/profile/check-username":
		name := r.URL.Query().Get("username")
		b, _ := json.Marshal(map[string]any{"username": name, "available": true, "message": "Username is available."})
		reply(200, string(b))(w, r, f)
	case r.URL.Path == "/api/co/rating":
		reply(200, listBody)(w, r, f)
	case strings.HasPrefix(r.URL.Path, "/api/co/rating/rate/"):
		id := strings.TrimPrefix(r.URL.Path, "/api/co/rating/rate/")
		reply(200, `{"data":{"booking_id":`+id+`,"service_rating":5},"meta":{"request_id":"up","generated_at":"2026-02-12T10:00:00Z"}}`)(w, r, f)
	default:
		reply(404, `{"error":{"code":"not_found","message":"No such resource."},"meta":{"request_id":"up","generated_at":"2026-02-12T10:00:00Z"}}`)(w, r, f)
	}
}

// hang answers nothing until the gateway gives up or the test ends.
func hang(_ http.ResponseWriter, r *http.Request, f *fake) {
	select {
	case <-r.Context().Done():
	case <-f.stop:
	}
}

// resetNow drops the connection with a TCP RST before any answer.
func resetNow(w http.ResponseWriter, _ *http.Request, _ *fake) {
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
func resetMidBody(w http.ResponseWriter, _ *http.Request, _ *fake) {
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
func trickle(w http.ResponseWriter, r *http.Request, f *fake) {
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
		case <-f.stop:
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
func redirect(code int, location string) behaviour {
	return func(w http.ResponseWriter, _ *http.Request, _ *fake) {
		w.Header().Set("Location", location)
		w.WriteHeader(code)
	}
}

func upstreamError(status int, code string) behaviour {
	return reply(status, fmt.Sprintf(`{"error":{"code":%q,"message":"Upstream says %d."},"meta":{"request_id":"up","generated_at":"2026-02-12T10:00:00Z"}}`, code, status))
}

const ratingItem = `{"booking_id":1,"workshop_org_nr":"921460929","workshop_name":"Bilservice AS","service_id":1,"service_title":"EU-kontroll","registration_number":"BT57225","status":"completed","service_start_time":"2026-02-12T08:00:00Z","service_estimated_end_time":"2026-02-12T10:00:00Z","service_actual_end_time":"2026-02-12T10:00:00Z","service_rating":5,"service_rating_message":"Bra","private_service_rating":true,"rated_at":"2026-02-13T09:30:00Z"}`

const listBody = `{"total":1,"items":[` + ratingItem + `]}`
