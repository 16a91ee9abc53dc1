package verify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Level says which expectations fail a run.
type Level string

// The levels of a run.
const (
	// LevelAuto is the zero value: LevelStrict when the target serves the
	// embedded contract, else LevelDocumented.
	LevelAuto Level = ""
	// LevelDocumented fails only where the target breaks what the
	// documentation page states; a differing decision is a warning.
	LevelDocumented Level = "documented"
	// LevelStrict also fails on every decision of the contract.
	LevelStrict Level = "strict"
)

// ParseLevel reads a --level value.
func ParseLevel(s string) (Level, error) {
	switch Level(s) {
	case LevelDocumented, LevelStrict:
		return Level(s), nil
	case "auto":
		return LevelAuto, nil
	}
	return "", fmt.Errorf("--level %q must be documented, strict or auto", s)
}

// Check names a family of checks, the way Schemathesis names its checks;
// --checks and --exclude-checks select them.
type Check string

// The checks of a run.
const (
	CheckServerError Check = "not_a_server_error"
	CheckStatus      Check = "status_code_conformance"
	CheckContentType Check = "content_type_conformance"
	CheckSchema      Check = "response_schema_conformance"
	CheckNegative    Check = "negative_data_rejection"
	CheckAuth        Check = "auth"
	CheckStateful    Check = "stateful"
	CheckSemantics   Check = "response_semantics"
)

// Checks returns every check, in the order the help text lists them.
func Checks() []Check {
	return []Check{CheckServerError, CheckStatus, CheckContentType, CheckSchema,
		CheckNegative, CheckAuth, CheckStateful, CheckSemantics}
}

// ParseChecks reads a comma-separated list of check names; "all" and ""
// are every check.
func ParseChecks(s string) ([]Check, error) {
	if s == "" || s == "all" {
		return Checks(), nil
	}
	var out []Check
	for _, name := range strings.Split(s, ",") {
		c := Check(strings.TrimSpace(name))
		if !slices.Contains(Checks(), c) {
			return nil, fmt.Errorf("unknown check %q (known: %s)", c, checkNames(Checks()))
		}
		out = append(out, c)
	}
	return out, nil
}

func checkNames(cs []Check) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// DecisionID names one decision of the contract: something the
// documentation page does not state, recorded in an x-assumption.
type DecisionID string

// The decisions verify enforces at LevelStrict.
const (
	DecisionErrorBody       DecisionID = "error_body"
	DecisionErrorCodes      DecisionID = "error_codes"
	DecisionRequestIDEcho   DecisionID = "request_id_echo"
	DecisionSuccess200      DecisionID = "success_200"
	DecisionBadInput400     DecisionID = "bad_input_400"
	DecisionCheckOrder      DecisionID = "check_order"
	DecisionUnauthorized401 DecisionID = "unauthorized_401"
	DecisionTokenValidation DecisionID = "token_validation"
	DecisionUnknownBooking  DecisionID = "unknown_booking_404"
	DecisionNonJSON415      DecisionID = "non_json_415"
	DecisionRateOnce        DecisionID = "rate_once"
	DecisionRateEcho        DecisionID = "rate_answer_echo"
	DecisionClosedSchemas   DecisionID = "closed_schemas"
	DecisionDateTime        DecisionID = "date_time_format"
	DecisionRatingRange     DecisionID = "rating_range"
	DecisionMessageLength   DecisionID = "message_max_length"
	DecisionRateFields      DecisionID = "rate_request_fields"
	DecisionValueBounds     DecisionID = "value_constraints"
	DecisionUsernameAnswer  DecisionID = "username_answer"
	DecisionUsernameASCII   DecisionID = "username_ascii_letters"
	DecisionUsernameParam   DecisionID = "username_parameter"
	DecisionListInvariants  DecisionID = "list_invariants"
)

// Decision is one decision of the contract that verify enforces.
type Decision struct {
	ID DecisionID `json:"id"`
	// Summary says what was decided, in a line.
	Summary string `json:"summary"`
	// Where lists the JSON pointers, into contracts/openapi.yaml, of the
	// x-assumption notes that record it.
	Where []string `json:"where"`
}

const (
	ptrCheckUsername = "/paths/~1api~1co~1profile~1check-username/get"
	ptrListRatings   = "/paths/~1api~1co~1rating/get"
	ptrRateBooking   = "/paths/~1api~1co~1rating~1rate~1{booking_id}/post"
	ptrSchemas       = "/components/schemas/"
	ptrResponses     = "/components/responses/"
)

