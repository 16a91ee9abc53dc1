// Package stale keeps each caller's last good answer of an operation, to
// answer that caller with it while the upstream fails: RFC 5861's
// stale-if-error, applied per caller (issue 16). It is used for the rating
// list, GET /api/co/rating.
package stale

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"

	"github.com/minbil/minbil-bff/gateway/store"
)

// Keeper keeps one answer per caller in a store.KV: a bounded store.Memory
// for one process, or Redis falling back to one (store.Fallback) for a
// fleet. With Redis there is one copy, not a local one in front of it, so
// a rating on one replica drops the list every replica would serve.
//
// A caller is the identity subject, as the username cache keys it; the
// empty subject (an anonymous caller) is never kept nor served, so one
// caller's list can never reach another. Store errors lose a list, never
// fail a request: Memory refuses only a list larger than its budget, and
// Fallback never fails.
type Keeper struct {
	kv     store.KV
	maxAge time.Duration
	now    func() time.Time
	recent *recent
}

// Option changes a Keeper.
type Option func(*Keeper)

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(k *Keeper) { k.now = now } }

// New keeps answers in kv for maxAge; 0 keeps nothing (stale-if-error off).
// The Keeper owns kv: Close closes it.
func New(kv store.KV, maxAge time.Duration, opts ...Option) *Keeper {
	k := &Keeper{kv: kv, maxAge: maxAge, now: time.Now, recent: newRecent()}
	for _, o := range opts {
		o(k)
	}
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
// quarter of maxAge has passed. answer is copied.
func (k *Keeper) Put(caller string, fetched time.Time, answer []byte, version uint64) {
	if !k.Enabled() || caller == "" || k.recent.unchanged(caller, version, fetched, k.maxAge/4) {
		return
	}
	// The store copies the value (Memory) or writes it out before it
	// returns (Redis), so the time-and-answer buffer is reused.
	bp := buffers.Get().(*[]byte)
	val := binary.BigEndian.AppendUint64((*bp)[:0], uint64(fetched.UnixNano()))
	val = append(val, answer...)
	_ = k.kv.Set(listKey(caller), val, k.maxAge)
	*bp = val[:0]
	buffers.Put(bp)
	k.recent.kept(caller, version, fetched)
}

// Get returns caller's last good answer and its age, when there is one
// younger than maxAge that was fetched after caller's last Drop.
func (k *Keeper) Get(caller string) (answer []byte, age time.Duration, ok bool) {
	if !k.Enabled() || caller == "" {
		return nil, 0, false
	}
	val, err := k.kv.Get(listKey(caller))
	if err != nil || len(val) < timeLen {
		return nil, 0, false
	}
	fetched := int64(binary.BigEndian.Uint64(val))
	age = time.Duration(k.now().UnixNano() - fetched)
	if age >= k.maxAge {
		return nil, 0, false
	}
	// A list whose fetch started before the caller's last rating may lack
	// it: a GET in flight while the rating was made stored it after Drop.
	if mark, err := k.kv.Get(dropKey(caller)); err != nil || (len(mark) == timeLen && fetched <= int64(binary.BigEndian.Uint64(mark))) {
		return nil, 0, false
	}
	return val[timeLen:], max(age, 0), true
}

// Drop forgets caller's answer: the caller changed what the upstream
// answers (a rating), so the kept answer would show them the past. It also
// marks the time, for maxAge, so that an answer fetched before now and
// stored after it (a list in flight) is never served.
func (k *Keeper) Drop(caller string) {
	if !k.Enabled() || caller == "" {
		return
	}
	k.recent.forget(caller)
	_ = k.kv.Set(dropKey(caller), binary.BigEndian.AppendUint64(nil, uint64(k.now().UnixNano())), k.maxAge)
	_ = k.kv.Delete(listKey(caller))
}

// Close closes the store.
func (k *Keeper) Close() error { return k.kv.Close() }

// listKey and dropKey hash the caller, so no caller-chosen string becomes
// a store key.
func listKey(caller string) string { return key("stale:list:", caller) }
func dropKey(caller string) string { return key("stale:drop:", caller) }

// key is prefix and 128 bits of the caller's SHA-256 in hex, built with
// one allocation.
func key(prefix, caller string) string {
	sum := sha256.Sum256([]byte(caller))
	var buf [64]byte
	return string(hex.AppendEncode(append(buf[:0], prefix...), sum[:16]))
}
