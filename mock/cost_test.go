package mock

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestR3F5CostsCoverTheHeap checks the cost estimates against the heap:
// what a store counts is at least what it holds.
func TestR3F5CostsCoverTheHeap(t *testing.T) {
	big := limits{records: 1 << 40, owners: 1 << 40}
	tests := []struct {
		name  string
		n     int
		owner func(st *store, i int)
	}{
		{"generated owners with their lists", 3000, func(st *store, i int) { _, _ = st.list(ownerKey("o"+strconv.Itoa(i)), false) }},
		{"many owners with their lists", 200, func(st *store, i int) {
			key := ownerKey("m" + strconv.Itoa(i))
			_ = st.setScenario(key, false, mustScenario(t, "many"))
			_, _ = st.list(key, false)
		}},
		{"scenarios only", 3000, func(st *store, i int) {
			_ = st.setScenario(ownerKey("s"+strconv.Itoa(i)), false, mustScenario(t, "empty"))
		}},
		{"ratings with idempotency keys", 3000, func(st *store, i int) {
			key := ownerKey("r" + strconv.Itoa(i))
			_ = st.setScenario(key, false, mustScenario(t, "empty"))
			st.mu.Lock()
			o := st.ownerLocked(key, false)
			st.dropOwnerLocked(o)
			st.accountLocked()
			st.mu.Unlock()
			for j := range 3 {
				in := rateInput{BookingID: o.Bookings[j].ID, Stars: 4, Message: "Fin service, " + strconv.Itoa(i), Now: time.Now(),
					IdemKeyHash: fmt.Sprintf("%064d", i*10+j), Fingerprint: fmt.Sprintf("%064d", j)}
				if _, err := st.rate(key, false, in); err != nil {
					t.Fatal(err)
				}
			}
			st.mu.Lock()
			st.dropOwnerLocked(st.owners[key])
			st.accountLocked()
			st.mu.Unlock()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.n
			before := liveHeap()
			st := newStore(1, big)
			for i := range n {
				tt.owner(st, i)
			}
			held := liveHeap() - before
			counted := st.bytes()
			t.Logf("%d owners: heap %d KiB, counted %d KiB", n, held>>10, counted>>10)
			if held > counted {
				t.Errorf("%d owners hold %d KiB of heap, but the store counts %d KiB", n, held>>10, counted>>10)
			}
			runtime.KeepAlive(st)
		})
	}
}

func mustScenario(t *testing.T, name string) Scenario {
	t.Helper()
	sc, ok := scenarioByName(name)
	if !ok {
		t.Fatalf("no scenario %q", name)
	}
	return sc
}
