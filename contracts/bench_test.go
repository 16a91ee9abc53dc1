package contracts_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/contractstest"
)

// BenchmarkValidateResponse validates the 1.5 KB rating list the load
// harness serves, as the gateway's drift watch does on every answer in log
// and enforce modes.
func BenchmarkValidateResponse(b *testing.B) {
	c, err := contracts.Load()
	if err != nil {
		b.Fatal(err)
	}
	body, err := contractstest.RatingList()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	header := http.Header{"Content-Type": {"application/json"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/api/co/rating", nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.ValidateResponse(ctx, req, http.StatusOK, header, body); err != nil {
		b.Fatalf("ValidateResponse(fixture list) = %v, want nil", err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.ValidateResponse(ctx, req, http.StatusOK, header, body); err != nil {
			b.Fatal(err)
		}
	}
}
