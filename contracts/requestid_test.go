package contracts

import (
	"testing"

	"github.com/google/uuid"
)

// TestRequestIDs: a sane id is kept; anything else gets a fresh version 4
// UUID of the RFC 9562 variant, never the same twice.
func TestRequestIDs(t *testing.T) {
	tests := []struct {
		name, given string
		wantKept    bool
	}{
		{"sane", "req-1.2_3:4", true},
		{"empty", "", false},
		{"a space", "a b", false},
		{"too long", string(make([]byte, MaxRequestIDLength+1)), false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		got := RequestID(tt.given)
		if (got == tt.given) != tt.wantKept {
			t.Errorf("RequestID(%q) = %q, want kept %v", tt.name, got, tt.wantKept)
		}
		if tt.wantKept {
			continue
		}
		id, err := uuid.Parse(got)
		if err != nil || id.Version() != 4 || id.Variant() != uuid.RFC4122 || !SaneRequestID(got) {
			t.Errorf("RequestID(%q) = %q: version %v, variant %v, error %v; want a version 4 UUID", tt.name, got, id.Version(), id.Variant(), err)
		}
	}
	for range 10_000 {
		id := RequestID("")
		if seen[id] {
			t.Fatalf("RequestID gave %s twice", id)
		}
		seen[id] = true
	}
}
