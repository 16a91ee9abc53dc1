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
// whatever clients send (OA-04). It has two policies, named after
// Redis's maxmemory policies:
//
//   - NewBounded (a cache, like allkeys-lru for written values): to make
//     room it drops expired claims, then values written by Set, oldest
//     write first. It never drops a live claim made by SetNX: when only
//     live claims are left, SetNX and Set fail with ErrFull.
//   - NewNoEviction (state, like noeviction): it never drops a live entry.
//     Only expired entries make room; a write that does not fit fails with
//     ErrFull and leaves the key as it was, so a full store refuses new
//     keys instead of losing an idempotency claim, a recorded outcome or a
//     rate-limit window (R3-F10). With WithShares, one owner of keys (a
//     caller) holds at most a share of the budget, so one caller cannot
//     fill the store that every caller's new keys need.
//
// Memory starts no goroutine: an expired entry is dropped when
// it is read or its room is needed, so there is no sweeper to stop, and
// Close only exists for fiber.Storage.
type Memory struct {
	mu       sync.Mutex
	maxBytes int64
	used     int64
	// evict is the cache policy: live written values make room.
	evict   bool
	written *simplelru.LRU[string, entry] // cache: by Set, oldest write first
	// claims holds what is never evicted while live: SetNX's claims and,
	// without evict, every entry; expiry orders them, soonest first.
	claims map[string]*claim
	expiry claimHeap
	shares shares
	// overflow are the shared windows of Hit's newcomers while the store
	// is full of live windows (NewNoEviction), by class of key.
	overflow map[string]*entry
	onFull   func()
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

// NewBounded builds a cache Memory whose entries take at most maxBytes,
// counted as key and value bytes plus EntryOverhead each (0 means
// DefaultMaxBytes). The oldest written values make room.
func NewBounded(maxBytes int64) *Memory {
	m := emptyMemory(maxBytes)
	m.evict = true
	// A count bound the byte budget always reaches first; NewLRU fails only
	// for a size below 1.
	m.written, _ = simplelru.NewLRU[string, entry](math.MaxInt, func(k string, e entry) {
		m.used -= cost(k, e.val)
	})
	return m
}

// NewNoEviction builds a Memory that never drops a live entry (Redis's
// noeviction policy), bounded like NewBounded: only expired entries make
// room, and a write that does not fit fails with ErrFull. Hit, whose caller
// must not be turned away by a full store nor let through uncounted, counts
// a key that finds no room in a window shared by every such key of its
// class (see Hit).
func NewNoEviction(maxBytes int64, opts ...Option) *Memory {
	m := emptyMemory(maxBytes)
	for _, o := range opts {
		o(m)
	}
	return m
}

func emptyMemory(maxBytes int64) *Memory {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Memory{maxBytes: maxBytes, claims: map[string]*claim{}, overflow: map[string]*entry{}, now: time.Now}
}

// Option changes a Memory built by NewNoEviction.
type Option func(*Memory)

// WithShares lets each owner of keys hold at most share bytes: a new key
// whose owner (owner(key), a prefix of the key) would go beyond its share
// fails with ErrFull, as if the store were full. Replacing a live key is
// not a new key: an idempotency claim always becomes its outcome. share 0
// or less is no limit.
func WithShares(share int64, owner func(key string) string) Option {
	return func(m *Memory) {
		if share > 0 && owner != nil {
			m.shares = shares{share: share, owner: owner, used: map[string]int64{}}
		}
	}
}

// OnFull is called, under the store's lock (it must not block nor call the
// store), each time a write is refused for want of room or share, and each
// time Hit counts a key in its class's shared window: the store's refusals,
// for a metric.
func OnFull(f func()) Option { return func(m *Memory) { m.onFull = f } }

// shares accounts each owner's bytes (WithShares).
type shares struct {
	share int64
	owner func(string) string
	used  map[string]int64 // by owner; an owner with no key has no entry
}

func (s *shares) add(key string, n int64) {
	if s.used == nil {
		return
	}
	o := s.owner(key) // a prefix of a key the store holds: no new bytes
	if s.used[o] += n; s.used[o] <= 0 {
		delete(s.used, o)
	}
}

func (s *shares) fits(key string, n int64) bool {
	return s.used == nil || s.used[s.owner(key)]+n <= s.share
}

func cost(key string, val []byte) int64 { return int64(len(key) + len(val) + EntryOverhead) }

// Len returns the number of keys held, expired ones not yet dropped included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.claims)
	if m.written != nil {
		n += m.written.Len()
	}
	return n
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
	var e entry
	var ok bool
	if m.written != nil {
		e, ok = m.written.Peek(key)
	}
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
// claim. When there is no room it returns ErrFull: a cache (NewBounded) then
// holds nothing under key, a NewNoEviction store keeps what key held.
func (m *Memory) Set(key string, val []byte, exp time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.evict {
		return m.keepLocked(key, val, exp)
	}
	m.deleteLocked(key)
	if err := m.makeRoomLocked(cost(key, val)); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	key = strings.Clone(key)
	m.written.Add(key, m.entry(val, exp))
	m.used += cost(key, val)
	return nil
}

// keepLocked is Set without eviction: a live key is replaced in place once
// the difference fits; a new key must fit in the budget and its owner's
// share. A refused write changes nothing.
func (m *Memory) keepLocked(key string, val []byte, exp time.Duration) error {
	size := cost(key, val)
	if size > m.maxBytes {
		return m.fullLocked(fmt.Errorf("set: %w: an entry of %d bytes exceeds the budget of %d", ErrFull, size, m.maxBytes))
	}
	if _, live := m.liveLocked(key); !live {
		return m.addClaimLocked("set", key, val, exp)
	}
	c := m.claims[key]
	grow := size - cost(key, c.val)
	if err := m.makeRoomLocked(grow); err != nil {
		return m.fullLocked(fmt.Errorf("set: %w", err))
	}
	// makeRoomLocked dropped only expired entries, and key is live.
	c.entry = m.entry(val, exp)
	heap.Fix(&m.expiry, c.index)
	m.used += grow
	m.shares.add(c.key, grow)
	return nil
}

// fullLocked reports a refusal for want of room and returns err.
func (m *Memory) fullLocked(err error) error {
	if m.onFull != nil {
		m.onFull()
	}
	return err
}

// counterLen is the size of a counter's value: a big-endian int64.
const counterLen = 8

// maxOverflowClasses bounds the shared windows of Hit: the classes of keys
// are the gateway's own prefixes, a handful.
const maxOverflowClasses = 8

// Hit counts a hit of key in its window (Counter). The count is kept as a
// value, incremented in place, so a hit allocates only when it starts a
// window.
//
// In a cache (NewBounded) a counter is dropped like any written value when
// room is needed, and Hit returns ErrFull when none can be made. A
// NewNoEviction store never drops a live window, so a caller already
// counted keeps its count however many others arrive; a key that finds no
// room is counted in one window shared by every such key of its class (the
// key up to its first colon: "ip", "sub"), so newcomers share one
// allowance until the first windows end, rather than go uncounted. A flood
// of new identities therefore limits itself and no one else.
func (m *Memory) Hit(key string, window time.Duration) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UnixNano()
	if e, ok := m.counterLocked(key, now); ok {
		return increment(e, now)
	}
	m.deleteLocked(key)
	var one [counterLen]byte
	binary.BigEndian.PutUint64(one[:], 1)
	if !m.evict {
		if err := m.addClaimLocked("hit", key, one[:], window); err != nil {
			return m.overflowLocked(key, window, now)
		}
		return 1, window, nil
	}
	if err := m.makeRoomLocked(cost(key, one[:])); err != nil {
		return 0, 0, fmt.Errorf("hit: %w", err)
	}
	key = strings.Clone(key)
	m.written.Add(key, m.entry(one[:], window))
	m.used += cost(key, one[:])
	return 1, window, nil
}

