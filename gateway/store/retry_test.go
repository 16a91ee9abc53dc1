package store

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// A Retrier runs work only between a Kick and work's report that it is
// done, then leaves no goroutine; Stop ends a run that never finishes.
func TestRetrier(t *testing.T) {
	before := goleak.IgnoreCurrent()
	var calls, left atomic.Int64
	r := NewRetrier(time.Millisecond, func() bool {
		calls.Add(1)
		return left.Add(-1) <= 0
	})
	if err := r.Wait(context.Background()); err != nil || calls.Load() != 0 {
		t.Fatalf("Wait before any Kick = %v after %d calls, want nil after 0", err, calls.Load())
	}
	left.Store(3)
	r.Kick()
	if err := r.Wait(context.Background()); err != nil || calls.Load() != 3 {
		t.Fatalf("Wait = %v after %d calls, want nil after 3 (work is done)", err, calls.Load())
	}
	goleak.VerifyNone(t, before)

	left.Store(1 << 40) // never done
	r.Kick()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.Wait(ctx); err == nil {
		t.Fatal("Wait on work that is never done = nil, want ctx's error")
	}
	r.Stop()
	r.Kick()
	goleak.VerifyNone(t, before)
}
