package mock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/minbil/minbil-bff/contracts"
)

func listBody(t *testing.T, h *harness, token string) []byte {
	t.Helper()
	res := h.do(t, request{method: http.MethodGet, path: contracts.PathRatings, header: auth(token)})
	if res.status != http.StatusOK {
		t.Fatalf("GET %s = %d, want 200", contracts.PathRatings, res.status)
	}
	return res.body
}

func TestDeterminism(t *testing.T) {
	a := start(t, Config{Seed: 1}, nil)
	b := start(t, Config{Seed: 1}, nil)
	other := start(t, Config{Seed: 2}, nil)
	// b meets the owners in another order than a: data must not depend on it.
	owners := []string{"", "alice", unsignedJWT("user-7"), "bob"}
	for i := len(owners) - 1; i >= 0; i-- {
		listBody(t, b, owners[i])
	}
	for _, token := range owners {
		gotA, gotB := listBody(t, a, token), listBody(t, b, token)
		if !bytes.Equal(gotA, gotB) {
			t.Errorf("seed 1, owner %q: two mocks gave different lists:\n%s\n%s", token, gotA, gotB)
		}
		if bytes.Equal(gotA, listBody(t, other, token)) {
			t.Errorf("owner %q: seeds 1 and 2 gave the same list", token)
		}
	}
	if bytes.Equal(listBody(t, a, "alice"), listBody(t, a, "bob")) {
		t.Errorf("alice and bob have the same list")
	}
	// The JWT's subject is the identity: another token with the same sub is
	// the same owner.
	if !bytes.Equal(listBody(t, a, unsignedJWT("user-7")), listBody(t, a, "user-7")) {
		t.Errorf("a JWT with sub user-7 and the token user-7 are different owners")
	}
}

var platePattern = regexp.MustCompile(`^[A-HJ-LNP-Z]{2}[1-9][0-9]{4}$`)

// TestGeneratedData checks the realism rules on many owners: valid MOD11
// organisation numbers, Norwegian plates, ordered times, every kind of
// booking, ids unique across owners and safe for JavaScript.
func TestGeneratedData(t *testing.T) {
	world, _, _ := shares(DefaultMaxBytes)
	st := newStore(1, world)
	seen := map[int64]string{}
	for i := range 300 {
		identity := fmt.Sprintf("owner-%d", i)
		if i == 0 {
			identity = demoIdentity
		}
		st.mu.Lock()
		o := st.ownerLocked(ownerKey(identity), identity == demoIdentity)
		st.mu.Unlock()
		kinds := map[string]int{}
		for _, b := range o.Bookings {
			if prev, dup := seen[b.ID]; dup {
				t.Fatalf("booking %d belongs to %s and %s", b.ID, prev, identity)
			}
			seen[b.ID] = identity
			if b.ID < 1 || b.ID >= 1<<53 {
				t.Errorf("%s: booking id %d outside 1..2^53", identity, b.ID)
			}
			if !validOrgNr(b.WorkshopOrgNr) {
				t.Errorf("%s: booking %d: org nr %q fails MOD11", identity, b.ID, b.WorkshopOrgNr)
			}
			if !platePattern.MatchString(b.RegistrationNumber) {
				t.Errorf("%s: booking %d: plate %q is not Norwegian", identity, b.ID, b.RegistrationNumber)
			}
			if b.WorkshopName == "" || b.ServiceTitle == "" || b.ServiceID == 0 {
				t.Errorf("%s: booking %d: empty workshop or service", identity, b.ID)
			}
			if !b.Start.Before(b.EstimatedEnd) {
				t.Errorf("%s: booking %d: start %v not before estimated end %v", identity, b.ID, b.Start, b.EstimatedEnd)
			}
			switch {
			case b.Status != statusCompleted:
				kinds["pending"]++
				if !b.ActualEnd.IsZero() || b.Rating != nil {
					t.Errorf("%s: booking %d: not completed but has an end or a rating", identity, b.ID)
				}
			case b.Rating != nil:
				kinds["rated"]++
				if !b.Rating.RatedAt.After(b.ActualEnd) || b.Rating.Stars < 1 || b.Rating.Stars > 5 {
					t.Errorf("%s: booking %d: rating %+v after end %v is implausible", identity, b.ID, b.Rating, b.ActualEnd)
				}
			default:
				kinds["unrated"]++
			}
			if b.Status == statusCompleted && (b.ActualEnd.Before(b.Start.Add(30*time.Minute)) || b.ActualEnd.Sub(b.EstimatedEnd) > 2*time.Hour) {
				t.Errorf("%s: booking %d: actual end %v implausible for %v..%v", identity, b.ID, b.ActualEnd, b.Start, b.EstimatedEnd)
			}
		}
		if kinds["rated"] == 0 || kinds["unrated"] == 0 || kinds["pending"] == 0 {
			t.Errorf("%s: bookings by kind %v, want every kind", identity, kinds)
		}
	}
	demo := st.owners[ownerKey(demoIdentity)].booking(demoBookingID)
	if demo == nil || demo.Status != statusCompleted || demo.Rating != nil {
		t.Fatalf("demo booking 123 = %+v, want completed and unrated", demo)
	}
	if demo.WorkshopOrgNr != demoOrgNr || demo.RegistrationNumber != demoPlate {
		t.Errorf("demo booking 123 at %s with %s, want the documentation's %s and %s", demo.WorkshopOrgNr, demo.RegistrationNumber, demoOrgNr, demoPlate)
	}
}

