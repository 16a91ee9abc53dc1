package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/contractstest"
)

// perCallerList is the rating list of the upstream's -vary mode: the
// fixture's list with each item's booking id and rating derived from a
// hash of the caller's Authorization header, so that every caller gets a
// list of its own (a gateway's answer memo cannot serve one caller's list
// to the next) while one caller always gets the same one, as from a real
// upstream. The list is built once as a template with fixed-width slots
// for those values; an answer is a copy of the template with the slots
// filled, so the upstream costs no more per request than with one fixed
// body.
type perCallerList struct {
	template []byte
	// ids are the offsets of the nine-digit booking ids, ratings of the
	// one-digit ratings, one per item.
	ids, ratings []int
}

// Booking ids are drawn from [minID, minID+idSpan): nine digits each, so
// every caller's list has the template's length.
const (
	minID  = 100_000_000
	idSpan = 900_000_000
)

func newPerCallerList() (*perCallerList, error) {
	raw, err := contractstest.RatingList()
	if err != nil {
		return nil, err
	}
	var list contracts.RatingList
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("per-caller list: %w", err)
	}
	for i := range list.Items {
		list.Items[i].BookingID = minID
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("per-caller list: %w", err)
	}
	// Nine-digit ids make the body longer than the fixture's; the last
	// item's message (the fixture's padding) gives the bytes back.
	last := &list.Items[len(list.Items)-1]
	if extra := len(b) - len(raw); extra > 0 && extra <= len(last.ServiceRatingMessage) {
		last.ServiceRatingMessage = last.ServiceRatingMessage[:len(last.ServiceRatingMessage)-extra]
		if b, err = json.Marshal(list); err != nil {
			return nil, fmt.Errorf("per-caller list: %w", err)
		}
	}
	l := &perCallerList{template: b}
	l.ids = valueOffsets(b, `"booking_id":`, 9)
	l.ratings = valueOffsets(b, `"service_rating":`, 1)
	if len(l.ids) != len(list.Items) || len(l.ratings) != len(list.Items) {
		return nil, fmt.Errorf("per-caller list: %d booking ids and %d ratings of the expected width in %d items",
			len(l.ids), len(l.ratings), len(list.Items))
	}
	return l, nil
}

// valueOffsets returns where the value after each occurrence of key
// starts, for the values that are width digits long.
func valueOffsets(b []byte, key string, width int) []int {
	var out []int
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(key))
		if j < 0 {
			return out
		}
		at := i + j + len(key)
		if n := digitsAt(b, at); n == width {
			out = append(out, at)
		}
		i = at
	}
}

func digitsAt(b []byte, at int) int {
	n := 0
	for at+n < len(b) && b[at+n] >= '0' && b[at+n] <= '9' {
		n++
	}
	return n
}

// fill writes caller's values into dst, a copy of the template.
func (l *perCallerList) fill(dst, caller []byte) {
	h := fnv1a(caller)
	for i := range l.ids {
		x := splitmix(h + uint64(i))
		putDigits(dst[l.ids[i]:l.ids[i]+9], minID+x%idSpan)
		putDigits(dst[l.ratings[i]:l.ratings[i]+1], 1+(x>>32)%5)
	}
}

// putDigits writes v's decimal digits right-aligned into dst.
func putDigits(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

func fnv1a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// splitmix spreads the bits of x, so that the items of one caller, hashed
// from neighbouring inputs, get unrelated values.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
