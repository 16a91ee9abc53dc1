package contracts

import (
	"time"
	"unicode/utf8"
)

// errorBodyFixed is the length of an error body's fixed text: its
// punctuation, names and quotes, and a generated_at of RFC 3339 in UTC
// to the second.
const errorBodyFixed = len(`{"error":{"code":"","message":""},"meta":{"request_id":"","generated_at":"2006-01-02T15:04:05Z"}}`)

// AppendError appends the JSON of NewError(requestID, code, message, now)
// to dst, byte for byte what encoding/json writes for it, without
// reflection: the gateway writes an error body on every refusal, an open
// breaker's included, and this is its only allocation.
func AppendError(dst []byte, requestID, code, message string, now time.Time) []byte {
	// Room for the whole body unless something needs escaping: one
	// allocation, not a regrowth midway.
	if need := errorBodyFixed + len(code) + len(message) + len(requestID); cap(dst)-len(dst) < need {
		// Not slices.Grow: under -race its append of a made slice
		// allocates the made slice too.
		dst = append(make([]byte, 0, len(dst)+need), dst...)
	}
	dst = append(dst, `{"error":{"code":`...)
	dst = appendJSONString(dst, code)
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, message)
	dst = append(dst, `},"meta":{"request_id":`...)
	dst = appendJSONString(dst, requestID)
	dst = append(dst, `,"generated_at":"`...)
	dst = now.UTC().Truncate(time.Second).AppendFormat(dst, time.RFC3339)
	return append(dst, `"}}`...)
}

// AppendUsernameCheck appends the JSON of a, byte for byte what
// encoding/json writes for it, without reflection: a cached username check
// is answered with this and nothing else.
func AppendUsernameCheck(dst []byte, a UsernameCheck) []byte {
	dst = append(dst, `{"username":`...)
	dst = appendJSONString(dst, a.Username)
	if a.Available {
		dst = append(dst, `,"available":true,"message":`...)
	} else {
		dst = append(dst, `,"available":false,"message":`...)
	}
	dst = appendJSONString(dst, a.Message)
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way encoding/json does:
// HTML-sensitive characters, U+2028 and U+2029 escaped, invalid UTF-8 as
// U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = appendASCII(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

func appendASCII(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	if c < 0x20 || c == '<' || c == '>' || c == '&' {
		return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
	}
	return append(dst, c)
}
