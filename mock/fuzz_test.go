package mock

import (
	"bytes"
	"os"
	"path/filepath"
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

// FuzzStateLoad feeds arbitrary bytes to the state file's reader and
// loader. Neither may panic; a file they accept must keep its promises: no
// two owners share an id prefix, the bytes counted are the records' costs,
// every owner builds with its bookings ordered by unique ids, and the
// snapshot the mock compacts it into loads to the same records (a
// compaction loses nothing).
func FuzzStateLoad(f *testing.F) {
	for _, seed := range stateSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := parseState(data)
		if err != nil {
			return
		}
		world, _, _ := shares(DefaultMaxBytes)
		st := newStore(sf.snap.Seed, world)
		if err := st.load(sf); err != nil {
			return
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		var counted int64
		for key, rec := range st.records {
			counted += recordCost(rec)
			if holder, ok := st.prefixes[rec.Prefix]; !rec.Demo && (!ok || holder != key) {
				t.Fatalf("owner %.12s: prefix %d held by %.12s", key, rec.Prefix, holder)
			}
		}
		if counted != st.recordBytes {
			t.Fatalf("records cost %d, the store counts %d", counted, st.recordBytes)
		}
		built := 0
		for key, rec := range st.records {
			if built++; built > 3 {
				break
			}
			o := st.ownerLocked(key, rec.Demo)
			for i := 1; i < len(o.Bookings); i++ {
				if o.Bookings[i-1].ID >= o.Bookings[i].ID {
					t.Fatalf("owner %.12s: bookings %d and %d out of order", key, o.Bookings[i-1].ID, o.Bookings[i].ID)
				}
			}
		}
		snap, err := st.snapshotLocked()
		if err != nil {
			t.Fatalf("snapshot of a loaded state: %v", err)
		}
		again, err := parseState(snap)
		if err != nil {
			t.Fatalf("the compacted file does not parse: %v\n%s", err, snap)
		}
		st2 := newStore(again.snap.Seed, world)
		if err := st2.load(again); err != nil {
			t.Fatalf("the compacted file does not load: %v\n%s", err, snap)
		}
		snap2, err := st2.snapshotLocked()
		if err != nil || !bytes.Equal(snap, snap2) {
			t.Fatalf("a compaction changed the state:\n%s\nbecame\n%s", snap, snap2)
		}
	})
}

// stateSeeds are state files worth starting from: the version 1 file of
// testdata, a journal with every kind of change, and a torn last line.
func stateSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	v1, err := os.ReadFile(filepath.Join("testdata", "state-v1", "state.json"))
	if err != nil {
		tb.Fatal(err)
	}
	key, demo := ownerKey("fuzz"), ownerKey(demoIdentity)
	snap := `{"version":2,"seed":5,"owners":[{"key":"` + key + `","prefix":42,"scenario":"every-state"}]}` + "\n"
	rate := `{"op":"rate","key":"` + demo + `","demo":true,"booking":{"id":123,"workshop_org_nr":"921460929","workshop_name":"Bilservice Bergen AS","service_id":1001,"service_title":"EU-kontroll","registration_number":"BT57225","status":"completed","start":"2026-01-22T07:00:00Z","estimated_end":"2026-01-22T08:00:00Z","actual_end":"2026-01-22T08:15:00Z","rating":{"stars":5,"message":"Bra.","private":true,"rated_at":"2026-02-12T10:00:00Z"}},"idempotency":{"key_hash":"` + strings.Repeat("ab", 32) + `","fingerprint":"` + strings.Repeat("cd", 32) + `","data":{"booking_id":123,"service_rating":5,"service_rating_message":"Bra.","private_service_rating":true,"rated_at":"2026-02-12T10:00:00Z"}}}` + "\n"
	scenario := `{"op":"scenario","key":"` + key + `","prefix":42,"scenario":"many"}` + "\n"
	idpKey := `{"op":"idp_key","idp_key":"-----BEGIN PRIVATE KEY-----"}` + "\n"
	return [][]byte{
		v1,
		[]byte(snap),
		[]byte(snap + rate + scenario + idpKey),
		[]byte(snap + rate + `{"op":"rate","key":"` + demo),
		[]byte(snap + scenario + `{"op":"scenario","key":"` + key + `","prefix":43,"scenario":"empty"}` + "\n"),
		[]byte(`{"version":1,"seed":7,"owners":[]}`),
	}
}

// TestStateSeedsLoad keeps FuzzStateLoad's seeds useful: all but the one
// that changes an owner's prefix load.
func TestStateSeedsLoad(t *testing.T) {
	world, _, _ := shares(DefaultMaxBytes)
	for i, seed := range stateSeeds(t) {
		sf, err := parseState(seed)
		if err == nil {
			err = newStore(sf.snap.Seed, world).load(sf)
		}
		if refused := err != nil; refused != (i == 4) {
			t.Errorf("seed %d: load = %v, want refused %v", i, err, i == 4)
		}
	}
}
