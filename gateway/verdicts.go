package gateway

import (
	"hash/maphash"
	"strconv"
	"sync/atomic"
)

// verdictSlots is the size of the verdict cache (a power of two): 4096
// slots of 8 bytes.
const verdictSlots = 1 << 12

// verdicts remembers upstream answers that passed the contract, by a keyed
// 64-bit hash of everything validation reads (operation, status, content
// type, Retry-After, body), so that an answer byte-identical to one already
// validated is not decoded and walked against the schema again. Only passes
// are remembered: a violating answer is validated, counted and (the first
// time) logged on every occurrence, exactly as without the cache. The seed
// is random per process, so an upstream cannot aim for a collision. The
// cache is direct-mapped and lock-free: a newer answer simply evicts the
// one in its slot. The zero value is not usable; use newVerdicts.
type verdicts struct {
	seed  maphash.Seed
	slots [verdictSlots]atomic.Uint64
}

func newVerdicts() *verdicts { return &verdicts{seed: maphash.MakeSeed()} }

// key hashes one answer; it is never 0, the value of an empty slot.
func (v *verdicts) key(operation string, status int, contentType, retryAfter string, body []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(v.seed)
	var num [20]byte
	_, _ = h.WriteString(operation)
	_ = h.WriteByte(0)
	_, _ = h.Write(strconv.AppendInt(num[:0], int64(status), 10))
	_ = h.WriteByte(0)
	_, _ = h.WriteString(contentType)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(retryAfter)
	_ = h.WriteByte(0)
	_, _ = h.Write(body)
	return h.Sum64() | 1
}

// passed reports whether the answer with key k passed before.
func (v *verdicts) passed(k uint64) bool { return v.slots[k&(verdictSlots-1)].Load() == k }

// pass remembers that the answer with key k passed.
func (v *verdicts) pass(k uint64) { v.slots[k&(verdictSlots-1)].Store(k) }
