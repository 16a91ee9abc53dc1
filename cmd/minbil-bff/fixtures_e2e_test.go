package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

	// Scrubbed: no plate, message, name, e-mail, workshop, organisation
	// number, token, key or cookie in any file; the same plate is the same
	// fake everywhere; the ids are remapped, alike in the list and in the
	// rating's fixture.
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 3 {
		t.Fatalf("fixtures = %v, want 3 files", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, secret := range []string{upPlate, "Kari Nordmann", "kari.nordmann", upEmail, upWorkshop, upOrgNr, token, key, "cookie-value", "Set-Cookie"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds %q:\n%s", filepath.Base(f), secret, b)
			}
		}
	}
	var list struct {
		Body struct {
			Items []struct {
				ID      int64  `json:"booking_id"`
				Plate   string `json:"registration_number"`
				Message string `json:"service_rating_message"`
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
	rated, _ := filepath.Glob(filepath.Join(dir, "POST_api_co_rating_rate_*.json"))
	if len(rated) != 1 {
		t.Fatalf("rating fixtures = %v, want 1", rated)
	}
	id555, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(rated[0]), "POST_api_co_rating_rate_"), ".json"), 10, 64)
	if err != nil {
		t.Fatalf("rating fixture %s: %v", rated[0], err)
	}
	id900 := list.Body.Items[0].ID
	if id900 == id555 {
		id900 = list.Body.Items[1].ID
	}
	if ids := []int64{list.Body.Items[0].ID, list.Body.Items[1].ID}; countID(ids, id555) != 1 || id555 == 555 || id900 == 900 || len(strconv.FormatInt(id555, 10)) != 3 {
		t.Fatalf("list ids %v, rating fixture id %d: want 555 and 900 remapped to other 3-digit ids, the rating's in the list", ids, id555)
	}
	unrecorded := int64(777)
	for unrecorded == id555 || unrecorded == id900 {
		unrecorded++
	}

	// Replay, offline.
	playAddr := freeAddr(t)
	play := start(t, playAddr, nil, "mock", "--addr", playAddr, "--replay", dir)
	pb := "http://" + playAddr
	anyone := map[string]string{"Authorization": "Bearer someone-else"}
	rate := func(id int64) string { return pb + contracts.RatePath(id) }
	_, body := e2eDo(t, "GET", pb+contracts.PathRatings, anyone, "")
	if ids := listedIDs(t, body); countID(ids, id900) != 1 || countID(ids, id555) != 0 {
		t.Fatalf("replayed list before rating = %v, want %d and not yet %d", ids, id900, id555)
	}
	if st, body := e2eDo(t, "POST", rate(id555), anyone, `{"service_rating": 3, "private_service_rating": true}`); st != 200 {
		t.Fatalf("rating the recorded unrated booking = %d %s", st, body)
	}
	_, body = e2eDo(t, "GET", pb+contracts.PathRatings, anyone, "")
	if ids := listedIDs(t, body); countID(ids, id555) != 1 || countID(ids, id900) != 1 {
		t.Fatalf("replayed list after rating = %v, want %d once and %d", ids, id555, id900)
	}
	if st, _ := e2eDo(t, "POST", rate(id555), anyone, `{"service_rating": 3, "private_service_rating": true}`); st != http.StatusConflict {
		t.Fatalf("rating %d again = %d, want 409", id555, st)
	}
	missing := record.FileName(record.Name(record.Request{Method: "POST", Path: contracts.RatePath(unrecorded)}))
	st, body := e2eDo(t, "POST", rate(unrecorded), anyone, `{"service_rating": 3, "private_service_rating": true}`)
	if st != http.StatusNotFound || !strings.Contains(string(body), missing) {
		t.Fatalf("unrecorded rating = %d %s, want 404 naming %s", st, body, missing)
	}
	if st, body := e2eDo(t, "GET", pb+contracts.PathCheckUsername+"?username=kari.nordmann", anyone, ""); st != 200 || !strings.Contains(string(body), `"username":"kari.nordmann"`) {
		t.Fatalf("replayed username check = %d %s", st, body)
	}
	waitFor(t, func() bool {
		out := play.out.String()
		return strings.Contains(out, missing) && strings.Contains(out, "GET_api_co_rating.json")
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

// The values a hostile upstream plants in TestR3F4RecordHostileUpstream.
const (
	hostileKey      = "r3f4-api-key-5b1e0c9a7d"
	hostileToken    = "r3f4-caller-token-8c2f4e6a1b"
	hostileEmail    = "kari.nordmann@example.no"
	hostileName     = "Kari Nordmann"
	hostilePhone    = "+47 912 34 567"
	hostilePhoneNum = 91234567
	hostileFnr      = 12345678901 // a fødselsnummer's 11 digits
	hostilePassword = "hunter2-Hemmelig-Passord"
)

// hostilePersonal is a text with every personal value in it.
var hostilePersonal = fmt.Sprintf("%s <%s>, tlf %s, fnr %d", hostileName, hostileEmail, hostilePhone, hostileFnr)

// hostileUpstream is a MinBil API on 127.0.0.1 that puts secrets and
// personal data everywhere an answer has room for them: the API key and
// the caller's token as property names, e-mail, name, phone number and
// national id number in every free-text field and in request_id, numeric
// owner_phone and fnr fields, a cookie, and a password in an HTML 500.
func hostileUpstream(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-API-Key") != hostileKey || r.Header.Get("Authorization") != "Bearer "+hostileToken {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Set-Cookie", "session="+hostileToken)
	w.Header().Set("X-Request-ID", hostilePersonal)
	meta := map[string]any{"request_id": hostilePersonal, "generated_at": "2026-02-12T10:00:00Z", hostileKey: hostileToken}
	item := func(id int64) map[string]any {
		return map[string]any{"booking_id": id, "workshop_org_nr": "921460929", "workshop_name": hostilePersonal, "service_id": 1001,
			"service_title": hostilePersonal, "registration_number": "EL12345", "status": "completed",
			"service_start_time": "2026-01-10T08:00:00Z", "service_estimated_end_time": "2026-01-10T09:00:00Z",
			"service_actual_end_time": "2026-01-10T09:15:00Z", "service_rating": 5, "service_rating_message": hostilePersonal,
			"private_service_rating": false, "rated_at": "2026-01-11T10:00:00Z",
			"owner_phone": hostilePhoneNum, "fnr": hostileFnr, hostileKey: 1, hostileToken: map[string]any{"email": hostileEmail}}
	}
	var status int
	var answer any
	switch {
	case r.Method == "GET" && r.URL.Path == contracts.PathRatings:
		status, answer = 200, map[string]any{"total": 2, "items": []any{item(900), item(555)}, hostileToken: hostileKey}
	case r.Method == "POST" && r.URL.Path == contracts.RatePath(555):
		status, answer = 200, map[string]any{"data": map[string]any{"booking_id": 555, "service_rating": 5, "service_rating_message": hostilePersonal,
			"private_service_rating": false, "rated_at": "2026-02-12T10:00:00Z", "fnr": hostileFnr, hostileToken: true}, "meta": meta}
	case r.Method == "POST" && r.URL.Path == contracts.RatePath(900):
		status, answer = 409, map[string]any{"error": map[string]any{"code": "already_rated", "message": hostilePersonal, hostileKey: hostileFnr}, "meta": meta}
	case r.Method == "GET" && r.URL.Path == contracts.PathCheckUsername && r.URL.Query().Get("username") == "boom":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, "<html><body><h1>500</h1><pre>db login failed for %s: password=%s</pre></body></html>", hostileEmail, hostilePassword)
		return
	case r.Method == "GET" && r.URL.Path == contracts.PathCheckUsername:
		status, answer = 200, map[string]any{"username": r.URL.Query().Get("username"), "available": false, "message": hostilePersonal,
			"owner_phone": hostilePhoneNum, hostileKey: hostileToken}
	default:
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(answer)
}

// TestR3F4RecordHostileUpstream records, through `minbil-bff mock
// --record`, an upstream that plants a secret or personal value in every
// place an answer has (hostileUpstream), then reads every file of the
// fixture directory: none holds any planted value, nor the digits of a
// planted number as text.
func TestR3F4RecordHostileUpstream(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	up := httptest.NewServer(http.HandlerFunc(hostileUpstream)) // 127.0.0.1
	t.Cleanup(up.Close)
	dir := filepath.Join(t.TempDir(), "fixtures")
	addr := freeAddr(t)
	rec := startUnmanaged(t, addr, []string{"MINBIL_API_KEY=" + hostileKey}, "mock", "--addr", addr, "--record", up.URL, "--fixtures", dir)
	base := "http://" + addr
	tok := map[string]string{"Authorization": "Bearer " + hostileToken}
	steps := []struct {
		method, path, body string
		wantStatus         int
	}{
		{"GET", contracts.PathRatings, "", 200},
		{"POST", contracts.RatePath(555), `{"service_rating": 5, "private_service_rating": false}`, 200},
		{"POST", contracts.RatePath(900), `{"service_rating": 5, "private_service_rating": false}`, 409},
		{"GET", contracts.PathCheckUsername + "?username=kari.nordmann", "", 200},
		{"GET", contracts.PathCheckUsername + "?username=boom", "", 500},
	}
	for _, s := range steps {
		if st, _ := recordDo(t, s.method, base+s.path, tok, s.body); st != s.wantStatus {
			t.Fatalf("record %s %s = %d, want %d; output:\n%s", s.method, s.path, st, s.wantStatus, rec.out)
		}
	}
	_ = rec.cmd.Process.Signal(os.Interrupt)
	if err := rec.wait(20 * time.Second); err != nil {
		t.Fatalf("recording mock: %v\n%s", err, rec.out)
	}

	planted := []string{hostileKey, hostileToken, hostileEmail, hostileName, "Nordmann", "kari.nordmann", hostilePhone, "912 34 567",
		strconv.Itoa(hostilePhoneNum), strconv.Itoa(hostileFnr), hostilePassword, "hunter2"}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fixtures := 0
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.Name(), ".json") {
			fixtures++
		}
		for _, p := range planted {
			if strings.Contains(string(b), p) {
				t.Errorf("%s holds the planted %q:\n%s", e.Name(), p, b)
			}
		}
	}
	if fixtures != len(steps) {
		t.Errorf("%d fixtures in %s, want %d (one per step)", fixtures, dir, len(steps))
	}
	if strings.Contains(rec.out.String(), hostileKey) || strings.Contains(rec.out.String(), hostileToken) {
		t.Errorf("the recording mock's log holds the key or the token:\n%s", rec.out)
	}
	// What was recorded replays: the list without the booking the
	// recording rated (replay lets you rate it again).
	playAddr := freeAddr(t)
	start(t, playAddr, nil, "mock", "--addr", playAddr, "--replay", dir)
	if st, body := e2eDo(t, "GET", "http://"+playAddr+contracts.PathRatings, nil, ""); st != 200 || len(listedIDs(t, body)) != 1 {
		t.Errorf("replayed list = %d %s, want 200 and the booking rated before the recording", st, body)
	}
}

