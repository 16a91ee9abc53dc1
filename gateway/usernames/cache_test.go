package usernames

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/minbil/minbil-bff/contracts"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newCache(t *testing.T, ttl time.Duration, maxBytes int64) *Cache {
	t.Helper()
	return New(ttl, maxBytes)
}

// held is the number of answers the cache holds, expired ones not yet
// removed included.
func held(c *Cache) int { return c.items.items.ItemCount() }

func TestHitAfterMiss(t *testing.T) {
	c := newCache(t, time.Minute, 0)
	var calls atomic.Int64
	fetch := func(context.Context) (contracts.UsernameCheck, error) {
		calls.Add(1)
		return contracts.UsernameCheck{Username: "ola", Available: true, Message: "ok"}, nil
	}
	tests := []struct {
		name    string
		key     string
		wantHit bool
	}{
		{"first is a miss", "u1\x00ola", false},
		{"second is a hit", "u1\x00ola", true},
		{"other caller is a miss", "u2\x00ola", false},
	}
	for _, tt := range tests {
		_, hit, err := c.Get(context.Background(), tt.key, fetch)
		if err != nil || hit != tt.wantHit {
			t.Errorf("%s: Get(%q) hit = %v, err = %v, want hit %v", tt.name, tt.key, hit, err, tt.wantHit)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("fetches = %d, want 2", calls.Load())
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	c := newCache(t, time.Minute, 0)
	var calls atomic.Int64
	boom := errors.New("upstream 500")
	fetch := func(context.Context) (contracts.UsernameCheck, error) {
		calls.Add(1)
		return contracts.UsernameCheck{}, boom
	}
	for i := 0; i < 3; i++ {
		if _, _, err := c.Get(context.Background(), "k", fetch); !errors.Is(err, boom) {
			t.Fatalf("Get() = %v, want %v", err, boom)
		}
	}
	if calls.Load() != 3 || held(c) != 0 {
		t.Fatalf("fetches = %d, entries = %d; want 3 and 0", calls.Load(), held(c))
	}
}

// F-27: concurrent misses for one key make exactly one upstream call.
func TestConcurrentMissesCoalesce(t *testing.T) {
	c := newCache(t, time.Minute, 0)
	var calls atomic.Int64
	release := make(chan struct{})
	fetch := func(context.Context) (contracts.UsernameCheck, error) {
		calls.Add(1)
		<-release
		return contracts.UsernameCheck{Username: "x", Available: true}, nil
	}
	const n = 200
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			if _, _, err := c.Get(context.Background(), "same", fetch); err != nil {
				t.Error(err)
			}
		}()
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // let the goroutines reach the flight
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("fetches for %d concurrent misses = %d, want 1", n, calls.Load())
	}
}

// F-28: whatever the answers, the cache never takes more than
// its budget, and answers are still served when they no longer fit.
func TestBounded(t *testing.T) {
	const budget = 64 << 10
	tests := []struct {
		name    string
		message string
	}{
		{"short answers", "ok"},
		{"long answers", strings.Repeat("x", 1000)},
		{"answers larger than the budget", strings.Repeat("x", budget)},
	}
	for _, tt := range tests {
		c := newCache(t, time.Minute, budget)
		fetch := func(context.Context) (contracts.UsernameCheck, error) {
			return contracts.UsernameCheck{Available: true, Message: tt.message}, nil
		}
		for i := 0; i < 300; i++ {
			got, _, err := c.Get(context.Background(), fmt.Sprintf("k%d", i), fetch)
			if err != nil || got.Message != tt.message {
				t.Fatalf("%s: Get(k%d) = %.20q, %v; want the answer", tt.name, i, got.Message, err)
			}
			if c.Bytes() > budget {
				t.Fatalf("%s: Bytes() after %d names = %d, want at most %d", tt.name, i+1, c.Bytes(), budget)
			}
		}
	}
}

// A budget of 100 answers holds at most 100, and not none.
func TestHoldsAtMostWhatTheBudgetPays(t *testing.T) {
	c := New(time.Minute, 100*(entryOverhead+int64(len("k000"))))
	fetch := func(context.Context) (contracts.UsernameCheck, error) {
		return contracts.UsernameCheck{Available: true}, nil
	}
	for i := 0; i < 1000; i++ {
		_, _, _ = c.Get(context.Background(), fmt.Sprintf("k%03d", i), fetch)
	}
	if held(c) > 100 || held(c) == 0 {
		t.Fatalf("entries after 1000 names = %d, want 1 to 100", held(c))
	}
}

// A cache starts no goroutine, so none can outlive it, not even while it
// removes expired answers and evicts live ones to make room: go-cache runs
// without its janitor, whose goroutine only a finalizer stops.
func TestStartsNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	for _, ttl := range []time.Duration{time.Nanosecond, time.Hour} {
		c := New(ttl, 16*entryOverhead)
		for i := range 200 {
			_, _, _ = c.Get(context.Background(), fmt.Sprintf("k%03d", i), func(context.Context) (contracts.UsernameCheck, error) {
				return contracts.UsernameCheck{Available: true}, nil
			})
		}
	}
	goleak.VerifyNone(t, before)
}

// The real heap of a full cache stays near its budget.
func TestHeapStaysNearBudget(t *testing.T) {
	const budget = 8 << 20
	fetch := func(context.Context) (contracts.UsernameCheck, error) {
		return contracts.UsernameCheck{Username: "ola.nordmann", Available: true, Message: "The username is available."}, nil
	}
	base := heapInuse()
	c := New(time.Hour, budget)
	for i := 0; i < 4*budget/entryOverhead; i++ {
		_, _, _ = c.Get(context.Background(), fmt.Sprintf("sub:%036d\x00ola.nordmann", i), fetch)
	}
	ratio := float64(heapInuse()-base) / budget
	runtime.KeepAlive(c)
	t.Logf("heap growth / budget = %.2f", ratio)
	if ratio > 1.25 {
		t.Errorf("heap growth is %.2f times the budget, want at most 1.25", ratio)
	}
}

func heapInuse() int64 {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return int64(s.HeapInuse)
}

func TestExpiry(t *testing.T) {
	c := newCache(t, 50*time.Millisecond, 0)
	var calls atomic.Int64
	fetch := func(context.Context) (contracts.UsernameCheck, error) {
		calls.Add(1)
		return contracts.UsernameCheck{}, nil
	}
	_, _, _ = c.Get(context.Background(), "k", fetch)
	time.Sleep(60 * time.Millisecond)
	_, hit, _ := c.Get(context.Background(), "k", fetch)
	if hit || calls.Load() != 2 {
		t.Fatalf("after the TTL: hit = %v, fetches = %d; want a miss and 2", hit, calls.Load())
	}
}

// The bound holds when many different names miss at once (the soak test
// once saw 2001 entries in a cache of 2000).
func TestBoundedUnderConcurrentMisses(t *testing.T) {
	const budget = 50 * entryOverhead
	c := newCache(t, time.Minute, budget)
	fetch := func(context.Context) (contracts.UsernameCheck, error) {
		return contracts.UsernameCheck{Available: true}, nil
	}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				_, _, _ = c.Get(context.Background(), fmt.Sprintf("g%d-k%d", g, i), fetch)
			}
		}(g)
	}
	wg.Wait()
	if held(c) > 50 || c.Bytes() > budget {
		t.Fatalf("entries = %d of %d bytes, want at most 50 and %d", held(c), c.Bytes(), budget)
	}
	if got, want := c.Bytes(), accounted(c.items); got != want {
		t.Errorf("bytes = %d, want %d (the answers held)", got, want)
	}
}
