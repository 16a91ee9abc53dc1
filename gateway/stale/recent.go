package stale

import (
	"hash/maphash"
	"sync/atomic"
	"time"
	"unsafe"
)

// recentSlots is the size of the recent table (a power of two).
const recentSlots = 1 << 12

// recent remembers, per caller, which answer was kept last and when, so
// that a caller polling an unchanged list is not copied into the store on
// every request. The gateway's rendered-list memo hands out the same bytes
// for the same upstream body, so "unchanged" is the same slice, compared by
// address and length, never by content. An unchanged answer is kept again
// once refresh has passed, so the kept one never ages out while it is
// fresh. It is direct-mapped and lock-free: a collision only costs a copy.
type recent struct {
	seed  maphash.Seed
	slots [recentSlots]atomic.Pointer[keptAnswer]
}

type keptAnswer struct {
	caller uint64
	// data is the answer's address as a number: it must not keep the
	// answer alive (that would hold memory outside every budget).
	data uintptr
	n    int
	at   int64
}

// recentMaxBytes bounds the answers recent tracks: those the rendered-list
// memo holds (and keeps alive, so an address is not reused for other
// bytes); larger ones are new slices every time anyway.
const recentMaxBytes = 32 << 10

func newRecent() *recent { return &recent{seed: maphash.MakeSeed()} }

func (r *recent) slot(h uint64) *atomic.Pointer[keptAnswer] { return &r.slots[h&(recentSlots-1)] }

// unchanged reports whether caller's answer, fetched at fetched, is the
// one kept for them less than refresh before.
func (r *recent) unchanged(caller string, answer []byte, fetched time.Time, refresh time.Duration) bool {
	h := maphash.String(r.seed, caller)
	e := r.slot(h).Load()
	return e != nil && e.caller == h && len(answer) > 0 && len(answer) <= recentMaxBytes &&
		e.data == uintptr(unsafe.Pointer(unsafe.SliceData(answer))) && e.n == len(answer) &&
		fetched.UnixNano()-e.at < int64(refresh)
}

// kept records that answer is caller's kept answer since fetched.
func (r *recent) kept(caller string, answer []byte, fetched time.Time) {
	if len(answer) == 0 || len(answer) > recentMaxBytes {
		return
	}
	h := maphash.String(r.seed, caller)
	r.slot(h).Store(&keptAnswer{caller: h, data: uintptr(unsafe.Pointer(unsafe.SliceData(answer))), n: len(answer), at: fetched.UnixNano()})
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
