package usernames

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts"
)

// BenchmarkGetHit measures the production hot path: a cached answer read
// back, by one goroutine and by many at once.
func BenchmarkGetHit(b *testing.B) {
	c := New(time.Hour, 0)
	const key = "sub:bench-user\x00nora.berg"
	fetch := func(context.Context) (contracts.UsernameCheck, error) {
		return contracts.UsernameCheck{Available: true, Message: "The username is available."}, nil
	}
	if _, _, err := c.Get(context.Background(), key, fetch); err != nil {
		b.Fatal(err)
	}
	// hit reports a failure with Errorf: RunParallel's goroutines may not
	// call Fatal.
	hit := func(b *testing.B) {
		if _, hit, err := c.Get(context.Background(), key, fetch); !hit || err != nil {
			b.Errorf("Get(%q) hit = %v, err = %v, want a hit", key, hit, err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hit(b)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				hit(b)
			}
		})
	})
}

// BenchmarkMissIntoFullCache measures what a flood of distinct names costs
// the cache: each a miss whose answer must find room in a full budget
// (the default 8 MiB), by removing expired answers or evicting the oldest.
func BenchmarkMissIntoFullCache(b *testing.B) {
	c := New(time.Hour, 0)
	fetch := func(context.Context) (contracts.UsernameCheck, error) {
		return contracts.UsernameCheck{Available: true, Message: "The username is available."}, nil
	}
	keys := make([]string, 1<<16) // more answers than the budget holds
	for i := range keys {
		keys[i] = fmt.Sprintf("sub:%036d\x00name%05d", i, i)
	}
	for _, k := range keys {
		_, _, _ = c.Get(context.Background(), k, fetch)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, hit, _ := c.Get(context.Background(), keys[i%len(keys)], fetch); hit {
			b.Fatalf("Get(%q) hit, want a miss: the budget holds fewer answers than there are keys", keys[i%len(keys)])
		}
		i++
	}
}
