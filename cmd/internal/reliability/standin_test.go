package reliability

import (
	"net/http"
	"testing"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/contracts/prismtest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// TestGatewayInFrontOfAnIndependentUpstream: the gateway in
// log mode in front of Prism mocking an independent reading of the
// documentation (201 for a rating, its own error body, extra fields, times
// as plain strings) answers the frontend 200 with the data.
func TestGatewayInFrontOfAnIndependentUpstream(t *testing.T) {
	if !prismtest.Available() {
		t.Skip(prismtest.SkipReason)
	}
	up := prismtest.Start(t, prismtest.Spec("contracts/verify/testdata/independent.yaml"))
	h := startGateway(t, up, wiretest.WithConfig(func(c *config.Config) { c.Upstream.ValidateResponses = config.ValidateLog }))
	tests := []struct {
		name string
		req  wiretest.Request
	}{
		{name: "list", req: wiretest.Get("/api/co/rating", wiretest.Bearer("independent-token"))},
		{name: "check-username", req: wiretest.Get("/api/co/profile/check-username?username=ola.nordmann", wiretest.Bearer("independent-token"))},
		{name: "rate (the stand-in answers 201)", req: wiretest.Post("/api/co/rating/rate/123", wiretest.JSONHeader(wiretest.Bearer("independent-token")), validRating)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := h.Try(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != http.StatusOK {
				t.Fatalf("%s %s = %d %s, want 200 with the stand-in's data", tt.req.Method, tt.req.Target, a.Status, a.Body)
			}
		})
	}
}
