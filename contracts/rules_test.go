package contracts

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUsernameRules(t *testing.T) {
	r := mustLoad(t).UsernameRules()
	tests := []struct {
		name     string
		wantOK   bool
		wantRule string
	}{
		{"ab", false, "3–30"},
		{"abc", true, ""},
		{strings.Repeat("a", 30), true, ""},
		{strings.Repeat("a", 31), false, "3–30"},
		{"ola.nordmann_1-2", true, ""},
		{"ola nordmann", false, "only contain"},
		{"Åsmund", false, "only contain"},
		{"аdmin", false, "only contain"},
		{"abc\x00", false, "only contain"},
		{"ab\xff", false, "only contain"},
		{"a/b", false, "only contain"},
		{"...", true, ""},
		{"ab\u200b", false, "only contain"},
	}
	for _, tt := range tests {
		ok, msg := r.Check(tt.name)
		if ok != tt.wantOK || !strings.Contains(msg, tt.wantRule) {
			t.Errorf("Check(%q) = %v, %q, want %v, %q", tt.name, ok, msg, tt.wantOK, tt.wantRule)
		}
	}
	if r.Key("Ola") != r.Key("ola") {
		t.Errorf("Key(Ola) = %q, Key(ola) = %q, want equal (case-insensitive contract)", r.Key("Ola"), r.Key("ola"))
	}
}

func TestRatingRulesFromContract(t *testing.T) {
	got := mustLoad(t).RatingRules()
	want := RatingRules{MinRating: 1, MaxRating: 5, MaxMessageLength: 1000}
	if got != want {
		t.Fatalf("RatingRules() = %+v, want %+v", got, want)
	}
}

func TestDecodeRateRequest(t *testing.T) {
	rules := mustLoad(t).RatingRules()
	tests := []struct {
		name    string
		body    string
		wantErr error
	}{
		{"valid", `{"service_rating":5,"service_rating_message":"Bra!","private_service_rating":true}`, nil},
		{"valid 4.0 no message", `{"service_rating":4.0,"private_service_rating":false}`, nil},
		{"max message", `{"service_rating":1,"service_rating_message":"` + strings.Repeat("ø", 1000) + `","private_service_rating":true}`, nil},
		{"message too long", `{"service_rating":1,"service_rating_message":"` + strings.Repeat("ø", 1001) + `","private_service_rating":true}`, ErrInvalidRating},
		{"empty", ``, ErrInvalidJSON},
		{"truncated", `{"service_rating":`, ErrInvalidJSON},
		{"trailing object", `{"service_rating":5,"private_service_rating":true}{}`, ErrInvalidJSON},
		{"trailing text", `{"service_rating":5,"private_service_rating":true} x`, ErrInvalidJSON},
		{"string rating", `{"service_rating":"5","private_service_rating":true}`, ErrInvalidJSON},
		{"null private", `{"service_rating":5,"private_service_rating":null}`, ErrInvalidRating},
		{"missing rating", `{"private_service_rating":true}`, ErrInvalidRating},
		{"499", `{"service_rating":499.0,"private_service_rating":true}`, ErrInvalidRating},
		{"half star", `{"service_rating":4.5,"private_service_rating":true}`, ErrInvalidRating},
		{"overflow", `{"service_rating":1e309,"private_service_rating":true}`, ErrInvalidJSON},
		{"NaN literal", `{"service_rating":NaN,"private_service_rating":true}`, ErrInvalidJSON},
		{"unknown field", `{"service_rating":5,"private_service_rating":true,"booking_id":9}`, ErrInvalidJSON},
		{"duplicate key", `{"service_rating":5,"service_rating":1,"private_service_rating":true}`, ErrInvalidJSON},
		{"case-variant key", `{"Service_Rating":1,"service_rating":5,"private_service_rating":true}`, ErrInvalidJSON},
		{"case-variant only", `{"SERVICE_RATING":5,"private_service_rating":true}`, ErrInvalidJSON},
		{"invalid utf8", "{\"service_rating\":5,\"service_rating_message\":\"\xff\",\"private_service_rating\":true}", ErrInvalidJSON},
		{"array", `[]`, ErrInvalidJSON},
		{"null message", `{"service_rating":5,"service_rating_message":null,"private_service_rating":true}`, ErrInvalidRating},
		{"null rating", `{"service_rating":null,"private_service_rating":true}`, ErrInvalidRating},
		{"lone high surrogate", `{"service_rating":5,"service_rating_message":"a\ud800b","private_service_rating":true}`, ErrInvalidJSON},
		{"lone low surrogate", `{"service_rating":5,"service_rating_message":"\udc00","private_service_rating":true}`, ErrInvalidJSON},
		{"high surrogate at the end", `{"service_rating":5,"private_service_rating":true,"service_rating_message":"\ud83d"}`, ErrInvalidJSON},
		{"surrogate pair", `{"service_rating":5,"service_rating_message":"\ud83d\ude00","private_service_rating":true}`, nil},
		{"escaped backslash before u", `{"service_rating":5,"service_rating_message":"\\ud800","private_service_rating":true}`, nil},
		{"escaped quote then escape", `{"service_rating":5,"service_rating_message":"\"\u00e6","private_service_rating":true}`, nil},
		{"deep nesting", strings.Repeat("[", 100000), ErrInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRateRequest([]byte(tt.body), rules)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("DecodeRateRequest() = %v, want %v", err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), "Go struct") || strings.Contains(err.Error(), "contracts.")) {
				t.Fatalf("error %q leaks Go internals", err)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		given    string
		wantKeep bool
	}{
		{"abc-123", true},
		{"f59ee325-0445-4bd0-9bf1-73edcd7da151", true},
		{"", false},
		{strings.Repeat("a", 129), false},
		{"a\rSet-Cookie: x", false},
		{"a b", false},
		{"<script>", false},
	}
	for _, tt := range tests {
		got := RequestID(tt.given)
		if (got == tt.given) != tt.wantKeep || got == "" {
			t.Errorf("RequestID(%q) = %q, want kept=%v", tt.given, got, tt.wantKeep)
		}
	}
}

