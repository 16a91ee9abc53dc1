package stale

import (
	"testing"
	"time"

	"github.com/minbil/minbil-bff/gateway/store"
)

// countingKV counts the lists written to it.
type countingKV struct {
	store.KV
	sets int
}

func (c *countingKV) Set(key string, val []byte, exp time.Duration) error {
	c.sets++
	return c.KV.Set(key, val, exp)
}

// TestUnchangedListIsNotCopiedAgain: a caller polling the same list (the
// same version from the memo) is written once per quarter of maxAge, a
// changed or unnamed list at once, and after a Drop the next list is kept.
func TestUnchangedListIsNotCopiedAgain(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	kv := &countingKV{KV: store.NewBounded(1 << 20)}
	k := New(kv, 4*time.Minute, WithClock(func() time.Time { return now }))
	list, other := []byte(`{"total":0,"items":[]}`), []byte(`{"total":1,"items":[{}]}`)
	tests := []struct {
		name     string
		advance  time.Duration
		answer   []byte
		version  uint64
		drop     bool
		wantSets int
	}{
		{name: "first list", answer: list, version: 1, wantSets: 1},
		{name: "same version soon after", advance: 10 * time.Second, answer: list, version: 1, wantSets: 1},
		{name: "same version after a quarter of maxAge", advance: time.Minute, answer: list, version: 1, wantSets: 2},
		{name: "another version", advance: time.Second, answer: other, version: 2, wantSets: 3},
		{name: "unnamed answer", advance: time.Second, answer: other, version: 0, wantSets: 4},
		{name: "unnamed answer again", advance: time.Second, answer: other, version: 0, wantSets: 5},
		// The rating's drop-mark is this process's own (no write), and a
		// list fetched in the rating's instant may lack it: not kept.
		{name: "in the instant of a rating", advance: time.Second, answer: other, version: 2, drop: true, wantSets: 5},
		{name: "the same version after the rating", advance: time.Second, answer: other, version: 2, wantSets: 6},
	}
	for _, tt := range tests {
		now = now.Add(tt.advance)
		if tt.drop {
			k.Drop("caller")
		}
		k.Put("caller", now, tt.answer, tt.version)
		if kv.sets != tt.wantSets {
			t.Errorf("%s: %d writes, want %d", tt.name, kv.sets, tt.wantSets)
		}
		if got, _, ok := k.Get("caller"); tt.drop || !ok || string(got) != string(tt.answer) {
			if !tt.drop {
				t.Errorf("%s: Get = %s, %v; want %s", tt.name, got, ok, tt.answer)
			}
		}
	}
}
