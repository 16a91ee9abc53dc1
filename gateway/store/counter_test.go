package store

import (
	"errors"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/store/redistest"
)

// hits is what a Counter answered to one hit.
type hits struct {
	count int64
	left  time.Duration
}

// TestMemoryCounter: a window starts at a key's first hit, counts in place,
// ends after window, and keys count apart.
func TestMemoryCounter(t *testing.T) {
	m, now := newMemory(t, 0)
	tests := []struct {
		name    string
		advance time.Duration
		key     string
		want    hits
	}{
		{name: "first hit", key: "a", want: hits{1, time.Minute}},
		{name: "second hit", advance: 10 * time.Second, key: "a", want: hits{2, 50 * time.Second}},
		{name: "another key", key: "b", want: hits{1, time.Minute}},
		{name: "third hit", advance: 49 * time.Second, key: "a", want: hits{3, time.Second}},
		{name: "a new window", advance: time.Second, key: "a", want: hits{1, time.Minute}},
	}
	for _, tt := range tests {
		*now = now.Add(tt.advance)
		n, left, err := m.Hit(tt.key, time.Minute)
		if err != nil || (hits{n, left}) != tt.want {
			t.Errorf("%s: Hit(%q) = %d, %v, %v; want %d, %v", tt.name, tt.key, n, left, err, tt.want.count, tt.want.left)
		}
	}
}

// TestMemoryCounterStaysInBudget: counters are bounded in bytes like every
// other value, and a hit allocates nothing once its window has started.
func TestMemoryCounterStaysInBudget(t *testing.T) {
	const budget = 100 * (EntryOverhead + 16)
	m, _ := newMemory(t, budget)
	for i := range 10_000 {
		if _, _, err := m.Hit(string(rune('a'+i%26))+string(rune(i)), time.Minute); err != nil {
			t.Fatal(err)
		}
		if m.Bytes() > budget {
			t.Fatalf("%d bytes held after %d keys, budget %d", m.Bytes(), i+1, budget)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _, _ = m.Hit("steady", time.Minute) }); allocs > 0 {
		t.Errorf("a hit in a started window makes %v allocations, want 0", allocs)
	}
}

// TestRedisCounter: the same windows in a real Redis, shared by two
// clients; while Redis is paused the fallback counts locally.
func TestRedisCounter(t *testing.T) {
	srv := redistest.Start(t)
	cfg := config.Redis{Addr: srv.Addr, Timeout: 200 * time.Millisecond, KeyPrefix: "test:"}
	a, b := NewRedis(cfg), NewRedis(cfg)
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	for i, r := range []*Redis{a, b, a} {
		n, left, err := r.Hit("k", time.Minute)
		if err != nil || n != int64(i+1) || left <= 0 || left > time.Minute {
			t.Fatalf("hit %d = %d, %v, %v; want %d within a minute", i+1, n, left, err, i+1)
		}
	}
	var fellBack []string
	f := NewCounterFallback(a, NewBounded(0), func(op string, err error) {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("fallback for %v, want ErrUnavailable", err)
		}
		fellBack = append(fellBack, op)
	})
	srv.Pause(t)
	n, _, err := f.Hit("k", time.Minute)
	srv.Resume(t)
	if err != nil || n != 1 || len(fellBack) != 1 {
		t.Errorf("hit while Redis is paused = %d, %v with fallbacks %v; want 1 counted locally", n, err, fellBack)
	}
}
