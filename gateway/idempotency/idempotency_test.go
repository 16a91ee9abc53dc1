package idempotency

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/minbil/minbil-bff/gateway/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLifecycle(t *testing.T) {
	kv := store.NewMemory(100, time.Hour)
	t.Cleanup(func() { _ = kv.Close() })
	r := New(kv, time.Hour, time.Minute)
	ctx := context.Background()
	s := NewSlot("sub:a", "key-1", []byte("123{}"))
	other := NewSlot("sub:a", "key-1", []byte("124{}"))

	steps := []struct {
		name       string
		do         func() (*Outcome, error)
		wantErr    error
		wantReplay bool
	}{
		{"first claim goes on", func() (*Outcome, error) { return r.Begin(ctx, s) }, nil, false},
		{"second while in flight", func() (*Outcome, error) { return r.Begin(ctx, s) }, ErrInFlight, false},
		{"other body while in flight", func() (*Outcome, error) { return r.Begin(ctx, other) }, ErrKeyReused, false},
		{"finish", func() (*Outcome, error) { return nil, r.Finish(ctx, s, Outcome{Status: 200, Body: []byte(`{"ok":1}`)}) }, nil, false},
		{"retry replays", func() (*Outcome, error) { return r.Begin(ctx, s) }, nil, true},
		{"other body after finish", func() (*Outcome, error) { return r.Begin(ctx, other) }, ErrKeyReused, false},
	}
	for _, st := range steps {
		out, err := st.do()
		if !errors.Is(err, st.wantErr) || (out != nil) != st.wantReplay {
			t.Fatalf("%s: = %v, %v; want err %v, replay %v", st.name, out, err, st.wantErr, st.wantReplay)
		}
		if st.wantReplay && (out.Status != 200 || string(out.Body) != `{"ok":1}`) {
			t.Fatalf("%s: replayed %d %s", st.name, out.Status, out.Body)
		}
	}
}

func TestAbandonFreesTheKey(t *testing.T) {
	kv := store.NewMemory(100, time.Hour)
	t.Cleanup(func() { _ = kv.Close() })
	r := New(kv, time.Hour, time.Minute)
	ctx := context.Background()
	s := NewSlot("ip:127.0.0.1", "k", []byte("x"))
	if _, err := r.Begin(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := r.Abandon(ctx, s); err != nil {
		t.Fatal(err)
	}
	if out, err := r.Begin(ctx, s); err != nil || out != nil {
		t.Fatalf("Begin after Abandon = %v, %v; want a fresh claim", out, err)
	}
}

func TestValidKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"abc", true}, {"8e03978e-40d5-43e8-bc93-6894a57f9324", true}, {"", false},
		{"a b", false}, {"æøå", false}, {"a\r\nb", false}, {string(make([]byte, 256)), false},
	}
	for _, tt := range tests {
		if got := ValidKey(tt.key); got != tt.want {
			t.Errorf("ValidKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}
