package stale

import (
	"maps"
	"math"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// defaultMaxMarks bounds the drop-marks a process keeps: 16,384 marks of
// about 100 bytes each (id, time, list element and map slot), some 1.6 MiB.
// A mark matters for maxAge (5 minutes by default), so this is 16,384
// ratings on one replica within that time.
const defaultMaxMarks = 1 << 14

// marks are this process's drop-marks: when each caller last rated, by id.
// The oldest make room; the time of one that does becomes the floor, a mark
// for every caller, so a list fetched before a forgotten mark is still
// never served (at the cost of refusing other callers' older lists too).
// A mark not yet written to the shared store is unwritten until wrote.
type marks struct {
	mu            sync.Mutex
	byID          *simplelru.LRU[[idLen]byte, int64]
	unwrittenByID map[[idLen]byte]int64
	floor         int64
}

func newMarks(n int) *marks {
	m := &marks{unwrittenByID: map[[idLen]byte]int64{}}
	m.byID, _ = simplelru.NewLRU[[idLen]byte, int64](max(n, 1), func(id [idLen]byte, at int64) {
		m.floor = max(m.floor, at)
		// A mark the shared store never took is lost to the other
		// replicas; this one keeps refusing through the floor.
		delete(m.unwrittenByID, id)
	})
	return m
}

// put records that id rated at at; written says whether the shared store
// holds the mark already (or there is none).
func (m *marks) put(id [idLen]byte, at int64, written bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byID.Add(id, at)
	if !written {
		m.unwrittenByID[id] = at
	}
}

// get returns the time before which no list of id may be served: its mark
// or the floor, whichever is later; math.MinInt64 when neither is set.
func (m *marks) get(id [idLen]byte) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.byID.Peek(id)
	if !ok {
		at = math.MinInt64
	}
	return max(at, m.floor)
}

// wrote records that the shared store holds id's mark of at.
func (m *marks) wrote(id [idLen]byte, at int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.unwrittenByID[id] == at {
		delete(m.unwrittenByID, id)
	}
}

// unwritten returns a copy of the marks the shared store misses.
func (m *marks) unwritten() map[[idLen]byte]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.unwrittenByID)
}

func (m *marks) waiting() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.unwrittenByID)
}

// synced reports whether the shared store holds every mark.
func (m *marks) synced() bool { return m.waiting() == 0 }
