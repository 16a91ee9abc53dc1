package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/minbil/minbil-bff/contracts"
)

// Kind says where a case comes from.
type Kind string

// The kinds of case.
const (
	KindExample  Kind = "example"  // a documented example
	KindBoundary Kind = "boundary" // at or beyond a documented rule
	KindAuth     Kind = "auth"     // without or with a malformed token
	KindNegative Kind = "negative" // malformed JSON, wrong types, unknown booking
	KindFlow     Kind = "flow"     // a step of the stateful rating flow
)

// Auth says which Authorization header a request carries.
type Auth int

// The Authorization headers a request can carry.
const (
	// AuthToken sends the configured token, if any (the zero value).
	AuthToken Auth = iota
	// AuthNone sends no Authorization header.
	AuthNone
	// AuthMalformed sends a bearer token that no target can accept.
	AuthMalformed
)

// malformedToken is no bearer token under any reading: RFC 6750 allows no
// whitespace inside the token (the mock accepts any visible ASCII token,
// so "!" alone would not do).
const malformedToken = "Bearer !!not a token!!"

// Request is what a case sends. Path is a concrete path of the contract
// (e.g. /api/co/rating/rate/123), appended to the target's base URL.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	Auth   Auth
}

// Answer is what came back.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Case is one request with its expectations.
type Case struct {
	// Name says what the case checks, unique within its operation.
	Name string
	// Operation is the contract's name of the operation, "METHOD /path".
	Operation string
	Kind      Kind
	Request   Request
	// WantStatus lists the status codes of our contract (LevelStrict).
	WantStatus []int
	// DocStatus is what the documentation allows (LevelDocumented).
	DocStatus StatusClass
	// Decision is the decision that narrows DocStatus to WantStatus
	// (judgeStatus refines it for 422s and 201s).
	Decision DecisionID
	// Mutates is true for every request that could change state on the
	// target: every POST, even one the contract says must be rejected,
	// because a target that fails to reject it would store it. Such cases
	// are skipped in a read-only run.
	Mutates bool
	// NeedsToken is true when the operation requires a bearer token and the
	// case sends the configured one; without a token the case is skipped.
	NeedsToken bool
	// AfterFlow is true for cases that address the flow's booking: they run
	// after the stateful flow so that they cannot rate it first.
	AfterFlow bool
	// Check returns what the schema cannot express (echoed values, error
	// codes, list invariants). Nil checks nothing more.
	Check func(Answer) []Finding
}

// statusCheck is the check that judges the case's status.
func (c Case) statusCheck() Check {
	switch {
	case c.Kind == KindAuth:
		return CheckAuth
	case c.Kind == KindFlow:
		return CheckStateful
	case !slices.ContainsFunc(c.WantStatus, is2xx):
		return CheckNegative
	}
	return CheckStatus
}

// Cases builds every case that the contract implies for cfg, in the order
// they run: per operation (in the contract's order) the documented
// examples, the boundaries of its rules, the auth cases and the negative
// cases. The stateful flow is not among them: Run adds it.
func Cases(contract *contracts.Contract, cfg Config) ([]Case, error) {
	cfg, err := cfg.withDefaults(contract)
	if err != nil {
		return nil, err
	}
	g := &generator{contract: contract, cfg: cfg}
	var out []Case
	for _, op := range contract.Operations() {
		cases, err := g.operation(op)
		if err != nil {
			return nil, fmt.Errorf("cases of %s: %w", op.Name(), err)
		}
		out = append(out, cases...)
	}
	return out, nil
}

// ExampleBookingID returns the documentation's example booking id: the
// example of the rate operation's integer path parameter.
func ExampleBookingID(contract *contracts.Contract) (int64, error) {
	for _, op := range contract.Operations() {
		for _, p := range op.Op.Parameters {
			if p.Value == nil || p.Value.In != openapi3.ParameterInPath || !isType(p.Value.Schema, openapi3.TypeInteger) {
				continue
			}
			if id, ok := p.Value.Example.(float64); ok && id >= 1 {
				return int64(id), nil
			}
			if id, ok := p.Value.Example.(int); ok && id >= 1 {
				return int64(id), nil
			}
		}
	}
	return 0, errors.New("the contract has no example booking id")
}

