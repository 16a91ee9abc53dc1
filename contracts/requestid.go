package contracts

import (
	"math/rand/v2"

	"github.com/google/uuid"
)

// MaxRequestIDLength is the longest caller-chosen request id that is kept.
const MaxRequestIDLength = 128

// RequestID returns given when it is a sane request id (1–128 characters of
// letters, digits, '-', '_', '.', ':'), else a new random UUID. A sane id is
// safe to echo in headers, bodies and logs.
func RequestID(given string) string {
	if SaneRequestID(given) {
		return given
	}
	return newRequestID()
}

// newRequestID is a version 4 UUID from the runtime's per-thread ChaCha8
// generator (math/rand/v2), seeded by the operating system: a request id
// must be unique, not secret (every answer shows it), and crypto/rand would
// cost a system call per request where the kernel has no vDSO getrandom.
func newRequestID() string {
	var id uuid.UUID
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		id[i], id[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id.String()
}

// SaneRequestID reports whether id may be echoed as it is.
func SaneRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}
