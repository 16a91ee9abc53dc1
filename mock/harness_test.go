package mock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
)

// TestMain checks that no test leaks a goroutine. Two fasthttp goroutines
// are ignored: the process-wide Date refresher (started once, never
// stopped, by design) and the idle-worker cleaner, which notices a stopped
// pool only after its sleep of MaxIdleWorkerDuration (10s); every test
// waits for Serve to return, which is after the pool was stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

var loadContract = sync.OnceValues(contracts.Load)

func testContract(t testing.TB) *contracts.Contract {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatalf("contracts.Load() = %v", err)
	}
	return c
}

// harness is one mock on a real loopback listener and a client for it.
type harness struct {
	srv    *Server
	base   string
	client *http.Client
	c      *contracts.Contract
	done   chan error
	once   sync.Once
}

// start runs a mock with cfg on 127.0.0.1:0; t.Cleanup shuts it down.
func start(t *testing.T, cfg Config, log *zap.Logger) *harness {
	t.Helper()
	c := testContract(t)
	srv, err := New(cfg, c, log)
	if err != nil {
		t.Fatalf("New(%+v) = %v", cfg, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	h := &harness{
		srv:    srv,
		base:   "http://" + ln.Addr().String(),
		client: &http.Client{Transport: tr, Timeout: time.Minute},
		c:      c,
		done:   make(chan error, 1),
	}
	go func() { h.done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		h.stop(t)
	})
	return h
}

// stop shuts the mock down once and waits for Serve to return.
func (h *harness) stop(t *testing.T) {
	t.Helper()
	h.once.Do(func() {
		h.client.Transport.(*http.Transport).CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown() = %v", err)
		}
		if err := <-h.done; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
}

// request is one request of a test.
type request struct {
	method string
	path   string
	header []string // name, value pairs
	body   string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req and checks the answer against the contract.
func (h *harness) do(t *testing.T, r request) response {
	t.Helper()
	req, resp := h.roundTrip(t, r)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", r.method, r.path, err)
	}
	res := response{status: resp.StatusCode, header: resp.Header, body: b}
	checkContract(t, h.c, req, res)
	return res
}

// roundTrip sends r to the mock and returns the request made and the
// response, whose body the caller closes.
func (h *harness) roundTrip(t *testing.T, r request) (*http.Request, *http.Response) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, h.base+r.path, body)
	if err != nil {
		t.Fatalf("NewRequest(%s %s) = %v", r.method, r.path, err)
	}
	for i := 0; i+1 < len(r.header); i += 2 {
		req.Header.Add(r.header[i], r.header[i+1])
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	return req, resp
}

// checkContract validates an answer with the contract's own validator.
// Answers to requests that address no operation (unknown route, wrong
// method) must still be the contract's Error body.
func checkContract(t *testing.T, c *contracts.Contract, req *http.Request, res response) {
	t.Helper()
	err := c.ValidateResponse(context.Background(), req, res.status, res.header, res.body)
	switch {
	case errors.Is(err, contracts.ErrNoOperation) && strings.HasPrefix(req.URL.Path, "/_mock/") && res.status < 400:
		// A control route's answer: not the contract's.
		return
	case errors.Is(err, contracts.ErrNoOperation):
		if res.status < 400 {
			t.Errorf("%s %s: status %d for a request outside the contract", req.Method, req.URL.Path, res.status)
		}
		var v any
		if err := json.Unmarshal(res.body, &v); err != nil {
			t.Errorf("%s %s: body is not JSON: %v", req.Method, req.URL.Path, err)
			return
		}
		if err := c.Doc().Components.Schemas["Error"].Value.VisitJSON(v); err != nil {
			t.Errorf("%s %s: body is not the contract's Error: %v", req.Method, req.URL.Path, err)
		}
	case err != nil:
		t.Errorf("%s %s: ValidateResponse = %v\nbody: %s", req.Method, req.URL.Path, err, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type = %q, want application/json", req.Method, req.URL.Path, ct)
	}
	if s := res.header.Get("Server"); s != "" {
		t.Errorf("%s %s: Server header = %q, want none", req.Method, req.URL.Path, s)
	}
	rid := res.header.Get("X-Request-ID")
	if !contracts.SaneRequestID(rid) {
		t.Errorf("%s %s: X-Request-ID = %q, want a sane id", req.Method, req.URL.Path, rid)
	}
	var env struct {
		Meta *contracts.Meta `json:"meta"`
	}
	if json.Unmarshal(res.body, &env) == nil && env.Meta != nil && env.Meta.RequestID != rid {
		t.Errorf("%s %s: meta.request_id = %q, want the X-Request-ID %q", req.Method, req.URL.Path, env.Meta.RequestID, rid)
	}
	if res.status >= 400 {
		code := errorCode(t, res)
		if code == "" {
			t.Errorf("%s %s: status %d without an error code", req.Method, req.URL.Path, res.status)
		}
	}
	if res.status == http.StatusOK && req.URL.Path == contracts.PathRatings {
		var list contracts.RatingList
		if err := json.Unmarshal(res.body, &list); err != nil || list.Total != len(list.Items) {
			t.Errorf("GET %s: total %d for %d items (%v)", contracts.PathRatings, list.Total, len(list.Items), err)
		}
	}
}

func errorCode(t *testing.T, res response) string {
	t.Helper()
	var body contracts.ErrorBody
	if err := json.Unmarshal(res.body, &body); err != nil {
		return ""
	}
	return body.Error.Code
}

// list returns the rating list of the owner a token stands for ("" for
// the demo owner).
func (h *harness) list(t *testing.T, token string) contracts.RatingList {
	t.Helper()
	res := h.do(t, request{method: http.MethodGet, path: contracts.PathRatings, header: auth(token)})
	if res.status != http.StatusOK {
		t.Fatalf("GET %s = %d, want 200: %s", contracts.PathRatings, res.status, res.body)
	}
	var list contracts.RatingList
	if err := json.Unmarshal(res.body, &list); err != nil {
		t.Fatalf("decode list: %v", err)
	}
	return list
}

func (h *harness) rate(t *testing.T, token string, id int64, body string) response {
	t.Helper()
	header := append(auth(token), "Content-Type", "application/json")
	return h.do(t, request{method: http.MethodPost, path: contracts.PathRatePrefix + itoa(id), header: header, body: body})
}

func auth(token string) []string {
	if token == "" {
		return nil
	}
	return []string{"Authorization", "Bearer " + token}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// unsignedJWT builds a JWT with the given subject; the mock reads it
// without verifying it.
func unsignedJWT(sub string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		enc.EncodeToString([]byte(`{"sub":"`+sub+`","iss":"test"}`)) + ".c2lnbmF0dXJl"
}

// bookingIDs lists the ids of the owner an identity stands for, by kind.
func bookingIDs(s *Server, identity string) (rated, unrated, pending []int64) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	o := s.store.ownerLocked(ownerKey(identity), identity == demoIdentity)
	for _, b := range o.Bookings {
		switch {
		case b.Status != statusCompleted:
			pending = append(pending, b.ID)
		case b.Rating != nil:
			rated = append(rated, b.ID)
		default:
			unrated = append(unrated, b.ID)
		}
	}
	return rated, unrated, pending
}

const goodBody = `{"service_rating": 5, "service_rating_message": "Rask og grundig service.", "private_service_rating": true}`
