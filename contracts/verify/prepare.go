package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/minbil/minbil-bff/contracts"
)

// specPaths are where a target may serve its OpenAPI document: the gateway
// at /openapi.yaml, the gateway and the mock under the portal.
var specPaths = []string{"/openapi.yaml", "/docs/openapi.yaml"}

// mockBookingsPath is the mock's list of the token's owner's bookings
// (mock.PathBookings; not imported, so that verify stays independent of the
// mock it verifies).
const mockBookingsPath = "/_mock/bookings"

// newRunner builds the runner of one run; done releases its connections.
func newRunner(contract *contracts.Contract, cfg Config) (*runner, func()) {
	base, _ := url.Parse(cfg.Target) // checked by Validate
	transport := http.DefaultTransport.(*http.Transport).Clone()
	r := &runner{
		contract:       contract,
		cfg:            cfg,
		base:           base,
		runID:          uuid.NewString()[:8],
		schemaDecision: schemaDecisions(contract.Doc()),
		client: &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			// A redirect is an answer like any other: the contract names none.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	if r.client.Timeout == 0 {
		r.client.Timeout = DefaultTimeout
	}
	return r, transport.CloseIdleConnections
}

// prepare settles what the configuration leaves open, asking the target:
// the level (does it serve our contract?) and the booking of the flow (is
// it our mock, which lists the owner's bookings?). It returns the empty
// report of the run.
func (r *runner) prepare(ctx context.Context) (*Report, error) {
	report := &Report{Target: r.cfg.Target, ReadOnly: r.cfg.ReadOnly}
	report.Level, report.LevelReason = r.cfg.Level, "chosen with --level"
	if r.cfg.Level == LevelAuto {
		level, reason, err := r.detectLevel(ctx)
		if err != nil {
			return nil, err
		}
		report.Level, report.LevelReason = level, reason
	}
	r.cfg.Level = report.Level
	if r.cfg.BookingID == 0 {
		id, err := r.mockBooking(ctx)
		if err != nil {
			return nil, err
		}
		r.cfg.BookingID = id
	}
	cfg, err := r.cfg.withDefaults(r.contract)
	if err != nil {
		return nil, err
	}
	r.cfg = cfg
	report.BookingID = cfg.BookingID
	return report, nil
}

// detectLevel is LevelStrict when the target serves the embedded contract
// byte for byte, else LevelDocumented; the reason says which.
func (r *runner) detectLevel(ctx context.Context) (Level, string, error) {
	ours := contracts.Spec()
	for _, path := range specPaths {
		ans, err := r.send(ctx, Request{Method: http.MethodGet, Path: path, Auth: AuthNone}, r.nextRequestID())
		var runErr *RunError
		switch {
		case errors.As(err, &runErr):
			return "", "", err
		case err != nil || ans.Status != http.StatusOK:
			continue
		case bytes.Equal(ans.Body, ours):
			return LevelStrict, fmt.Sprintf("the target serves this contract: its %s is the embedded one", path), nil
		}
		return LevelDocumented, fmt.Sprintf("the target's %s is not the embedded contract", path), nil
	}
	return LevelDocumented, "the target serves no OpenAPI document at " + specPaths[0] + " or " + specPaths[1], nil
}

// mockBooking finds a rateable booking of the token's owner on our mock, or
// returns 0 when the target is not the mock or the owner has none.
func (r *runner) mockBooking(ctx context.Context) (int64, error) {
	if r.cfg.ReadOnly {
		return 0, nil
	}
	ans, err := r.send(ctx, Request{Method: http.MethodGet, Path: mockBookingsPath}, r.nextRequestID())
	var runErr *RunError
	switch {
	case errors.As(err, &runErr):
		return 0, err
	case err != nil || ans.Status != http.StatusOK:
		return 0, nil
	}
	var list struct {
		Items []struct {
			BookingID int64 `json:"booking_id"`
			Rateable  bool  `json:"rateable"`
		} `json:"items"`
	}
	if err := json.NewDecoder(io.LimitReader(bytes.NewReader(ans.Body), maxAnswer)).Decode(&list); err != nil {
		return 0, nil
	}
	for _, b := range list.Items {
		if b.Rateable && b.BookingID > 0 && b.BookingID != UnknownBookingID {
			return b.BookingID, nil
		}
	}
	return 0, nil
}
