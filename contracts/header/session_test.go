package header

import (
	"errors"
	"strings"
	"testing"
)

// TestR3F19MockSession: the one rule of X-Mock-Session that the mock and
// the gateway share; an empty value is refused, never read as the default
// world.
func TestR3F19MockSession(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		wantID  string
		wantErr error
	}{
		{name: "none: the default world", values: nil},
		{name: "one", values: []string{"s1"}, wantID: "s1"},
		{name: "128 characters", values: []string{strings.Repeat("s", 128)}, wantID: strings.Repeat("s", 128)},
		{name: "visible ASCII", values: []string{"!~a-Z_0.9"}, wantID: "!~a-Z_0.9"},
		{name: "empty", values: []string{""}, wantErr: ErrMockSessionInvalid},
		{name: "129 characters", values: []string{strings.Repeat("s", 129)}, wantErr: ErrMockSessionInvalid},
		{name: "space inside", values: []string{"s 1"}, wantErr: ErrMockSessionInvalid},
		{name: "control character", values: []string{"s\x01"}, wantErr: ErrMockSessionInvalid},
		{name: "non-ASCII", values: []string{"sø"}, wantErr: ErrMockSessionInvalid},
		{name: "twice", values: []string{"s1", "s2"}, wantErr: ErrMockSessionRepeated},
		{name: "twice the same", values: []string{"s1", "s1"}, wantErr: ErrMockSessionRepeated},
		{name: "empty and valid", values: []string{"", "s1"}, wantErr: ErrMockSessionRepeated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := MockSession(tt.values)
			if id != tt.wantID || !errors.Is(err, tt.wantErr) {
				t.Errorf("MockSession(%q) = %q, %v; want %q, %v", tt.values, id, err, tt.wantID, tt.wantErr)
			}
			var ref *Refusal
			if tt.wantErr != nil && (!errors.As(err, &ref) || ref.Message == "") {
				t.Errorf("MockSession(%q) error %v is not a Refusal with a message", tt.values, err)
			}
		})
	}
}

func FuzzMockSession(f *testing.F) {
	for _, seed := range []string{"", "s1", " s1", "s\x00", "sø", strings.Repeat("s", 129)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, err := MockSession([]string{v})
		if err != nil {
			if id != "" {
				t.Fatalf("MockSession(%q) = %q with error %v", v, id, err)
			}
			return
		}
		if id != v || id == "" || len(id) > MaxMockSessionLen || !isVisibleASCII(id) {
			t.Fatalf("MockSession(%q) = %q", v, id)
		}
	})
}