type generator struct {
	contract *contracts.Contract
	cfg      Config
}

// opInfo is what the generator reads from one operation.
type opInfo struct {
	op          contracts.Operation
	needsToken  bool // bearer required
	bearer      bool // bearer accepted (required or optional)
	success     []int
	pathParam   *openapi3.Parameter // the integer path parameter, if any
	queryParams []*openapi3.Parameter
	bodySchema  *openapi3.Schema
	bodyExample string // name of the first request example that keeps the contract
	validBody   []byte
}

func (g *generator) operation(op contracts.Operation) ([]Case, error) {
	info, err := g.inspect(op)
	if err != nil {
		return nil, err
	}
	var out []Case
	for _, step := range []func(opInfo) ([]Case, error){g.examples, g.usernameBoundaries, g.ratingBoundaries, g.auth, g.negative} {
		cases, err := step(info)
		if err != nil {
			return nil, err
		}
		out = append(out, cases...)
	}
	for i := range out {
		out[i].Operation = op.Name()
		out[i].Mutates = !safeMethod(out[i].Request.Method)
		out[i].NeedsToken = info.needsToken && out[i].Request.Auth == AuthToken
		if out[i].Check == nil {
			out[i].Check = g.answerCheck(info, out[i].Request)
		}
	}
	return out, nil
}

func (g *generator) inspect(op contracts.Operation) (opInfo, error) {
	info := opInfo{op: op}
	if sec := op.Op.Security; sec != nil {
		info.needsToken = true
		for _, req := range *sec {
			if len(req) == 0 {
				info.needsToken = false
			}
			if _, ok := req["bearerAuth"]; ok {
				info.bearer = true
			}
		}
		if len(*sec) == 0 {
			info.needsToken = false
		}
	}
	for code := range op.Op.Responses.Map() {
		if n, err := strconv.Atoi(code); err == nil && n >= 200 && n < 300 {
			info.success = append(info.success, n)
		}
	}
	slices.Sort(info.success)
	for _, p := range op.Op.Parameters {
		if p.Value == nil {
			continue
		}
		switch {
		case p.Value.In == openapi3.ParameterInPath && isType(p.Value.Schema, openapi3.TypeInteger):
			info.pathParam = p.Value
		case p.Value.In == openapi3.ParameterInQuery:
			info.queryParams = append(info.queryParams, p.Value)
		}
	}
	if rb := op.Op.RequestBody; rb != nil && rb.Value != nil {
		mt := rb.Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
			return info, errors.New("request body without an application/json schema")
		}
		info.bodySchema = mt.Schema.Value
		for _, name := range sortedKeys(mt.Examples) {
			body, err := exampleJSON(mt.Examples[name])
			if err != nil {
				return info, fmt.Errorf("request example %q: %w", name, err)
			}
			if g.keepsContract(info, body) {
				info.bodyExample, info.validBody = name, body
				break
			}
		}
		if info.validBody == nil {
			return info, errors.New("no request example keeps the contract")
		}
	}
	return info, nil
}

