// Package store holds the gateway's small key-value state — rate-limit
// counters and idempotency records — behind one interface, so that a single
// process keeps it in memory and a fleet of replicas shares it in Redis.
package store

import (
	"errors"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// KV is a key-value store with expiry. It is a fiber.Storage (Fiber's rate
// limiter uses it as such) plus an atomic set-if-absent for claims.
type KV interface {
	fiber.Storage
	// SetNX stores val under key for exp unless key holds a live value, and
	// reports whether it stored. It is atomic across every user of the store.
	SetNX(key string, val []byte, exp time.Duration) (bool, error)
}

// ErrUnavailable is wrapped by stores whose backend cannot be reached.
var ErrUnavailable = errors.New("store unavailable")

// Memory is a bounded in-process KV. When it holds MaxEntries live keys, a
// new key evicts an arbitrary other one, so memory stays bounded whatever
// clients send. A sweeper removes expired entries; Close stops it.
type Memory struct {
	mu         sync.Mutex
	items      map[string]entry
	maxEntries int
	now        func() time.Time

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

type entry struct {
	val     []byte
	expires time.Time // zero: never
}

var _ KV = (*Memory)(nil)

// NewMemory builds a store of at most maxEntries keys (0 means 100000) that
// sweeps expired keys every sweep (0 means every 10s).
func NewMemory(maxEntries int, sweep time.Duration) *Memory {
	if maxEntries <= 0 {
		maxEntries = 100000
	}
	if sweep <= 0 {
		sweep = 10 * time.Second
	}
	m := &Memory{items: map[string]entry{}, maxEntries: maxEntries, now: time.Now,
		stop: make(chan struct{}), done: make(chan struct{})}
	go m.sweep(sweep)
	return m
}

func (m *Memory) sweep(every time.Duration) {
	defer close(m.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.deleteExpired()
		}
	}
}

func (m *Memory) deleteExpired() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, e := range m.items {
		if e.expired(now) {
			delete(m.items, k)
		}
	}
}

func (e entry) expired(now time.Time) bool { return !e.expires.IsZero() && !now.Before(e.expires) }

// Len returns the number of keys held, expired ones not yet swept included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// Get returns a copy of the live value of key, or nil.
func (m *Memory) Get(key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.items[key]
	if !ok || e.expired(m.now()) {
		return nil, nil
	}
	return append([]byte(nil), e.val...), nil
}

// Set stores a copy of val under key for exp (0: no expiry).
func (m *Memory) Set(key string, val []byte, exp time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setLocked(key, val, exp)
	return nil
}

// SetNX stores val under key unless key holds a live value.
func (m *Memory) SetNX(key string, val []byte, exp time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.items[key]; ok && !e.expired(m.now()) {
		return false, nil
	}
	m.setLocked(key, val, exp)
	return true, nil
}

func (m *Memory) setLocked(key string, val []byte, exp time.Duration) {
	if _, ok := m.items[key]; !ok && len(m.items) >= m.maxEntries {
		m.evictLocked()
	}
	e := entry{val: append([]byte(nil), val...)}
	if exp > 0 {
		e.expires = m.now().Add(exp)
	}
	m.items[key] = e
}

// evictLocked drops an expired key if one is found quickly, else any key.
func (m *Memory) evictLocked() {
	now := m.now()
	var victim string
	n := 0
	for k, e := range m.items {
		victim = k
		if e.expired(now) || n >= 32 {
			break
		}
		n++
	}
	delete(m.items, victim)
}

// Delete removes key.
func (m *Memory) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, key)
	return nil
}

// Reset removes every key.
func (m *Memory) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items = map[string]entry{}
	return nil
}

// Close stops the sweeper. It is idempotent.
func (m *Memory) Close() error {
	m.stopOnce.Do(func() { close(m.stop) })
	<-m.done
	return nil
}
