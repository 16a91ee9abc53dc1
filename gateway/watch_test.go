package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
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

// An answer that breaks the contract is counted in the header.
func TestContractCheckCountsViolations(t *testing.T) {
	g := &Gateway{contract: testContract, log: zap.NewNop(), own: newWatch(testContract, zap.NewNop(), "broken")}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/api/co/rating", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		_ = c.SendString(`{"total": "one", "items": [{"booking_id": 0}]}`)
		g.checkOwn(c)
		return nil
	})
	res, err := app.Test(httptest.NewRequest("GET", "/api/co/rating", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if got := res.Header.Get(HeaderContractCheck); !strings.HasPrefix(got, "violations=") || got == "violations=0" {
		t.Errorf("%s = %q for a broken answer, want violations=N with N > 0", HeaderContractCheck, got)
	}
}

func TestFindMatchesErrorsAs(t *testing.T) {
	ae := &apiError{code: "x"}
	tests := []struct {
		name string
		err  error
	}{
		{"nil", nil},
		{"itself", ae},
		{"wrapped", fmt.Errorf("a: %w", ae)},
		{"wrapped twice", fmt.Errorf("b: %w", fmt.Errorf("a: %w", ae))},
		{"second of two", fmt.Errorf("%w: %w", errors.New("other"), ae)},
		{"joined", errors.Join(errors.New("other"), fmt.Errorf("x: %w", ae))},
		{"absent", fmt.Errorf("%w: %w", errors.New("a"), errors.New("b"))},
	}
	for _, tt := range tests {
		var want *apiError
		wantOK := errors.As(tt.err, &want)
		got, ok := find[*apiError](tt.err)
		if ok != wantOK || got != want {
			t.Errorf("find(%s) = %v, %v; errors.As gives %v, %v", tt.name, got, ok, want, wantOK)
		}
	}
}
