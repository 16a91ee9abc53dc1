package upstream

import (
	"errors"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/gateway/config"
)

// BenchmarkBreakers measures the breaker around a call: closed (the call
// runs) and open (refused at once).
func BenchmarkBreakers(b *testing.B) {
	cfg := config.Breaker{ConsecutiveFailures: 1, OpenTimeout: time.Hour, HalfOpenRequests: 1, Interval: time.Minute}
	ok := func() (*Response, error) { return &Response{Status: 200}, nil }
	fail := func() (*Response, error) { return nil, ErrUnreachable }
	b.Run("closed", func(b *testing.B) {
		br := NewBreakers(cfg, nil)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := br.Execute("listRatings", ok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open", func(b *testing.B) {
		br := NewBreakers(cfg, nil)
		_, _ = br.Execute("listRatings", fail)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := br.Execute("listRatings", ok); !errors.Is(err, ErrBreakerOpen) {
				b.Fatalf("Execute() = %v, want ErrBreakerOpen", err)
			}
		}
	})
}
