package stale

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/minbil/minbil-bff/gateway/store"
	"github.com/minbil/minbil-bff/gateway/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a time the test moves.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{time.Date(2026, 2, 12, 10, 0, 0, 0, time.UTC)} }
func keeper(maxAge time.Duration, c *clock) *Keeper {
	return New(store.NewBounded(1<<20), maxAge, WithClock(c.now))
}

func TestKeeperServesYoungListsOfTheSameCaller(t *testing.T) {
	const maxAge = 5 * time.Minute
	tests := []struct {
		name    string
		maxAge  time.Duration
		putAs   string
		getAs   string
		after   time.Duration
		wantOK  bool
		wantAge time.Duration
	}{
		{"just fetched", maxAge, "alice", "alice", 0, true, 0},
		{"a second under the window", maxAge, "alice", "alice", maxAge - time.Second, true, maxAge - time.Second},
		{"at the window", maxAge, "alice", "alice", maxAge, false, 0},
		{"another caller's", maxAge, "alice", "bob", 0, false, 0},
		{"anonymous callers keep nothing", maxAge, "", "", 0, false, 0},
		{"off", 0, "alice", "alice", 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			k := keeper(tt.maxAge, c)
			t.Cleanup(func() { _ = k.Close(context.Background()) })
			k.Put(tt.putAs, k.Now(), []byte(`{"total":0,"items":[]}`), 0)
			c.add(tt.after)
			got, age, ok := k.Get(tt.getAs)
			if ok != tt.wantOK || age != tt.wantAge || (ok && string(got) != `{"total":0,"items":[]}`) {
				t.Errorf("Get(%q) = %q, %v, %v; want ok %v, age %v", tt.getAs, got, age, ok, tt.wantOK, tt.wantAge)
			}
		})
	}
}

// A rating drops the caller's list; a list whose fetch started before the
// rating (a GET in flight) is never served, one fetched after it is.
func TestKeeperDrop(t *testing.T) {
	tests := []struct {
		name string
		// fetchedBefore is how long before Drop the stored list's fetch
		// started; negative means after.
		fetchedBefore time.Duration
		storedAfter   bool
		wantOK        bool
	}{
		{"kept list dropped", time.Second, false, false},
		{"list in flight during the rating", time.Second, true, false},
		{"fetched in the same instant", 0, true, false},
		{"fetched after the rating", -time.Second, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			k := keeper(time.Minute, c)
			t.Cleanup(func() { _ = k.Close(context.Background()) })
			k.Put("bob", k.Now(), []byte("bob's"), 0)
			c.add(10 * time.Second)
			fetched := k.Now().Add(-tt.fetchedBefore)
			if !tt.storedAfter {
				k.Put("alice", fetched, []byte("old"), 0)
			}
			k.Drop("alice")
			if tt.storedAfter {
				k.Put("alice", fetched, []byte("new"), 0)
			}
			if _, _, ok := k.Get("alice"); ok != tt.wantOK {
				t.Errorf("Get(alice) ok = %v, want %v", ok, tt.wantOK)
			}
			if got, _, ok := k.Get("bob"); !ok || string(got) != "bob's" {
				t.Errorf("Get(bob) after alice's Drop = %q, %v; want bob's list", got, ok)
			}
		})
	}
}

// OA-04 applies: whatever callers there are, the lists stay within
// the byte budget; the oldest make room.
func TestKeeperStaysWithinItsBudget(t *testing.T) {
	const budget = 256 << 10
	mem := store.NewBounded(budget)
	c := newClock()
	k := New(mem, time.Minute, WithClock(c.now))
	t.Cleanup(func() { _ = k.Close(context.Background()) })
	list := []byte(strings.Repeat("x", 9000))
	for i := range 1000 {
		k.Put(fmt.Sprintf("caller-%d", i), k.Now(), list, 0)
		if mem.Bytes() > budget {
			t.Fatalf("after %d callers the lists take %d bytes, want at most %d", i+1, mem.Bytes(), budget)
		}
	}
	if _, _, ok := k.Get("caller-999"); !ok {
		t.Error("the newest caller's list was not kept")
	}
	if _, _, ok := k.Get("caller-0"); ok {
		t.Error("the oldest caller's list was kept past the budget")
	}
	k.Put("huge", k.Now(), make([]byte, budget), 0)
	if _, _, ok := k.Get("huge"); ok {
		t.Error("a list larger than the budget was kept")
	}
}

