package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/mock"
	"github.com/minbil/minbil-bff/mock/record"
)

// e2eDo sends one request and returns status and body; every answer to an
// operation is validated against the contract.
func e2eDo(t *testing.T, method, url string, header map[string]string, body string) (int, []byte) {
	t.Helper()
	req, resp, b := e2eSend(t, method, url, header, body)
	c, err := contracts.Load()
	if err != nil {
		t.Fatal(err)
	}
	if verr := c.ValidateResponse(context.Background(), req, resp.StatusCode, resp.Header, b); verr != nil && !strings.Contains(req.URL.Path, "/_mock/") {
		t.Errorf("%s %s: answer breaks the contract: %v\n%s", method, req.URL.Path, verr, b)
	}
	return resp.StatusCode, b
}

// e2eSend sends one request (a JSON body when body is not empty) and reads
// the whole answer.
func e2eSend(t *testing.T, method, url string, header map[string]string, body string) (*http.Request, *http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return req, resp, b
}

func listedIDs(t *testing.T, body []byte) []int64 {
	t.Helper()
	var list contracts.RatingList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("list: %v: %s", err, body)
	}
	ids := make([]int64, len(list.Items))
	for i, it := range list.Items {
		ids[i] = it.BookingID
	}
	return ids
}

func countID(ids []int64, id int64) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}

// TestSessionsThroughTheGateway: the gateway in front of its in-process
// mock forwards X-Mock-Session and passes POST /_mock/reset through; a
// rating in session A is not in B, and a reset of A forgets it.
func TestSessionsThroughTheGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	addr := freeAddr(t)
	start(t, addr, nil, "serve", "--addr", addr)
	base := "http://" + addr
	a := map[string]string{mock.HeaderSession: "A", "Authorization": "Bearer demo"}
	b := map[string]string{mock.HeaderSession: "B", "Authorization": "Bearer demo"}

	if st, body := e2eDo(t, "POST", base+contracts.PathRatePrefix+"123", a, `{"service_rating": 4, "private_service_rating": false}`); st != 200 {
		t.Fatalf("rate in A = %d %s", st, body)
	}
	_, body := e2eDo(t, "GET", base+contracts.PathRatings, a, "")
	if countID(listedIDs(t, body), 123) != 1 {
		t.Fatalf("A's list does not show 123 once: %s", body)
	}
	_, body = e2eDo(t, "GET", base+contracts.PathRatings, b, "")
	if countID(listedIDs(t, body), 123) != 0 {
		t.Fatalf("B sees A's rating: %s", body)
	}
	if st, body := e2eDo(t, "POST", base+mock.PathReset, a, ""); st != http.StatusNoContent {
		t.Fatalf("POST %s = %d %s, want 204", mock.PathReset, st, body)
	}
	_, body = e2eDo(t, "GET", base+contracts.PathRatings, a, "")
	if countID(listedIDs(t, body), 123) != 0 {
		t.Fatalf("A's rating survived the reset: %s", body)
	}
	if st, body := e2eDo(t, "PUT", base+mock.PathScenario, a, `{"name": "many"}`); st != http.StatusNoContent {
		t.Fatalf("PUT %s = %d %s, want 204", mock.PathScenario, st, body)
	}
	_, body = e2eDo(t, "GET", base+contracts.PathRatings, a, "")
	if n := len(listedIDs(t, body)); n < 200 {
		t.Fatalf("scenario many through the gateway lists %d ratings", n)
	}
}

// fakeUpstream is a MinBil API on 127.0.0.1 answering realistic data: a
// person's name in a rating message, a plate on two bookings, a drifted
// field with an e-mail address. It rates booking 555 once.
type fakeUpstream struct {
	mu    sync.Mutex
	rated bool
	key   string
	token string
}

const (
	upPlate    = "EL12345"
	upMessage  = "Takk til Kari Nordmann for god hjelp med bilen"
	upEmail    = "kari.nordmann@example.no"
	upWorkshop = "Bilservice Bergen AS"
	upOrgNr    = "921460929"
)

