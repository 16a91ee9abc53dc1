package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/minbil/minbil-bff/contracts"
)

// rateable returns the ids of the owner's bookings that can be rated now.
func (h *harness) rateable(t *testing.T, token string) []int64 {
	t.Helper()
	res := h.do(t, request{method: http.MethodGet, path: PathBookings, header: auth(token)})
	var list bookingsList
	if err := json.Unmarshal(res.body, &list); err != nil || res.status != http.StatusOK {
		t.Fatalf("GET %s = %d %s", PathBookings, res.status, res.body)
	}
	var out []int64
	for _, b := range list.Items {
		if b.Rateable {
			out = append(out, b.BookingID)
		}
	}
	return out
}

// copyFile copies a state file as it is now, while its mock runs: what a
// crash of the process at this moment would leave.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestR3F5RestartRestoresEveryRating: ratings, Idempotency-Keys and
// scenarios of many owners, with compactions in between; a mock started on
// the state file as a crash at that moment would leave it (and one started
// after a clean stop) lists exactly what the first acknowledged.
func TestR3F5RestartRestoresEveryRating(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state.json")
	first := start(t, Config{Seed: 11, StateFile: file}, nil)
	first.srv.store.mu.Lock()
	first.srv.store.journal.compactAt = 2 << 10 // compact every few changes
	first.srv.store.mu.Unlock()
	opened := stat(t, file)

	tokens := []string{""}
	acked := map[string][]contracts.RatedBooking{}
	rate := func(token string, id int64, key string) {
		t.Helper()
		header := append(auth(token), "Content-Type", "application/json")
		if key != "" {
			header = append(header, "Idempotency-Key", key)
		}
		body := `{"service_rating": 4, "service_rating_message": "Rask levering ` + strconv.FormatInt(id, 10) + `.", "private_service_rating": false}`
		res := first.do(t, request{method: http.MethodPost, path: contracts.PathRatePrefix + itoa(id), header: header, body: body})
		if res.status != http.StatusOK {
			t.Fatalf("rate %d for %q = %d %s", id, token, res.status, res.body)
		}
		var out contracts.RateResponse
		if err := json.Unmarshal(res.body, &out); err != nil {
			t.Fatal(err)
		}
		acked[token] = append(acked[token], out.Data)
	}
	scenario := func(token, name string) {
		t.Helper()
		if res := first.do(t, putScenario(auth(token), name)); res.status != http.StatusNoContent {
			t.Fatalf("PUT scenario %s for %q = %d", name, token, res.status)
		}
		delete(acked, token) // a scenario forgets the owner's ratings
	}
	rate("", demoBookingID, "demo-key")
	for i := range 12 {
		token := "restart-" + strconv.Itoa(i)
		tokens = append(tokens, token)
		switch i % 4 {
		case 0:
			scenario(token, "every-state")
			rate(token, first.rateable(t, token)[0], "")
		case 1:
			ids := first.rateable(t, token)
			rate(token, ids[0], "key-"+token)
			rate(token, ids[1], "")
		case 2:
			rate(token, first.rateable(t, token)[0], "")
			scenario(token, "empty")
			rate(token, first.rateable(t, token)[1], "key-"+token)
		case 3:
			rate(token, first.rateable(t, token)[0], "")
			scenario(token, ScenarioDefault)
		}
	}
	crashed := filepath.Join(dir, "crashed.json")
	copyFile(t, file, crashed)
	if stat(t, file).same(opened) {
		t.Errorf("the state file was never compacted, want compactions between the changes")
	}
	want := map[string][]byte{}
	for _, token := range tokens {
		want[token] = listBody(t, first, token)
	}
	first.stop(t)

	for _, name := range []string{"crashed", "stopped"} {
		t.Run(name, func(t *testing.T) {
			path := map[string]string{"crashed": crashed, "stopped": file}[name]
			h := start(t, Config{Seed: 11, StateFile: path}, nil)
			for _, token := range tokens {
				got := listBody(t, h, token)
				if !bytes.Equal(got, want[token]) {
					t.Errorf("owner %q lists\n%s\nwant\n%s", token, got, want[token])
				}
				var list contracts.RatingList
				_ = json.Unmarshal(got, &list)
				for _, a := range acked[token] {
					if !listed(list, a) {
						t.Errorf("owner %q: acknowledged rating %+v is missing", token, a)
					}
				}
			}
			// An Idempotency-Key is remembered across the restart.
			res := h.do(t, request{method: http.MethodPost, path: contracts.PathRatePrefix + itoa(demoBookingID),
				header: []string{"Content-Type", "application/json", "Idempotency-Key", "other-body"}, body: goodBody})
			if res.status != http.StatusConflict {
				t.Errorf("rating 123 again after the restart = %d, want 409", res.status)
			}
		})
	}
}

