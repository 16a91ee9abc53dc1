// Package stale keeps each caller's last good answer of an operation, to
// answer that caller with it while the upstream fails: RFC 5861's
// stale-if-error, applied per caller, so that one caller is never
// answered with another's list. It is used for the rating list, GET
// /api/co/rating.
package stale

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/minbil/minbil-bff/gateway/store"
)

// Keeper keeps one answer per caller: in a shared store (Redis) when it has
// one (WithShared), so that a rating on one replica drops the list every
// replica would serve, and in a bounded local store while the shared one
// fails or when there is none.
//
// A caller is the string the gateway names them by (the identity subject,
// and in development the X-Mock-Session world); the empty caller (an
// anonymous one) is never kept nor served, so one caller's list can never
// reach another. Store errors lose a list, never fail a request.
//
// A rating drops the caller's list and leaves a drop-mark: no list fetched
// before it is served. Each process keeps its own marks and consults them
// before it serves any list, from whichever store, so a mark the shared
// store missed (Redis paused) still holds here; and it writes such marks
// to the shared store again until it takes them, and reads no list from
// the shared store until it has (R3-F3).
type Keeper struct {
	local  store.KV
	shared store.KV // nil: local only
	onFail func(op string, err error)
	maxAge time.Duration
	now    func() time.Time
	recent *recent
	marks  *marks
	replay *store.Retrier
}

// Option changes a Keeper.
type Option func(*Keeper)

// WithClock replaces time.Now, so tests move time instead of sleeping. It
// is a test seam: production never sets it, and deadcode lists it for
// that reason.
func WithClock(now func() time.Time) Option { return func(k *Keeper) { k.now = now } }

// WithShared keeps the lists and drop-marks in shared (Redis) as well,
// falling back to the local store while shared fails; onFail is told of
// each failure (a warning and a metric) and must not block. The Keeper does
// not close shared.
func WithShared(shared store.KV, onFail func(op string, err error)) Option {
	return func(k *Keeper) { k.shared, k.onFail = shared, onFail }
}

// replayInterval is how often marks the shared store missed are written
// again.
const replayInterval = 250 * time.Millisecond

// New keeps answers in local (and in a shared store, WithShared) for
// maxAge; 0 keeps nothing (stale-if-error off). The Keeper owns local:
// Close closes it.
func New(local store.KV, maxAge time.Duration, opts ...Option) *Keeper {
	k := &Keeper{local: local, maxAge: maxAge, now: time.Now, recent: newRecent(), marks: newMarks(defaultMaxMarks)}
	for _, o := range opts {
		o(k)
	}
	k.replay = store.NewRetrier(replayInterval, k.replayMarks)
	return k
}

// Enabled reports whether answers are kept at all.
func (k *Keeper) Enabled() bool { return k.maxAge > 0 }

// Now is the Keeper's clock: take the fetched time of Put from it.
func (k *Keeper) Now() time.Time { return k.now() }

// timeLen is the size of the time stored in front of an answer and as a
// drop mark: unix nanoseconds, big-endian.
const timeLen = 8

var buffers = sync.Pool{New: func() any { return new([]byte) }}

// Put keeps answer as caller's last good one, fetched at fetched (when its
// upstream call started). version names answer's bytes (0: unnamed): an
// answer of the version kept last for caller is not copied again until a
// quarter of maxAge has passed. An answer fetched before caller's last
// drop-mark is not kept. answer is copied.
func (k *Keeper) Put(caller string, fetched time.Time, answer []byte, version uint64) {
	if !k.Enabled() || caller == "" || k.recent.unchanged(caller, version, fetched, k.maxAge/4) {
		return
	}
	id := idOf(caller)
	if fetched.UnixNano() <= k.marks.get(id) {
		return
	}
	// The store copies the value (Memory) or writes it out before it
	// returns (Redis), so the time-and-answer buffer is reused.
	bp := buffers.Get().(*[]byte)
	val := binary.BigEndian.AppendUint64((*bp)[:0], uint64(fetched.UnixNano()))
	val = append(val, answer...)
	if !k.trustShared() || k.failed("set", k.shared.Set(listKey(id), val, k.maxAge)) {
		_ = k.local.Set(listKey(id), val, k.maxAge)
	}
	*bp = val[:0]
	buffers.Put(bp)
	k.recent.kept(caller, version, fetched)
}

// Get returns caller's last good answer and its age, when there is one
// younger than maxAge that was fetched after caller's last drop-mark, this
// process's or the shared store's.
func (k *Keeper) Get(caller string) (answer []byte, age time.Duration, ok bool) {
	if !k.Enabled() || caller == "" {
		return nil, 0, false
	}
	id := idOf(caller)
	val, mark := k.read(id)
	if len(val) < timeLen {
		return nil, 0, false
	}
	fetched := int64(binary.BigEndian.Uint64(val))
	age = time.Duration(k.now().UnixNano() - fetched)
	if age >= k.maxAge {
		return nil, 0, false
	}
	// A list whose fetch started before the caller's last rating may lack
	// it: a GET in flight while the rating was made stored it after Drop.
	if fetched <= k.marks.get(id) || (len(mark) == timeLen && fetched <= int64(binary.BigEndian.Uint64(mark))) {
		return nil, 0, false
	}
	return val[timeLen:], max(age, 0), true
}

