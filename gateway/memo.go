package gateway

import (
	"bytes"
	"hash/maphash"
	"sync/atomic"
	"time"
)

// memoSlots is the number of answers a memo remembers (a power of two).
const memoSlots = 1 << 8

// memoMaxBody is the largest body remembered: with its cleaned answer at
// most as large, a memo never holds more than memoSlots × 2 × memoMaxBody =
// 8 MiB, whatever the upstream sends (0.95 MB lists from 400 callers once
// grew an unbounded memo to 700 MB). A list of 30 ratings is about 14 KB;
// larger answers are judged every time.
const memoMaxBody = 16 << 10

// memoTTL is how long an entry is used: a verdict is a pure function of its
// key, so this only bounds how long memory is held by an answer nobody asks
// for any more.
const memoTTL = 5 * time.Minute

// answerKey is everything a verdict on an answer, and the answer cleaned
// from it, depend on.
type answerKey struct {
	// op is the operation the answer is to (the upstream pipeline) or the
	// request's method and URI (the gateway's own answers).
	op     string
	status int
	// header holds the values of checkedHeaders, in their order.
	header [len(checkedHeaders)]string
	body   []byte
}

// checkedHeaders are the answer headers the contract names, besides
// X-Request-ID, which differs on every answer and is always the gateway's.
var checkedHeaders = [...]string{"Content-Type", "Retry-After", "WWW-Authenticate"}

// judged is what the gateway made of one answer: the drift watch's verdict
// and, for a 2xx upstream answer, the answer cleaned to what the contract
// names.
type judged struct {
	key answerKey
	// id names this entry; no other entry of the process ever has it, so
	// "the same id" means "the same bytes" without comparing them (the
	// stale keeper's test for an unchanged list). 0 is an answer that was
	// not remembered.
	id uint64
	// violations is the number of ways the answer breaks the contract; 0
	// when it passed or was not checked.
	violations int
	// clean is the cleaned answer's bytes (the rating list); value is the
	// cleaned, decoded answer (check-username, rateBooking, rendered per
	// request and never remembered).
	clean []byte
	value any
	// err is set when a 2xx answer is unusable (not JSON).
	err    error
	stored int64
}

// memo remembers, for recent answers, what the gateway made of them, so
// that a byte-identical answer (a frontend polling its list) costs no
// decoding, validation or encoding. A hit compares the whole key, body
// bytes included, never just its hash, so one caller's answer can never be
// served for another's. It is direct-mapped and lock-free: a newer answer
// evicts the one in its slot.
type memo struct {
	seed  maphash.Seed
	slots [memoSlots]atomic.Pointer[judged]
	ids   atomic.Uint64
}

func newMemo() *memo { return &memo{seed: maphash.MakeSeed()} }

func (m *memo) slot(k *answerKey) *atomic.Pointer[judged] {
	// Two one-shot hashes: a maphash.Hash streams the body through its
	// 128-byte buffer, several times slower for a list.
	h := maphash.Bytes(m.seed, k.body) ^ maphash.String(m.seed, k.op) ^ uint64(k.status)
	return &m.slots[h&(memoSlots-1)]
}

// get returns what was made of the answer k, if remembered since now-memoTTL.
func (m *memo) get(k *answerKey, now time.Time) *judged {
	e := m.slot(k).Load()
	if e == nil || now.UnixNano()-e.stored >= int64(memoTTL) || !e.key.equal(k) {
		return nil
	}
	return e
}

// put remembers j, unless its body or cleaned answer is larger than
// memoMaxBody or it holds a decoded value; neither may be modified
// afterwards.
func (m *memo) put(j *judged, now time.Time) {
	if len(j.key.body) > memoMaxBody || len(j.clean) > memoMaxBody || j.value != nil {
		return
	}
	j.id = m.ids.Add(1)
	j.stored = now.UnixNano()
	m.slot(&j.key).Store(j)
}

func (k *answerKey) equal(o *answerKey) bool {
	return k.op == o.op && k.status == o.status && k.header == o.header && bytes.Equal(k.body, o.body)
}
