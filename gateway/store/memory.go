package store

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Defaults and accounting of Memory.
const (
	// DefaultMaxBytes is the budget of a Memory built with 0: 4 MiB, sized
	// for the rate-limit counters (about 16,000 clients per replica).
	DefaultMaxBytes int64 = 4 << 20
	// EntryOverhead is what one entry costs besides its key and value bytes:
	// the list element, the map slot and allocation rounding, measured by
	// TestMemoryHeapStaysNearBudget.
	EntryOverhead = 384
)

// Memory is an in-process KV bounded by bytes: each entry counts its key and
// value bytes plus EntryOverhead, and the total never exceeds the budget,
// whatever clients send (issue 13 #4).
//
// To make room it drops expired claims, then values written by Set, oldest
// write first. It never drops a live claim made by SetNX (an idempotency
// request in flight, issue 13 #6): when only live claims are left, SetNX
// and Set fail with ErrFull.
//
// Memory starts no goroutine (issue 11): an expired entry is dropped when
// it is read or its room is needed, so there is no sweeper to stop, and
// Close only exists for fiber.Storage.
type Memory struct {
	mu       sync.Mutex
	maxBytes int64
	used     int64
	written  *simplelru.LRU[string, entry] // by Set, oldest write first
	claims   map[string]*claim             // by SetNX, until expiry, Set or Delete
	expiry   claimHeap                     // claims, soonest expiry first
	now      func() time.Time
}

type entry struct {
	val     []byte
	expires int64 // unix nanoseconds; 0: never
}

func (e entry) expired(now int64) bool { return e.expires != 0 && now >= e.expires }

var (
	_ KV      = (*Memory)(nil)
	_ Counter = (*Memory)(nil)
)

// NewBounded builds a Memory whose entries take at most maxBytes, counted as
// key and value bytes plus EntryOverhead each (0 means DefaultMaxBytes).
func NewBounded(maxBytes int64) *Memory {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	m := &Memory{maxBytes: maxBytes, claims: map[string]*claim{}, now: time.Now}
	// A count bound the byte budget always reaches first; NewLRU fails only
	// for a size below 1.
	m.written, _ = simplelru.NewLRU[string, entry](math.MaxInt, func(k string, e entry) {
		m.used -= cost(k, e.val)
	})
	return m
}

// NewMemory builds a Memory that holds at most maxEntries keys (0 means
// DefaultMaxBytes), for callers that still count entries: every entry costs
// at least EntryOverhead, so a budget of maxEntries × EntryOverhead holds
// no more keys than that. sweep is ignored: nothing is swept.
//
// Deprecated: Use NewBounded with a budget in bytes.
func NewMemory(maxEntries int, sweep time.Duration) *Memory {
	return NewBounded(int64(maxEntries) * EntryOverhead)
}

func cost(key string, val []byte) int64 { return int64(len(key) + len(val) + EntryOverhead) }

// Len returns the number of keys held, expired ones not yet dropped included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.written.Len() + len(m.claims)
}

// Bytes returns the bytes accounted to the entries held; it never exceeds
// the budget.
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.used
}

// Get returns a copy of the live value of key, or nil.
func (m *Memory) Get(key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.liveLocked(key)
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), e.val...), nil
}

// liveLocked returns key's entry, dropping it if it has expired.
func (m *Memory) liveLocked(key string) (entry, bool) {
	e, ok := m.written.Peek(key)
	if c, claimed := m.claims[key]; claimed {
		e, ok = c.entry, true
	}
	if ok && e.expired(m.now().UnixNano()) {
		m.deleteLocked(key)
		return entry{}, false
	}
	return e, ok
}

// Set stores a copy of val under key for exp (0: no expiry), replacing a
// claim. When there is no room it returns ErrFull and key holds nothing.
func (m *Memory) Set(key string, val []byte, exp time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleteLocked(key)
	if err := m.makeRoomLocked(cost(key, val)); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	key = strings.Clone(key)
	m.written.Add(key, m.entry(val, exp))
	m.used += cost(key, val)
	return nil
}