// decisions is every decision verify enforces, each with the x-assumption
// that records it (TestDecisionsAreTheContracts keeps the two together).
var decisions = []Decision{
	{DecisionErrorBody, "every non-2xx answer is JSON with the Error body {error: {code, message}, meta}", []string{"/info", ptrSchemas + "Error"}},
	{DecisionErrorCodes, "error.code is one of our codes (username_required, already_rated, …)", []string{ptrSchemas + "Error"}},
	{DecisionRequestIDEcho, "X-Request-ID echoes the caller's id and equals meta.request_id", []string{"/info", "/components/headers/RequestID"}},
	{DecisionSuccess200, "a success is 200 (a stored rating too, not 201)", []string{ptrRateBooking + "/responses/200"}},
	{DecisionBadInput400, "a malformed request is 400, not 422", []string{ptrResponses + "BadRequest"}},
	{DecisionCheckOrder, "a rating body is validated before its booking is looked up (400 before 404)", []string{ptrResponses + "BadRequest"}},
	{DecisionUnauthorized401, "a missing token is 401 with a WWW-Authenticate challenge", []string{ptrResponses + "Unauthorized"}},
	{DecisionTokenValidation, "a malformed token is 401 on every operation, the public ones included", []string{ptrResponses + "Unauthorized", ptrListRatings}},
	{DecisionUnknownBooking, "an unknown or foreign booking is 404", []string{ptrRateBooking}},
	{DecisionNonJSON415, "a body that is not application/json is 415", []string{ptrResponses + "UnsupportedMediaType"}},
	{DecisionRateOnce, "a booking is rated once; a second rating is 409 already_rated and changes nothing", []string{ptrRateBooking}},
	{DecisionRateEcho, "the rating answer's data echoes what was submitted", []string{ptrRateBooking}},
	{DecisionClosedSchemas, "answers carry no fields beyond the documented ones", []string{ptrSchemas + "UsernameCheck", ptrSchemas + "RatingList", ptrSchemas + "RatingItem"}},
	{DecisionDateTime, "times are RFC 3339 date-times", []string{ptrSchemas + "RatingItem/properties/rated_at"}},
	{DecisionRatingRange, "service_rating is 1–5 whole stars", []string{ptrSchemas + "ServiceRating"}},
	{DecisionMessageLength, "service_rating_message is at most 1000 characters", []string{ptrSchemas + "ServiceRatingMessage"}},
	{DecisionRateFields, "service_rating and private_service_rating are required, unknown fields rejected", []string{ptrSchemas + "RateRequest"}},
	{DecisionValueBounds, "org numbers have 9 digits, ids are 1 to 9223372036854775807, total at least 0", []string{ptrSchemas + "RatingItem/properties/workshop_org_nr"}},
	{DecisionUsernameAnswer, "a username that breaks a rule is 200 available:false; the answer echoes the name and has a message", []string{ptrCheckUsername}},
	{DecisionUsernameASCII, `"letters" are the ASCII letters A–Z and a–z`, []string{ptrCheckUsername}},
	{DecisionUsernameParam, "a missing, empty or repeated username is 400 username_required or username_ambiguous", []string{ptrCheckUsername}},
	{DecisionListInvariants, "total is the number of items, each booking is listed once, newest first", []string{ptrListRatings}},
}

// Relaxations are the x-assumptions that make the contract accept more,
// so verify has nothing to enforce for them.
var relaxations = map[string]string{
	ptrSchemas + "RatingItem/properties/status": "no enumeration of status is imposed",
}

// decisionByID returns the decision id.
func decisionByID(id DecisionID) Decision {
	for _, d := range decisions {
		if d.ID == id {
			return d
		}
	}
	return Decision{ID: id}
}

// Finding is one expectation that an answer did not meet.
type Finding struct {
	// Check is the check that found it.
	Check Check `json:"check"`
	// Decision is the decision the expectation comes from; empty when the
	// documentation states it.
	Decision DecisionID `json:"decision,omitempty"`
	// Where is "status", "header <Name>", "body" or a JSON path into the
	// body such as "items[0].total".
	Where string `json:"where"`
	// Problem says what was expected and what came.
	Problem string `json:"problem"`
}

// String renders the finding as "where: problem [check]", with the decision
// when it has one.
func (f Finding) String() string {
	s := f.Where + ": " + f.Problem + " [" + string(f.Check)
	if f.Decision != "" {
		s += ", decision " + string(f.Decision)
	}
	return s + "]"
}

// Documented reports whether the documentation states the expectation.
func (f Finding) Documented() bool { return f.Decision == "" }

func documented(check Check, where, problem string) Finding {
	return Finding{Check: check, Where: where, Problem: problem}
}

func decided(check Check, d DecisionID, where, problem string) Finding {
	return Finding{Check: check, Decision: d, Where: where, Problem: problem}
}

// schemaDecisions maps the schemas that the decisions point at to their
// decision, so that a schema keyword failing there is named by it.
func schemaDecisions(doc *openapi3.T) map[*openapi3.Schema]DecisionID {
	out := map[*openapi3.Schema]DecisionID{}
	for _, d := range decisions {
		for _, ptr := range d.Where {
			if s := schemaAt(doc, ptr); s != nil {
				out[s] = d.ID
			}
		}
	}
	return out
}

// schemaAt resolves a pointer of the form
// /components/schemas/<Name>[/properties/<field>].
func schemaAt(doc *openapi3.T, ptr string) *openapi3.Schema {
	rest, ok := strings.CutPrefix(ptr, ptrSchemas)
	if !ok || doc.Components == nil {
		return nil
	}
	parts := strings.Split(rest, "/")
	ref := doc.Components.Schemas[parts[0]]
	for i := 1; ref != nil && ref.Value != nil && i+1 < len(parts); i += 2 {
		if parts[i] != "properties" {
			return nil
		}
		ref = ref.Value.Properties[parts[i+1]]
	}
	if ref == nil {
		return nil
	}
	return ref.Value
}
