package record

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/bits"
)

// feistelRounds is the number of rounds of the id permutation; four make a
// Feistel network a pseudo-random permutation (Luby–Rackoff).
const feistelRounds = 4

// permuteID maps a positive id to another id with as many decimal digits,
// bijectively for one salt and kind: two upstream ids never share a fake
// (a hash could), the same id always gets the same fake, so a booking id
// lines up between the list and the rating fixtures of a recording, and a
// fake of a JavaScript-safe id stays JavaScript-safe. It is a Feistel
// network over the smallest even number of bits that holds the ids of that
// many digits, walked until it lands in range (cycle walking). v must be
// at least 1.
func permuteID(salt []byte, kind string, v int64) int64 {
	n := decimalDigits(v)
	lo := int64(1)
	for range n - 1 {
		lo *= 10
	}
	hi := int64(math.MaxInt64)
	if n < 19 {
		hi = lo*10 - 1
	}
	size := uint64(hi-lo) + 1
	half := (bits.Len64(size-1) + 1) / 2
	if half == 0 {
		return v
	}
	x := uint64(v - lo)
	for {
		x = feistel(salt, kind, n, half, x)
		if x < size {
			return lo + int64(x)
		}
	}
}

// feistel is one pass of a balanced Feistel network on 2*half bits.
func feistel(salt []byte, kind string, digits, half int, x uint64) uint64 {
	mask := uint64(1)<<half - 1
	left, right := x>>half&mask, x&mask
	var msg [3 + 8]byte
	msg[0], msg[1] = byte(digits), byte(half)
	for r := range feistelRounds {
		m := hmac.New(sha256.New, salt)
		m.Write([]byte("id\x00" + kind + "\x00"))
		msg[2] = byte(r)
		binary.BigEndian.PutUint64(msg[3:], right)
		m.Write(msg[:])
		f := binary.BigEndian.Uint64(m.Sum(nil)[:8])
		left, right = right, (left^f)&mask
	}
	return left<<half | right
}

func decimalDigits(v int64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}
