package contracts

import (
	"errors"
	"strconv"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeRateRequest checks that the strict decoder never panics, and
// that whatever it accepts keeps every rule of the contract.
func FuzzDecodeRateRequest(f *testing.F) {
	rules := mustLoad(f).RatingRules()
	for _, seed := range []string{
		`{"service_rating":5,"service_rating_message":"Bra","private_service_rating":true}`,
		`{"service_rating":499.0,"service_rating_message":"string_value","private_service_rating":true}`,
		`{"service_rating":1,"private_service_rating":false}`,
		`{"service_rating":5,"service_rating":1,"private_service_rating":true}`,
		`{"service_rating":"5"}`, `[]`, `{}`, `null`, `{"a":{"b":[1,{"c":2}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRateRequest(body, rules)
		if err != nil {
			if !errors.Is(err, ErrInvalidJSON) && !errors.Is(err, ErrInvalidRating) {
				t.Fatalf("DecodeRateRequest() = %v, want ErrInvalidJSON or ErrInvalidRating", err)
			}
			return
		}
		r := *req.ServiceRating
		if r < rules.MinRating || r > rules.MaxRating || req.PrivateServiceRating == nil {
			t.Fatalf("accepted %q as %+v", body, req)
		}
		if req.ServiceRatingMessage != nil && utf8.RuneCountInString(*req.ServiceRatingMessage) > rules.MaxMessageLength {
			t.Fatalf("accepted a message of %d characters", utf8.RuneCountInString(*req.ServiceRatingMessage))
		}
	})
}

// FuzzUsernameRules checks that an accepted name keeps the documented rules
// byte by byte, whatever the input.
func FuzzUsernameRules(f *testing.F) {
	r := mustLoad(f).UsernameRules()
	for _, seed := range []string{"abc", "ab", "ola.nordmann", "Åsmund", "аdmin", "a b", "abc\x00", "%2e%2e", "\xff\xfe"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		ok, msg := r.Check(name)
		if !ok {
			if msg == "" {
				t.Fatalf("Check(%q) rejected without a message", name)
			}
			return
		}
		if len(name) < r.MinLength || len(name) > r.MaxLength {
			t.Fatalf("Check(%q) accepted a name of %d bytes", name, len(name))
		}
		for _, c := range []byte(name) {
			isAllowed := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
			if !isAllowed {
				t.Fatalf("Check(%q) accepted byte %q", name, c)
			}
		}
	})
}

// FuzzParseBookingID checks that an accepted id round-trips to the same
// digits, so nothing but ^[1-9][0-9]*$ can reach an upstream path.
func FuzzParseBookingID(f *testing.F) {
	for _, seed := range []string{"123", "1", "0", "-1", "+1", "007", "9223372036854775807", "9223372036854775808", "..%2F..%2Fadmin", "1e3", "123;x", " 1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseBookingID(s)
		if err != nil {
			return
		}
		if id < 1 || strconv.FormatInt(id, 10) != s {
			t.Fatalf("ParseBookingID(%q) = %d, which does not round-trip", s, id)
		}
	})
}
