package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts"
)

// TestR3F5CrashAfterAcknowledgedRating is R3-F5's promise through the real
// binary: `mock --state F` is killed (SIGKILL, no shutdown) right after
// answering 200 to a rating; started again on F, it lists the rating as
// acknowledged, and the owner's scenario.
func TestR3F5CrashAfterAcknowledgedRating(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	state := filepath.Join(t.TempDir(), "mock-state.json")
	addr := freeAddr(t)
	base := "http://" + addr
	owner := map[string]string{"Authorization": "Bearer crash-owner"}
	m := startUnmanaged(t, addr, nil, "mock", "--addr", addr, "--state", state)

	if status, body := e2eDo(t, "PUT", base+"/_mock/scenario", owner, `{"name": "every-state"}`); status != 204 {
		t.Fatalf("PUT scenario = %d %s", status, body)
	}
	_, body := e2eDo(t, "GET", base+"/_mock/bookings", owner, "")
	var bookings struct {
		Items []struct {
			BookingID int64 `json:"booking_id"`
			Rateable  bool  `json:"rateable"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &bookings); err != nil {
		t.Fatalf("bookings: %v: %s", err, body)
	}
	var id int64
	for _, b := range bookings.Items {
		if b.Rateable {
			id = b.BookingID
		}
	}
	status, body := e2eDo(t, "POST", base+contracts.RatePath(id), owner,
		`{"service_rating": 2, "service_rating_message": "Lagret før krasjet.", "private_service_rating": false}`)
	if status != 200 {
		t.Fatalf("rate %d = %d %s", id, status, body)
	}
	var acked contracts.RateResponse
	if err := json.Unmarshal(body, &acked); err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = m.wait(20 * time.Second)

	start(t, addr, nil, "mock", "--addr", addr, "--state", state)
	_, body = e2eDo(t, "GET", base+contracts.PathRatings, owner, "")
	var list contracts.RatingList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range list.Items {
		if it.BookingID == acked.Data.BookingID && it.ServiceRating == acked.Data.ServiceRating &&
			it.ServiceRatingMessage == acked.Data.ServiceRatingMessage && it.RatedAt.Equal(acked.Data.RatedAt) {
			found = true
		}
	}
	if !found {
		t.Errorf("after SIGKILL and a restart the list lacks the acknowledged rating %+v:\n%s", acked.Data, body)
	}
	if _, body := e2eDo(t, "GET", base+"/_mock/scenarios", owner, ""); !bytes.Contains(body, []byte(`"current":"every-state"`)) {
		t.Errorf("after SIGKILL and a restart the scenario is %s, want every-state", body)
	}
}

// TestR3F5StateFileUpgradeThroughBinary: the binary loads a state file of
// the version before the journal as it was, and refuses one of an unknown
// version at start, naming the file and what to do.
func TestR3F5StateFileUpgradeThroughBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	v1, err := os.ReadFile(filepath.Join("..", "..", "mock", "testdata", "state-v1", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "v1.json")
	if err := os.WriteFile(state, v1, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	start(t, addr, nil, "mock", "--addr", addr, "--state", state, "--seed", "0")
	want, err := os.ReadFile(filepath.Join("..", "..", "mock", "testdata", "state-v1", "list-upgrade-ada.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, got := e2eDo(t, "GET", "http://"+addr+contracts.PathRatings, map[string]string{"Authorization": "Bearer upgrade-ada"}, ""); !bytes.Equal(got, want) {
		t.Errorf("a version 1 state file lists\n%s\nwant what version 1 listed\n%s", got, want)
	}

	newer := filepath.Join(dir, "newer.json")
	if err := os.WriteFile(newer, []byte(`{"version": 9, "seed": 1, "owners": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary(t), "mock", "--addr", freeAddr(t), "--state", newer).CombinedOutput()
	if err == nil || !strings.Contains(string(out), newer) || !strings.Contains(string(out), "move the file away") {
		t.Errorf("mock on a version 9 state file: %v\n%s\nwant a refusal naming %s and what to do", err, out, newer)
	}
}
