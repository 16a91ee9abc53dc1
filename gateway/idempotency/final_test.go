package idempotency

import (
	"testing"

	"github.com/minbil/minbil-bff/contracts"
)

func TestFinal(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   string
		want   bool
	}{
		{"ok", 200, "", true},
		{"created", 201, "", true},
		{"bad request", 400, contracts.CodeValidationFailed, true},
		{"forbidden booking", 403, contracts.CodeForbidden, true},
		{"unknown booking", 404, contracts.CodeNotFound, true},
		{"already rated", 409, contracts.CodeAlreadyRated, true},
		{"invalid rating", 422, contracts.CodeValidationFailed, true},
		{"key reused upstream", 422, contracts.CodeIdempotencyReused, true},
		{"payload too large", 413, contracts.CodePayloadTooLarge, true},
		{"in flight", 409, contracts.CodeIdempotencyInFlight, false},
		{"booking not completed yet", 409, contracts.CodeNotCompleted, false},
		{"conflict without a code", 409, "", false},
		{"unauthorized", 401, contracts.CodeUnauthorized, false},
		{"request timeout", 408, "", false},
		{"too early", 425, "", false},
		{"rate limited", 429, contracts.CodeRateLimited, false},
		{"internal error", 500, contracts.CodeInternal, false},
		{"bad gateway", 502, contracts.CodeBadGateway, false},
		{"unavailable", 503, contracts.CodeUnavailable, false},
		{"gateway timeout", 504, contracts.CodeGatewayTimeout, false},
		{"redirect", 302, "", false},
		{"unlisted 4xx", 418, "", false},
		{"zero", 0, "", false},
	}
	for _, tt := range tests {
		if got := Final(tt.status, tt.code); got != tt.want {
			t.Errorf("%s: Final(%d, %q) = %v, want %v", tt.name, tt.status, tt.code, got, tt.want)
		}
	}
}