// runRefused runs the binary with args, which must refuse to start: it
// returns the output of a non-zero exit.
func runRefused(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary(t), args...).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 || ctx.Err() != nil {
		t.Fatalf("%v = %v, want a non-zero exit at start; output:\n%s", args, err, out)
	}
	return string(out)
}

// TestR3F15ReplayRefusesFixtures: `mock --replay DIR` refuses to start
// when a fixture would serve a header, status or body the contract does
// not name, and says which file.
func TestR3F15ReplayRefusesFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const list = `{"method":"GET","path":"/api/co/rating"}`
	wrap := func(status, header, body string) string {
		return `{"format":2,"request":` + list + `,"status":` + status + `,"header":` + header + `,"body":` + body +
			`,"recorded_at":"2026-02-12T10:00:00Z","contract":{"ok":true}}`
	}
	const ok = `{"total":0,"items":[]}`
	tests := []struct {
		name, fixture, wantProblem string
	}{
		{"Set-Cookie", wrap("200", `{"Content-Type":"application/json","Set-Cookie":"session=stolen"}`, ok), "Set-Cookie"},
		{"Location", wrap("200", `{"Location":"https://evil.example/"}`, ok), "Location"},
		{"CORS", wrap("200", `{"Access-Control-Allow-Origin":"*"}`, ok), "Access-Control-Allow-Origin"},
		{"HTML with a script", `{"format":2,"request":` + list + `,"status":500,"header":{"Content-Type":"text/html"},"body_text":"<script>alert(1)</script>","recorded_at":"2026-02-12T10:00:00Z","contract":{"ok":false}}`, "Content-Type"},
		{"HTML body_text with a script", `{"format":2,"request":` + list + `,"status":500,"body_text":"<script>alert(1)</script>","recorded_at":"2026-02-12T10:00:00Z","contract":{"ok":false}}`, "body_text"},
		{"101", wrap("101", `{"Upgrade":"websocket","Connection":"Upgrade"}`, ok), "status 101"},
		{"302", wrap("302", `{}`, ok), "status 302"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "GET_api_co_rating.json")
			if err := os.WriteFile(file, []byte(tt.fixture), 0o644); err != nil {
				t.Fatal(err)
			}
			out := runRefused(t, "mock", "--addr", freeAddr(t), "--replay", dir)
			// The temporary directory's name holds the case's name.
			if !strings.Contains(out, file) || !strings.Contains(strings.ReplaceAll(out, file, ""), tt.wantProblem) {
				t.Errorf("output does not name %s and %q:\n%s", file, tt.wantProblem, out)
			}
		})
	}
}

// TestUpgradeFixturesFormat1: a fixture directory the previous version
// recorded (mock/record/testdata/format1, as it wrote it) is refused at
// the start of a replay and of a recording into it, naming each file and
// saying to record it again.
func TestUpgradeFixturesFormat1(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	old := filepath.Join("..", "..", "mock", "record", "testdata", "format1")
	copied := filepath.Join(t.TempDir(), "format1")
	if err := os.CopyFS(copied, os.DirFS(old)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"replay", []string{"mock", "--addr", freeAddr(t), "--replay", copied}},
		{"record into it", []string{"mock", "--addr", freeAddr(t), "--record", "http://127.0.0.1:1", "--fixtures", copied}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runRefused(t, tt.args...)
			for _, want := range []string{filepath.Join(copied, "GET_api_co_rating.json"), filepath.Join(copied, "POST_api_co_rating_rate_555.json"), "format 1", "record it again"} {
				if !strings.Contains(out, want) {
					t.Errorf("output does not say %q:\n%s", want, out)
				}
			}
		})
	}
}
