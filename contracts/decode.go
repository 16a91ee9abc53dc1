package contracts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// ErrInvalidJSON is wrapped by DecodeRateRequest when the body is not one
// well-formed JSON object of the expected shape.
var ErrInvalidJSON = errors.New("invalid JSON")

// ErrInvalidRating is wrapped by DecodeRateRequest when the body is well
// formed but breaks a rule of the contract.
var ErrInvalidRating = errors.New("invalid rating")

// DecodeRateRequest decodes a rating submission strictly: exactly one JSON
// object, valid UTF-8, no unknown or duplicate fields, no trailing data, the
// required fields present and not null, and every value inside rules. The
// returned error wraps ErrInvalidJSON or ErrInvalidRating and its text is
// safe to show to a client (it never contains Go type names or the body).
func DecodeRateRequest(body []byte, rules RatingRules) (RateRequest, error) {
	var req RateRequest
	if !utf8.Valid(body) {
		return req, fmt.Errorf("%w: the body is not valid UTF-8", ErrInvalidJSON)
	}
	if err := checkKeys(body, rateRequestFields); err != nil {
		return req, err
	}
	if err := checkSurrogates(body); err != nil {
		return req, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("%w: %s", ErrInvalidJSON, safeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, fmt.Errorf("%w: unexpected data after the JSON object", ErrInvalidJSON)
	}
	return req, checkRateRequest(req, rules)
}

func checkRateRequest(req RateRequest, rules RatingRules) error {
	switch {
	case req.ServiceRating == nil:
		return fmt.Errorf("%w: service_rating is required", ErrInvalidRating)
	case req.PrivateServiceRating == nil:
		return fmt.Errorf("%w: private_service_rating is required", ErrInvalidRating)
	}
	r := *req.ServiceRating
	if math.IsNaN(r) || r < rules.MinRating || r > rules.MaxRating || r != math.Trunc(r) {
		return fmt.Errorf("%w: service_rating must be a whole number from %g to %g", ErrInvalidRating, rules.MinRating, rules.MaxRating)
	}
	if req.ServiceRatingMessage != nil && utf8.RuneCountInString(*req.ServiceRatingMessage) > rules.MaxMessageLength {
		return fmt.Errorf("%w: service_rating_message must be at most %d characters", ErrInvalidRating, rules.MaxMessageLength)
	}
	return nil
}

// safeJSONError describes a decoding error without Go struct or type names.
func safeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			return fmt.Sprintf("%s has the wrong type (got a JSON %s)", typeErr.Field, typeErr.Value)
		}
		return fmt.Sprintf("expected a JSON object, got a JSON %s", typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is empty or truncated"
	}
	// DisallowUnknownFields reports `json: unknown field "x"`; keep only the
	// field name, quoted by encoding/json itself.
	if msg := err.Error(); len(msg) > 6 && msg[:6] == "json: " {
		return msg[6:]
	}
	return "malformed JSON"
}

var rateRequestFields = map[string]bool{
	"service_rating":         true,
	"service_rating_message": true,
	"private_service_rating": true,
}

// checkKeys walks the tokens of body and fails on an object that names one
// key twice, ignoring case (encoding/json matches names case-insensitively
// and keeps the last; other parsers keep the first), and on a top-level key
// that is not spelled exactly as in allowed.
func checkKeys(body []byte, allowed map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object    bool
		keys      map[string]struct{}
		expectKey bool
	}
	var stack []*frame
	lastKey := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			// Syntax problems are reported by the real decode.
			return nil
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				if top != nil && top.object {
					top.expectKey = true
				}
				stack = append(stack, &frame{object: true, keys: map[string]struct{}{}, expectKey: true})
			case '[':
				if top != nil && top.object {
					top.expectKey = true
				}
				stack = append(stack, &frame{})
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.object && top.expectKey {
				folded := strings.ToLower(t)
				if _, dup := top.keys[folded]; dup {
					return fmt.Errorf("%w: the field %q appears twice", ErrInvalidJSON, t)
				}
				if len(stack) == 1 && !allowed[t] {
					return fmt.Errorf("%w: unknown field %q", ErrInvalidJSON, t)
				}
				top.keys[folded] = struct{}{}
				top.expectKey = false
				lastKey = t
				continue
			}
			if top != nil && top.object {
				top.expectKey = true
			}
		default:
			if tok == nil && len(stack) == 1 && top.object && !top.expectKey {
				return fmt.Errorf("%w: %s must not be null", ErrInvalidRating, lastKey)
			}
			if top != nil && top.object {
				top.expectKey = true
			}
		}
	}
}

