package store

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newMemory returns a store of maxBytes on a clock the test moves.
func newMemory(t *testing.T, maxBytes int64) (*Memory, *time.Time) {
	t.Helper()
	m := NewBounded(maxBytes)
	t.Cleanup(func() { _ = m.Close() })
	now := time.Date(2026, 2, 12, 10, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	return m, &now
}

func TestMemoryExpiryAndSetNX(t *testing.T) {
	m, now := newMemory(t, 0)
	if ok, _ := m.SetNX("k", []byte("a"), time.Minute); !ok {
		t.Fatal("SetNX on a free key = false, want true")
	}
	if ok, _ := m.SetNX("k", []byte("b"), time.Minute); ok {
		t.Fatal("SetNX on a live key = true, want false")
	}
	if v, _ := m.Get("k"); string(v) != "a" {
		t.Fatalf("Get = %q, want a", v)
	}
	*now = now.Add(time.Minute)
	if v, _ := m.Get("k"); v != nil {
		t.Fatalf("Get after expiry = %q, want nil", v)
	}
	if ok, _ := m.SetNX("k", []byte("c"), time.Minute); !ok {
		t.Fatal("SetNX on an expired key = false, want true")
	}
	_ = m.Set("w", []byte("v"), time.Second)
	*now = now.Add(time.Second)
	if v, _ := m.Get("w"); v != nil || m.Len() != 1 {
		t.Fatalf("Get of an expired written key = %q with %d keys left, want nil and 1", v, m.Len())
	}
}

// Building a store starts no goroutine, so none can leak.
func TestMemoryStartsNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	tests := []struct {
		name string
		open func() *Memory
	}{
		{"NewBounded", func() *Memory { return NewBounded(1 << 20) }},
	}
	for _, tt := range tests {
		m := tt.open()
		_ = m.Set("k", []byte("v"), time.Millisecond)
		goleak.VerifyNone(t, before)
		if err := m.Close(); err != nil {
			t.Errorf("%s: Close() = %v, want nil", tt.name, err)
		}
	}
}

// OA-04: whatever is written, the accounted bytes stay within the
// budget, and they are exactly the entries held.
func TestMemoryByteBudget(t *testing.T) {
	const budget = 64 << 10
	rating := []byte(strings.Repeat("å", 500)) // 1,000 bytes
	tests := []struct {
		name    string
		claimOf int // every claimOf-th key is claimed with SetNX; 0: none
		val     []byte
	}{
		{"large values", 0, rating},
		{"small values", 0, []byte("1")},
		{"claims and records", 3, rating},
	}
	for _, tt := range tests {
		m, _ := newMemory(t, budget)
		for i := 0; i < 2000; i++ {
			key := fmt.Sprintf("key-%d", i)
			if tt.claimOf > 0 && i%tt.claimOf == 0 {
				_, _ = m.SetNX(key, tt.val, time.Minute)
			} else {
				_ = m.Set(key, tt.val, time.Minute)
			}
			if got := m.Bytes(); got > budget {
				t.Fatalf("%s: Bytes() after %d keys = %d, want at most %d", tt.name, i+1, got, budget)
			}
		}
		if want := heldBytes(m, 2000); m.Bytes() != want {
			t.Errorf("%s: Bytes() = %d for %d keys, want %d", tt.name, m.Bytes(), m.Len(), want)
		}
	}
}

// heldBytes sums the cost of the keys key-0 to key-(n-1) that m holds.
func heldBytes(m *Memory, n int) int64 {
	var sum int64
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("key-%d", i)
		if v, _ := m.Get(key); v != nil {
			sum += cost(key, v)
		}
	}
	return sum
}

func TestMemoryRefusesAnEntryLargerThanTheBudget(t *testing.T) {
	m, _ := newMemory(t, 1024)
	if err := m.Set("k", make([]byte, 1024), 0); !errors.Is(err, ErrFull) {
		t.Fatalf("Set(1 KiB) in a 1 KiB store = %v, want ErrFull", err)
	}
	if ok, err := m.SetNX("k", make([]byte, 1024), 0); ok || !errors.Is(err, ErrFull) {
		t.Fatalf("SetNX(1 KiB) in a 1 KiB store = %v, %v; want false, ErrFull", ok, err)
	}
}

