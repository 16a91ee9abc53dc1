// Package usernames caches successful check-username answers per caller and
// coalesces concurrent misses for the same key into one upstream call.
package usernames

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/minbil/minbil-bff/contracts"
)

// Fetch asks the upstream for one username; it runs at most once per key at
// a time.
type Fetch func(ctx context.Context) (contracts.UsernameCheck, error)

// Shared is a cache shared by replicas (Redis). Its errors never fail a
// lookup: the answer comes from the upstream and the local cache instead.
type Shared interface {
	Get(key string) ([]byte, error)
	Set(key string, val []byte, exp time.Duration) error
}

// DefaultMaxBytes is the budget of a cache built with 0: 8 MiB, about
// 25,000 answers (one costs about 330 bytes: a caller-and-name key, the
// message and entryOverhead).
const DefaultMaxBytes int64 = 8 << 20

// Cache is a TTL cache in front of Fetch, bounded by bytes: answers are
// held in a go-cache kept to a byte budget (see bounded), where the oldest
// make room for new ones. Errors are never cached. A Cache starts no
// goroutine: expired answers are removed when their room is needed, so
// there is nothing to stop.
type Cache struct {
	items    *bounded
	group    singleflight.Group
	ttl      time.Duration
	shared   Shared
	onShared func(op string, err error)
}

// New builds a cache whose answers live for ttl (0: until removed for
// room) and take at most maxBytes, counted as key and message bytes plus a
// fixed overhead each (0 means DefaultMaxBytes).
func New(ttl time.Duration, maxBytes int64) *Cache {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Cache{items: newBounded(ttl, maxBytes), ttl: ttl}
}

// Share adds a cache shared by replicas behind the local one: a miss here
// that another replica cached is a hit. onErr is told about every failure
// of shared (for a warning and a metric); it must not block. Call Share
// before the first Get.
func (c *Cache) Share(shared Shared, onErr func(op string, err error)) {
	c.shared, c.onShared = shared, onErr
}

// Bytes returns the bytes accounted to the answers held (for a gauge); it
// never exceeds the budget.
func (c *Cache) Bytes() int64 { return c.items.bytes() }

// Get returns the cached answer for key, or calls fetch once for all
// concurrent callers of the same key and caches a successful answer. hit
// reports whether the answer came from the cache. key must be a string the
// caller owns (not a view into a fasthttp buffer).
func (c *Cache) Get(ctx context.Context, key string, fetch Fetch) (answer contracts.UsernameCheck, hit bool, err error) {
	if answer, ok := c.getLocal(key); ok {
		return answer, true, nil
	}
	v, err, _ := c.group.Do(key, func() (any, error) {
		if answer, ok := c.getLocal(key); ok {
			return found{answer, true}, nil
		}
		if answer, ok := c.getShared(key); ok {
			c.setLocal(key, answer)
			return found{answer, true}, nil
		}
		answer, err := fetch(ctx)
		if err != nil {
			return nil, err
		}
		c.setLocal(key, answer)
		c.setShared(key, answer)
		return found{answer, false}, nil
	})
	if err != nil {
		return contracts.UsernameCheck{}, false, err
	}
	f := v.(found)
	return f.answer, f.hit, nil
}

type found struct {
	answer contracts.UsernameCheck
	hit    bool
}

func (c *Cache) getLocal(key string) (contracts.UsernameCheck, bool) {
	return c.items.get(key)
}

// setLocal caches answer; one larger than the whole budget is not cached
// but still returned.
func (c *Cache) setLocal(key string, answer contracts.UsernameCheck) {
	c.items.set(key, answer)
}

func (c *Cache) getShared(key string) (contracts.UsernameCheck, bool) {
	if c.shared == nil {
		return contracts.UsernameCheck{}, false
	}
	raw, err := c.shared.Get(sharedKey(key))
	if err != nil {
		c.onShared("get", err)
		return contracts.UsernameCheck{}, false
	}
	return decode(raw)
}

// decode reads a cached answer; nil or a malformed one is a miss.
func decode(raw []byte) (contracts.UsernameCheck, bool) {
	var answer contracts.UsernameCheck
	if raw == nil || json.Unmarshal(raw, &answer) != nil {
		return contracts.UsernameCheck{}, false
	}
	return answer, true
}

func (c *Cache) setShared(key string, answer contracts.UsernameCheck) {
	if c.shared == nil {
		return
	}
	raw, err := json.Marshal(answer)
	if err == nil {
		err = c.shared.Set(sharedKey(key), raw, c.ttl)
	}
	if err != nil {
		c.onShared("set", err)
	}
}

// sharedKey hashes the caller-and-name key, so no client string becomes a
// Redis key.
func sharedKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "user:" + hex.EncodeToString(sum[:])
}
