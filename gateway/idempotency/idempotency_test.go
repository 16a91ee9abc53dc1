package idempotency

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/minbil/minbil-bff/gateway/store"
	"github.com/minbil/minbil-bff/gateway/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLifecycle(t *testing.T) {
	kv := store.NewNoEviction(0)
	t.Cleanup(func() { _ = kv.Close() })
	r := New(kv, time.Hour, time.Minute)
	ctx := context.Background()
	s := NewSlot("sub:a", "key-1", []byte("123{}"))
	other := NewSlot("sub:a", "key-1", []byte("124{}"))

	steps := []struct {
		name       string
		do         func() (*Outcome, error)
		wantErr    error
		wantReplay bool
	}{
		{"first claim goes on", func() (*Outcome, error) { return r.Begin(ctx, s) }, nil, false},
		{"second while in flight", func() (*Outcome, error) { return r.Begin(ctx, s) }, ErrInFlight, false},
		{"other body while in flight", func() (*Outcome, error) { return r.Begin(ctx, other) }, ErrKeyReused, false},
		{"finish", func() (*Outcome, error) { return nil, r.Finish(ctx, s, Outcome{Status: 200, Body: []byte(`{"ok":1}`)}) }, nil, false},
		{"retry replays", func() (*Outcome, error) { return r.Begin(ctx, s) }, nil, true},
		{"other body after finish", func() (*Outcome, error) { return r.Begin(ctx, other) }, ErrKeyReused, false},
	}
	for _, st := range steps {
		out, err := st.do()
		if !errors.Is(err, st.wantErr) || (out != nil) != st.wantReplay {
			t.Fatalf("%s: = %v, %v; want err %v, replay %v", st.name, out, err, st.wantErr, st.wantReplay)
		}
		if st.wantReplay && (out.Status != 200 || string(out.Body) != `{"ok":1}`) {
			t.Fatalf("%s: replayed %d %s", st.name, out.Status, out.Body)
		}
	}
}

