package gateway

import (
	"context"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/contractstest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// BenchmarkStaleIfError is what cache.ratings_stale_if_error costs, each
// case next to the same gateway with it off: a good list, which
// is now also kept for its caller (a copy into the bounded store), and an
// open breaker, which now answers the kept list instead of the error body.
// docs/operations.md quotes the ratios.
func BenchmarkStaleIfError(b *testing.B) {
	off := func(cfg *config.Config) { cfg.Cache.RatingsStaleIfError = 0 }
	tests := []struct {
		name       string
		down       bool
		opts       []option
		prime      bool // a kept list for the caller
		wantStatus int
	}{
		{name: "list/stale=off", opts: []option{off}, wantStatus: fasthttp.StatusOK},
		{name: "list/stale=on", wantStatus: fasthttp.StatusOK},
		{name: "breaker-open/stale=off", down: true, opts: []option{off}, prime: true, wantStatus: fasthttp.StatusServiceUnavailable},
		{name: "breaker-open/stale=on", down: true, prime: true, wantStatus: fasthttp.StatusOK},
	}
	list, err := contractstest.RatingList()
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			bg := newBenchGateway(b, tt.down, tt.opts...)
			if tt.prime {
				id, err := bg.g.auth.Authenticate(context.Background(), []string{"Bearer " + bg.token})
				if err != nil {
					b.Fatal(err)
				}
				bg.g.lastGood.Put(id.Subject, bg.g.lastGood.Now(), list, 0)
			}
			var ctx fasthttp.RequestCtx
			for range 10 { // trip the breaker
				bg.do(&ctx, contracts.PathRatings)
			}
			if got := bg.do(&ctx, contracts.PathRatings); got != tt.wantStatus {
				b.Fatalf("GET %s = %d, want %d: %s", contracts.PathRatings, got, tt.wantStatus, ctx.Response.Body())
			}
			b.ReportAllocs()
			for b.Loop() {
				if got := bg.do(&ctx, contracts.PathRatings); got != tt.wantStatus {
					b.Fatalf("GET %s = %d, want %d", contracts.PathRatings, got, tt.wantStatus)
				}
			}
		})
	}
}