// counterLocked returns key's live window. In a cache, reading it makes it
// the most recently used, so the windows of active callers are the last to
// make room.
func (m *Memory) counterLocked(key string, now int64) (entry, bool) {
	var e entry
	var ok bool
	if m.evict {
		e, ok = m.written.Get(key)
	} else if c, claimed := m.claims[key]; claimed {
		e, ok = c.entry, true
	}
	return e, ok && !e.expired(now) && len(e.val) == counterLen
}

// increment adds one to a live counter in place.
func increment(e entry, now int64) (int64, time.Duration, error) {
	n := int64(binary.BigEndian.Uint64(e.val)) + 1
	binary.BigEndian.PutUint64(e.val, uint64(n))
	return n, time.Duration(e.expires - now), nil
}

// overflowLocked counts key in its class's shared window (Hit).
func (m *Memory) overflowLocked(key string, window time.Duration, now int64) (int64, time.Duration, error) {
	class, _, _ := strings.Cut(key, ":")
	e, ok := m.overflow[class]
	if !ok && len(m.overflow) >= maxOverflowClasses {
		class = ""
		e, ok = m.overflow[class]
	}
	if !ok || e.expired(now) {
		e = &entry{val: make([]byte, counterLen), expires: now + int64(window)}
		m.overflow[strings.Clone(class)] = e
	}
	return increment(*e, now)
}

