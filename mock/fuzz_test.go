package mock

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/header"
)

var bookingIDPattern = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)

// FuzzBookingID checks the booking-id parser the mock routes with: it
// accepts exactly ^[1-9][0-9]{0,18}$ within int64, and an accepted id
// round-trips to the same digits.
func FuzzBookingID(f *testing.F) {
	for _, s := range []string{
		"123", "1", "0", "-1", "+1", "007", "12.5", "1e3", " 1", "1 ", "abc", "",
		"9223372036854775807", "9223372036854775808", "9999999999999999999",
		"12345678901234567890", "%31", "..%2F..%2Fadmin", "１２３", "123\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := contracts.ParseBookingID(s)
		_, overflow := strconv.ParseInt(s, 10, 64)
		want := bookingIDPattern.MatchString(s) && overflow == nil
		if (err == nil) != want {
			t.Fatalf("ParseBookingID(%q) = %d, %v; want accepted %v", s, id, err, want)
		}
		if err == nil && (id < 1 || strconv.FormatInt(id, 10) != s) {
			t.Fatalf("ParseBookingID(%q) = %d, which does not round-trip", s, id)
		}
	})
}

// FuzzFaultHeaders checks the fault-header parsers never panic and only
// return what the mock can act on.
func FuzzFaultHeaders(f *testing.F) {
	for _, s := range []string{
		"code=503", "return=minimal, code=500", `code="502"`, "code=200", "code=abc",
		"CODE=404;x=y", "code=", "code=5033", "800ms", "800", "-5ms", "1h", "soon", "",
		"99999999999999999999", "1e3ms",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if code, err := preferredCode([][]byte{[]byte(s)}); err == nil && code != 0 && (code < 100 || code > 599) {
			t.Fatalf("preferredCode(%q) = %d, want 0 or a status code", s, code)
		}
		if d, err := parseDelay(s); err == nil && (d < 0 || d > MaxDelay) {
			t.Fatalf("parseDelay(%q) = %s, want 0..%s", s, d, MaxDelay)
		}
	})
}

// FuzzAuthorization checks the Authorization reader: an accepted token is
// non-empty visible ASCII without spaces, and reading a subject never
// panics.
func FuzzAuthorization(f *testing.F) {
	for _, s := range []string{
		"Bearer abc", "bearer abc", "Bearer ", "Bearer", "Basic dXNlcg==", "Bearer a b",
		"Bearer " + unsignedJWT("user-1"), "Bearer a.b.c", "Bearer abc==", "Bearer ab=c", "Bearer \x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := header.Bearer([]string{s}, header.Opaque)
		if err != nil {
			return
		}
		if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
			t.Fatalf("header.Bearer(%q) = %q", s, tok)
		}
		if sub, ok := jwtSubject(tok); ok && sub == "" {
			t.Fatalf("jwtSubject(%q) = empty subject", tok)
		}
	})
}