// keepsContract reports whether the contract accepts body as this
// operation's request body: expected statuses of body cases come from the
// contract's own validation, not from a hand-kept table.
func (g *generator) keepsContract(info opInfo, body []byte) bool {
	path := g.path(info, UnknownBookingID)
	req, err := http.NewRequestWithContext(context.Background(), info.op.Method, "http://contract.invalid"+path, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	return g.contract.ValidateRequest(context.Background(), req, body) == nil
}

// path fills the operation's integer path parameter with id.
func (g *generator) path(info opInfo, id int64) string {
	return g.pathWith(info, strconv.FormatInt(id, 10))
}

func (g *generator) pathWith(info opInfo, segment string) string {
	if info.pathParam == nil {
		return info.op.Path
	}
	return strings.Replace(info.op.Path, "{"+info.pathParam.Name+"}", url.PathEscape(segment), 1)
}

// baseRequest is a request that keeps the contract and changes nothing: the
// parameters' examples, the first valid request example, sent to the
// unknown booking. base returns it with the status a correct target answers.
func (g *generator) base(info opInfo) (Request, []int) {
	req := Request{Method: info.op.Method, Path: g.path(info, UnknownBookingID), Query: url.Values{}}
	for _, p := range info.queryParams {
		if s, ok := p.Example.(string); ok {
			req.Query.Set(p.Name, s)
		}
	}
	if info.bodySchema != nil {
		req.Body = info.validBody
		return req, []int{http.StatusNotFound}
	}
	return req, info.success
}

// examples: every documented example that can be sent. A request example
// is sent to the configured booking (the documented path uses the example
// id 123); one that breaks the contract must be rejected with 400, one that
// keeps it is stored (200) or finds the booking already rated (409).
// Without request examples, the parameters' examples form the documented
// request, and every 200 example that names a query parameter is sent too.
func (g *generator) examples(info opInfo) ([]Case, error) {
	var out []Case
	if info.bodySchema != nil {
		examples, err := requestExamples(info.op.Op.RequestBody.Value.Content.Get("application/json"))
		if err != nil {
			return nil, err
		}
		for _, ex := range examples {
			name, body := ex.name, ex.body
			c := Case{
				Name:      "request example " + name,
				Kind:      KindExample,
				Request:   Request{Method: info.op.Method, Path: g.path(info, g.cfg.BookingID), Body: body},
				AfterFlow: true,
			}
			if g.keepsContract(info, body) {
				c.WantStatus, c.Decision = append(slices.Clone(info.success), http.StatusConflict), DecisionRateOnce
				c.Check = allChecks(wantCodeOn(http.StatusConflict, contracts.CodeAlreadyRated), rateEchoCheck(g.cfg.BookingID, body))
			} else {
				c.Name += " (breaks the contract)"
				c.WantStatus, c.Decision = []int{http.StatusBadRequest}, DecisionRatingRange
			}
			out = append(out, c)
		}
		return out, nil
	}
	req, want := g.base(info)
	out = append(out, Case{Name: "documented request", Kind: KindExample, Request: req, WantStatus: want, DocStatus: AnySuccess})
	seen := map[string]bool{}
	for _, p := range info.queryParams {
		if s, ok := p.Example.(string); ok {
			seen[s] = true
		}
	}
	ok200 := info.op.Op.Responses.Status(http.StatusOK)
	if ok200 == nil || ok200.Value == nil {
		return out, nil
	}
	mt := ok200.Value.Content.Get("application/json")
	if mt == nil {
		return out, nil
	}
	for _, name := range sortedKeys(mt.Examples) {
		ex := mt.Examples[name]
		obj, _ := ex.Value.Value.(map[string]any)
		for _, p := range info.queryParams {
			s, ok := obj[p.Name].(string)
			if !ok || seen[s] {
				continue
			}
			seen[s] = true
			r := Request{Method: info.op.Method, Path: info.op.Path, Query: url.Values{p.Name: {s}}}
			out = append(out, Case{
				Name:       fmt.Sprintf("response example %s (%s=%s)", name, p.Name, s),
				Kind:       KindExample,
				Request:    r,
				WantStatus: info.success,
				DocStatus:  AnySuccess,
			})
		}
	}
	return out, nil
}

// answerCheck returns the check of what the schema cannot say about a
// success answer to req: the username answer's echo and message, the
// rating list's invariants.
func (g *generator) answerCheck(info opInfo, req Request) func(Answer) []Finding {
	if _, ok := info.op.Op.Extensions["x-username-rules"]; ok {
		for _, p := range info.queryParams {
			if p.Required && len(req.Query[p.Name]) == 1 {
				return usernameCheck(g.contract.UsernameRules(), req.Query.Get(p.Name))
			}
		}
		return nil
	}
	if info.op.Method == http.MethodGet && info.pathParam == nil && len(info.queryParams) == 0 {
		return listCheck
	}
	return nil
}

// usernameBoundaries: lengths at and beyond both bounds, each allowed
// character that is not a letter or digit, every allowed letter and digit,
// and a few forbidden characters, all judged by the contract's own rules.
// A name that breaks a rule is answered 200 with available:false.
func (g *generator) usernameBoundaries(info opInfo) ([]Case, error) {
	if _, ok := info.op.Op.Extensions["x-username-rules"]; !ok {
		return nil, nil
	}
	var param string
	for _, p := range info.queryParams {
		if p.Required {
			param = p.Name
		}
	}
	if param == "" {
		return nil, errors.New("x-username-rules on an operation without a required query parameter")
	}
	rules := g.contract.UsernameRules()
	var out []Case
	add := func(name, username string) {
		req := Request{Method: info.op.Method, Path: info.op.Path, Query: url.Values{param: {username}}}
		c := Case{Name: name, Kind: KindBoundary, Request: req, WantStatus: info.success, DocStatus: AnySuccess, Check: usernameCheck(rules, username)}
		if ok, _ := rules.Check(username); !ok {
			// Refusing the name outright is the documented outcome too.
			c.DocStatus, c.Decision = AnyAnswer, DecisionUsernameAnswer
		}
		out = append(out, c)
	}
	for _, n := range []int{rules.MinLength - 1, rules.MinLength, rules.MaxLength, rules.MaxLength + 1} {
		if n < 1 {
			continue
		}
		add(fmt.Sprintf("username of %d characters", n), filler(n))
	}
	allowed, forbidden := classifyCharacters(rules)
	var alnum []rune
	for _, r := range allowed {
		if isASCIIAlnum(r) {
			alnum = append(alnum, r)
			continue
		}
		add(fmt.Sprintf("username with allowed character %q", r), padName(rules, string(r)))
	}
	chunks := chunk(alnum, max(rules.MaxLength-padding, 1))
	for i, c := range chunks {
		add(fmt.Sprintf("username of allowed letters and digits (%d/%d)", i+1, len(chunks)), padName(rules, string(c)))
	}
	for _, r := range forbidden {
		add(fmt.Sprintf("username with forbidden character %q (%U)", r, r), padName(rules, string(r)))
	}
	return out, nil
}

// usernameProbes are the characters tried against the username rules:
// printable ASCII, and non-ASCII letters that a naive rule would admit
// (a Norwegian letter and a Cyrillic homoglyph of "a").
func usernameProbes() []rune {
	var rs []rune
	for r := rune(0x20); r <= 0x7e; r++ {
		rs = append(rs, r)
	}
	return append(rs, 'ø', 'а')
}

// forbiddenProbes are the characters that become forbidden-character cases
// when the rules reject them: a space, an ASCII symbol and the two non-ASCII
// letters. Every rejected ASCII symbol would be 30 cases of the same check.
const forbiddenProbes = " @øа"

func classifyCharacters(rules contracts.UsernameRules) (allowed, forbidden []rune) {
	for _, r := range usernameProbes() {
		if ok, _ := rules.Check(padName(rules, string(r))); ok {
			allowed = append(allowed, r)
		} else if strings.ContainsRune(forbiddenProbes, r) {
			forbidden = append(forbidden, r)
		}
	}
	return allowed, forbidden
}

// filler is a name of n lower-case ASCII letters.
func filler(n int) string {
	const letters = "verifyusername"
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(letters[i%len(letters)])
	}
	return b.String()
}