// SetNX claims key with a copy of val for exp unless key holds a live value.
// A claim is never dropped to make room; it ends when it expires or when
// Set or Delete replaces it. When no room can be made it returns ErrFull.
func (m *Memory) SetNX(key string, val []byte, exp time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.liveLocked(key); ok {
		return false, nil
	}
	if err := m.addClaimLocked("setnx", key, val, exp); err != nil {
		return false, err
	}
	return true, nil
}

// addClaimLocked adds key, which holds nothing live, as a claim: never
// dropped while it lives.
func (m *Memory) addClaimLocked(op, key string, val []byte, exp time.Duration) error {
	size := cost(key, val)
	if !m.shares.fits(key, size) {
		return m.fullLocked(fmt.Errorf("%s: %w: the key's owner holds its share of %d bytes", op, ErrFull, m.shares.share))
	}
	if err := m.makeRoomLocked(size); err != nil {
		return m.fullLocked(fmt.Errorf("%s: %w", op, err))
	}
	c := &claim{key: strings.Clone(key), entry: m.entry(val, exp)}
	m.claims[c.key] = c
	heap.Push(&m.expiry, c)
	m.used += size
	m.shares.add(c.key, size)
	return nil
}

func (m *Memory) entry(val []byte, exp time.Duration) entry {
	e := entry{val: append([]byte(nil), val...)}
	if exp > 0 {
		e.expires = m.now().Add(exp).UnixNano()
	}
	return e
}

// makeRoomLocked drops expired claims, then (a cache) the oldest written
// values, until size more bytes fit in the budget.
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
		if !m.evict {
			return fmt.Errorf("%w: %d bytes of live entries", ErrFull, m.used)
		}
		if _, _, ok := m.written.RemoveOldest(); !ok {
			return fmt.Errorf("%w: %d bytes of live claims", ErrFull, m.used)
		}
	}
	return nil
}

func (m *Memory) deleteLocked(key string) {
	if m.written != nil {
		m.written.Remove(key)
	}
	if c, ok := m.claims[key]; ok {
		heap.Remove(&m.expiry, c.index)
		delete(m.claims, key)
		m.used -= cost(key, c.val)
		m.shares.add(c.key, -cost(key, c.val))
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
	if m.written != nil {
		m.written.Purge()
	}
	m.claims = map[string]*claim{}
	m.expiry = nil
	m.overflow = map[string]*entry{}
	if m.shares.used != nil {
		m.shares.used = map[string]int64{}
	}
	m.used = 0
	return nil
}

// Close does nothing: Memory owns no goroutine. It exists for fiber.Storage.
func (m *Memory) Close() error { return nil }

// claim is an entry that is never evicted while it lives (a SetNX claim,
// or any entry of a NewNoEviction store), kept in a heap by expiry so that
// the expired ones are found without a scan.
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