func listed(list contracts.RatingList, r contracts.RatedBooking) bool {
	for _, it := range list.Items {
		if it.BookingID == r.BookingID && it.ServiceRating == r.ServiceRating && it.ServiceRatingMessage == r.ServiceRatingMessage &&
			it.PrivateServiceRating == r.PrivateServiceRating && it.RatedAt.Equal(r.RatedAt) {
			return true
		}
	}
	return false
}

// TestR3F5UpgradeFromVersion1: a state file written by the mock before the
// journal (testdata/state-v1, with a rating with an Idempotency-Key, a
// demo rating, and owners in scenarios) loads: every owner lists exactly
// what that version listed, and the file is rewritten as version 2,
// smaller.
func TestR3F5UpgradeFromVersion1(t *testing.T) {
	v1, err := os.ReadFile(filepath.Join("testdata", "state-v1", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(file, v1, 0o600); err != nil {
		t.Fatal(err)
	}
	for round := range 2 { // the version 1 file, then the version 2 it became
		h := start(t, Config{StateFile: file}, nil)
		if h.srv.Seed() != 7 {
			t.Errorf("round %d: seed %d, want the file's 7", round, h.srv.Seed())
		}
		for _, owner := range []string{"demo", "upgrade-ada", "upgrade-bo", "upgrade-cy"} {
			want, err := os.ReadFile(filepath.Join("testdata", "state-v1", "list-"+owner+".json"))
			if err != nil {
				t.Fatal(err)
			}
			token := owner
			if owner == "demo" {
				token = ""
			}
			if got := listBody(t, h, token); !bytes.Equal(got, want) {
				t.Errorf("round %d: %s lists\n%s\nwant what version 1 listed\n%s", round, owner, got, want)
			}
		}
		res := h.do(t, request{method: http.MethodGet, path: PathScenarios, header: auth("upgrade-bo")})
		if !strings.Contains(string(res.body), `"current":"every-state"`) {
			t.Errorf("round %d: upgrade-bo's scenario: %s, want every-state", round, res.body)
		}
		// The Idempotency-Key of version 1 still replays its submission.
		res = h.do(t, request{method: http.MethodPost, path: contracts.PathRatePrefix + "4746344663032005",
			header: []string{"Authorization", "Bearer upgrade-ada", "Content-Type", "application/json", "Idempotency-Key", "k-ada-1"},
			body:   `{"service_rating": 4, "service_rating_message": "Ryddig verksted, fikk bilen tilbake i tide.", "private_service_rating": false}`})
		if res.status != http.StatusOK || !strings.Contains(string(res.body), `"rated_at":"2026-12-06T14:56:07Z"`) {
			t.Errorf("round %d: replay of k-ada-1 = %d %s, want 200 with the first answer", round, res.status, res.body)
		}
		h.stop(t)
	}
	now, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(now, []byte(`{"version":2,`)) || len(now) >= len(v1) {
		t.Errorf("after the upgrade the file holds %d bytes starting %.20q, want version 2 and fewer than version 1's %d", len(now), now, len(v1))
	}
}

// TestR3F5StateFileRefused: a state file the mock cannot read is refused at
// start with a message that names the file and says what to do.
func TestR3F5StateFileRefused(t *testing.T) {
	bigRecords := map[string]*kept{}
	for i := range 800 {
		key := ownerKey("big-" + strconv.Itoa(i))
		b := &booking{ID: candidatePrefix(3, key, 0)*idBlock + 1, Status: statusCompleted,
			Rating: &rating{Stars: 5, Message: strings.Repeat("lang melding ", 80)}}
		bigRecords[key] = &kept{Key: key, Prefix: candidatePrefix(3, key, 0), Bookings: []*booking{b}}
	}
	tooBig, err := encodeSnapshot(3, bigRecords, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		content  string
		maxBytes int64
		want     string // what the message says to do
	}{
		{"a newer version", `{"version": 3, "seed": 1, "owners": []}`, 0, "another version of minbil-bff"},
		{"not JSON", `{not json`, 0, "move it away"},
		{"a line that is not a change", `{"version":2,"seed":1,"owners":[]}` + "\n" + `{"op":"rate"` + "\n", 0, "move it away"},
		{"an unknown change", `{"version":2,"seed":1,"owners":[]}` + "\n" + `{"op":"delete"}` + "\n", 0, "move it away"},
		{"version 1 with changes after it", `{"version":1,"seed":1,"owners":[]}` + "\n" + `{"op":"idp_key","idp_key":"x"}` + "\n", 0, "move it away"},
		{"an unknown scenario", `{"version":2,"seed":1,"owners":[{"key":"` + ownerKey("x") + `","prefix":5,"scenario":"nope"}]}` + "\n", 0, "move it away"},
		{"more than the budget", string(tooBig), MinMaxBytes, "--max-bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := New(Config{StateFile: file, MaxBytes: tt.maxBytes}, testContract(t), nil)
			if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New on %s = %v, want an error naming %s and saying %q", tt.name, err, file, tt.want)
			}
			if got, _ := os.ReadFile(file); string(got) != tt.content {
				t.Errorf("a refused state file was changed")
			}
		})
	}
	// The same file loads with a budget it fits.
	file := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(file, tooBig, 0o600); err != nil {
		t.Fatal(err)
	}
	h := start(t, Config{StateFile: file}, nil)
	if got := h.srv.store.bytes(); got < MinMaxBytes/2 {
		t.Errorf("loaded %d bytes of records, want the whole file's", got)
	}
}

