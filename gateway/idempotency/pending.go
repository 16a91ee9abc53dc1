package idempotency

import (
	"maps"
	"sync"
	"time"

	"github.com/minbil/minbil-bff/gateway/store"
)

// unwritten is an outcome the store has not taken yet.
type unwritten struct {
	fingerprint string
	outcome     Outcome
	raw         []byte // the record as the store will hold it
	expires     time.Time
}

// pending holds the outcomes waiting for the store, bounded in bytes (each
// counts its key, its record twice, as the outcome and as the encoded
// record, and store.EntryOverhead).
type pending struct {
	mu    sync.Mutex
	max   int64
	bytes int64
	byID  map[string]*unwritten
}

func pendingCost(id string, u *unwritten) int64 {
	return int64(len(id)+len(u.raw)+len(u.outcome.Body)) + store.EntryOverhead
}

// put keeps u under id and returns how many wait, or false when it does not
// fit.
func (p *pending) put(id string, u *unwritten) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.byID[id]; ok {
		p.bytes -= pendingCost(id, old)
	}
	if c := pendingCost(id, u); p.bytes+c <= p.max {
		p.byID[id] = u
		p.bytes += c
		return len(p.byID), true
	}
	delete(p.byID, id)
	return len(p.byID), false
}

// get returns the outcome waiting under id, unless its TTL has passed.
func (p *pending) get(id string, now time.Time) (*unwritten, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.byID[id]
	if !ok || !now.Before(u.expires) {
		return nil, false
	}
	return u, true
}

// remove forgets id if it still holds u, and returns how many wait.
func (p *pending) remove(id string, u *unwritten) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byID[id] == u {
		delete(p.byID, id)
		p.bytes -= pendingCost(id, u)
	}
	return len(p.byID)
}

// all returns a copy of what waits, to write without holding the lock.
func (p *pending) all() map[string]*unwritten {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.byID)
}

func (p *pending) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byID)
}
