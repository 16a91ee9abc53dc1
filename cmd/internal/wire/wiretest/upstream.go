package wiretest

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// RatingItem is one rating as the contract describes it.
const RatingItem = `{"booking_id":1,"workshop_org_nr":"921460929","workshop_name":"Bilservice AS","service_id":1,"service_title":"EU-kontroll","registration_number":"BT57225","status":"completed","service_start_time":"2026-02-12T08:00:00Z","service_estimated_end_time":"2026-02-12T10:00:00Z","service_actual_end_time":"2026-02-12T10:00:00Z","service_rating":5,"service_rating_message":"Bra","private_service_rating":true,"rated_at":"2026-02-13T09:30:00Z"}`

// ListBody is a rating list of RatingItem.
const ListBody = `{"total":1,"items":[` + RatingItem + `]}`

// Record is one request an Upstream received, as it arrived.
type Record struct {
	// Line is the request line: "POST /api/co/rating/rate/5 HTTP/1.1".
	Line   string
	Host   string
	Header http.Header
	Body   string
}

// Upstream is a fake upstream on 127.0.0.1: it counts and records every
// request and answers with whatever handler is set, which may fail, hang,
// trickle, reset or redirect. A handler reads the whole body from
// r.Body; r.Context() is done when the gateway hangs up or the test ends,
// so a handler that hangs until then never outlives the test.
type Upstream struct {
	// URL is the upstream's base URL, http://127.0.0.1:port.
	URL string
	// Calls counts the requests received.
	Calls atomic.Int64

	t       *testing.T
	mu      sync.Mutex
	records []Record
	respond atomic.Pointer[http.HandlerFunc]
}

// NewUpstream serves respond on 127.0.0.1 until the test ends.
func NewUpstream(t *testing.T, respond http.HandlerFunc) *Upstream {
	t.Helper()
	u := &Upstream{t: t}
	u.Set(respond)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.Calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		u.mu.Lock()
		u.records = append(u.records, Record{
			Line:   r.Method + " " + r.RequestURI + " " + r.Proto,
			Host:   r.Host,
			Header: r.Header.Clone(),
			Body:   string(body),
		})
		u.mu.Unlock()
		(*u.respond.Load())(w, r)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(cancel) // first: hanging handlers return, then Close waits for them
	u.URL = srv.URL
	return u
}

// Set replaces the handler.
func (u *Upstream) Set(respond http.HandlerFunc) { u.respond.Store(&respond) }

// Records returns a copy of the records.
func (u *Upstream) Records() []Record {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Record(nil), u.records...)
}

// Last returns the last record; the test fails without one.
func (u *Upstream) Last() Record {
	u.t.Helper()
	rs := u.Records()
	if len(rs) == 0 {
		u.t.Fatal("the upstream received no request")
	}
	return rs[len(rs)-1]
}

// Reply answers status with a JSON body.
func Reply(status int, body string) http.HandlerFunc {
	return Raw(status, "application/json", body)
}

// Raw answers status with a content type and body.
func Raw(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// Hang answers nothing until the gateway gives up or the test ends.
func Hang(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