func (u *fakeUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-API-Key") != u.key || r.Header.Get("Authorization") != "Bearer "+u.token {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Set-Cookie", "session=cookie-value-never-written")
	item := func(id int64, msg string) map[string]any {
		return map[string]any{"booking_id": id, "workshop_org_nr": upOrgNr, "workshop_name": upWorkshop, "service_id": 1001,
			"service_title": "EU-kontroll", "registration_number": upPlate, "status": "completed",
			"service_start_time": "2026-01-10T08:00:00Z", "service_estimated_end_time": "2026-01-10T09:00:00Z",
			"service_actual_end_time": "2026-01-10T09:15:00Z", "service_rating": 5, "service_rating_message": msg,
			"private_service_rating": false, "rated_at": "2026-01-11T10:00:00Z", "owner_email": upEmail}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case r.Method == "GET" && r.URL.Path == contracts.PathRatings:
		items := []any{item(900, upMessage)}
		if u.rated {
			items = append(items, item(555, "Rask service, hilsen Kari Nordmann"))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"total": len(items), "items": items})
	case r.Method == "POST" && r.URL.Path == contracts.PathRatePrefix+"555":
		if u.rated {
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"error":{"code":"already_rated","message":"Already rated."},"meta":{"request_id":"x","generated_at":"2026-02-12T10:00:00Z"}}`)
			return
		}
		u.rated = true
		_, _ = io.WriteString(w, `{"data":{"booking_id":555,"service_rating":5,"service_rating_message":"Rask service, hilsen Kari Nordmann","private_service_rating":false,"rated_at":"2026-02-12T10:00:00Z"},"meta":{"request_id":"r1","generated_at":"2026-02-12T10:00:00Z"}}`)
	case r.Method == "GET" && r.URL.Path == contracts.PathCheckUsername:
		name := r.URL.Query().Get("username")
		_ = json.NewEncoder(w).Encode(map[string]any{"username": name, "available": false, "message": name + " is already taken."})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// TestRecordAndReplay records answers of a real-looking upstream through
// `minbil-bff mock --record`, checks the fixtures are scrubbed, then
// replays them with `minbil-bff mock --replay`: the recorded unrated
// booking is rated once and listed once, a request without a fixture is a
// 404 naming the missing file.
func TestRecordAndReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const key, token = "e2e-record-api-key-0123456789", "e2e-caller-token-abcdefghij"
	up := httptest.NewServer(&fakeUpstream{key: key, token: token}) // 127.0.0.1
	t.Cleanup(up.Close)

	dir := filepath.Join(t.TempDir(), "fixtures")
	recAddr := freeAddr(t)
	rec := startUnmanaged(t, recAddr, []string{"MINBIL_API_KEY=" + key}, "mock", "--addr", recAddr, "--record", up.URL, "--fixtures", dir)
	rb := "http://" + recAddr
	tok := map[string]string{"Authorization": "Bearer " + token}
	steps := []struct {
		method, path, body string
		wantStatus         int
	}{
		{"GET", contracts.PathRatings, "", 200},
		{"POST", contracts.PathRatePrefix + "555", `{"service_rating": 5, "service_rating_message": "Rask service, hilsen Kari Nordmann", "private_service_rating": false}`, 200},
		{"POST", contracts.PathRatePrefix + "555", `{"service_rating": 5, "private_service_rating": false}`, 409},
		{"GET", contracts.PathRatings, "", 200},
		{"GET", contracts.PathCheckUsername + "?username=kari.nordmann", "", 200},
	}
	for _, s := range steps {
		st, _ := recordDo(t, s.method, rb+s.path, tok, s.body)
		if st != s.wantStatus {
			t.Fatalf("record %s %s = %d, want %d; output:\n%s", s.method, s.path, st, s.wantStatus, rec.out)
		}
	}
	_ = rec.cmd.Process.Signal(os.Interrupt)
	if err := rec.wait(20 * time.Second); err != nil {
		t.Fatalf("recording mock: %v\n%s", err, rec.out)
	}

	// Scrubbed: no plate, message, name, e-mail, token, key or cookie in
	// any file; workshop names and organisation numbers kept; the same
	// plate is the same fake everywhere.
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 3 {
		t.Fatalf("fixtures = %v, want 3 files", files)
	}
	all := ""
	for _, f := range files {
		b, _ := os.ReadFile(f)
		all += string(b)
		for _, secret := range []string{upPlate, "Kari Nordmann", "kari.nordmann", upEmail, token, key, "cookie-value", "Set-Cookie"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds %q:\n%s", filepath.Base(f), secret, b)
			}
		}
	}
	for _, kept := range []string{upWorkshop, upOrgNr} {
		if !strings.Contains(all, kept) {
			t.Errorf("fixtures lost %q", kept)
		}
	}
	var list struct {
		Body struct {
			Items []struct {
				Plate string `json:"registration_number"`
			} `json:"items"`
		} `json:"body"`
		Contract record.Verdict `json:"contract"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "GET_api_co_rating.json"))
	if err := json.Unmarshal(b, &list); err != nil || len(list.Body.Items) != 2 {
		t.Fatalf("list fixture: %v\n%s", err, b)
	}
	if p0, p1 := list.Body.Items[0].Plate, list.Body.Items[1].Plate; p0 != p1 || len(p0) != len(upPlate) || p0 == upPlate {
		t.Errorf("plates %q, %q: want one fake of the same shape as %q", p0, p1, upPlate)
	}
	if list.Contract.OK || !strings.Contains(strings.Join(list.Contract.Violations, ";"), "unsupported") {
		t.Errorf("the drifted list is not flagged: %+v", list.Contract)
	}

	// Replay, offline.
	playAddr := freeAddr(t)
	play := start(t, playAddr, nil, "mock", "--addr", playAddr, "--replay", dir)
	pb := "http://" + playAddr
	anyone := map[string]string{"Authorization": "Bearer someone-else"}
	_, body := e2eDo(t, "GET", pb+contracts.PathRatings, anyone, "")
	if ids := listedIDs(t, body); countID(ids, 900) != 1 || countID(ids, 555) != 0 {
		t.Fatalf("replayed list before rating = %v, want 900 and not yet 555", ids)
	}
	if st, body := e2eDo(t, "POST", pb+contracts.PathRatePrefix+"555", anyone, `{"service_rating": 3, "private_service_rating": true}`); st != 200 {
		t.Fatalf("rating the recorded unrated booking = %d %s", st, body)
	}
	_, body = e2eDo(t, "GET", pb+contracts.PathRatings, anyone, "")
	if ids := listedIDs(t, body); countID(ids, 555) != 1 || countID(ids, 900) != 1 {
		t.Fatalf("replayed list after rating = %v, want 555 once and 900", ids)
	}
	if st, _ := e2eDo(t, "POST", pb+contracts.PathRatePrefix+"555", anyone, `{"service_rating": 3, "private_service_rating": true}`); st != http.StatusConflict {
		t.Fatalf("rating 555 again = %d, want 409", st)
	}
	st, body := e2eDo(t, "POST", pb+contracts.PathRatePrefix+"777", anyone, `{"service_rating": 3, "private_service_rating": true}`)
	if st != http.StatusNotFound || !strings.Contains(string(body), "POST_api_co_rating_rate_777.json") {
		t.Fatalf("unrecorded rating = %d %s, want 404 naming its fixture", st, body)
	}
	if st, body := e2eDo(t, "GET", pb+contracts.PathCheckUsername+"?username=kari.nordmann", anyone, ""); st != 200 || !strings.Contains(string(body), `"username":"kari.nordmann"`) {
		t.Fatalf("replayed username check = %d %s", st, body)
	}
	waitFor(t, func() bool {
		out := play.out.String()
		return strings.Contains(out, "POST_api_co_rating_rate_777.json") && strings.Contains(out, "GET_api_co_rating.json")
	}, "the replaying mock logs the missing fixture and the drifted one:\n"+play.out.String())
}

// recordDo is e2eDo for the recording mock, which passes the upstream's
// answers as they are (drift included): no contract check.
func recordDo(t *testing.T, method, url string, header map[string]string, body string) (int, []byte) {
	t.Helper()
	_, resp, b := e2eSend(t, method, url, header, body)
	return resp.StatusCode, b
}

func waitFor(t *testing.T, ok func() bool, msg string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatal(msg)
}