// With Redis down the lists fall back to this process, and each failure
// is reported.
func TestKeeperFallsBackWhileTheSharedStoreFails(t *testing.T) {
	var failures []string
	c := newClock()
	k := New(store.NewBounded(1<<20), time.Minute, WithClock(c.now),
		WithShared(broken{}, func(op string, _ error) { failures = append(failures, op) }))
	t.Cleanup(func() { closeSoon(k) })
	k.Put("alice", k.Now(), []byte("list"), 0)
	if got, _, ok := k.Get("alice"); !ok || string(got) != "list" {
		t.Fatalf("Get(alice) with Redis down = %q, %v; want the list from this process", got, ok)
	}
	if len(failures) == 0 {
		t.Error("no fallback reported")
	}
}

// closeSoon closes k, giving up on marks the shared store never takes.
func closeSoon(k *Keeper) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = k.Close(ctx)
}

// R3-F3: a rating made while the shared store is paused drops the list:
// the replica that took it never serves the older list from the shared
// store when it answers again, and writes the drop-mark there before it
// reads lists from it again, so another replica does not serve it either.
func TestR3F3DropMarkOutlivesASharedStorePause(t *testing.T) {
	shared := storetest.NewFlaky(store.NewNoEviction(1 << 20))
	c := newClock()
	replica := func() *Keeper {
		k := New(store.NewBounded(1<<20), time.Minute, WithClock(c.now), WithShared(shared, nil))
		t.Cleanup(func() { closeSoon(k) })
		return k
	}
	a, b := replica(), replica()
	a.Put("alice", a.Now(), []byte("before the rating"), 0)
	if got, _, ok := b.Get("alice"); !ok || string(got) != "before the rating" {
		t.Fatalf("the list on the other replica = %q, %v; want it shared", got, ok)
	}
	c.add(time.Second)
	shared.Down.Store(true)
	a.Drop("alice")
	c.add(time.Second)
	if a.marks.waiting() != 1 {
		t.Fatalf("marks waiting = %d, want 1", a.marks.waiting())
	}
	shared.Down.Store(false)
	if got, _, ok := a.Get("alice"); ok {
		t.Fatalf("the replica that took the rating, once the store is back = %q; want no list", got)
	}
	if err := a.replay.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a.marks.waiting() != 0 {
		t.Fatalf("marks waiting after the replay = %d, want 0", a.marks.waiting())
	}
	if got, _, ok := b.Get("alice"); ok {
		t.Fatalf("the other replica after the replay = %q; want no list", got)
	}
	a.Put("alice", a.Now(), []byte("after the rating"), 0)
	if got, _, ok := b.Get("alice"); !ok || string(got) != "after the rating" {
		t.Fatalf("a list fetched after the rating, on the other replica = %q, %v; want it", got, ok)
	}
}

// The marks a process keeps are bounded; the oldest make room, and a list
// fetched before a forgotten mark is still refused (the floor).
func TestForgottenMarksStillRefuse(t *testing.T) {
	m := newMarks(2)
	for i, caller := range []string{"a", "b", "c"} {
		m.put(idOf(caller), int64(10+i), true)
	}
	tests := []struct {
		caller string
		want   int64
	}{
		{"a", 10}, // forgotten: its time is the floor
		{"b", 11},
		{"c", 12},
		{"never rated", 10},
	}
	for _, tt := range tests {
		if got := m.get(idOf(tt.caller)); got != tt.want {
			t.Errorf("get(%s) = %d, want %d", tt.caller, got, tt.want)
		}
	}
}

// broken is a shared store that always fails.
type broken struct{}

var errDown = errors.New("down")

func (broken) Get(string) ([]byte, error)                        { return nil, errDown }
func (broken) Set(string, []byte, time.Duration) error           { return errDown }
func (broken) SetNX(string, []byte, time.Duration) (bool, error) { return false, errDown }
func (broken) Delete(string) error                               { return errDown }
func (broken) Reset() error                                      { return errDown }
func (broken) Close() error                                      { return nil }

// The store never sees the caller: keys are digests.
func TestKeeperKeysHideTheCaller(t *testing.T) {
	rec := &recorder{KV: store.NewBounded(1 << 20)}
	k := New(rec, time.Minute)
	t.Cleanup(func() { _ = k.Close(context.Background()) })
	k.Put("sub-alice@example.no", k.Now(), []byte("x"), 0)
	k.Drop("sub-alice@example.no")
	for _, key := range rec.keys {
		if strings.Contains(key, "alice") {
			t.Errorf("store key %q names the caller", key)
		}
	}
	if len(rec.keys) == 0 {
		t.Error("nothing was stored")
	}
}

type recorder struct {
	store.KV
	keys []string
}

func (r *recorder) Set(key string, val []byte, exp time.Duration) error {
	r.keys = append(r.keys, key)
	return r.KV.Set(key, val, exp)
}
