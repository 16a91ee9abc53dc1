package gateway

import (
	"bytes"
	"hash/maphash"
	"sync/atomic"
)

// memoSlots is the number of answers an answerMemo remembers (a power of two).
const memoSlots = 1 << 8

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
}

func newAnswerMemo() *answerMemo { return &answerMemo{seed: maphash.MakeSeed()} }

func (m *answerMemo) slot(body []byte) *atomic.Pointer[memoEntry] {
	return &m.slots[maphash.Bytes(m.seed, body)&(memoSlots-1)]
}

// get returns the answer rendered from body, if remembered.
func (m *answerMemo) get(body []byte) ([]byte, bool) {
	if e := m.slot(body).Load(); e != nil && bytes.Equal(e.body, body) {
		return e.answer, true
	}
	return nil, false
}

// put remembers answer for body; both must not be modified afterwards.
func (m *answerMemo) put(body, answer []byte) {
	m.slot(body).Store(&memoEntry{body: body, answer: answer})
}
