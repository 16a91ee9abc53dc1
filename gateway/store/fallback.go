package store

import (
	"time"
)

// Fallback is a KV that uses primary (Redis) and, whenever primary fails, a
// local Memory instead, so that shared state degrades to per-process state
// rather than to an outage. It never returns primary's errors; onFallback is
// told about each one (for a warning and a metric) and must not block.
// When primary works again it is used again, without a restart.
type Fallback struct {
	primary    KV
	local      *Memory
	onFallback func(op string, err error)
}

var _ KV = (*Fallback)(nil)

// CounterFallback is a Counter that counts in primary (Redis) and, whenever
// primary fails, in a local Memory instead: while Redis is down each
// replica limits on its own.
type CounterFallback struct {
	primary    Counter
	local      *Memory
	onFallback func(op string, err error)
}

var _ Counter = (*CounterFallback)(nil)

// NewCounterFallback builds the Counter; local is closed with it.
func NewCounterFallback(primary Counter, local *Memory, onFallback func(op string, err error)) *CounterFallback {
	return &CounterFallback{primary: primary, local: local, onFallback: onFallback}
}

// Hit counts in primary, or locally while primary fails.
func (f *CounterFallback) Hit(key string, window time.Duration) (int64, time.Duration, error) {
	n, left, err := f.primary.Hit(key, window)
	if err != nil {
		if f.onFallback != nil {
			f.onFallback("hit", err)
		}
		return f.local.Hit(key, window)
	}
	return n, left, nil
}

// Close closes the local store; primary is closed by its owner.
func (f *CounterFallback) Close() error { return f.local.Close() }

// NewFallback builds the KV; local is closed with it.
func NewFallback(primary KV, local *Memory, onFallback func(op string, err error)) *Fallback {
	return &Fallback{primary: primary, local: local, onFallback: onFallback}
}

func (f *Fallback) failed(op string, err error) bool {
	if err == nil {
		return false
	}
	if f.onFallback != nil {
		f.onFallback(op, err)
	}
	return true
}

// Get reads primary, or the local store while primary fails.
func (f *Fallback) Get(key string) ([]byte, error) {
	v, err := f.primary.Get(key)
	if f.failed("get", err) {
		return f.local.Get(key)
	}
	return v, nil
}

// Set writes primary, or the local store while primary fails.
func (f *Fallback) Set(key string, val []byte, exp time.Duration) error {
	if f.failed("set", f.primary.Set(key, val, exp)) {
		return f.local.Set(key, val, exp)
	}
	return nil
}

// SetNX claims in primary, or in the local store while primary fails.
func (f *Fallback) SetNX(key string, val []byte, exp time.Duration) (bool, error) {
	ok, err := f.primary.SetNX(key, val, exp)
	if f.failed("setnx", err) {
		return f.local.SetNX(key, val, exp)
	}
	return ok, nil
}

// Delete removes key from both stores.
func (f *Fallback) Delete(key string) error {
	f.failed("del", f.primary.Delete(key))
	return f.local.Delete(key)
}

// Reset empties both stores.
func (f *Fallback) Reset() error {
	f.failed("reset", f.primary.Reset())
	return f.local.Reset()
}

// Close closes the local store; primary belongs to its creator.
func (f *Fallback) Close() error { return f.local.Close() }
