package gateway

import (
	"context"
	"errors"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/fixture"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// TestDriftWatchVerdictCache checks that remembering passed answers changes
// nothing the drift watch reports: every violating answer is counted and
// refused (enforce) each time it comes, also after a passing answer with
// the same shape, and a changed byte is validated afresh.
func TestDriftWatchVerdictCache(t *testing.T) {
	good, err := fixture.RatingList()
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte(`{"total":1,"items":[{"booking_id":"x"}]}`)
	changed := append([]byte(nil), good...)
	changed[len(`{"total":`)] = 'x' // no longer JSON

	tests := []struct {
		name       string
		bodies     [][]byte
		wantCount  float64
		wantRefuse []bool
	}{
		{name: "same good answer twice", bodies: [][]byte{good, good}, wantCount: 0, wantRefuse: []bool{false, false}},
		{name: "same bad answer twice", bodies: [][]byte{bad, bad}, wantCount: 2, wantRefuse: []bool{true, true}},
		{name: "good then changed", bodies: [][]byte{good, changed, good, changed}, wantCount: 2, wantRefuse: []bool{false, true, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMetrics()
			cfg := config.Default()
			cfg.Upstream.ValidateResponses = "enforce"
			g := &Gateway{cfg: cfg, metrics: m, drift: newWatch(testContract, zap.NewNop(), "broken")}
			r := upstream.Request{Operation: "listRatings", Method: "GET", Path: contracts.PathRatings}
			for i, body := range tt.bodies {
				resp := &upstream.Response{Status: 200, ContentType: "application/json", Body: body}
				err := g.checkDrift(context.Background(), r, resp)
				if got := errors.Is(err, errContractViolation); got != tt.wantRefuse[i] {
					t.Errorf("check(answer %d) = %v, want refused %v", i, err, tt.wantRefuse[i])
				}
			}
			var pb dto.Metric
			if err := m.contractViolation.WithLabelValues("listRatings").Write(&pb); err != nil {
				t.Fatal(err)
			}
			if got := pb.GetCounter().GetValue(); got != tt.wantCount {
				t.Errorf("violations counted = %v, want %v", got, tt.wantCount)
			}
		})
	}
}
