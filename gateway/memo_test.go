package gateway

import (
	"fmt"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts/contractstest"
)

func TestMemo(t *testing.T) {
	now := time.Now()
	m := newMemo()
	body := []byte(`{"total":0,"items":[]}`)
	stored := &judged{key: answerKey{op: "listRatings", status: 200, header: [3]string{"application/json"}, body: body}, clean: []byte("clean")}
	m.put(stored, now)
	tests := []struct {
		name    string
		key     answerKey
		at      time.Time
		wantHit bool
	}{
		{"the same answer", answerKey{op: "listRatings", status: 200, header: [3]string{"application/json"}, body: []byte(`{"total":0,"items":[]}`)}, now, true},
		{"other bytes", answerKey{op: "listRatings", status: 200, header: [3]string{"application/json"}, body: []byte(`{"total":0,"items":[] }`)}, now, false},
		{"another status", answerKey{op: "listRatings", status: 201, header: [3]string{"application/json"}, body: body}, now, false},
		{"another operation", answerKey{op: "checkUsername", status: 200, header: [3]string{"application/json"}, body: body}, now, false},
		{"another content type", answerKey{op: "listRatings", status: 200, header: [3]string{"text/plain"}, body: body}, now, false},
		{"a Retry-After", answerKey{op: "listRatings", status: 200, header: [3]string{"application/json", "5"}, body: body}, now, false},
		{"after the memo's lifetime", answerKey{op: "listRatings", status: 200, header: [3]string{"application/json"}, body: body}, now.Add(memoTTL), false},
	}
	for _, tt := range tests {
		got := m.get(&tt.key, tt.at)
		if (got != nil) != tt.wantHit || (got != nil && got != stored) {
			t.Errorf("get(%s) = %v, want hit %v", tt.name, got, tt.wantHit)
		}
	}
	// Fill every slot many times over: an answer is only ever found with
	// its own judgement, and every entry has an id of its own.
	ids := map[uint64]bool{stored.id: true}
	for i := 0; i < 4*memoSlots; i++ {
		j := &judged{key: answerKey{op: "listRatings", status: 200, body: []byte(fmt.Sprint(i))}, clean: []byte(fmt.Sprint("clean-", i))}
		m.put(j, now)
		if ids[j.id] || j.id == 0 {
			t.Fatalf("entry %d got id %d, already given or 0", i, j.id)
		}
		ids[j.id] = true
	}
	for i := 0; i < 4*memoSlots; i++ {
		k := answerKey{op: "listRatings", status: 200, body: []byte(fmt.Sprint(i))}
		if got := m.get(&k, now); got != nil && string(got.clean) != fmt.Sprint("clean-", i) {
			t.Fatalf("body %d answered with %q", i, got.clean)
		}
	}
}

// TestMemoIsBoundedInBytes: however large and many the upstream's lists,
// the memo holds at most memoSlots entries of at most memoMaxBody bytes of
// body and as many of cleaned answer; decoded values (rendered per
// request) are never held.
func TestMemoIsBoundedInBytes(t *testing.T) {
	now := time.Now()
	m := newMemo()
	big := make([]byte, memoMaxBody+1)
	for i := 0; i < 2*memoSlots; i++ {
		body := append([]byte(fmt.Sprint(i)), big...)
		for _, j := range []*judged{
			{key: answerKey{op: "listRatings", body: body}},
			{key: answerKey{op: "listRatings", body: []byte(fmt.Sprint(i))}, clean: body},
			{key: answerKey{op: "rateBooking", body: []byte(fmt.Sprint(i))}, value: map[string]any{}},
		} {
			m.put(j, now)
			if m.get(&j.key, now) != nil {
				t.Fatalf("an entry with a %d-byte body, %d-byte answer or a value was remembered", len(j.key.body), len(j.clean))
			}
		}
	}
	for i := range m.slots {
		if e := m.slots[i].Load(); e != nil {
			t.Fatalf("memo holds an oversized entry in slot %d", i)
		}
	}
}

// BenchmarkMemoHit is the memo's part of an answer seen before: finding a
// 1.5 KB list and comparing it whole.
func BenchmarkMemoHit(b *testing.B) {
	list, err := contractstest.RatingList()
	if err != nil {
		b.Fatal(err)
	}
	m := newMemo()
	now := time.Now()
	m.put(&judged{key: answerKey{op: "listRatings", status: 200, header: [3]string{"application/json"}, body: list}, clean: list}, now)
	k := answerKey{op: "listRatings", status: 200, header: [3]string{"application/json"}, body: append([]byte(nil), list...)}
	b.ReportAllocs()
	for b.Loop() {
		if m.get(&k, now) == nil {
			b.Fatal("miss")
		}
	}
}
