package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/contractstest"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/upstream"
)

// TestDriftWatchVerdictCache checks that remembering answers changes
// nothing the drift watch reports: every violating answer is counted and
// refused (enforce) each time it comes, also after a passing answer with
// the same shape, and a changed byte is judged afresh.
func TestDriftWatchVerdictCache(t *testing.T) {
	good, err := contractstest.RatingList()
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
			g := &Gateway{cfg: cfg, metrics: m, contract: testContract, answers: newMemo(), drift: newWatch(zap.NewNop(), "broken")}
			for i, body := range tt.bodies {
				resp := &upstream.Response{Status: 200, ContentType: "application/json", Body: body}
				j := g.judge(context.Background(), contracts.OpListRatings, resp, time.Now())
				if got := g.refuseDrift(contracts.OpListRatings, j); got != tt.wantRefuse[i] {
					t.Errorf("answer %d: refused = %v (%d violations), want %v", i, got, j.violations, tt.wantRefuse[i])
				}
			}
			var pb dto.Metric
			if err := m.contractViolation.WithLabelValues(contracts.OpListRatings).Write(&pb); err != nil {
				t.Fatal(err)
			}
			if got := pb.GetCounter().GetValue(); got != tt.wantCount {
				t.Errorf("violations counted = %v, want %v", got, tt.wantCount)
			}
		})
	}
}

// TestJudgeMatchesValidateResponse: the pipeline's one decoding finds the
// violations kin-openapi's ValidateResponse finds in the bytes, for every
// operation, success and error answers, JSON or not.
func TestJudgeMatchesValidateResponse(t *testing.T) {
	good, err := contractstest.RatingList()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, op, path, method, contentType, retryAfter, body string
		status                                                int
	}{
		{"good list", contracts.OpListRatings, contracts.PathRatings, "GET", "application/json", "", string(good), 200},
		{"list with drifted types", contracts.OpListRatings, contracts.PathRatings, "GET", "application/json", "", `{"total":"1","items":[{"booking_id":"x","rated_at":"yesterday"}]}`, 200},
		{"list not JSON", contracts.OpListRatings, contracts.PathRatings, "GET", "application/json", "", `{"total":`, 200},
		{"list as HTML", contracts.OpListRatings, contracts.PathRatings, "GET", "text/html", "", `<html></html>`, 200},
		{"undeclared status", contracts.OpListRatings, contracts.PathRatings, "GET", "application/json", "", `{}`, 302},
		{"username", contracts.OpCheckUsername, contracts.PathCheckUsername, "GET", "application/json", "", usernameBody, 200},
		{"username drifted", contracts.OpCheckUsername, contracts.PathCheckUsername, "GET", "application/json", "", `{"available":"yes"}`, 200},
		{"rate answer", contracts.OpRateBooking, contracts.RatePath(123), "POST", "application/json", "", rateBody, 200},
		{"error body", contracts.OpRateBooking, contracts.RatePath(123), "POST", "application/json", "", `{"error":{"code":"already_rated","message":"Already."},"meta":{"request_id":"r","generated_at":"2026-02-12T10:00:00Z"}}`, 409},
		{"bare 503", contracts.OpListRatings, contracts.PathRatings, "GET", "text/plain", "5", `down`, 503},
		{"503 with a bad Retry-After", contracts.OpListRatings, contracts.PathRatings, "GET", "application/json", "soon", `{}`, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("Content-Type", tt.contentType)
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			req := httptest.NewRequest(tt.method, tt.path, nil)
			want := 0
			var ve *contracts.ValidationError
			if errors.As(testContract.ValidateResponse(context.Background(), req, tt.status, h, []byte(tt.body)), &ve) {
				want = len(ve.Violations)
			}
			g := &Gateway{contract: testContract, answers: newMemo(), drift: newWatch(zap.NewNop(), "broken")}
			resp := &upstream.Response{Status: tt.status, ContentType: tt.contentType, RetryAfter: tt.retryAfter, Body: []byte(tt.body)}
			if got := g.judge(context.Background(), tt.op, resp, time.Now()).violations; got != want {
				t.Errorf("judge(%s) = %d violations, ValidateResponse finds %d (%v)", tt.name, got, want, ve)
			}
		})
	}
}

// An answer that breaks the contract is counted in the header.
func TestContractCheckCountsViolations(t *testing.T) {
	g := &Gateway{contract: testContract, log: zap.NewNop(), own: newWatch(zap.NewNop(), "broken"), ownVerdicts: newMemo()}
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
