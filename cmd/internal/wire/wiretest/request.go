package wiretest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts"
)

// Request is one request as written on the wire: Target is the raw
// request-target (path and query, or an absolute form), never
// re-encoded.
type Request struct {
	Method string
	Target string
	Header http.Header
	Body   string
}

// Get is a GET of target.
func Get(target string, header http.Header) Request {
	return Request{Method: "GET", Target: target, Header: header}
}

// Post is a POST of body to target.
func Post(target string, header http.Header, body string) Request {
	return Request{Method: "POST", Target: target, Header: header, Body: body}
}

// Wire renders r as HTTP/1.1 bytes for host with Connection: close; a
// Content-Length is added for a body unless the header has framing, and a
// Host unless the header has one.
func (r Request) Wire(host string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", r.Method, r.Target)
	if r.Header.Get("Host") == "" {
		fmt.Fprintf(&b, "Host: %s\r\n", host)
	}
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if r.Body != "" && r.Header.Get("Content-Length") == "" && r.Header.Get("Transfer-Encoding") == "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.Body))
	}
	if r.Header.Get("Connection") == "" {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(r.Body)
	return b.Bytes()
}

// Answer is one response read whole.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

func (a Answer) String() string { return fmt.Sprintf("%d %s", a.Status, a.Body) }

// ErrorCode returns the code of an error body, or "".
func (a Answer) ErrorCode() string {
	var e contracts.ErrorBody
	_ = json.Unmarshal(a.Body, &e)
	return e.Error.Code
}

// Bearer is an Authorization header with a Bearer token.
func Bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// JSONHeader is Content-Type: application/json plus extra.
func JSONHeader(extra http.Header) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// Do sends r on a new connection, reads the answer and checks it (Check).
func (h *Server) Do(r Request) Answer {
	h.t.Helper()
	a, err := h.Try(r)
	if err != nil {
		h.t.Fatalf("%s %.80s: %v", r.Method, r.Target, err)
	}
	h.Check(r, a)
	return a
}

// Try sends r on a new connection and reads the answer without checking
// it.
func (h *Server) Try(r Request) (Answer, error) {
	conn, err := net.DialTimeout("tcp", h.Addr, 5*time.Second)
	if err != nil {
		return Answer{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := conn.Write(r.Wire(h.Addr)); err != nil {
		return Answer{}, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: r.Method})
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Answer{}, err
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Check checks an answer to r: it keeps the contract where r addresses an
// operation, a non-2xx is the contract's error body, and it carries an
// X-Request-ID; then the checks of WithCheck run.
func (h *Server) Check(r Request, a Answer) {
	h.t.Helper()
	if a.Status >= 400 {
		CheckErrorBody(h.t, r, a)
	}
	if hr, err := http.NewRequest(r.Method, h.URL+r.Target, nil); err == nil {
		err := Contract.ValidateResponse(context.Background(), hr, a.Status, a.Header, a.Body)
		if err != nil && !errors.Is(err, contracts.ErrNoOperation) {
			h.t.Errorf("%s %.80s answered %.300s, which breaks the contract: %v", r.Method, r.Target, a, err)
		}
	}
	if a.Header.Get("X-Request-Id") == "" {
		h.t.Errorf("%s %.80s: no X-Request-ID on the answer", r.Method, r.Target)
	}
	for _, check := range h.checks {
		check(h.t, r, a)
	}
}

// CheckErrorBody checks that a non-2xx answer is the contract's error
// body, JSON, with the answer's request id (the first request's, in a
// replay).
func CheckErrorBody(t *testing.T, r Request, a Answer) {
	t.Helper()
	var e contracts.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(a.Body))
	if err := dec.Decode(&e); err != nil || e.Error.Code == "" || e.Error.Message == "" || e.Meta.RequestID == "" || e.Meta.GeneratedAt.IsZero() {
		t.Errorf("%s %.80s answered %.300s: not the contract's error body", r.Method, r.Target, a)
	}
	if ct := a.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %.80s: error Content-Type %q, want application/json", r.Method, r.Target, ct)
	}
	// A replay repeats the recorded answer, body and all: its request id
	// is the first request's.
	replayed := a.Header.Get("Idempotent-Replayed") == "true"
	if e.Meta.RequestID != "" && !replayed && e.Meta.RequestID != a.Header.Get("X-Request-Id") {
		t.Errorf("%s %.80s: meta.request_id %q != X-Request-ID %q", r.Method, r.Target, e.Meta.RequestID, a.Header.Get("X-Request-Id"))
	}
}
