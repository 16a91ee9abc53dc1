package contracts

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAppendErrorMatchesEncodingJSON(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 4, 5, 987654321, time.FixedZone("CET", 3600))
	tests := []struct{ name, rid, code, message string }{
		{"plain", "5f0c1e9a-7d2b-4c3e-9f1a-2b3c4d5e6f70", CodeUnavailable, "The ratings service is temporarily unavailable; retry later."},
		{"quotes and backslash", "r", "bad_request", `say "hi" \ there`},
		{"controls", "r", "x", "a\nb\rc\td\b\f\x00\x1f"},
		{"html", "r", "x", "<script>&</script>"},
		{"line separators", "r", "x", "a\u2028b\u2029c"},
		{"norwegian", "r", "x", "Vurderingen må være 1–5 stjerner. Ærlig og østlig."},
		{"invalid UTF-8", "r", "x", "a\xffb\xc3"},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(NewError(tt.rid, tt.code, tt.message, now))
			if err != nil {
				t.Fatal(err)
			}
			if got := AppendError(nil, tt.rid, tt.code, tt.message, now); string(got) != string(want) {
				t.Errorf("AppendError = %s\nwant          %s", got, want)
			}
		})
	}
}

// FuzzAppendError checks the hand-written encoder against encoding/json
// for any message.
func FuzzAppendError(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n<>&\u2028\xff"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, message string) {
		want, err := json.Marshal(NewError("rid", "code", message, now))
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendError(nil, "rid", "code", message, now); string(got) != string(want) {
			t.Fatalf("AppendError(%q) = %s, want %s", message, got, want)
		}
	})
}

// FuzzAppendUsernameCheck checks the hand-written encoder of a username
// answer against encoding/json for any name and message.
func FuzzAppendUsernameCheck(f *testing.F) {
	f.Add("ola.nordmann", true, "Username is available.")
	f.Add("æøå<&>", false, "\"\\\n\u2028\xff")
	f.Add("", false, "")
	f.Fuzz(func(t *testing.T, name string, available bool, message string) {
		a := UsernameCheck{Username: name, Available: available, Message: message}
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendUsernameCheck(nil, a); string(got) != string(want) {
			t.Fatalf("AppendUsernameCheck(%+v) = %s, want %s", a, got, want)
		}
	})
}

// TestAppendErrorAllocatesOnce: the body is written into one allocation
// sized for it, the open breaker's long message included (the gateway
// sized its buffer at 192 bytes and the body regrew past it).
func TestAppendErrorAllocatesOnce(t *testing.T) {
	now := time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)
	rid := "5f0c9a54-3b8e-4c1e-9a3c-2f6d8b7e1a90"
	message := "The ratings service is temporarily unavailable; retry later."
	if n := testing.AllocsPerRun(100, func() { _ = AppendError(nil, rid, CodeUnavailable, message, now) }); n != 1 {
		t.Errorf("AppendError allocates %v times, want 1", n)
	}
}
