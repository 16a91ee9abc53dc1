package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newMemory(t *testing.T, max int) (*Memory, *time.Time) {
	t.Helper()
	m := NewMemory(max, time.Hour)
	t.Cleanup(func() { _ = m.Close() })
	now := time.Date(2026, 2, 12, 10, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	return m, &now
}

func TestMemoryExpiryAndSetNX(t *testing.T) {
	m, now := newMemory(t, 10)
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
}

func TestMemoryIsBounded(t *testing.T) {
	m, _ := newMemory(t, 100)
	for i := 0; i < 10000; i++ {
		_ = m.Set(fmt.Sprintf("k%d", i), []byte("v"), time.Minute)
	}
	if m.Len() != 100 {
		t.Fatalf("Len after 10000 keys = %d, want 100", m.Len())
	}
}

func TestMemorySetNXIsAtomic(t *testing.T) {
	m, _ := newMemory(t, 10)
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
	m, _ := newMemory(t, 10)
	buf := []byte("abc")
	_ = m.Set("k", buf, 0)
	buf[0] = 'X'
	got, _ := m.Get("k")
	got[1] = 'Y'
	if again, _ := m.Get("k"); string(again) != "abc" {
		t.Fatalf("stored value changed to %q through a caller's slice", again)
	}
}
