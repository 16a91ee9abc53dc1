package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/gateway/store"
)

// TestFlaky checks that every operation fails with ErrDown, a
// store.ErrUnavailable, while the store is down, and reaches the wrapped
// store once it is up again.
func TestFlaky(t *testing.T) {
	f := NewFlaky(store.NewNoEviction(1 << 20))
	ops := []struct {
		name string
		do   func() error
	}{
		{"Get", func() error { _, err := f.Get("k"); return err }},
		{"Set", func() error { return f.Set("k", []byte("v"), time.Minute) }},
		{"SetNX", func() error { _, err := f.SetNX("n", []byte("v"), time.Minute); return err }},
		{"Delete", func() error { return f.Delete("k") }},
		{"Reset", func() error { return f.Reset() }},
	}
	f.Down.Store(true)
	for _, op := range ops {
		if err := op.do(); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s while down = %v, want store.ErrUnavailable", op.name, err)
		}
	}
	f.Down.Store(false)
	for _, op := range ops {
		if err := op.do(); err != nil {
			t.Errorf("%s while up = %v, want nil", op.name, err)
		}
	}
	if got, want := f.Gets.Load(), int64(2); got != want {
		t.Errorf("Gets = %d, want %d", got, want)
	}
	if err := f.Set("k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Get("k"); err != nil || string(v) != "v" {
		t.Errorf("Get once up = %q, %v; want the value written", v, err)
	}
}
