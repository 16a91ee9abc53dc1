package idempotency

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/minbil/minbil-bff/gateway/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLifecycle(t *testing.T) {
	kv := store.NewBounded(0)
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
	kv := store.NewBounded(0)
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

// Issue 13 #6: a full store drops finished records, oldest first, never a
// claim in flight; once only claims are left a new key gets ErrFull.
func TestFullStoreKeepsClaimsInFlight(t *testing.T) {
	kv := store.NewBounded(4 << 10)
	t.Cleanup(func() { _ = kv.Close() })
	r := New(kv, time.Hour, time.Minute)
	ctx := context.Background()
	inFlight := []Slot{NewSlot("sub:a", "k", []byte("1")), NewSlot("sub:b", "k", []byte("2"))}
	for _, s := range inFlight {
		if out, err := r.Begin(ctx, s); out != nil || err != nil {
			t.Fatalf("Begin = %v, %v; want a fresh claim", out, err)
		}
	}
	for i := 0; i < 20; i++ {
		s := NewSlot("sub:c", fmt.Sprintf("done-%d", i), []byte("3"))
		if _, err := r.Begin(ctx, s); err != nil {
			t.Fatalf("Begin(done-%d) = %v, want a claim made room for by older records", i, err)
		}
		if err := r.Finish(ctx, s, Outcome{Status: 200, Body: make([]byte, 100)}); err != nil {
			t.Fatalf("Finish(done-%d) = %v", i, err)
		}
	}
	for i, s := range inFlight {
		if _, err := r.Begin(ctx, s); !errors.Is(err, ErrInFlight) {
			t.Errorf("Begin(claim %d) after the store filled = %v, want ErrInFlight (the claim kept)", i, err)
		}
	}
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		_, err = r.Begin(ctx, NewSlot("sub:d", fmt.Sprintf("new-%d", i), []byte("4")))
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("Begin with only claims left = %v, want ErrFull", err)
	}
}