func TestAbandonFreesTheKey(t *testing.T) {
	kv := store.NewBounded(0)
	t.Cleanup(func() { _ = kv.Close() })
	r := New(kv, time.Hour, time.Minute)
	ctx := context.Background()
	s := NewSlot("ip:127.0.0.1", "k", []byte("x"))
	if _, err := r.Begin(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := r.Abandon(ctx, s); err != nil {
		t.Fatal(err)
	}
	if out, err := r.Begin(ctx, s); err != nil || out != nil {
		t.Fatalf("Begin after Abandon = %v, %v; want a fresh claim", out, err)
	}
}

// R3-F10: a full store (store.NewNoEviction, as the gateway builds it)
// drops nothing it holds, neither a claim in flight nor a recorded outcome;
// a new key then gets ErrFull, and a caller who holds its share cannot
// take the room another caller's key needs.
func TestR3F10FullStoreKeepsClaimsAndOutcomes(t *testing.T) {
	const budget = 8 << 10
	kv := store.NewNoEviction(budget, store.WithShares(budget/2, Owner))
	t.Cleanup(func() { _ = kv.Close() })
	r := New(kv, time.Hour, time.Minute)
	t.Cleanup(func() { closeSoon(t, r) })
	ctx := context.Background()
	victimDone, victimInFlight := NewSlot("sub:victim", "done", []byte("1")), NewSlot("sub:victim", "flying", []byte("2"))
	for _, s := range []Slot{victimDone, victimInFlight} {
		if out, err := r.Begin(ctx, s); out != nil || err != nil {
			t.Fatalf("Begin = %v, %v; want a fresh claim", out, err)
		}
	}
	if err := r.Finish(ctx, victimDone, Outcome{Status: 200, Body: []byte(`{"first":true}`)}); err != nil {
		t.Fatalf("Finish = %v", err)
	}
	var err error
	flood := 0
	for ; err == nil && flood < 1000; flood++ {
		s := NewSlot("sub:flood", fmt.Sprintf("k-%d", flood), []byte("3"))
		if _, err = r.Begin(ctx, s); err == nil {
			err = r.Finish(ctx, s, Outcome{Status: 200, Body: make([]byte, 100)})
		}
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("the flood's key %d = %v, want ErrFull once its share is taken", flood, err)
	}
	if out, err := r.Begin(ctx, victimDone); err != nil || out == nil || string(out.Body) != `{"first":true}` {
		t.Errorf("the victim's recorded outcome after the flood = %v, %v; want it replayed", out, err)
	}
	if _, err := r.Begin(ctx, victimInFlight); !errors.Is(err, ErrInFlight) {
		t.Errorf("the victim's claim after the flood = %v, want ErrInFlight (kept)", err)
	}
	if out, err := r.Begin(ctx, NewSlot("sub:victim", "new", []byte("4"))); out != nil || err != nil {
		t.Errorf("the victim's new key after the flood = %v, %v; want a claim: the flood holds its own share only", out, err)
	}
	for err == nil || errors.Is(err, ErrPending) {
		s := NewSlot("sub:other", fmt.Sprintf("k-%d", flood), []byte("5"))
		flood++
		if _, err = r.Begin(ctx, s); err == nil {
			err = r.Finish(ctx, s, Outcome{Status: 200, Body: make([]byte, 100)})
		}
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("a new key in a full store = %v, want ErrFull", err)
	}
	if out, err := r.Begin(ctx, victimDone); err != nil || out == nil {
		t.Errorf("the victim's outcome in the full store = %v, %v; want it replayed", out, err)
	}
}

// R3-F1: an outcome the store does not take (Redis paused) is not lost: it
// waits in the process, a retry of its key is answered from it without
// asking the store (and a retry with another body is refused), and it is
// written as soon as the store takes it, so any replica replays it.
func TestR3F1OutcomeWaitsForTheStore(t *testing.T) {
	kv := storetest.NewFlaky(store.NewNoEviction(1 << 20))
	var waiting atomic.Int64
	r := New(kv, time.Hour, time.Minute, WithObserver(func(n int) { waiting.Store(int64(n)) }))
	t.Cleanup(func() { closeSoon(t, r) })
	ctx := context.Background()
	s := NewSlot("sub:a", "K", []byte("1"))
	if out, err := r.Begin(ctx, s); out != nil || err != nil {
		t.Fatalf("Begin = %v, %v; want a fresh claim", out, err)
	}
	kv.Down.Store(true)
	first := Outcome{Status: 200, Body: []byte(`{"first":true}`)}
	if err := r.Finish(ctx, s, first); !errors.Is(err, ErrPending) {
		t.Fatalf("Finish with the store down = %v, want ErrPending", err)
	}
	if waiting.Load() != 1 || r.Waiting() != 1 {
		t.Fatalf("waiting = %d (observed %d), want 1", r.Waiting(), waiting.Load())
	}
	gets := kv.Gets.Load()
	if out, err := r.Begin(ctx, s); err != nil || out == nil || string(out.Body) != `{"first":true}` {
		t.Fatalf("retry while the store is down = %v, %v; want the first outcome", out, err)
	}
	if _, err := r.Begin(ctx, NewSlot("sub:a", "K", []byte("2"))); !errors.Is(err, ErrKeyReused) {
		t.Fatalf("retry with another body = %v, want ErrKeyReused", err)
	}
	if kv.Gets.Load() != gets {
		t.Error("a retry of a waiting outcome asked the store")
	}
	kv.Down.Store(false)
	if err := r.retry.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if waiting.Load() != 0 || r.Waiting() != 0 {
		t.Fatalf("waiting once the store is back = %d (observed %d), want 0", r.Waiting(), waiting.Load())
	}
	other := New(kv, time.Hour, time.Minute) // another replica
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	if out, err := other.Begin(ctx, s); err != nil || out == nil || string(out.Body) != `{"first":true}` {
		t.Fatalf("retry on another replica once written = %v, %v; want the first outcome", out, err)
	}
}

// Outcomes still waiting at shutdown are written while the store answers
// before ctx ends; those it never takes are reported, not silently lost.
func TestCloseWritesWaitingOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		backAfter time.Duration // 0: the store never comes back
		wantErr   error
	}{
		{"the store comes back in time", 50 * time.Millisecond, nil},
		{"the store stays down", 0, ErrLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kv := storetest.NewFlaky(store.NewNoEviction(1 << 20))
			r := New(kv, time.Hour, time.Minute)
			ctx := context.Background()
			s := NewSlot("sub:a", "K", []byte("1"))
			if _, err := r.Begin(ctx, s); err != nil {
				t.Fatal(err)
			}
			kv.Down.Store(true)
			if err := r.Finish(ctx, s, Outcome{Status: 200, Body: []byte("{}")}); !errors.Is(err, ErrPending) {
				t.Fatalf("Finish = %v, want ErrPending", err)
			}
			if tt.backAfter > 0 {
				time.AfterFunc(tt.backAfter, func() { kv.Down.Store(false) })
			}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if err := r.Close(cctx); !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Close = %v, want %v", err, tt.wantErr)
			}
			kv.Down.Store(false)
			raw, _ := kv.Get(s.id)
			if written := strings.Contains(string(raw), `"done":true`); written != (tt.wantErr == nil) {
				t.Errorf("the outcome in the store after Close: %v, want %v", written, tt.wantErr == nil)
			}
		})
	}
}

// A full budget of waiting outcomes loses the next one, and says so.
func TestWaitingOutcomesAreBounded(t *testing.T) {
	kv := storetest.NewFlaky(store.NewNoEviction(1 << 20))
	r := New(kv, time.Hour, time.Minute, WithPendingBytes(2*(store.EntryOverhead+500)))
	t.Cleanup(func() { closeSoon(t, r) })
	ctx := context.Background()
	var slots []Slot
	for i := range 3 {
		s := NewSlot("sub:a", fmt.Sprintf("k-%d", i), []byte("1"))
		if _, err := r.Begin(ctx, s); err != nil {
			t.Fatal(err)
		}
		slots = append(slots, s)
	}
	kv.Down.Store(true)
	var errs []error
	for _, s := range slots {
		errs = append(errs, r.Finish(ctx, s, Outcome{Status: 200, Body: make([]byte, 50)}))
	}
	kv.Down.Store(false)
	want := []error{ErrPending, ErrPending, ErrLost}
	for i := range want {
		if !errors.Is(errs[i], want[i]) {
			t.Errorf("Finish %d = %v, want %v", i, errs[i], want[i])
		}
	}
}

// closeSoon closes r, waiting a little for what waits for the store.
func closeSoon(t *testing.T, r *Records) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = r.Close(ctx)
}
