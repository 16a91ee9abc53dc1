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
