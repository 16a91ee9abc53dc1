package store

import (
	"time"
)

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
