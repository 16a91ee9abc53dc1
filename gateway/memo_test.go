package gateway

import (
	"fmt"
	"testing"
)

func TestAnswerMemo(t *testing.T) {
	m := newAnswerMemo()
	a := []byte(`{"total":0,"items":[]}`)
	m.put(a, []byte("answer-a"))
	tests := []struct {
		name   string
		body   []byte
		want   string
		wantOK bool
	}{
		{"the same bytes", []byte(`{"total":0,"items":[]}`), "answer-a", true},
		{"other bytes", []byte(`{"total":0,"items":[] }`), "", false},
	}
	for _, tt := range tests {
		got, ok := m.get(tt.body)
		if ok != tt.wantOK || string(got) != tt.want {
			t.Errorf("%s: get = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
	// Fill every slot: a body is only ever answered with its own answer.
	for i := 0; i < 4*memoSlots; i++ {
		m.put([]byte(fmt.Sprint(i)), []byte(fmt.Sprintf("answer-%d", i)))
	}
	for i := 0; i < 4*memoSlots; i++ {
		if got, ok := m.get([]byte(fmt.Sprint(i))); ok && string(got) != fmt.Sprintf("answer-%d", i) {
			t.Fatalf("body %d answered with %q", i, got)
		}
	}
}

// TestAnswerMemoIsBoundedInBytes is issue 13 #4: however large and many the
// upstream's lists, the memo holds at most memoSlots entries of at most
// memoMaxBody bytes each (the old memo kept 256 bodies of any size).
func TestAnswerMemoIsBoundedInBytes(t *testing.T) {
	m := newAnswerMemo()
	big := make([]byte, memoMaxBody+1)
	for i := 0; i < 2*memoSlots; i++ {
		body := append([]byte(fmt.Sprint(i)), big...)
		m.put(body, body)
		if _, ok := m.get(body); ok {
			t.Fatalf("a %d-byte body was remembered; the limit is %d", len(body), memoMaxBody)
		}
	}
	held := 0
	for i := range m.slots {
		if e := m.slots[i].Load(); e != nil {
			held += len(e.body) + len(e.answer)
		}
	}
	if held != 0 {
		t.Errorf("memo holds %d bytes of oversized answers, want 0", held)
	}
}
