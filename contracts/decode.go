package contracts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
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
//
// The body is read once, token by token (readRateRequest): the same walk
// checks the field names and takes the values. Problems are reported in
// the order a client can fix them: names (duplicates, unknown, null)
// anywhere in the body, then half surrogate pairs, then the JSON syntax,
// then the values' types, then trailing data, then the rules.
func DecodeRateRequest(body []byte, rules RatingRules) (RateRequest, error) {
	if !utf8.Valid(body) {
		return RateRequest{}, fmt.Errorf("%w: the body is not valid UTF-8", ErrInvalidJSON)
	}
	w := readRateRequest(body)
	if w.nameErr != nil {
		return RateRequest{}, w.nameErr
	}
	if err := checkSurrogates(body); err != nil {
		return RateRequest{}, err
	}
	req, err := w.request(body)
	if err != nil {
		return RateRequest{}, err
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

// rateWalk is what one walk over a rating body found.
type rateWalk struct {
	// nameErr is the first problem with a field name: a name given twice
	// in one object, ignoring case (encoding/json matches names that way
	// and keeps the last; other parsers keep the first), a top-level name
	// not spelled exactly as the contract does, or a top-level null.
	nameErr error
	// syntaxErr is the first problem with the JSON itself in the first
	// value; trailing is set when anything follows that value.
	syntaxErr error
	trailing  bool
	// top is the kind of the first value ("object", "array", ...), and
	// fields the top-level values: a scalar's token, or its kind (nested)
	// when it is an object or an array.
	top    string
	fields map[string]any
}

// kindOf names a JSON value's kind from its first token, as encoding/json's
// type errors name it.
func kindOf(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return "object"
		}
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// readRateRequest walks the tokens of body once: every object's names, at
// any depth and in any value (trailing ones too), and the top-level
// object's values.
func readRateRequest(body []byte) rateWalk {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object    bool
		keys      map[string]struct{}
		expectKey bool
	}
	w := rateWalk{fields: map[string]any{}}
	var stack []*frame
	values, key := 0, ""
	for {
		tok, err := dec.Token()
		if err != nil {
			if values == 0 || len(stack) > 0 || !errors.Is(err, io.EOF) {
				if values > 0 && len(stack) == 0 || values > 1 {
					w.trailing = true
				} else {
					w.syntaxErr = err
				}
			}
			return w
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top == nil {
			values++
			if values > 1 {
				w.trailing = true
			} else {
				w.top = kindOf(tok)
			}
		}
		if name, isName := tok.(string); isName && top != nil && top.object && top.expectKey {
			folded := strings.ToLower(name)
			switch _, dup := top.keys[folded]; {
			case dup:
				w.setNameErr(fmt.Errorf("%w: the field %q appears twice", ErrInvalidJSON, name))
			case len(stack) == 1 && !rateRequestFields[name]:
				w.setNameErr(fmt.Errorf("%w: unknown field %q", ErrInvalidJSON, name))
			}
			top.keys[folded] = struct{}{}
			top.expectKey, key = false, name
			continue
		}
		if top != nil && top.object && !isClose(tok) {
			top.expectKey = true
			if len(stack) == 1 && values == 1 {
				w.takeField(key, tok)
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]struct{}{}, expectKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].expectKey = true
			}
		}
	}
}

func isClose(tok json.Token) bool { return tok == json.Delim('}') || tok == json.Delim(']') }

func (w *rateWalk) setNameErr(err error) {
	if w.nameErr == nil {
		w.nameErr = err
	}
}

// takeField keeps the top-level value of name that starts with tok.
func (w *rateWalk) takeField(name string, tok json.Token) {
	switch tok.(type) {
	case nil:
		w.setNameErr(fmt.Errorf("%w: %s must not be null", ErrInvalidRating, name))
	case json.Delim:
		w.fields[name] = nested(kindOf(tok))
	default:
		w.fields[name] = tok
	}
}

// request turns the walk over body into the submission, or the first
// problem with the JSON's syntax, a value's type, or what follows the
// object.
func (w rateWalk) request(body []byte) (RateRequest, error) {
	var req RateRequest
	switch {
	case w.syntaxErr != nil:
		return req, fmt.Errorf("%w: %s", ErrInvalidJSON, safeJSONError(syntaxError(body, w.syntaxErr)))
	case w.top == "null":
		// encoding/json leaves a struct alone for a null: no fields.
	case w.top != "object":
		return req, fmt.Errorf("%w: expected a JSON object, got a JSON %s", ErrInvalidJSON, w.top)
	}
	for _, name := range []string{"service_rating", "service_rating_message", "private_service_rating"} {
		v, ok := w.fields[name]
		if !ok {
			continue
		}
		if err := req.set(name, v); err != nil {
			return RateRequest{}, err
		}
	}
	if w.trailing {
		return RateRequest{}, fmt.Errorf("%w: unexpected data after the JSON object", ErrInvalidJSON)
	}
	return req, nil
}

// syntaxError is the error encoding/json's scanner gives for the first
// value of body, which says where the JSON breaks the way a client's tools
// count (the token walk notices some problems a few bytes earlier); walkErr
// when the scanner finds none. Only a malformed body is scanned again.
func syntaxError(body []byte, walkErr error) error {
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(new(any)); err != nil {
		return err
	}
	return walkErr
}

// set stores the value v (a token, or the kind of an object or array) of
// the field name, or says it has the wrong type.
func (r *RateRequest) set(name string, v any) error {
	got := ""
	switch name {
	case "service_rating":
		if n, ok := v.(json.Number); ok {
			f, err := strconv.ParseFloat(string(n), 64)
			if err == nil {
				r.ServiceRating = &f
				return nil
			}
			got = "number " + string(n)
		}
	case "service_rating_message":
		if s, ok := v.(string); ok {
			r.ServiceRatingMessage = &s
			return nil
		}
	case "private_service_rating":
		if b, ok := v.(bool); ok {
			r.PrivateServiceRating = &b
			return nil
		}
	}
	if got == "" {
		got = valueKind(v)
	}
	return fmt.Errorf("%w: %s has the wrong type (got a JSON %s)", ErrInvalidJSON, name, got)
}

// nested is the kind of a top-level value that is an object or an array.
type nested string

// valueKind names what set got: a token's kind, or a nested value's.
func valueKind(v any) string {
	if n, ok := v.(nested); ok {
		return string(n)
	}
	return kindOf(v)
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
