// Package usernames caches successful check-username answers per caller and
// coalesces concurrent misses for the same key into one upstream call.
package usernames

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
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

// Cache is a bounded TTL cache in front of Fetch. go-cache has no size
// bound, so Cache refuses new entries while it holds MaxEntries (expired
// ones included until the sweep removes them); an answer that is not cached
// is still returned. Errors are never cached.
type Cache struct {
	items      *gocache.Cache
	ttl        time.Duration
	maxEntries int
	group      singleflight.Group
	setMu      sync.Mutex
	shared     Shared
	onShared   func(op string, err error)

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// New builds a cache whose entries live for ttl, holding at most maxEntries,
// and starts the sweeper that removes expired entries; Close stops it.
func New(ttl time.Duration, maxEntries int) *Cache {
	c := &Cache{
		// No janitor of go-cache's own: its goroutine stops only when the
		// cache is garbage collected. The sweeper below has an owner.
		items:      gocache.New(ttl, 0),
		ttl:        ttl,
		maxEntries: maxEntries,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	go c.sweep(sweepInterval(ttl))
	return c
}

func sweepInterval(ttl time.Duration) time.Duration {
	if ttl < time.Second {
		return time.Second
	}
	return ttl
}

func (c *Cache) sweep(every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.items.DeleteExpired()
		}
	}
}

// Share adds a cache shared by replicas behind the local one: a miss here
// that another replica cached is a hit. onErr is told about every failure
// of shared (for a warning and a metric); it must not block. Call Share
// before the first Get.
func (c *Cache) Share(shared Shared, onErr func(op string, err error)) {
	c.shared, c.onShared = shared, onErr
}

// Close stops the sweeper. It is idempotent.
func (c *Cache) Close() {
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
}

// Len returns the number of entries held, expired ones not yet swept
// included.
func (c *Cache) Len() int { return c.items.ItemCount() }

// Get returns the cached answer for key, or calls fetch once for all
// concurrent callers of the same key and caches a successful answer. hit
// reports whether the answer came from the cache. key must be a string the
// caller owns (not a view into a fasthttp buffer).
func (c *Cache) Get(ctx context.Context, key string, fetch Fetch) (answer contracts.UsernameCheck, hit bool, err error) {
	if v, ok := c.items.Get(key); ok {
		return v.(contracts.UsernameCheck), true, nil
	}
	v, err, _ := c.group.Do(key, func() (any, error) {
		if v, ok := c.items.Get(key); ok {
			return found{v.(contracts.UsernameCheck), true}, nil
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

// setLocal caches answer unless the cache is full; the count and the set
// are one step, so concurrent misses cannot push it past its bound.
func (c *Cache) setLocal(key string, answer contracts.UsernameCheck) {
	c.setMu.Lock()
	defer c.setMu.Unlock()
	if c.items.ItemCount() < c.maxEntries {
		c.items.Set(key, answer, c.ttl)
	}
}

func (c *Cache) getShared(key string) (contracts.UsernameCheck, bool) {
	var answer contracts.UsernameCheck
	if c.shared == nil {
		return answer, false
	}
	raw, err := c.shared.Get(sharedKey(key))
	if err != nil {
		c.onShared("get", err)
		return answer, false
	}
	if raw == nil || json.Unmarshal(raw, &answer) != nil {
		return answer, false
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
