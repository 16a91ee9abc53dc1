package gateway

import (
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/minbil/minbil-bff/contracts"
)

// The answers the gateway writes on every request (the rating list and the
// check-username answer) are encoded by hand instead of by encoding/json's
// reflection, which spent more time than everything else in a forwarded
// list. The output is byte-for-byte what json.Marshal gives, escaping
// included (FuzzEncodeMatchesJSON holds them together); whatever the hand
// encoder cannot encode identically (NaN, a year outside 0–9999) makes it
// report !ok so the caller falls back to json.Marshal and its error.

// encodeBuffers recycles the scratch buffers of the hand encoders; the
// response keeps its own copy.
var encodeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// appendJSON appends v's JSON when v is one of the hand-encoded answers.
func appendJSON(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case contracts.RatingList:
		return appendRatingList(b, &v)
	case *contracts.RatingList:
		return appendRatingList(b, v)
	case contracts.UsernameCheck:
		return appendUsernameCheck(b, &v), true
	}
	return b, false
}

func appendUsernameCheck(b []byte, u *contracts.UsernameCheck) []byte {
	b = append(b, `{"username":`...)
	b = appendString(b, u.Username)
	b = append(b, `,"available":`...)
	b = strconv.AppendBool(b, u.Available)
	b = append(b, `,"message":`...)
	b = appendString(b, u.Message)
	return append(b, '}')
}

func appendRatingList(b []byte, l *contracts.RatingList) ([]byte, bool) {
	b = append(b, `{"total":`...)
	b = strconv.AppendInt(b, int64(l.Total), 10)
	b = append(b, `,"items":`...)
	if l.Items == nil {
		return append(b, "null}"...), true
	}
	b = append(b, '[')
	for i := range l.Items {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendRatingItem(b, &l.Items[i]); !ok {
			return b, false
		}
	}
	return append(b, "]}"...), true
}

func appendRatingItem(b []byte, it *contracts.RatingItem) ([]byte, bool) {
	ok := true
	b = append(b, `{"booking_id":`...)
	b = strconv.AppendInt(b, it.BookingID, 10)
	b = append(b, `,"workshop_org_nr":`...)
	b = appendString(b, it.WorkshopOrgNr)
	b = append(b, `,"workshop_name":`...)
	b = appendString(b, it.WorkshopName)
	b = append(b, `,"service_id":`...)
	b = strconv.AppendInt(b, it.ServiceID, 10)
	b = append(b, `,"service_title":`...)
	b = appendString(b, it.ServiceTitle)
	b = append(b, `,"registration_number":`...)
	b = appendString(b, it.RegistrationNumber)
	b = append(b, `,"status":`...)
	b = appendString(b, it.Status)
	b = append(b, `,"service_start_time":`...)
	b, ok = appendTime(b, it.ServiceStartTime, ok)
	b = append(b, `,"service_estimated_end_time":`...)
	b, ok = appendTime(b, it.ServiceEstimatedEndTime, ok)
	b = append(b, `,"service_actual_end_time":`...)
	b, ok = appendTime(b, it.ServiceActualEndTime, ok)
	b = append(b, `,"service_rating":`...)
	b, ok = appendFloat(b, it.ServiceRating, ok)
	b = append(b, `,"service_rating_message":`...)
	b = appendString(b, it.ServiceRatingMessage)
	b = append(b, `,"private_service_rating":`...)
	b = strconv.AppendBool(b, it.PrivateServiceRating)
	b = append(b, `,"rated_at":`...)
	b, ok = appendTime(b, it.RatedAt, ok)
	return append(b, '}'), ok
}

// appendTime appends t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds, quoted); it reports !ok where MarshalJSON fails: a year
// that is not four digits, a zone offset of 24 hours or more.
func appendTime(b []byte, t time.Time, ok bool) ([]byte, bool) {
	b = append(b, '"')
	n0 := len(b)
	b = t.AppendFormat(b, time.RFC3339Nano)
	switch {
	case len(b) < n0+len("9999-") || b[n0+len("9999")] != '-':
		return b, false
	case b[len(b)-1] != 'Z':
		c := b[len(b)-len("Z07:00")]
		zh := b[len(b)-len("07:00"):]
		if ('0' <= c && c <= '9') || 10*(zh[0]-'0')+(zh[1]-'0') >= 24 {
			return b, false
		}
	}
	return append(b, '"'), ok
}

// appendFloat appends f as encoding/json does for a float64.
func appendFloat(b []byte, f float64, ok bool) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Like encoding/json: e-09 becomes e-9.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, ok
}

const hexDigits = "0123456789abcdef"

// appendString appends s quoted as encoding/json does with HTML escaping
// (its default): <, > and & as \u003c, \u003e, \u0026; invalid UTF-8 as
// \ufffd; U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
