package gateway

import (
	"bytes"
	"hash/maphash"
	"sync/atomic"
	"time"
)

// memoSlots is the number of answers an answerMemo remembers (a power of two).
const memoSlots = 1 << 8

// memoMaxBody is the largest upstream body remembered: with its rendered
// answer at most twice that per slot, the memo never holds more than
// memoSlots × 2 × memoMaxBody = 16 MiB, whatever the upstream sends (issue
// 13 #4: 0.95 MB lists from 400 callers once grew it to 700 MB). Larger
// answers are rendered every time.
const memoMaxBody = 32 << 10

// memoTTL is how long an entry is used: rendering is a pure function of the
// body, so this only bounds how long memory is held by a list nobody polls.
const memoTTL = 5 * time.Minute

// answerMemo remembers, for recent upstream bodies, the answer the gateway
// rendered from them (decoded into the contract's types, checked, encoded
// again). Rendering is a pure function of the body, so a byte-identical
// body — a frontend polling its list — gets the same bytes without decoding
// and encoding again. A hit compares the whole stored body, never just its
// hash, so one caller's answer can never be served for another's body. It is
// direct-mapped and lock-free: a newer body evicts the one in its slot.
type answerMemo struct {
	seed  maphash.Seed
	slots [memoSlots]atomic.Pointer[memoEntry]
}

type memoEntry struct {
	body, answer []byte
	stored       time.Time
}

func newAnswerMemo() *answerMemo { return &answerMemo{seed: maphash.MakeSeed()} }

func (m *answerMemo) slot(body []byte) *atomic.Pointer[memoEntry] {
	return &m.slots[maphash.Bytes(m.seed, body)&(memoSlots-1)]
}

// get returns the answer rendered from body, if remembered.
func (m *answerMemo) get(body []byte) ([]byte, bool) {
	if e := m.slot(body).Load(); e != nil && bytes.Equal(e.body, body) && time.Since(e.stored) < memoTTL {
		return e.answer, true
	}
	return nil, false
}

// put remembers answer for body unless body is larger than memoMaxBody;
// both must not be modified afterwards.
func (m *answerMemo) put(body, answer []byte) {
	if len(body) > memoMaxBody || len(answer) > memoMaxBody {
		return
	}
	m.slot(body).Store(&memoEntry{body: body, answer: answer, stored: time.Now()})
}
