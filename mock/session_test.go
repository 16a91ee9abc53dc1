package mock

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/contracts"
)

// TestSessionsAndReset: a rating in session A is not in session B nor in
// the default world; resetting A forgets it, and only in A.
func TestSessionsAndReset(t *testing.T) {
	h := start(t, Config{Seed: 3}, nil)
	session := func(id string) []string {
		if id == "" {
			return nil
		}
		return []string{HeaderSession, id}
	}
	listed := func(id string) map[int64]bool {
		t.Helper()
		res := h.do(t, request{method: http.MethodGet, path: contracts.PathRatings, header: session(id)})
		var list contracts.RatingList
		if err := json.Unmarshal(res.body, &list); err != nil || res.status != http.StatusOK {
			t.Fatalf("list in session %q = %d %s", id, res.status, res.body)
		}
		out := map[int64]bool{}
		for _, it := range list.Items {
			out[it.BookingID] = true
		}
		return out
	}
	rate := func(id string, booking int64) int {
		t.Helper()
		return h.do(t, request{method: http.MethodPost, path: contracts.PathRatePrefix + itoa(booking),
			header: append(session(id), "Content-Type", "application/json"), body: goodBody}).status
	}
	reset := func(id string) {
		t.Helper()
		// With a session the header alone will do; without one, the
		// request must be JSON (guardControl).
		req, _ := http.NewRequest(http.MethodPost, h.base+PathReset, nil)
		if id != "" {
			req.Header.Set(HeaderSession, id)
		} else {
			req, _ = http.NewRequest(http.MethodPost, h.base+PathReset, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := h.client.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST %s (session %q) = %v %v, want 204", PathReset, id, resp, err)
		}
		resp.Body.Close()
	}

	steps := []struct {
		name     string
		do       func()
		session  string
		wantSeen bool // booking 123 in the session's list
	}{
		{"A rates 123", func() {
			if got := rate("A", demoBookingID); got != http.StatusOK {
				t.Fatalf("rate in A = %d, want 200", got)
			}
		}, "A", true},
		{"B does not see it", func() {}, "B", false},
		{"the default world does not see it", func() {}, "", false},
		{"B rates 123 itself", func() {
			if got := rate("B", demoBookingID); got != http.StatusOK {
				t.Fatalf("rate in B = %d, want 200", got)
			}
		}, "B", true},
		{"A again is already rated", func() {
			if got := rate("A", demoBookingID); got != http.StatusConflict {
				t.Fatalf("second rate in A = %d, want 409", got)
			}
		}, "A", true},
		{"reset A: gone in A", func() { reset("A") }, "A", false},
		{"reset A leaves B", func() {}, "B", true},
		{"the default world rates, reset without a session forgets it", func() {
			if got := rate("", demoBookingID); got != http.StatusOK {
				t.Fatalf("rate in default = %d", got)
			}
			reset("")
		}, "", false},
		{"reset of the default world leaves B", func() {}, "B", true},
	}
	for _, st := range steps {
		st.do()
		if got := listed(st.session)[demoBookingID]; got != st.wantSeen {
			t.Fatalf("%s: booking 123 listed in session %q = %v, want %v", st.name, st.session, got, st.wantSeen)
		}
	}
}

// TestSessionsSeededIdentically: a new session's world is the default
// world's seed.
func TestSessionsSeededIdentically(t *testing.T) {
	h := start(t, Config{Seed: 9}, nil)
	tok := []string{"Authorization", "Bearer someone"}
	base := h.do(t, request{method: http.MethodGet, path: contracts.PathRatings, header: tok})
	for _, id := range []string{"w1", "w2"} {
		got := h.do(t, request{method: http.MethodGet, path: contracts.PathRatings, header: append([]string{HeaderSession, id}, tok...)})
		if string(got.body) != string(base.body) {
			t.Errorf("session %s list = %s, want the default world's %s", id, got.body, base.body)
		}
	}
}

func TestSessionHeaderChecked(t *testing.T) {
	h := start(t, Config{Seed: 1}, nil)
	tests := []struct {
		name       string
		header     []string
		wantStatus int
	}{
		{"ok", []string{HeaderSession, "worker-1.test:3"}, 200},
		{"128 chars", []string{HeaderSession, strings.Repeat("a", 128)}, 200},
		{"129 chars", []string{HeaderSession, strings.Repeat("a", 129)}, 400},
		{"space", []string{HeaderSession, "a b"}, 400},
		{"twice", []string{HeaderSession, "a", HeaderSession, "b"}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(t, request{method: http.MethodGet, path: contracts.PathRatings, header: tt.header})
			if res.status != tt.wantStatus {
				t.Errorf("GET with %v = %d, want %d", tt.header, res.status, tt.wantStatus)
			}
		})
	}
}

// TestSessionsBounded: beyond maxSessions the least recently used world
// is dropped; a world in use is kept; a dropped one starts afresh.
func TestSessionsBounded(t *testing.T) {
	_, lim, sessionBytes := shares(DefaultMaxBytes)
	ss := newSessions(sessionBytes, func() *store { return newStore(1, lim) })
	first := ss.get("s0")
	if _, err := first.rate(ownerKey(demoIdentity), true, rateInput{BookingID: demoBookingID, Stars: 5, Private: true}); err != nil {
		t.Fatalf("rate = %v", err)
	}
	for i := 1; i <= maxSessions; i++ {
		ss.get("s" + strconv.Itoa(i))
		if i == maxSessions/2 {
			ss.get("s0") // recently used: survives
		}
	}
	if got := ss.len(); got != maxSessions {
		t.Errorf("sessions held = %d, want %d", got, maxSessions)
	}
	if ss.get("s0") != first {
		t.Errorf("a recently used session was dropped")
	}
	if _, ok := ss.byID["s1"]; ok {
		t.Errorf("the least recently used session s1 was kept")
	}

	// By bytes: a world holding more than the sessions' share drops the
	// others.
	ss = newSessions(sessionBytes, func() *store { return newStore(1, lim) })
	small := ss.get("small")
	if _, err := small.list(ownerKey("x"), false); err != nil {
		t.Fatal(err)
	}
	big := ss.get("big")
	big.used.Store(sessionBytes)
	ss.get("big")
	if _, ok := ss.byID["small"]; ok || ss.len() != 1 {
		t.Errorf("over the sessions' bytes: %d sessions kept, want only the most recent", ss.len())
	}
}

// TestControlRoutesMethods: a control path answers another method with
// 405 and Allow, in the contract's error body.
func TestControlRoutesMethods(t *testing.T) {
	h := start(t, Config{Seed: 1}, nil)
	tests := []struct {
		method, path, wantAllow string
	}{
		{http.MethodGet, PathReset, "POST"},
		{http.MethodPost, PathScenarios, "GET"},
		{http.MethodGet, PathScenario, "PUT"},
		{http.MethodDelete, PathBookings, "GET"},
	}
	for _, tt := range tests {
		res := h.do(t, request{method: tt.method, path: tt.path})
		if res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") != tt.wantAllow {
			t.Errorf("%s %s = %d Allow %q, want 405 Allow %q", tt.method, tt.path, res.status, res.header.Get("Allow"), tt.wantAllow)
		}
	}
}

// len returns the number of session worlds held (the tests' view).
func (ss *sessions) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.order.Len()
}