func TestValidOrgNr(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"921460929", true}, // the documentation's example
		{"921460928", false},
		{"974760673", true}, // Brønnøysundregistrene
		{"12345678", false},
		{"9214609290", false},
		{"92146092a", false},
	}
	for _, tt := range tests {
		if got := validOrgNr(tt.in); got != tt.want {
			t.Errorf("validOrgNr(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestOwnership(t *testing.T) {
	h := start(t, Config{Seed: 1}, nil)
	_, bobUnrated, _ := bookingIDs(h.srv, "bob")
	bobBefore := listBody(t, h, "bob")

	res := h.rate(t, "alice", bobUnrated[0], goodBody)
	if res.status != http.StatusNotFound || errorCode(t, res) != contracts.CodeNotFound {
		t.Fatalf("alice rates bob's booking = %d %s, want 404 not_found", res.status, res.body)
	}
	// Exactly like an unknown booking: same code and message.
	unknown := h.rate(t, "alice", 999, goodBody)
	var a, b contracts.ErrorBody
	_ = json.Unmarshal(res.body, &a)
	_ = json.Unmarshal(unknown.body, &b)
	if a.Error != b.Error {
		t.Errorf("foreign booking answers %+v, unknown booking %+v: want the same", a.Error, b.Error)
	}
	if got := listBody(t, h, "bob"); !bytes.Equal(got, bobBefore) {
		t.Errorf("bob's list changed after alice's attempt:\n%s\n%s", bobBefore, got)
	}
	if res := h.rate(t, "bob", bobUnrated[0], goodBody); res.status != http.StatusOK {
		t.Errorf("bob rates his own booking = %d, want 200", res.status)
	}
}

func TestNoDuplicates(t *testing.T) {
	h := start(t, Config{Seed: 1}, nil)
	before := h.list(t, "")
	if res := h.rate(t, "", demoBookingID, goodBody); res.status != http.StatusOK {
		t.Fatalf("first rating = %d %s, want 200", res.status, res.body)
	}
	res := h.rate(t, "", demoBookingID, `{"service_rating": 1, "private_service_rating": false}`)
	if res.status != http.StatusConflict || errorCode(t, res) != contracts.CodeAlreadyRated {
		t.Fatalf("second rating = %d %s, want 409 already_rated", res.status, res.body)
	}
	after := h.list(t, "")
	if after.Total != before.Total+1 {
		t.Errorf("total %d after one rating, want %d", after.Total, before.Total+1)
	}
	count := 0
	for _, it := range after.Items {
		if it.BookingID == demoBookingID {
			count++
			if it.ServiceRating != 5 || !it.PrivateServiceRating {
				t.Errorf("item 123 = %+v, want the first rating (5, private)", it)
			}
		}
	}
	if count != 1 {
		t.Errorf("booking 123 listed %d times, want 1", count)
	}
	if after.Items[0].BookingID != demoBookingID {
		t.Errorf("first item is %d, want the newest rating 123", after.Items[0].BookingID)
	}
}

func TestConcurrentRatingsOfOneBooking(t *testing.T) {
	h := start(t, Config{Seed: 1}, nil)
	_, unrated, _ := bookingIDs(h.srv, "carol")
	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = h.rate(t, "carol", unrated[0], fmt.Sprintf(`{"service_rating": %d, "private_service_rating": true}`, i%5+1)).status
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	if counts[http.StatusOK] != 1 || counts[http.StatusConflict] != n-1 {
		t.Errorf("statuses %v, want exactly one 200 and %d 409", counts, n-1)
	}
	listed := 0
	for _, it := range h.list(t, "carol").Items {
		if it.BookingID == unrated[0] {
			listed++
		}
	}
	if listed != 1 {
		t.Errorf("booking listed %d times, want 1", listed)
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state.json")
	const token = "persist-secret-token-1"
	first := start(t, Config{Seed: 3, StateFile: file}, nil)
	_, unrated, _ := bookingIDs(first.srv, token)
	if res := first.rate(t, token, unrated[0], goodBody); res.status != http.StatusOK {
		t.Fatalf("rate = %d %s", res.status, res.body)
	}
	if res := first.rate(t, "", demoBookingID, goodBody); res.status != http.StatusOK {
		t.Fatalf("rate demo 123 = %d %s", res.status, res.body)
	}
	wantList, wantDemo := listBody(t, first, token), listBody(t, first, "")
	first.stop(t)

	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "state.json" {
		t.Errorf("state directory holds %v (%v), want only state.json: no temporary files left", entries, err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read state file: %v", err)
	}
	if bytes.Contains(data, []byte(token)) {
		t.Errorf("the state file contains the token")
	}

	second := start(t, Config{Seed: 3, StateFile: file}, nil)
	if got := listBody(t, second, token); !bytes.Equal(got, wantList) {
		t.Errorf("after restart the list is\n%s\nwant\n%s", got, wantList)
	}
	if got := listBody(t, second, ""); !bytes.Equal(got, wantDemo) {
		t.Errorf("after restart the demo list is\n%s\nwant\n%s", got, wantDemo)
	}
	if res := second.rate(t, token, unrated[0], goodBody); res.status != http.StatusConflict {
		t.Errorf("rating again after restart = %d, want 409", res.status)
	}

	// Seed 0 takes the state file's seed; another seed is refused.
	if _, err := New(Config{Seed: 4, StateFile: file}, testContract(t), nil); err == nil {
		t.Errorf("New with seed 4 on a seed-3 state file = nil error, want a refusal")
	}
	s0, err := New(Config{StateFile: file}, testContract(t), nil)
	if err != nil || s0.Seed() != 3 {
		t.Errorf("New with seed 0 = seed %v, %v; want the state file's seed 3", s0, err)
	}

	if err := os.WriteFile(file, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Seed: 3, StateFile: file}, testContract(t), nil); err == nil {
		t.Errorf("New on a corrupt state file = nil error, want an error")
	}
}

// TestFailedWriteChangesNothing proves a rating is acknowledged only after
// it is persisted: when the write fails the answer is 500 and the state is
// as before.
func TestFailedWriteChangesNothing(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	h := start(t, Config{Seed: 1, StateFile: file}, nil)
	before := listBody(t, h, "")
	h.srv.store.mu.Lock()
	h.srv.store.journal.appendSync = func(*os.File, []byte) error { return errors.New("disk full") }
	h.srv.store.mu.Unlock()

	res := h.rate(t, "", demoBookingID, goodBody)
	if res.status != http.StatusInternalServerError || errorCode(t, res) != contracts.CodeInternal {
		t.Fatalf("rate with a failing disk = %d %s, want 500 internal_error", res.status, res.body)
	}
	if strings.Contains(string(res.body), "disk full") {
		t.Errorf("the answer leaks the Go error: %s", res.body)
	}
	if got := listBody(t, h, ""); !bytes.Equal(got, before) {
		t.Errorf("the list changed after a failed write")
	}
	h.srv.store.mu.Lock()
	h.srv.store.journal.appendSync = appendSync
	h.srv.store.mu.Unlock()
	if res := h.rate(t, "", demoBookingID, goodBody); res.status != http.StatusOK {
		t.Errorf("rate after the disk recovered = %d, want 200", res.status)
	}
}

// TestPanicIsAnErrorBody: a panic inside a handler (here in persistence)
// answers 500 with the contract's body, keeps the server alive, logs the
// cause, and leaves the state as it was.
func TestPanicIsAnErrorBody(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	h := start(t, Config{Seed: 1, StateFile: filepath.Join(t.TempDir(), "s.json")}, zap.New(core))
	before := listBody(t, h, "")
	h.srv.store.mu.Lock()
	h.srv.store.journal.appendSync = func(*os.File, []byte) error { panic("boom in persistence") }
	h.srv.store.mu.Unlock()

	res := h.rate(t, "", demoBookingID, goodBody)
	if res.status != http.StatusInternalServerError || strings.Contains(string(res.body), "boom") {
		t.Fatalf("rate with a panicking disk = %d %s, want 500 without the panic text", res.status, res.body)
	}
	if got := listBody(t, h, ""); !bytes.Equal(got, before) {
		t.Errorf("the list changed after a panic while persisting")
	}
	if n := logs.FilterLevelExact(zapcore.ErrorLevel).Len(); n != 1 {
		t.Errorf("%d error log lines, want 1 with the cause", n)
	}
	h.srv.store.mu.Lock()
	h.srv.store.journal.appendSync = appendSync
	h.srv.store.mu.Unlock()
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s.json")
	for _, content := range []string{"first", "second, longer content", "3"} {
		if err := writeFileAtomic(file, []byte(content)); err != nil {
			t.Fatalf("writeFileAtomic(%q) = %v", content, err)
		}
		got, err := os.ReadFile(file)
		if err != nil || string(got) != content {
			t.Errorf("file holds %q (%v), want %q", got, err, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1 (no temporary files)", len(entries))
	}
	if err := writeFileAtomic(filepath.Join(dir, "missing", "s.json"), []byte("x")); err == nil {
		t.Errorf("writeFileAtomic into a missing directory = nil, want an error")
	}
}

func TestIdempotencyKey(t *testing.T) {
	h := start(t, Config{Seed: 1}, nil)
	send := func(key string, id int64, body string) response {
		return h.do(t, request{method: http.MethodPost, path: contracts.PathRatePrefix + itoa(id),
			header: []string{"Content-Type", "application/json", "Idempotency-Key", key}, body: body})
	}
	first := send("key-1", demoBookingID, goodBody)
	replay := send("key-1", demoBookingID, goodBody)
	if first.status != http.StatusOK || replay.status != http.StatusOK {
		t.Fatalf("first = %d, replay = %d, want 200 twice", first.status, replay.status)
	}
	var a, b contracts.RateResponse
	_ = json.Unmarshal(first.body, &a)
	_ = json.Unmarshal(replay.body, &b)
	if a.Data != b.Data {
		t.Errorf("replay data %+v, want the first %+v", b.Data, a.Data)
	}
	if res := send("key-1", demoBookingID, `{"service_rating": 2, "private_service_rating": true}`); res.status != http.StatusUnprocessableEntity {
		t.Errorf("same key, other body = %d, want 422", res.status)
	}
	if res := send("key-2", demoBookingID, goodBody); res.status != http.StatusConflict {
		t.Errorf("new key, rated booking = %d, want 409", res.status)
	}
	if got := h.list(t, ""); got.Total != len(got.Items) {
		t.Errorf("total %d for %d items", got.Total, len(got.Items))
	}
}

// TestInjectedFaultChangesNothing: a POST answered with an injected fault
// does not store the rating.
func TestInjectedFaultChangesNothing(t *testing.T) {
	h := start(t, Config{Seed: 1, AllowFaultHeaders: true}, nil)
	before := listBody(t, h, "")
	res := h.do(t, request{method: http.MethodPost, path: contracts.PathRatePrefix + "123",
		header: []string{"Content-Type", "application/json", "Prefer", "code=503"}, body: goodBody})
	if res.status != http.StatusServiceUnavailable {
		t.Fatalf("POST with Prefer: code=503 = %d, want 503", res.status)
	}
	if got := listBody(t, h, ""); !bytes.Equal(got, before) {
		t.Errorf("an injected fault changed the list")
	}
}

func TestMockWideFaults(t *testing.T) {
	all := []request{
		{method: http.MethodGet, path: contracts.PathCheckUsername + "?username=abc", header: auth("t")},
		{method: http.MethodGet, path: contracts.PathRatings},
		{method: http.MethodPost, path: contracts.PathRatePrefix + "123", header: []string{"Content-Type", "application/json"}, body: goodBody},
	}
	t.Run("error rate 1 fails every operation", func(t *testing.T) {
		h := start(t, Config{Seed: 1, ErrorRate: 1}, nil)
		for _, r := range all {
			res := h.do(t, r)
			if res.status != http.StatusServiceUnavailable || errorCode(t, res) != contracts.CodeInjectedFault || res.header.Get("Retry-After") == "" {
				t.Errorf("%s %s = %d %s, want 503 injected_fault with Retry-After", r.method, r.path, res.status, res.body)
			}
		}
		if res := h.do(t, request{method: http.MethodGet, path: "/nope"}); res.status != http.StatusNotFound {
			t.Errorf("unknown route = %d, want 404 (faults apply to operations)", res.status)
		}
	})
	t.Run("error rate is a fraction", func(t *testing.T) {
		h := start(t, Config{Seed: 1, ErrorRate: 0.5}, nil)
		draws := []float64{0.1, 0.9, 0.49, 0.5}
		var mu sync.Mutex
		h.srv.chance = func() float64 {
			mu.Lock()
			defer mu.Unlock()
			d := draws[0]
			draws = draws[1:]
			return d
		}
		want := []int{503, 200, 503, 200}
		for i, w := range want {
			if res := h.do(t, all[1]); res.status != w {
				t.Errorf("request %d = %d, want %d", i, res.status, w)
			}
		}
	})
	t.Run("latency still answers", func(t *testing.T) {
		h := start(t, Config{Seed: 1, Latency: time.Millisecond}, nil)
		for _, r := range all[:2] {
			if res := h.do(t, r); res.status != http.StatusOK {
				t.Errorf("%s %s = %d, want 200", r.method, r.path, res.status)
			}
		}
	})
}

// TestShutdownEndsDelays: Shutdown does not wait out an injected delay.
func TestShutdownEndsDelays(t *testing.T) {
	h := start(t, Config{Seed: 1, AllowFaultHeaders: true}, nil)
	h.list(t, "")
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest(http.MethodGet, h.base+contracts.PathRatings, nil)
		req.Header.Set("X-Mock-Delay", "30s")
		if resp, err := h.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	h.stop(t)
	<-done
}

func TestServeAfterShutdown(t *testing.T) {
	s, err := New(Config{Seed: 1}, testContract(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown() = %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown() = %v", err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Errorf("Listen after Shutdown = %v, want nil", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		wantKeys []string
	}{
		{name: "all at once", cfg: Config{Latency: -time.Second, ErrorRate: 1.5, BodyLimit: -1}, wantKeys: []string{"latency", "error_rate", "body_limit"}},
		{name: "latency over the cap", cfg: Config{Latency: time.Minute}, wantKeys: []string{"latency"}},
		{name: "negative error rate", cfg: Config{ErrorRate: -0.1}, wantKeys: []string{"error_rate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, testContract(t), nil)
			if err == nil {
				t.Fatalf("New(%+v) = nil error", tt.cfg)
			}
			for _, k := range tt.wantKeys {
				if !strings.Contains(err.Error(), k+":") {
					t.Errorf("New(%+v) = %v, want it to name %s", tt.cfg, err, k)
				}
			}
		})
	}
	if _, err := New(Config{}, nil, nil); err == nil {
		t.Errorf("New with a nil contract = nil error")
	}
}

// TestLogsNeverContainTokens sends requests with tokens through every path
// (success, 401, 404, 409, injected faults, unknown routes) and scans every
// logged message and field; each request is exactly one line.
func TestLogsNeverContainTokens(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	h := start(t, Config{Seed: 1, AllowFaultHeaders: true}, zap.New(core))
	opaque := "opaque-secret-Zq81"
	jwt := unsignedJWT("subject-secret-77")
	malformed := "Bearer malformed secret-Kx2"
	requests := []request{
		{method: http.MethodGet, path: contracts.PathCheckUsername + "?username=abc", header: auth(opaque)},
		{method: http.MethodGet, path: contracts.PathCheckUsername + "?username=abc", header: auth(jwt)},
		{method: http.MethodGet, path: contracts.PathCheckUsername + "?username=abc", header: []string{"Authorization", malformed}},
		{method: http.MethodGet, path: contracts.PathRatings, header: auth(opaque)},
		{method: http.MethodGet, path: contracts.PathRatings, header: auth(jwt)},
		{method: http.MethodGet, path: contracts.PathRatings, header: []string{"Authorization", malformed}},
		{method: http.MethodGet, path: contracts.PathRatings, header: append(auth(opaque), "Prefer", "code=500")},
		{method: http.MethodPost, path: contracts.PathRatePrefix + "999", header: append(auth(jwt), "Content-Type", "application/json"), body: goodBody},
		{method: http.MethodPost, path: contracts.PathRatePrefix + "123", header: append(auth(opaque), "Content-Type", "text/plain"), body: goodBody},
		{method: http.MethodDelete, path: contracts.PathRatings, header: auth(opaque)},
		{method: http.MethodGet, path: "/nope", header: auth(jwt)},
	}
	for _, r := range requests {
		h.do(t, r)
	}
	h.stop(t)

	entries := logs.FilterMessage("request").All()
	if len(entries) != len(requests) {
		t.Errorf("%d request log lines for %d requests, want one each", len(entries), len(requests))
	}
	secrets := []string{opaque, jwt, strings.Split(jwt, ".")[1], "subject-secret-77", "secret-Kx2", "eyJ"}
	for _, e := range logs.All() {
		enc := zapcore.NewMapObjectEncoder()
		for _, f := range e.Context {
			f.AddTo(enc)
		}
		line := e.Message + " " + fmt.Sprint(enc.Fields)
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("log line %q contains %q", line, s)
			}
		}
	}
}

// validOrgNr reports whether s is nine digits with a valid MOD11 check
// digit: the tests' check of what fakeOrgNr makes.
func validOrgNr(s string) bool {
	if len(s) != 9 {
		return false
	}
	var d [8]int
	for i := 0; i < 9; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if i < 8 {
			d[i] = int(s[i] - '0')
		}
	}
	return orgNrCheckDigit(d) == int(s[8]-'0')
}
