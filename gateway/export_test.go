package gateway

import "github.com/minbil/minbil-bff/gateway/store"

// CacheSizes returns how many entries the username cache and the
// idempotency store hold (records is 0 unless the store is in memory). It
// lets the soak test, in package gateway_test, watch the bounded caches
// without a production hook.
func CacheSizes(g *Gateway) (usernames, records int) {
	if m, ok := g.records.(*store.Memory); ok {
		records = m.Len()
	}
	return g.usernames.Len(), records
}