func TestParseBookingID(t *testing.T) {
	tests := []struct {
		in     string
		want   int64
		wantOK bool
	}{
		{"123", 123, true},
		{"1", 1, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"9223372036854775808", 0, false},
		{"99999999999999999999", 0, false},
		{"0", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"007", 0, false},
		{"1.0", 0, false},
		{"1e3", 0, false},
		{"0x1F", 0, false},
		{"1_000", 0, false},
		{"%201", 0, false},
		{"..%2F..%2Fadmin", 0, false},
		{"123;jsessionid=x", 0, false},
		{"123%00", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseBookingID(tt.in)
		if (err == nil) != tt.wantOK || got != tt.want {
			t.Errorf("ParseBookingID(%q) = %d, %v, want %d, ok=%v", tt.in, got, err, tt.want, tt.wantOK)
		}
	}
}

// FuzzUsernameClassTable: the byte table Check uses for the contract's
// pattern agrees with the regular expression on every name, and patterns
// of another form keep the regular expression.
func FuzzUsernameClassTable(f *testing.F) {
	c := mustLoad(f)
	r := c.UsernameRules()
	if r.allowed == nil {
		f.Fatalf("the contract's pattern %q has no byte table", r.Pattern)
	}
	for _, p := range []string{`^[a-z]+$`, `^[A-Za-zæøå]*$`, `^(ab)*$`, `[a-z]*`} {
		if classTable(p) != nil {
			f.Fatalf("classTable(%q) is not nil", p)
		}
	}
	for _, s := range []string{"ola.nordmann", "a b", "æøå", "x\x00y", "Ola_N-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := r.matches(name), r.re.MatchString(name); got != want {
			t.Fatalf("matches(%q) = %v, the pattern says %v", name, got, want)
		}
	})
}
