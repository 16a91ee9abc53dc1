package stale

import (
	"hash/maphash"
	"sync/atomic"
	"time"
)

// recentSlots is the size of the recent table (a power of two).
const recentSlots = 1 << 12

// recent remembers, per caller, which answer was kept last and when, so
// that a caller polling an unchanged list is not copied into the store on
// every request. "Unchanged" is the answer's version: a number its maker
// gives the same bytes and never gives other bytes (the gateway's memo
// numbers its entries once each). An unchanged answer is kept again once
// refresh has passed, so the kept one never ages out while it is fresh.
// It is direct-mapped and lock-free: a collision only costs a copy.
type recent struct {
	seed  maphash.Seed
	slots [recentSlots]atomic.Pointer[keptAnswer]
}

type keptAnswer struct {
	caller  uint64
	version uint64
	at      int64
}

func newRecent() *recent { return &recent{seed: maphash.MakeSeed()} }

func (r *recent) slot(h uint64) *atomic.Pointer[keptAnswer] { return &r.slots[h&(recentSlots-1)] }

// unchanged reports whether caller's answer of version, fetched at
// fetched, is the one kept for them less than refresh before. Version 0
// is never unchanged.
func (r *recent) unchanged(caller string, version uint64, fetched time.Time, refresh time.Duration) bool {
	if version == 0 {
		return false
	}
	h := maphash.String(r.seed, caller)
	e := r.slot(h).Load()
	return e != nil && e.caller == h && e.version == version && fetched.UnixNano()-e.at < int64(refresh)
}

// kept records that the answer of version is caller's kept answer since
// fetched.
func (r *recent) kept(caller string, version uint64, fetched time.Time) {
	if version == 0 {
		return
	}
	h := maphash.String(r.seed, caller)
	r.slot(h).Store(&keptAnswer{caller: h, version: version, at: fetched.UnixNano()})
}

// forget clears caller's record, so the next answer is kept again.
func (r *recent) forget(caller string) {
	h := maphash.String(r.seed, caller)
	if s := r.slot(h); s.Load() != nil && s.Load().caller == h {
		s.Store(nil)
	}
	// A race with kept can leave a record behind: it only skips one more
	// copy of an answer that Drop's mark already refuses to serve.
}