// counterLen is the size of a counter's value: a big-endian int64.
const counterLen = 8

// Hit counts a hit of key in its window (Counter). The count is kept as
// a written value, incremented in place, so a hit allocates only when it
// starts a window. A counter is dropped like any written value when room
// is needed; when none can be made it returns ErrFull.
func (m *Memory) Hit(key string, window time.Duration) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UnixNano()
	if e, ok := m.written.Get(key); ok && !e.expired(now) && len(e.val) == counterLen {
		n := int64(binary.BigEndian.Uint64(e.val)) + 1
		binary.BigEndian.PutUint64(e.val, uint64(n))
		return n, time.Duration(e.expires - now), nil
	}
	m.deleteLocked(key)
	var one [counterLen]byte
	binary.BigEndian.PutUint64(one[:], 1)
	if err := m.makeRoomLocked(cost(key, one[:])); err != nil {
		return 0, 0, fmt.Errorf("hit: %w", err)
	}
	key = strings.Clone(key)
	m.written.Add(key, m.entry(one[:], window))
	m.used += cost(key, one[:])
	return 1, window, nil
}

// SetNX claims key with a copy of val for exp unless key holds a live value.
// A claim is never dropped to make room; it ends when it expires or when
// Set or Delete replaces it. When only live claims are left it returns
// ErrFull.
func (m *Memory) SetNX(key string, val []byte, exp time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.liveLocked(key); ok {
		return false, nil
	}
	if err := m.makeRoomLocked(cost(key, val)); err != nil {
		return false, fmt.Errorf("setnx: %w", err)
	}
	c := &claim{key: strings.Clone(key), entry: m.entry(val, exp)}
	m.claims[c.key] = c
	heap.Push(&m.expiry, c)
	m.used += cost(key, val)
	return true, nil
}

func (m *Memory) entry(val []byte, exp time.Duration) entry {
	e := entry{val: append([]byte(nil), val...)}
	if exp > 0 {
		e.expires = m.now().Add(exp).UnixNano()
	}
	return e
}

// makeRoomLocked drops expired claims, then the oldest written values,
// until size more bytes fit in the budget.
func (m *Memory) makeRoomLocked(size int64) error {
	if size > m.maxBytes {
		return fmt.Errorf("%w: an entry of %d bytes exceeds the budget of %d", ErrFull, size, m.maxBytes)
	}
	now := m.now().UnixNano()
	for m.used+size > m.maxBytes {
		if len(m.expiry) > 0 && m.expiry[0].expired(now) {
			m.deleteLocked(m.expiry[0].key)
			continue
		}
		if _, _, ok := m.written.RemoveOldest(); !ok {
			return fmt.Errorf("%w: %d bytes of live claims", ErrFull, m.used)
		}
	}
	return nil
}

func (m *Memory) deleteLocked(key string) {
	m.written.Remove(key)
	if c, ok := m.claims[key]; ok {
		heap.Remove(&m.expiry, c.index)
		delete(m.claims, key)
		m.used -= cost(key, c.val)
	}
}

// Delete removes key.
func (m *Memory) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleteLocked(key)
	return nil
}

// Reset removes every key.
func (m *Memory) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.written.Purge()
	m.claims = map[string]*claim{}
	m.expiry = nil
	m.used = 0
	return nil
}

// Close does nothing: Memory owns no goroutine. It exists for fiber.Storage.
func (m *Memory) Close() error { return nil }

// claim is a SetNX entry, kept in a heap by expiry so that the expired ones
// are found without a scan.
type claim struct {
	key string
	entry
	index int
}

// claimHeap orders claims by expiry; a claim that never expires sorts last.
type claimHeap []*claim

func (h claimHeap) Len() int { return len(h) }
func (h claimHeap) Less(i, j int) bool {
	a, b := h[i].expires, h[j].expires
	return a != 0 && (b == 0 || a < b)
}
func (h claimHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *claimHeap) Push(x any) {
	c := x.(*claim)
	c.index = len(*h)
	*h = append(*h, c)
}
func (h *claimHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return c
}
