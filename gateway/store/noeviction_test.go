package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/store/redistest"
)

// newNoEviction returns a NewNoEviction store of maxBytes on a clock the
// test moves.
func newNoEviction(t *testing.T, maxBytes int64, opts ...Option) (*Memory, *time.Time) {
	t.Helper()
	m := NewNoEviction(maxBytes, opts...)
	t.Cleanup(func() { _ = m.Close() })
	now := time.Date(2026, 2, 12, 10, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	return m, &now
}

// R3-F10: a full no-eviction store refuses what does not fit and keeps
// what it holds: a claim that cannot become its (larger) outcome stays a
// claim, a recorded outcome is never pushed out by a new key; only expired
// entries make room.
func TestR3F10NoEvictionStoreKeepsWhatItHolds(t *testing.T) {
	small, large := make([]byte, 100), make([]byte, 600)
	m, now := newNoEviction(t, 3*cost("claim", small)+50)
	if ok, err := m.SetNX("claim", small, time.Minute); !ok || err != nil {
		t.Fatalf("SetNX(claim) = %v, %v; want a claim", ok, err)
	}
	if err := m.Set("outcome", small, time.Hour); err != nil {
		t.Fatalf("Set(outcome) = %v", err)
	}
	if err := m.Set("short", small, time.Second); err != nil {
		t.Fatalf("Set(short) = %v", err)
	}
	steps := []struct {
		name    string
		advance time.Duration
		do      func() error
		wantErr error
	}{
		{"a claim that does not fit as its outcome", 0, func() error { return m.Set("claim", large, time.Hour) }, ErrFull},
		{"a new key in a full store", 0, func() error { return m.Set("new", small, time.Hour) }, ErrFull},
		{"a new claim in a full store", 0, func() error { _, err := m.SetNX("new", small, time.Minute); return err }, ErrFull},
		{"a new key once an entry expired", time.Second, func() error { return m.Set("new", small, time.Hour) }, nil},
		{"a claim becomes an outcome of its size", 0, func() error { return m.Set("claim", small, time.Hour) }, nil},
	}
	for _, st := range steps {
		*now = now.Add(st.advance)
		if err := st.do(); !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: = %v, want %v", st.name, err, st.wantErr)
		}
		for _, key := range []string{"claim", "outcome"} {
			if v, _ := m.Get(key); v == nil {
				t.Fatalf("%s: %s was dropped", st.name, key)
			}
		}
		if m.Bytes() > m.maxBytes {
			t.Fatalf("%s: %d bytes held, budget %d", st.name, m.Bytes(), m.maxBytes)
		}
	}
}

// R3-F10: with shares, one owner's new keys stop at its share; another
// owner's still fit, and an owner's live key may still be replaced.
func TestR3F10NoEvictionShares(t *testing.T) {
	val := make([]byte, 100)
	share := 3 * cost("a:0", val)
	owner := func(key string) string { o, _, _ := strings.Cut(key, ":"); return o }
	m, _ := newNoEviction(t, 10*share, WithShares(share, owner))
	var err error
	n := 0
	for ; err == nil; n++ {
		_, err = m.SetNX(fmt.Sprintf("a:%d", n), val, time.Minute)
	}
	if !errors.Is(err, ErrFull) || n-1 != 3 {
		t.Fatalf("owner a's keys: %d, then %v; want 3, then ErrFull", n-1, err)
	}
	if ok, err := m.SetNX("b:0", val, time.Minute); !ok || err != nil {
		t.Fatalf("owner b's first key = %v, %v; want a claim: a's keys do not take b's room", ok, err)
	}
	if err := m.Set("a:0", make([]byte, 200), time.Hour); err != nil {
		t.Fatalf("replacing a's claim with a larger outcome = %v, want nil", err)
	}
	if err := m.Delete("a:1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := m.SetNX("a:new", val, time.Minute); ok || !errors.Is(err, ErrFull) {
		t.Fatalf("a's new key with its share still taken by the larger outcome = %v, %v; want ErrFull", ok, err)
	}
	if err := m.Delete("a:0"); err != nil {
		t.Fatal(err)
	}
	if ok, err := m.SetNX("a:new", val, time.Minute); !ok || err != nil {
		t.Fatalf("a's new key once a key of a's ended = %v, %v; want a claim", ok, err)
	}
}

