// Package storetest is test support: a store that fails on demand, the
// way a paused or unreachable Redis does, for the packages that must keep
// working through it (idempotency, stale). Production never imports it.
package storetest

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/minbil/minbil-bff/gateway/store"
)

// ErrDown is what a Flaky store answers while it is down. It wraps
// store.ErrUnavailable, as the Redis store's errors do.
var ErrDown = fmt.Errorf("paused: %w", store.ErrUnavailable)

// Flaky is a store.KV that answers every read and write with ErrDown
// while Down is set, and passes them to the KV it wraps otherwise. Gets
// counts the reads asked of it, down or not.
type Flaky struct {
	store.KV
	Down atomic.Bool
	Gets atomic.Int64
}

var _ store.KV = (*Flaky)(nil)

// NewFlaky returns a Flaky store, up, in front of kv.
func NewFlaky(kv store.KV) *Flaky { return &Flaky{KV: kv} }

// Get counts the read and answers it unless the store is down.
func (f *Flaky) Get(key string) ([]byte, error) {
	f.Gets.Add(1)
	if f.Down.Load() {
		return nil, ErrDown
	}
	return f.KV.Get(key)
}

// Set writes unless the store is down.
func (f *Flaky) Set(key string, val []byte, exp time.Duration) error {
	if f.Down.Load() {
		return ErrDown
	}
	return f.KV.Set(key, val, exp)
}

// SetNX claims unless the store is down.
func (f *Flaky) SetNX(key string, val []byte, exp time.Duration) (bool, error) {
	if f.Down.Load() {
		return false, ErrDown
	}
	return f.KV.SetNX(key, val, exp)
}

// Delete deletes unless the store is down.
func (f *Flaky) Delete(key string) error {
	if f.Down.Load() {
		return ErrDown
	}
	return f.KV.Delete(key)
}

// Reset empties the store unless it is down.
func (f *Flaky) Reset() error {
	if f.Down.Load() {
		return ErrDown
	}
	return f.KV.Reset()
}
