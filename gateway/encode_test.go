package gateway

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/perf/fixture"
)

// checkSameAsJSON fails when the hand encoder and json.Marshal disagree:
// both must succeed with the same bytes, or the hand encoder must decline.
func checkSameAsJSON(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, ok := appendJSON(nil, v)
	switch {
	case !ok && werr == nil:
		t.Errorf("appendJSON(%#v) declined, json.Marshal = %s", v, want)
	case ok && werr != nil:
		t.Errorf("appendJSON(%#v) = %s, json.Marshal fails: %v", v, got, werr)
	case ok && !bytes.Equal(got, want):
		t.Errorf("appendJSON(%#v) =\n%s\nwant\n%s", v, got, want)
	}
}

func TestEncodeMatchesJSON(t *testing.T) {
	fixed, err := fixture.RatingList()
	if err != nil {
		t.Fatal(err)
	}
	var list contracts.RatingList
	if err := json.Unmarshal(fixed, &list); err != nil {
		t.Fatal(err)
	}
	oslo := time.FixedZone("CET", 3600)
	odd := time.FixedZone("odd", 3600+30)
	tests := []struct {
		name string
		v    any
	}{
		{name: "fixture list", v: list},
		{name: "fixture list pointer", v: &list},
		{name: "empty list", v: contracts.RatingList{Items: []contracts.RatingItem{}}},
		{name: "nil items", v: contracts.RatingList{}},
		{name: "escapes", v: contracts.UsernameCheck{Username: "a\"b\\c</script>&\b\f\n\r\t\x00\x1f\x7f", Message: "\u2028\u2029é😀\xff\xfe"}},
		{name: "floats", v: contracts.RatingList{Total: 1, Items: []contracts.RatingItem{{ServiceRating: 1e-7}}}},
		{name: "large float", v: contracts.RatingList{Total: 1, Items: []contracts.RatingItem{{ServiceRating: 1e21}}}},
		{name: "negative zero", v: contracts.RatingList{Total: 1, Items: []contracts.RatingItem{{ServiceRating: math.Copysign(0, -1)}}}},
		{name: "NaN declines", v: contracts.RatingList{Total: 1, Items: []contracts.RatingItem{{ServiceRating: math.NaN()}}}},
		{name: "zone and nanos", v: contracts.RatingList{Total: 1, Items: []contracts.RatingItem{{RatedAt: time.Date(2025, 1, 2, 3, 4, 5, 600, oslo)}}}},
		{name: "zone with seconds", v: contracts.RatingList{Total: 1, Items: []contracts.RatingItem{{RatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, odd)}}}},
		{name: "year 10000 declines", v: contracts.RatingList{Total: 1, Items: []contracts.RatingItem{{RatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSameAsJSON(t, tt.v) })
	}
	if b, ok := appendJSON(nil, map[string]int{"a": 1}); ok {
		t.Errorf("appendJSON(map) = %s, want declined (json.Marshal's job)", b)
	}
}

// FuzzEncodeMatchesJSON holds the hand encoder to json.Marshal's bytes for
// any string, number, time and zone.
func FuzzEncodeMatchesJSON(f *testing.F) {
	f.Add("ola.nordmann", "Grei pris <b>&</b>", 4.0, int64(122), int64(1764615370), int64(0), 0, true)
	f.Add("\u2028\x00\xff", "\\\"", 1e-9, int64(-1), int64(-62135596800), int64(999999999), 3600, false)
	f.Add("é", "", 1e21, int64(math.MaxInt64), int64(253402300799), int64(1), -34200, true)
	f.Fuzz(func(t *testing.T, s1, s2 string, rating float64, id, sec, nsec int64, offset int, flag bool) {
		zone := time.FixedZone("z", offset%(48*3600))
		at := time.Unix(sec, nsec).In(zone)
		item := contracts.RatingItem{
			BookingID: id, WorkshopOrgNr: s1, WorkshopName: s2, ServiceID: -id, ServiceTitle: s2 + s1,
			RegistrationNumber: s1, Status: s2, ServiceStartTime: at, ServiceEstimatedEndTime: at.Add(time.Hour),
			ServiceActualEndTime: at.UTC(), ServiceRating: rating, ServiceRatingMessage: s2,
			PrivateServiceRating: flag, RatedAt: at,
		}
		checkSameAsJSON(t, contracts.RatingList{Total: int(id), Items: []contracts.RatingItem{item, item}})
		checkSameAsJSON(t, contracts.UsernameCheck{Username: s1, Available: flag, Message: s2})
	})
}