// checkSurrogates refuses \u escapes that encode half of a UTF-16 surrogate
// pair: encoding/json would turn them into U+FFFD and the upstream would get
// a different message than the one sent.
func checkSurrogates(body []byte) error {
	inString := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '"':
			inString = !inString
		case !inString || c != '\\' || i+1 >= len(body):
		case body[i+1] != 'u':
			i++ // skip the escaped character (\" or \\ among them)
		default:
			r, ok := hex4(body, i+2)
			switch {
			case !ok:
				return nil // malformed escapes are the decoder's to report
			case r >= 0xDC00 && r <= 0xDFFF:
				return fmt.Errorf("%w: a string holds half of a UTF-16 surrogate pair", ErrInvalidJSON)
			case r >= 0xD800 && r <= 0xDBFF:
				lo, ok := hex4(body, i+8)
				if i+7 >= len(body) || body[i+6] != '\\' || body[i+7] != 'u' || !ok || lo < 0xDC00 || lo > 0xDFFF {
					return fmt.Errorf("%w: a string holds half of a UTF-16 surrogate pair", ErrInvalidJSON)
				}
				i += 11
			default:
				i += 5
			}
		}
	}
	return nil
}

// hex4 reads four hex digits at body[at:].
func hex4(body []byte, at int) (rune, bool) {
	if at+4 > len(body) {
		return 0, false
	}
	var r rune
	for _, c := range body[at : at+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// ErrInvalidBookingID is returned by ParseBookingID.
var ErrInvalidBookingID = errors.New("booking_id must be a positive integer")

// InvalidBookingIDMessage is the message of every invalid_booking_id
// answer, the mock's and the gateway's alike: the rule the contract states
// for the booking_id path parameter (its minimum, maximum and description),
// which ParseBookingID keeps.
const InvalidBookingIDMessage = "booking_id must be a whole number from 1 to 9223372036854775807 in decimal digits, without sign, leading zeros or exponent."

// checkBookingIDBounds reports a booking_id parameter of rateBooking whose
// stated bounds are not the ones ParseBookingID keeps (1 and
// math.MaxInt64), so that the document, the parser and
// InvalidBookingIDMessage cannot drift apart. The document's maximum is
// read as a float64, the nearest of which to math.MaxInt64 is 2^63: the
// comparison is as exact as any reader of the document can be.
func checkBookingIDBounds(doc *openapi3.T) error {
	op := doc.Paths.Value(PathRate).GetOperation(http.MethodPost)
	p := op.Parameters.GetByInAndName(openapi3.ParameterInPath, bookingIDParam)
	if p == nil || p.Schema == nil || p.Schema.Value == nil {
		return fmt.Errorf("contract: POST %s has no %s schema", PathRate, bookingIDParam)
	}
	s := p.Schema.Value
	if s.Min == nil || *s.Min != 1 || s.Max == nil || *s.Max != float64(math.MaxInt64) {
		return fmt.Errorf("contract: %s must state minimum 1 and maximum %d, as ParseBookingID keeps", bookingIDParam, int64(math.MaxInt64))
	}
	return nil
}

// ParseBookingID accepts exactly ^[1-9][0-9]{0,18}$ within int64: no sign,
// no leading zero, no spaces, no encodings; the result is safe to put into
// an upstream path.
func ParseBookingID(s string) (int64, error) {
	if len(s) == 0 || len(s) > 19 || s[0] < '1' || s[0] > '9' {
		return 0, ErrInvalidBookingID
	}
	var n int64
	for i := 0; i < len(s); i++ {
		d := s[i]
		if d < '0' || d > '9' {
			return 0, ErrInvalidBookingID
		}
		if n > (math.MaxInt64-int64(d-'0'))/10 {
			return 0, ErrInvalidBookingID
		}
		n = n*10 + int64(d-'0')
	}
	return n, nil
}
