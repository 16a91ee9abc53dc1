package usernames

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"github.com/minbil/minbil-bff/contracts"
)

// entryOverhead is what one answer costs besides its key and message
// bytes: go-cache's map slot (the key's header, an Item holding the answer
// as an interface and its expiry), the boxed answer, allocation rounding,
// and the heap a churned cache leaves fragmented (its live bytes are about
// 0.8 of the budget, its heap in use up to 1.18 of it over 20 runs of
// TestHeapStaysNearBudget).
const entryOverhead = 256

// evictShare sets how much a full cache empties at once: a quarter of the
// budget. Making room scans every entry (DeleteExpired, then the snapshot
// evictOldestLocked sorts), so it runs once per quarter of the budget
// written rather than once per answer under a flood. A quarter costs a
// flood's misses half what an eighth does (BenchmarkMissIntoFullCache) and
// ordinary users no hits (TestFloodHitRate measures the same rates).
const evictShare = 4

// bounded is a go-cache held to a budget of bytes. go-cache bounds nothing
// (RELIABILITY.md §0.10), and its janitor is a goroutine that only a
// finalizer stops; bounded runs it without one (cleanup interval 0) and
// removes expired answers itself, with DeleteExpired, when the budget is
// reached.
//
// The accounting is exact because every call that adds or removes an
// answer (Set, Delete, DeleteExpired) runs under mu: go-cache calls
// OnEvicted in the deleting goroutine, after releasing its own lock, so
// OnEvicted runs under mu too and updates used without a lock of its own.
// go-cache's Set overwrites without calling OnEvicted, so set deletes the
// key first. Reads take only go-cache's read lock: the hot path never
// waits for mu.
type bounded struct {
	items    *gocache.Cache
	maxBytes int64

	mu   sync.Mutex
	used int64 // guarded by mu
	// refuseWhenFull is the policy not chosen: when live answers fill the
	// budget, refuse the new answer instead of evicting the oldest. It is
	// a deliberate test seam, set only by TestFloodHitRate, which measures
	// the choice.
	refuseWhenFull bool
}

func newBounded(ttl time.Duration, maxBytes int64) *bounded {
	b := &bounded{items: gocache.New(ttl, 0), maxBytes: maxBytes}
	b.items.OnEvicted(func(key string, v any) {
		b.used -= cost(key, v.(contracts.UsernameCheck))
	})
	return b
}

// cost is what an answer is accounted: its key and message bytes and
// entryOverhead.
func cost(key string, answer contracts.UsernameCheck) int64 {
	return int64(len(key) + len(answer.Message) + entryOverhead)
}

// get returns the live answer held under key. The answer's Username is
// empty: the caller answers with the spelling it was asked for.
func (b *bounded) get(key string) (contracts.UsernameCheck, bool) {
	v, ok := b.items.Get(key)
	if !ok {
		return contracts.UsernameCheck{}, false
	}
	answer, ok := v.(contracts.UsernameCheck)
	return answer, ok
}

// set holds answer under key for the cache's TTL, replacing what key held,
// and reports whether it was kept: an answer larger than the whole budget
// is not.
func (b *bounded) set(key string, answer contracts.UsernameCheck) bool {
	// Copies, so the bytes accounted are the bytes held, not views that
	// keep a larger buffer alive.
	key = strings.Clone(key)
	answer = contracts.UsernameCheck{Available: answer.Available, Message: strings.Clone(answer.Message)}
	size := cost(key, answer)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items.Delete(key) // OnEvicted subtracts the answer replaced, live or expired
	if !b.makeRoomLocked(size) {
		return false
	}
	b.items.Set(key, answer, gocache.DefaultExpiration)
	b.used += size
	return true
}

// makeRoomLocked makes size more bytes fit in the budget and reports
// whether they do. Expired answers go first; if that leaves less than a
// quarter of the budget free, the oldest live answers go too (they are the
// next to expire), so the next scan is a quarter of the budget away.
func (b *bounded) makeRoomLocked(size int64) bool {
	if size > b.maxBytes {
		return false
	}
	if b.used+size <= b.maxBytes {
		return true
	}
	b.items.DeleteExpired()
	lowWater := b.maxBytes - b.maxBytes/evictShare - size
	if b.used > lowWater && !b.refuseWhenFull {
		b.evictOldestLocked(lowWater)
	}
	return b.used+size <= b.maxBytes
}

// evictOldestLocked deletes live answers, soonest to expire (written
// first) first, until at most target bytes are used. go-cache keeps no
// order, so it sorts a snapshot of the entries. Keeping the order of
// writes beside go-cache (a key and a write number per answer, compacted
// when half stale) made a flood's miss cost 2 us instead of 5 us, for a
// heap in use up to 1.24 of the budget instead of 1.18 and 40 more lines;
// a miss already waits for an upstream call, so the snapshot stays.
func (b *bounded) evictOldestLocked(target int64) {
	type aged struct {
		key     string
		expires int64
	}
	items := b.items.Items()
	oldest := make([]aged, 0, len(items))
	for k, it := range items {
		oldest = append(oldest, aged{k, it.Expiration})
	}
	slices.SortFunc(oldest, func(x, y aged) int { return cmp.Compare(x.expires, y.expires) })
	for _, e := range oldest {
		if b.used <= target {
			return
		}
		b.items.Delete(e.key)
	}
}

// bytes returns the bytes accounted to the answers held, expired ones not
// yet removed included; it never exceeds the budget.
func (b *bounded) bytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
