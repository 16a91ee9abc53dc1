// Package usernames caches successful check-username answers per caller and
// coalesces concurrent misses for the same key into one upstream call.
package usernames

import (
	"context"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/singleflight"

	"github.com/minbil/minbil-bff/contracts"
)

// Fetch asks the upstream for one username; it runs at most once per key at
// a time.
type Fetch func(ctx context.Context) (contracts.UsernameCheck, error)

// Cache is a bounded TTL cache in front of Fetch. go-cache has no size
// bound, so Cache refuses new entries while it holds MaxEntries (expired
// ones included until the sweep removes them); an answer that is not cached
// is still returned. Errors are never cached.
type Cache struct {
	items      *gocache.Cache
	ttl        time.Duration
	maxEntries int
	group      singleflight.Group

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
			return v, nil
		}
		answer, err := fetch(ctx)
		if err != nil {
			return nil, err
		}
		if c.items.ItemCount() < c.maxEntries {
			c.items.Set(key, answer, c.ttl)
		}
		return answer, nil
	})
	if err != nil {
		return contracts.UsernameCheck{}, false, err
	}
	return v.(contracts.UsernameCheck), false, nil
}
