// Package store holds the gateway's small key-value state — rate-limit
// counters and idempotency records — behind one interface, so that a single
// process keeps it in memory and a fleet of replicas shares it in Redis.
package store

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
)

// KV is a key-value store with expiry. It is a fiber.Storage (Fiber's rate
// limiter uses it as such) plus an atomic set-if-absent for claims.
type KV interface {
	fiber.Storage
	// SetNX stores val under key for exp unless key holds a live value, and
	// reports whether it stored. It is atomic across every user of the store.
	SetNX(key string, val []byte, exp time.Duration) (bool, error)
}

// Counter counts hits per key in fixed windows: the rate limiters' store.
// A counter is one number, incremented where it is kept, so a hit costs
// no encoding and, in Redis, one round trip.
type Counter interface {
	// Hit adds one to key's count in its current window and returns the
	// count and the time left until the window ends. A key's window starts
	// at its first hit and lasts window.
	Hit(key string, window time.Duration) (count int64, left time.Duration, err error)
	// Close releases the store.
	Close() error
}

// ErrUnavailable is wrapped by stores whose backend cannot be reached.
var ErrUnavailable = errors.New("store unavailable")

// ErrFull is wrapped by a bounded store that cannot make room for a value
// without dropping a live claim, or whose value alone exceeds its budget.
var ErrFull = errors.New("store full")
