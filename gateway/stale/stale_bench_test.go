package stale

import (
	"context"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts/contractstest"
	"github.com/minbil/minbil-bff/gateway/store"
)

// BenchmarkKeeper is the work stale-if-error adds to a good list (Put) and
// does for a stale answer (Get), on the 1.5 KB fixture list in the
// default 8 MiB store.
func BenchmarkKeeper(b *testing.B) {
	list, err := contractstest.RatingList()
	if err != nil {
		b.Fatal(err)
	}
	k := New(store.NewBounded(8<<20), 5*time.Minute)
	b.Cleanup(func() { _ = k.Close(context.Background()) })
	b.Run("put", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			k.Put("tok-sha256:0123456789abcdef0123456789abcdef", k.Now(), list, 0)
		}
	})
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, ok := k.Get("tok-sha256:0123456789abcdef0123456789abcdef"); !ok {
				b.Fatal("no list")
			}
		}
	})
}