// read returns id's list and the shared store's drop-mark: from the shared
// store when it is trusted and answers, else the local list.
func (k *Keeper) read(id [idLen]byte) (list, mark []byte) {
	if k.trustShared() {
		list, err := k.shared.Get(listKey(id))
		if err == nil {
			mark, err = k.shared.Get(dropKey(id))
		}
		if !k.failed("get", err) {
			if list == nil {
				// Kept here while the shared store failed; the shared
				// mark still refuses it if another replica's rating is
				// younger.
				list, _ = k.local.Get(listKey(id))
			}
			return list, mark
		}
	}
	list, _ = k.local.Get(listKey(id))
	return list, nil
}

// trustShared reports whether lists are read from and written to the shared
// store: there is one, and it holds every drop-mark of this process.
func (k *Keeper) trustShared() bool { return k.shared != nil && k.marks.synced() }

func (k *Keeper) failed(op string, err error) bool {
	if err == nil {
		return false
	}
	if k.onFail != nil {
		k.onFail(op, err)
	}
	return true
}

// Drop forgets caller's answer: the caller changed what the upstream
// answers (a rating), so the kept answer would show them the past. It also
// marks the time, for maxAge, so that an answer fetched before now and
// stored after it (a list in flight) is never served: in this process at
// once, in the shared store as soon as it takes the mark.
func (k *Keeper) Drop(caller string) {
	if !k.Enabled() || caller == "" {
		return
	}
	k.recent.forget(caller)
	id, at := idOf(caller), k.now().UnixNano()
	k.marks.put(id, at, k.shared == nil)
	_ = k.local.Delete(listKey(id))
	if k.shared == nil {
		return
	}
	if err := k.writeMark(id, at, false); k.failed("set", err) {
		k.replay.Kick()
		return
	}
	k.marks.wrote(id, at)
}

// writeMark writes a drop-mark made at at to the shared store and deletes
// the list it holds. A replayed mark is older than now, and another
// replica may have written a later one meanwhile: it is written only over
// an earlier one.
func (k *Keeper) writeMark(id [idLen]byte, at int64, replayed bool) error {
	left := k.maxAge - time.Duration(k.now().UnixNano()-at)
	if left <= 0 {
		return nil // no list it could refuse is young enough to serve
	}
	write := true
	if replayed {
		held, err := k.shared.Get(dropKey(id))
		if err != nil {
			return err
		}
		write = len(held) != timeLen || int64(binary.BigEndian.Uint64(held)) < at
	}
	if write {
		if err := k.shared.Set(dropKey(id), binary.BigEndian.AppendUint64(nil, uint64(at)), left); err != nil {
			return err
		}
	}
	return k.shared.Delete(listKey(id))
}

// replayMarks writes the marks the shared store missed, and reports whether
// none is left. It stops at the first failure: the rest would fail alike.
func (k *Keeper) replayMarks() bool {
	for id, at := range k.marks.unwritten() {
		if err := k.writeMark(id, at, true); k.failed("set", err) {
			return false
		}
		k.marks.wrote(id, at)
	}
	return k.marks.synced()
}

// Close stops replaying drop-marks, tries once more to write those the
// shared store missed, unless ctx is done, and closes the local store. It
// does not wait for a shared store that is down: a mark matters only while
// another replica could serve a stale list (maxAge), and waiting would hold
// up every shutdown during an outage. Marks still unwritten are reported:
// another replica may serve a list without a rating made here until it
// ages out.
func (k *Keeper) Close(ctx context.Context) error {
	k.replay.Stop()
	if ctx.Err() == nil && !k.marks.synced() {
		k.replayMarks()
	}
	err := k.local.Close()
	if n := k.marks.waiting(); n > 0 {
		err = errors.Join(err, fmt.Errorf("stale: %d drop-marks not written to the shared store", n))
	}
	return err
}

// idLen is the size of a caller's id: 128 bits of the SHA-256 of the
// caller's name.
const idLen = 16

func idOf(caller string) [idLen]byte {
	sum := sha256.Sum256([]byte(caller))
	return [idLen]byte(sum[:idLen])
}

// listKey and dropKey are a caller's store keys: hashes, so no
// caller-chosen string becomes a store key.
func listKey(id [idLen]byte) string { return key("stale:list:", id) }
func dropKey(id [idLen]byte) string { return key("stale:drop:", id) }

// key is prefix and the id in hex, built with one allocation.
func key(prefix string, id [idLen]byte) string {
	var buf [64]byte
	return string(hex.AppendEncode(append(buf[:0], prefix...), id[:]))
}
