package contracts

import (
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

const (
	rateRequestSchema = "RateRequest"
)

// UsernameRules are the documented rules for a username, read from the
// contract's x-username-rules extension on the check-username operation.
type UsernameRules struct {
	MinLength       int    `json:"min_length"`
	MaxLength       int    `json:"max_length"`
	Pattern         string `json:"pattern"`
	CaseInsensitive bool   `json:"case_insensitive"`
	Messages        struct {
		Length    string `json:"length"`
		Charset   string `json:"charset"`
		Taken     string `json:"taken"`
		Available string `json:"available"`
	} `json:"messages"`

	re *regexp.Regexp
	// allowed holds, when the pattern is one character class repeated
	// (^[...]*$, as the contract's is), which bytes the class admits: a
	// name then keeps the rule when each of its bytes does, so Check does
	// not run the regular expression on every request. nil: use re.
	allowed *[256]bool
}

// Check reports whether name keeps the rules, and when it does not, the
// message that names the rule it breaks. Length is counted in characters
// (Unicode code points) of the decoded name; invalid UTF-8 breaks the
// character rule.
func (r UsernameRules) Check(name string) (ok bool, message string) {
	n := utf8.RuneCountInString(name)
	if n < r.MinLength || n > r.MaxLength {
		return false, r.Messages.Length
	}
	if !utf8.ValidString(name) || !r.matches(name) {
		return false, r.Messages.Charset
	}
	return true, ""
}

func (r UsernameRules) matches(name string) bool {
	if r.allowed == nil {
		return r.re.MatchString(name)
	}
	for i := 0; i < len(name); i++ {
		if !r.allowed[name[i]] {
			return false
		}
	}
	return true
}

// classTable returns the bytes a pattern of the form ^[class]*$ admits, or
// nil when the pattern has another form or its class admits a character
// beyond ASCII (a byte of a multi-byte character says nothing alone).
func classTable(pattern string) *[256]bool {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) != 3 || re.Sub[0].Op != syntax.OpBeginText ||
		re.Sub[2].Op != syntax.OpEndText || re.Sub[1].Op != syntax.OpStar || re.Sub[1].Sub[0].Op != syntax.OpCharClass {
		return nil
	}
	class := re.Sub[1].Sub[0].Rune
	var t [256]bool
	for i := 0; i < len(class); i += 2 {
		lo, hi := class[i], class[i+1]
		if hi >= utf8.RuneSelf {
			return nil
		}
		for c := lo; c <= hi; c++ {
			t[c] = true
		}
	}
	return &t
}

// Key returns the form of name under which the upstream compares names:
// lower-cased when the contract says comparison is case-insensitive.
func (r UsernameRules) Key(name string) string {
	if r.CaseInsensitive {
		return strings.ToLower(name)
	}
	return name
}

func readUsernameRules(doc *openapi3.T) (UsernameRules, error) {
	var r UsernameRules
	item := doc.Paths.Value(PathCheckUsername)
	if item == nil || item.Get == nil {
		return r, fmt.Errorf("contract: no GET %s", PathCheckUsername)
	}
	raw, ok := item.Get.Extensions["x-username-rules"]
	if !ok {
		return r, fmt.Errorf("contract: GET %s has no x-username-rules", PathCheckUsername)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return r, fmt.Errorf("contract: x-username-rules: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("contract: x-username-rules: %w", err)
	}
	if r.re, err = regexp.Compile(r.Pattern); err != nil {
		return r, fmt.Errorf("contract: x-username-rules.pattern: %w", err)
	}
	r.allowed = classTable(r.Pattern)
	if r.MinLength < 1 || r.MaxLength < r.MinLength {
		return r, fmt.Errorf("contract: x-username-rules: bad lengths %d..%d", r.MinLength, r.MaxLength)
	}
	return r, nil
}

// RatingRules are the limits of a rating submission, read from the
// RateRequest schema.
type RatingRules struct {
	MinRating        float64
	MaxRating        float64
	MaxMessageLength int
}

func readRatingRules(doc *openapi3.T) (RatingRules, error) {
	ref, ok := doc.Components.Schemas[rateRequestSchema]
	if !ok || ref.Value == nil {
		return RatingRules{}, fmt.Errorf("contract: no %s schema", rateRequestSchema)
	}
	rating := ref.Value.Properties["service_rating"]
	msg := ref.Value.Properties["service_rating_message"]
	if rating == nil || msg == nil || rating.Value.Min == nil || rating.Value.Max == nil || msg.Value.MaxLength == nil {
		return RatingRules{}, fmt.Errorf("contract: %s must bound service_rating and service_rating_message", rateRequestSchema)
	}
	return RatingRules{
		MinRating:        *rating.Value.Min,
		MaxRating:        *rating.Value.Max,
		MaxMessageLength: int(*msg.Value.MaxLength),
	}, nil
}
