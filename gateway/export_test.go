package gateway

import "github.com/minbil/minbil-bff/gateway/store"

// CacheBytes returns the bytes the username cache and the idempotency
// store account for (records is 0 unless the store is in memory). It lets
// the soak test, in package gateway_test, watch the bounded caches without
// a production hook.
func CacheBytes(g *Gateway) (usernames, records int64) {
	if m, ok := g.records.(*store.Memory); ok {
		records = m.Bytes()
	}
	return g.usernames.Bytes(), records
}