// OA-06: a full store drops the oldest written values first, never a
// live claim; when only live claims are left it refuses with ErrFull, and a
// claim that expired makes room again.
func TestMemoryKeepsLiveClaims(t *testing.T) {
	val := make([]byte, 100)
	m, now := newMemory(t, 10*cost("claim-0", val))
	for i := 0; i < 4; i++ {
		if ok, err := m.SetNX(fmt.Sprintf("claim-%d", i), val, time.Minute); !ok || err != nil {
			t.Fatalf("SetNX(claim-%d) = %v, %v; want true", i, ok, err)
		}
	}
	for i := 0; i < 100; i++ {
		if err := m.Set(fmt.Sprintf("done-%d", i), val, time.Hour); err != nil {
			t.Fatalf("Set(done-%d) = %v", i, err)
		}
	}
	tests := []struct {
		key      string
		wantHeld bool
	}{
		{"claim-0", true}, {"claim-3", true},
		{"done-0", false}, {"done-93", false},
		{"done-94", true}, {"done-99", true},
	}
	for _, tt := range tests {
		if v, _ := m.Get(tt.key); (v != nil) != tt.wantHeld {
			t.Errorf("Get(%q) held = %v, want %v", tt.key, v != nil, tt.wantHeld)
		}
	}
	for i := 4; i < 10; i++ {
		if ok, err := m.SetNX(fmt.Sprintf("claim-%d", i), val, time.Minute); !ok || err != nil {
			t.Fatalf("SetNX(claim-%d) over written values = %v, %v; want true", i, ok, err)
		}
	}
	if ok, err := m.SetNX("claim-10", val, time.Minute); ok || !errors.Is(err, ErrFull) {
		t.Fatalf("SetNX with only live claims held = %v, %v; want false, ErrFull", ok, err)
	}
	if err := m.Set("done-100", val, time.Hour); !errors.Is(err, ErrFull) {
		t.Fatalf("Set with only live claims held = %v, want ErrFull", err)
	}
	*now = now.Add(time.Minute)
	if ok, err := m.SetNX("claim-10", val, time.Minute); !ok || err != nil {
		t.Fatalf("SetNX once the claims expired = %v, %v; want true", ok, err)
	}
}

func TestMemorySetReplacesAClaim(t *testing.T) {
	val := make([]byte, 100)
	m, _ := newMemory(t, 2*cost("a", val))
	_, _ = m.SetNX("a", val, time.Minute)
	_, _ = m.SetNX("b", val, time.Minute)
	if err := m.Set("a", val, time.Hour); err != nil {
		t.Fatalf("Set over its own claim = %v, want nil", err)
	}
	if err := m.Set("c", val, time.Hour); err != nil {
		t.Fatalf("Set after a claim became a record = %v, want nil (the record is evictable)", err)
	}
	if v, _ := m.Get("b"); v == nil {
		t.Fatal("the live claim b was dropped")
	}
	if err := m.Delete("b"); err != nil || m.Len() != 1 || m.Bytes() != cost("c", val) {
		t.Fatalf("after Delete: %v, %d keys, %d bytes; want 1 key of %d bytes", err, m.Len(), m.Bytes(), cost("c", val))
	}
}

func TestMemoryReset(t *testing.T) {
	m, _ := newMemory(t, 0)
	_ = m.Set("a", []byte("1"), 0)
	_, _ = m.SetNX("b", []byte("2"), time.Minute)
	if err := m.Reset(); err != nil || m.Len() != 0 || m.Bytes() != 0 {
		t.Fatalf("after Reset: %v, %d keys, %d bytes; want none", err, m.Len(), m.Bytes())
	}
	if ok, _ := m.SetNX("b", []byte("3"), time.Minute); !ok {
		t.Fatal("SetNX after Reset = false, want true")
	}
}

// The real heap taken by a full store stays near its budget, for large and
// for tiny entries (which EntryOverhead must cover), after the churn of four
// budgets' worth of writes.
func TestMemoryHeapStaysNearBudget(t *testing.T) {
	const budget = 8 << 20
	tests := []struct {
		name string
		val  []byte
	}{
		{"1,000-byte ratings", make([]byte, 1000)},
		{"rate-limit counters", make([]byte, 24)},
	}
	for _, tt := range tests {
		ratio := heapRatio(t, budget, tt.val)
		t.Logf("%s: heap growth / budget = %.2f", tt.name, ratio)
		if ratio > 1.25 {
			t.Errorf("%s: heap growth is %.2f times the budget, want at most 1.25", tt.name, ratio)
		}
	}
}

// heapRatio writes four budgets' worth of val under distinct 69-byte keys
// (the size of an idempotency key) into a store of budget, and returns the
// heap it grew by, after a GC, divided by budget.
func heapRatio(t *testing.T, budget int64, val []byte) float64 {
	t.Helper()
	key := func(i int) string { return fmt.Sprintf("idem:%064d", i) }
	n := int(4 * budget / cost(key(0), val))
	base := heapInuse()
	m := NewBounded(budget)
	for i := 0; i < n; i++ {
		if err := m.Set(key(i), val, time.Hour); err != nil {
			t.Fatalf("Set(%d) = %v", i, err)
		}
	}
	grown := heapInuse() - base
	runtime.KeepAlive(m)
	return float64(grown) / float64(budget)
}

func heapInuse() int64 {
	runtime.GC()
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return int64(s.HeapInuse)
}

func TestMemorySetNXIsAtomic(t *testing.T) {
	m, _ := newMemory(t, 0)
	var won atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := m.SetNX("claim", []byte("x"), time.Minute); ok {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d goroutines won the claim, want 1", won.Load())
	}
}

func TestMemoryValuesAreCopies(t *testing.T) {
	m, _ := newMemory(t, 0)
	buf := []byte("abc")
	_ = m.Set("k", buf, 0)
	buf[0] = 'X'
	got, _ := m.Get("k")
	got[1] = 'Y'
	if again, _ := m.Get("k"); string(again) != "abc" {
		t.Fatalf("stored value changed to %q through a caller's slice", again)
	}
}