// A flood of distinct identities: a no-eviction counter store keeps the
// windows of callers already counted, and counts every newcomer it has no
// room for in one window of its class, so newcomers are limited together
// and nobody's count starts again.
func TestNoEvictionCounterKeepsLiveWindows(t *testing.T) {
	var refusals atomic.Int64
	m, now := newNoEviction(t, 50*cost("sub:flood-00000", make([]byte, counterLen)), OnFull(func() { refusals.Add(1) }))
	for range 5 {
		if _, _, err := m.Hit("sub:victim", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1000 {
		if _, _, err := m.Hit(fmt.Sprintf("sub:flood-%05d", i), time.Minute); err != nil {
			t.Fatalf("flood hit %d = %v, want a count", i, err)
		}
	}
	*now = now.Add(time.Second)
	tests := []struct {
		name      string
		key       string
		wantCount int64
		wantLeft  time.Duration
	}{
		{"the counted caller keeps its count", "sub:victim", 6, 59 * time.Second},
		{"a newcomer shares its class's window", "sub:newcomer", 1000 - 49 + 1, 59 * time.Second},
		{"another class has its own window", "ip:192.0.2.1", 1, time.Minute},
	}
	for _, tt := range tests {
		n, left, err := m.Hit(tt.key, time.Minute)
		if err != nil || n != tt.wantCount || left != tt.wantLeft {
			t.Errorf("%s: Hit(%q) = %d, %v, %v; want %d, %v", tt.name, tt.key, n, left, err, tt.wantCount, tt.wantLeft)
		}
	}
	if refusals.Load() == 0 {
		t.Error("OnFull was never called")
	}
	*now = now.Add(time.Minute)
	if n, left, err := m.Hit("sub:newcomer", time.Minute); n != 1 || left != time.Minute || err != nil {
		t.Errorf("a newcomer once the windows ended = %d, %v, %v; want a window of its own", n, left, err)
	}
}

// R3-F2: a Redis at its memory limit under noeviction refuses new keys; the
// gateway's store reports that as ErrFull (fail closed, 503), not as an
// outage, and the breaker stays closed: Redis answers, and a claim made
// before it filled is still there. Under the policy the manifest used to
// ship (volatile-ttl) the same filling evicts the claim: the hazard the
// gateway's start-up warning names.
func TestR3F2RedisOutOfMemoryIsAFullStore(t *testing.T) {
	tests := []struct {
		policy        string
		wantClaimKept bool
	}{
		{PolicyNoEviction, true},
		{"volatile-ttl", false},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			srv := redistest.Start(t, redistest.Memory("2mb", tt.policy)...)
			r := NewRedis(config.Redis{Addr: srv.Addr, Timeout: time.Second, KeyPrefix: "test:"})
			t.Cleanup(func() { _ = r.Close() })
			if ok, err := r.SetNX("claim", []byte("in flight"), time.Minute); !ok || err != nil {
				t.Fatalf("SetNX before Redis filled = %v, %v", ok, err)
			}
			srv.Fill(t, "filler:", 10<<10, 0)
			for i := range 5 {
				ok, err := r.SetNX(fmt.Sprintf("new-%d", i), []byte("x"), time.Minute)
				if ok || !errors.Is(err, ErrFull) || errors.Is(err, ErrUnavailable) {
					t.Fatalf("SetNX %d in a full Redis = %v, %v; want ErrFull (and the breaker closed)", i, ok, err)
				}
			}
			if _, _, err := r.Hit("counter", time.Minute); !errors.Is(err, ErrFull) {
				t.Errorf("Hit in a full Redis = %v, want ErrFull", err)
			}
			v, err := r.Get("claim")
			if err != nil || (string(v) == "in flight") != tt.wantClaimKept {
				t.Errorf("the claim made before Redis filled = %q, %v; want kept %v", v, err, tt.wantClaimKept)
			}
			if evicted := srv.Info(t, "stats")["evicted_keys"]; (evicted == "0") != tt.wantClaimKept {
				t.Errorf("evicted_keys = %s, want 0: %v", evicted, tt.wantClaimKept)
			}
		})
	}
}

// R3-F2: the policy is read where Redis lets it be, and a Redis that
// refuses CONFIG (as managed ones do) gives an error, not a policy.
func TestRedisEvictionPolicy(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantPolicy string
		wantErr    bool
	}{
		{"noeviction", redistest.Memory("10mb", PolicyNoEviction), PolicyNoEviction, false},
		{"the old manifest's policy", redistest.Memory("10mb", "volatile-ttl"), "volatile-ttl", false},
		{"CONFIG refused", []string{"--rename-command", "CONFIG", ""}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t, tt.args...)
			r := NewRedis(config.Redis{Addr: srv.Addr, Timeout: time.Second})
			t.Cleanup(func() { _ = r.Close() })
			policy, err := r.EvictionPolicy(context.Background())
			if policy != tt.wantPolicy || (err != nil) != tt.wantErr {
				t.Errorf("EvictionPolicy() = %q, %v; want %q, error %v", policy, err, tt.wantPolicy, tt.wantErr)
			}
		})
	}
}

// The real heap taken by a full no-eviction store stays near its budget,
// for idempotency records and for rate-limit windows (EntryOverhead covers
// a claim's struct, heap slot and map slot too).
func TestNoEvictionHeapStaysNearBudget(t *testing.T) {
	const budget = 8 << 20
	key := func(i int) string { return fmt.Sprintf("idem:%064d", i) }
	tests := []struct {
		name  string
		write func(m *Memory, i int) error
	}{
		{"1,000-byte outcomes", func(m *Memory, i int) error { return m.Set(key(i), make([]byte, 1000), time.Hour) }},
		{"rate-limit windows", func(m *Memory, i int) error {
			_, _, err := m.Hit(key(i), time.Hour)
			if m.Bytes()+cost(key(i), make([]byte, counterLen)) > budget {
				return ErrFull // the next would share a window: the store is full
			}
			return err
		}},
	}
	for _, tt := range tests {
		base := heapInuse()
		m := NewNoEviction(budget)
		for i := 0; tt.write(m, i) == nil; i++ {
		}
		ratio := float64(heapInuse()-base) / budget
		runtime.KeepAlive(m)
		t.Logf("%s: %d entries, heap growth / budget = %.2f", tt.name, m.Len(), ratio)
		if ratio > 1.25 {
			t.Errorf("%s: heap growth is %.2f times the budget, want at most 1.25", tt.name, ratio)
		}
	}
}
