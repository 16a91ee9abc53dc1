package reliability

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// TestForwardedForFromTheRight is OA-02: behind a trusted proxy the
// client IP is the right-most X-Forwarded-For entry that is not a trusted
// proxy; the left end is whatever the client wrote. Twelve requests whose
// left-most entries all differ share one per-IP limit of 5. Before, each
// left-most entry was its own key and nothing was limited.
func TestForwardedForFromTheRight(t *testing.T) {
	tests := []struct {
		name string
		xff  func(i int) []string
	}{
		{name: "varied left-most entries", xff: func(i int) []string { return []string{fmt.Sprintf("198.51.100.%d, 203.0.113.7", i)} }},
		{name: "a trusted proxy on the right", xff: func(i int) []string { return []string{fmt.Sprintf("198.51.100.%d, 203.0.113.7, 127.0.0.1", i)} }},
		{name: "two headers", xff: func(i int) []string { return []string{fmt.Sprintf("198.51.100.%d", i), "203.0.113.7"} }},
		{name: "not an IP: the peer's address", xff: func(i int) []string { return []string{fmt.Sprintf("198.51.100.%d, client-%d", i, i)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := wiretest.NewUpstream(t, routeOK)
			h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) {
				c.Server.TrustedProxies = []string{"127.0.0.1/32"}
				c.RateLimit.PerIP, c.RateLimit.Window = 5, time.Minute
			}))
			limited := 0
			for i := range 12 {
				a, err := h.Try(wiretest.Get("/api/co/rating", http.Header{"X-Forwarded-For": tt.xff(i)}))
				if err != nil {
					t.Fatal(err)
				}
				if a.Status == http.StatusTooManyRequests {
					limited++
				}
			}
			if limited != 7 {
				t.Errorf("%d of 12 requests limited, want 7 (one client, a limit of 5)", limited)
			}
		})
	}
}
