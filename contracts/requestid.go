package contracts

import "github.com/google/uuid"

// MaxRequestIDLength is the longest caller-chosen request id that is kept.
const MaxRequestIDLength = 128

// RequestID returns given when it is a sane request id (1–128 characters of
// letters, digits, '-', '_', '.', ':'), else a new random UUID. A sane id is
// safe to echo in headers, bodies and logs.
func RequestID(given string) string {
	if SaneRequestID(given) {
		return given
	}
	return uuid.NewString()
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