// padding is the number of letters padName adds around its argument at the
// least, so a name of allowed characters keeps the maximum length when the
// argument has at most MaxLength-padding characters.
const padding = 2

// padName embeds s in letters so that the name is at least MinLength long;
// it stays within MaxLength when s has at most MaxLength-padding characters.
func padName(rules contracts.UsernameRules, s string) string {
	name := "v" + s + "x"
	for n := len([]rune(name)); n < rules.MinLength; n++ {
		name += "x"
	}
	return name
}

func chunk(rs []rune, n int) [][]rune {
	var out [][]rune
	for len(rs) > 0 {
		k := min(n, len(rs))
		out = append(out, rs[:k])
		rs = rs[k:]
	}
	return out
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// ratingBoundaries: the rating at and beyond each bound and between whole
// stars, the message empty, at its maximum length (in ASCII and in two-byte
// characters, since the limit counts characters) and beyond. Every body goes
// to the unknown booking: one the contract accepts must reach the booking
// lookup (404), one it rejects must be refused (400).
func (g *generator) ratingBoundaries(info opInfo) ([]Case, error) {
	if info.bodySchema == nil {
		return nil, nil
	}
	rules := g.contract.RatingRules()
	ratingField, messageField := "service_rating", "service_rating_message"
	if info.bodySchema.Properties[ratingField] == nil || info.bodySchema.Properties[messageField] == nil {
		return nil, nil
	}
	type variant struct {
		name  string
		field string
		value any
	}
	decisionOf := map[string]DecisionID{ratingField: DecisionRatingRange, messageField: DecisionMessageLength}
	variants := []variant{
		{fmt.Sprintf("rating at minimum %g", rules.MinRating), ratingField, rules.MinRating},
		{fmt.Sprintf("rating below minimum %g", rules.MinRating-1), ratingField, rules.MinRating - 1},
		{fmt.Sprintf("rating at maximum %g", rules.MaxRating), ratingField, rules.MaxRating},
		{fmt.Sprintf("rating above maximum %g", rules.MaxRating+1), ratingField, rules.MaxRating + 1},
		{fmt.Sprintf("rating between whole stars %g", rules.MaxRating-0.5), ratingField, rules.MaxRating - 0.5},
		{"message empty", messageField, ""},
		{fmt.Sprintf("message at maximum length %d", rules.MaxMessageLength), messageField, strings.Repeat("a", rules.MaxMessageLength)},
		{fmt.Sprintf("message at maximum length %d in two-byte characters", rules.MaxMessageLength), messageField, strings.Repeat("ø", rules.MaxMessageLength)},
		{fmt.Sprintf("message beyond maximum length %d", rules.MaxMessageLength+1), messageField, strings.Repeat("a", rules.MaxMessageLength+1)},
	}
	var out []Case
	for _, v := range variants {
		body, err := withField(info.validBody, v.field, v.value)
		if err != nil {
			return nil, err
		}
		out = append(out, g.bodyCase(info, KindBoundary, v.name, body, decisionOf[v.field]))
	}
	return out, nil
}

// bodyCase sends body to the unknown booking; the contract's validation of
// body decides between 404 (accepted, booking unknown) and 400, the latter
// by the decision that rejects the body.
func (g *generator) bodyCase(info opInfo, kind Kind, name string, body []byte, decision DecisionID) Case {
	c := Case{
		Name:    name,
		Kind:    kind,
		Request: Request{Method: info.op.Method, Path: g.path(info, UnknownBookingID), Body: body},
	}
	if g.keepsContract(info, body) {
		c.WantStatus, c.Decision = []int{http.StatusNotFound}, DecisionUnknownBooking
	} else {
		c.WantStatus, c.Decision = []int{http.StatusBadRequest}, decision
	}
	return c
}

// documentedRejection is a bodyCase whose refusal the documentation implies
// (the body is not the documented JSON object): any 4xx will do.
func (g *generator) documentedRejection(info opInfo, name string, body []byte) Case {
	c := g.bodyCase(info, KindNegative, name, body, DecisionBadInput400)
	c.DocStatus = AnyRejection
	return c
}

// auth: where a bearer token is accepted, a malformed one is a 401; where
// it is required, none is a 401 too; where it is optional, none is the
// answer with a token or a 401 (a deployment may require it).
func (g *generator) auth(info opInfo) ([]Case, error) {
	if !info.bearer {
		return nil, nil
	}
	base, want := g.base(info)
	none := base
	none.Auth = AuthNone
	noToken := Case{Name: "no token", Kind: KindAuth, Request: none, WantStatus: []int{http.StatusUnauthorized},
		DocStatus: AnyRejection, Decision: DecisionUnauthorized401}
	if !info.needsToken {
		noToken.WantStatus, noToken.DocStatus = append(slices.Clone(want), http.StatusUnauthorized), AnyAnswer
		if info.bodySchema != nil {
			noToken.Decision = DecisionUnknownBooking
		}
	}
	bad := base
	bad.Auth = AuthMalformed
	return []Case{
		noToken,
		{Name: "malformed token", Kind: KindAuth, Request: bad, WantStatus: []int{http.StatusUnauthorized}, Decision: DecisionTokenValidation},
	}, nil
}

// negative: missing, empty and repeated required query parameters; path
// parameters below their minimum or not integers; malformed JSON, a body
// that is not an object, an empty body, each property with a wrong type,
// each required property missing, an unknown property, a body that is not
// JSON; and the unknown booking.
func (g *generator) negative(info opInfo) ([]Case, error) {
	var out []Case
	base, _ := g.base(info)
	for _, p := range info.queryParams {
		if !p.Required {
			continue
		}
		value := base.Query.Get(p.Name)
		missing := base
		missing.Query = url.Values{}
		empty := base
		empty.Query = url.Values{p.Name: {""}}
		twice := base
		twice.Query = url.Values{p.Name: {value, value + "x"}}
		// The documentation leaves open whether these are refused or
		// answered available:false.
		param := func(name string, req Request, code string) Case {
			return Case{Name: name, Kind: KindNegative, Request: req, WantStatus: []int{http.StatusBadRequest},
				Decision: DecisionUsernameParam, Check: wantCodeOn(http.StatusBadRequest, code)}
		}
		out = append(out,
			param("missing "+p.Name, missing, requiredCode(p.Name)),
			param("empty "+p.Name, empty, requiredCode(p.Name)),
			param(p.Name+" given twice", twice, ambiguousCode(p.Name)),
		)
	}
	if p := info.pathParam; p != nil {
		r := base
		r.Path = g.pathWith(info, "abc")
		out = append(out, Case{Name: p.Name + " not an integer", Kind: KindNegative, Request: r, WantStatus: []int{http.StatusBadRequest},
			DocStatus: AnyRejection, Decision: DecisionBadInput400})
		if s := p.Schema; s != nil && s.Value != nil && s.Value.Min != nil {
			r := base
			r.Path = g.pathWith(info, strconv.FormatFloat(*s.Value.Min-1, 'f', -1, 64))
			out = append(out, Case{Name: fmt.Sprintf("%s below minimum %g", p.Name, *s.Value.Min), Kind: KindNegative, Request: r,
				WantStatus: []int{http.StatusBadRequest}, Decision: DecisionValueBounds})
		}
		if s := p.Schema; s != nil && s.Value != nil && s.Value.Max != nil {
			if above, ok := aboveMaximum(*s.Value.Max); ok {
				r := base
				r.Path = g.pathWith(info, above)
				out = append(out, Case{Name: fmt.Sprintf("%s above maximum", p.Name), Kind: KindNegative, Request: r,
					WantStatus: []int{http.StatusBadRequest}, Decision: DecisionValueBounds})
			}
		}
	}
	if info.bodySchema == nil {
		return out, nil
	}
	valid := info.validBody
	out = append(out,
		g.documentedRejection(info, "malformed JSON", valid[:len(valid)-1]),
		g.documentedRejection(info, "body is a JSON array", append(append([]byte("["), valid...), ']')),
		g.documentedRejection(info, "empty body", []byte{}),
	)
	for _, name := range sortedKeys(info.bodySchema.Properties) {
		wrong, ok := wrongType(info.bodySchema.Properties[name])
		if !ok {
			continue
		}
		body, err := withField(valid, name, wrong)
		if err != nil {
			return nil, err
		}
		out = append(out, g.documentedRejection(info, fmt.Sprintf("%s with the wrong type", name), body))
	}
	for _, name := range info.bodySchema.Required {
		body, err := withoutField(valid, name)
		if err != nil {
			return nil, err
		}
		out = append(out, g.bodyCase(info, KindNegative, "missing "+name, body, DecisionRateFields))
	}
	if ap := info.bodySchema.AdditionalProperties.Has; ap != nil && !*ap {
		body, err := withField(valid, "verify_unknown_field", true)
		if err != nil {
			return nil, err
		}
		out = append(out, g.bodyCase(info, KindNegative, "unknown field", body, DecisionRateFields))
	}
	if info.op.Op.Responses.Status(http.StatusUnsupportedMediaType) != nil {
		r := base
		r.Header = http.Header{"Content-Type": {"text/plain"}}
		out = append(out, Case{Name: "body not declared as JSON", Kind: KindNegative, Request: r,
			WantStatus: []int{http.StatusUnsupportedMediaType}, Decision: DecisionNonJSON415})
	}
	out = append(out, Case{Name: "unknown booking", Kind: KindNegative, Request: base,
		WantStatus: []int{http.StatusNotFound}, Decision: DecisionUnknownBooking})
	return out, nil
}

// aboveMaximum is the smallest whole number above a schema's maximum m,
// written in decimal. A float64 holds every whole number only up to 2^53;
// an int64's maximum, 2^63-1, is read from the document as 2^63, which is
// then itself the first number above it. Between the two the number the
// document wrote is lost, and there is no case.
func aboveMaximum(m float64) (string, bool) {
	switch {
	case m == 1<<63:
		return strconv.FormatUint(1<<63, 10), true
	case math.Abs(m) < 1<<53:
		return strconv.FormatInt(int64(math.Floor(m))+1, 10), true
	}
	return "", false
}

// requiredCode and ambiguousCode are the error codes the contract's
// x-assumption names for a missing and a repeated username.
func requiredCode(param string) string  { return param + "_required" }
func ambiguousCode(param string) string { return param + "_ambiguous" }

// wrongType returns a value of another JSON type than the schema's.
func wrongType(ref *openapi3.SchemaRef) (any, bool) {
	switch {
	case isType(ref, openapi3.TypeString):
		return 5, true
	case isType(ref, openapi3.TypeNumber), isType(ref, openapi3.TypeInteger):
		return "5", true
	case isType(ref, openapi3.TypeBoolean):
		return "true", true
	}
	return nil, false
}

func isType(ref *openapi3.SchemaRef, t string) bool {
	return ref != nil && ref.Value != nil && ref.Value.Type.Is(t)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// documentationExample is the extension that keeps the documentation's own
// example verbatim where it breaks the schema (and so cannot be a schema
// example without failing the linters).
const documentationExample = "x-documentation-example"

// namedBody is one request example.
type namedBody struct {
	name string
	body []byte
}

// requestExamples returns the media type's examples by name, then the
// documentation's verbatim example (named "documentation") if it has one.
func requestExamples(mt *openapi3.MediaType) ([]namedBody, error) {
	var out []namedBody
	for _, name := range sortedKeys(mt.Examples) {
		body, err := exampleJSON(mt.Examples[name])
		if err != nil {
			return nil, fmt.Errorf("request example %q: %w", name, err)
		}
		out = append(out, namedBody{name, body})
	}
	if ext, ok := mt.Extensions[documentationExample].(map[string]any); ok {
		body, err := json.Marshal(ext["value"])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", documentationExample, err)
		}
		out = append(out, namedBody{"documentation", body})
	}
	return out, nil
}

func exampleJSON(ex *openapi3.ExampleRef) ([]byte, error) {
	if ex == nil || ex.Value == nil {
		return nil, errors.New("empty example")
	}
	b, err := json.Marshal(ex.Value.Value)
	if err != nil {
		return nil, fmt.Errorf("encode example: %w", err)
	}
	return b, nil
}

func withField(body []byte, name string, value any) ([]byte, error) {
	obj := map[string]any{}
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("decode example body: %w", err)
	}
	obj[name] = value
	return marshalBody(obj)
}

func withoutField(body []byte, name string) ([]byte, error) {
	obj := map[string]any{}
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("decode example body: %w", err)
	}
	delete(obj, name)
	return marshalBody(obj)
}

func marshalBody(obj map[string]any) ([]byte, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode body: %w", err)
	}
	return b, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