// TestJournalTornLastLine: a change the process was writing when it
// stopped (no newline yet) was never acknowledged: it is dropped, with a
// warning, and the rest loads.
func TestJournalTornLastLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	h := start(t, Config{Seed: 2, StateFile: file}, nil)
	if res := h.rate(t, "", demoBookingID, goodBody); res.status != http.StatusOK {
		t.Fatalf("rate = %d", res.status)
	}
	want := listBody(t, h, "")
	h.stop(t)
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"op":"rate","key":"` + ownerKey("torn") + `","prefix":4,"booking":{"id":4001`); err != nil {
		t.Fatal(err)
	}
	f.Close()

	core, logs := observer.New(zapcore.WarnLevel)
	h2 := start(t, Config{Seed: 2, StateFile: file}, zap.New(core))
	if got := listBody(t, h2, ""); !bytes.Equal(got, want) {
		t.Errorf("after a torn last line the demo list is\n%s\nwant\n%s", got, want)
	}
	if logs.FilterMessageSnippet("incomplete change").Len() != 1 {
		t.Errorf("no warning about the dropped line: %v", logs.All())
	}
}

// TestJournalWritesLinesNotSnapshots counts what the journal writes: a
// change costs its line plus, amortised, at most twice that in
// compactions, however large the state.
func TestJournalWritesLinesNotSnapshots(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	h := start(t, Config{Seed: 1, StateFile: file}, nil)
	j := h.srv.store.journal
	h.srv.store.mu.Lock()
	j.compactAt = 16 << 10
	start := j.written
	h.srv.store.mu.Unlock()
	const n = 400
	for i := range n {
		if status := h.send(t, putScenario(auth("w-"+strconv.Itoa(i)), "many")); status != http.StatusNoContent {
			t.Fatalf("PUT = %d", status)
		}
	}
	h.srv.store.mu.Lock()
	written, size := j.written-start, j.size
	h.srv.store.mu.Unlock()
	perChange := written / n
	t.Logf("%d changes wrote %d bytes (%d per change); the file holds %d bytes", n, written, perChange, size)
	if perChange > 3*512 {
		t.Errorf("a change wrote %d bytes on average, want at most three lines' worth", perChange)
	}
}

// TestJournalFailedAppendIsCut: an append that fails after writing part of
// its line leaves no trace; the next change compacts and succeeds.
func TestJournalFailedAppendIsCut(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	h := start(t, Config{Seed: 1, StateFile: file}, nil)
	h.srv.store.mu.Lock()
	h.srv.store.journal.appendSync = func(f *os.File, line []byte) error {
		_, _ = f.Write(line[:len(line)/2])
		return errors.New("disk full")
	}
	h.srv.store.mu.Unlock()
	if res := h.rate(t, "", demoBookingID, goodBody); res.status != http.StatusInternalServerError {
		t.Fatalf("rate with a failing disk = %d", res.status)
	}
	h.srv.store.mu.Lock()
	h.srv.store.journal.appendSync = appendSync
	h.srv.store.mu.Unlock()
	if res := h.do(t, putScenario(auth("after"), "empty")); res.status != http.StatusNoContent {
		t.Fatalf("PUT after the disk recovered = %d", res.status)
	}
	h.stop(t)
	sf, err := readState(file)
	if err != nil || len(sf.changes) != 1 || sf.torn != 0 {
		t.Fatalf("state file after a failed append: %+v, %v; want one change and nothing torn", sf, err)
	}
	h2 := start(t, Config{Seed: 1, StateFile: file}, nil)
	if _, unrated, _ := bookingIDs(h2.srv, demoIdentity); !containsID(unrated, demoBookingID) {
		t.Errorf("the failed rating of 123 came back after a restart")
	}
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
