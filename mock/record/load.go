package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/minbil/minbil-bff/contracts"
)

// Format is the fixture format this version writes and loads. Format 1
// (files without a "format" field) kept workshop names, service titles,
// messages and request ids as the upstream sent them, kept ids, and stored
// an answer that is not JSON as it came: it is refused, with what to do.
const Format = 2

// Bounds of what Load reads: one fixture file (an upstream answer is at
// most maxAnswer, and indenting grows it), and a whole directory.
const (
	maxFixtureFile = 4 * maxAnswer
	maxFixtures    = 256 << 20
)

// FixtureError is a fixture replay refuses to serve.
type FixtureError struct {
	// File is the fixture's file (empty for data not read from a file).
	File string
	// Problem says what is wrong; Fix what to do about it.
	Problem, Fix string
}

func (e *FixtureError) Error() string {
	return "fixture " + e.File + ": " + e.Problem + "; " + e.Fix
}

// reRecord is the fix of a fixture this version does not write.
const reRecord = "record it again with this version (minbil-bff mock --record URL --fixtures DIR, into a new directory) or delete it"

// wwwAuthValue is a WWW-Authenticate replay serves: the Bearer scheme with
// at most a realm of plain characters and an RFC 6750 error code.
var wwwAuthValue = regexp.MustCompile(`^Bearer(?: realm="[A-Za-z0-9._-]{1,64}"(?:, error="(?:invalid_request|invalid_token|insufficient_scope)")?| error="(?:invalid_request|invalid_token|insufficient_scope)")?$`)

// parse reads one fixture file's data and refuses what replay may not
// serve (refusal).
func (d *Dir) parse(data []byte) (Fixture, *FixtureError) {
	if len(data) > maxFixtureFile {
		return Fixture{}, &FixtureError{Problem: fmt.Sprintf("larger than %d MiB", maxFixtureFile>>20), Fix: "shorten it or delete it"}
	}
	var f Fixture
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Fixture{}, &FixtureError{Problem: "not a fixture: " + clip(err.Error()), Fix: "correct its JSON or delete it"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return Fixture{}, &FixtureError{Problem: "not a fixture: data after its JSON object", Fix: "correct its JSON or delete it"}
	}
	if ferr := d.refusal(f); ferr != nil {
		return Fixture{}, ferr
	}
	return f, nil
}

// refusal says why replay may not serve f, or nil: a fixture of another
// format; a request that is not an operation of the contract; a status the
// contract does not list for it (statusAllowed); a header outside
// the allowed headers (checkHeader) or a value it may not take; a body that is not a JSON
// object; an error answer whose body is not the contract's error body.
func (d *Dir) refusal(f Fixture) *FixtureError {
	switch {
	case f.Format == 0:
		return &FixtureError{Problem: "written by an older minbil-bff (fixture format 1, which kept workshop names, messages and request ids as the upstream sent them and did not remap ids)",
			Fix: reRecord + `; a fixture written by hand that holds no personal data loads once it says "format": 2`}
	case f.Format != Format:
		return &FixtureError{Problem: fmt.Sprintf("fixture format %d; this minbil-bff reads format %d", f.Format, Format),
			Fix: "use the minbil-bff that recorded it, or " + reRecord}
	}
	op, err := d.operation(f.Request)
	if err != nil {
		return &FixtureError{Problem: "request " + clip(f.Request.Method+" "+f.Request.Path) + " is not an operation of the contract", Fix: "correct its request or delete it"}
	}
	if id, ok := strings.CutPrefix(f.Request.Path, contracts.PathRatePrefix); ok {
		if _, err := contracts.ParseBookingID(id); err != nil {
			return &FixtureError{Problem: "request path holds a booking id the contract refuses", Fix: "correct its request or delete it"}
		}
	}
	if !statusAllowed(op, f.Status) {
		return &FixtureError{Problem: fmt.Sprintf("status %d is not an answer the contract lists for %s %s (it lists %s)", f.Status, clip(f.Request.Method), clip(f.Request.Path), listedStatuses(op)),
			Fix: "use one of those statuses or delete it"}
	}
	if problem := checkHeader(f.Status, f.Header); problem != "" {
		return &FixtureError{Problem: problem, Fix: "remove that header or correct its value (a fixture may set Content-Type: application/json, Retry-After: seconds on a 429 or 5xx, WWW-Authenticate: Bearer on a 401)"}
	}
	if f.BodyText != "" {
		return &FixtureError{Problem: "body_text: an answer that is not JSON is never served (it may be an HTML page with a script, or hold what the upstream should not have sent)",
			Fix: reRecord + " (it records the contract's error body instead)"}
	}
	return checkBody(op, f)
}

// statusAllowed reports whether a fixture may answer op with status: one
// the contract lists for op, or any 4xx or 5xx when op has a default
// answer (the contract's error body); never a 1xx or 3xx (a switch of
// protocols or a redirect is not an answer to replay), nor a 2xx the
// contract does not list.
func statusAllowed(op *openapi3.Operation, status int) bool {
	switch {
	case status < 200 || status > 599 || (status >= 300 && status < 400):
		return false
	case op.Responses.Status(status) != nil:
		return true
	}
	return isError(status) && op.Responses.Default() != nil
}

// listedStatuses names the statuses statusAllowed accepts for op.
func listedStatuses(op *openapi3.Operation) string {
	var codes []string
	for k := range op.Responses.Map() {
		if n, err := strconv.Atoi(k); err == nil && statusAllowed(op, n) {
			codes = append(codes, k)
		}
	}
	slices.Sort(codes)
	out := strings.Join(codes, ", ")
	if op.Responses.Default() != nil {
		out += ", and any 4xx or 5xx with the error body"
	}
	return out
}

// checkHeader says what is wrong with a fixture's header, or "". The only
// headers a fixture may set: Content-Type, which says the body is JSON;
// Retry-After (a 429 or 5xx) and WWW-Authenticate (a 401), the headers
// the contract requires on those answers and what a client's error
// handling reads. X-Request-ID is not among them: the mock sets it per
// request, as it sets meta.request_id, and a recorded one would contradict
// both. Anything else a recording could carry acts on the browser
// (Set-Cookie, Location, Access-Control-*, a Content-Security-Policy) and
// has no place in an offline answer.
func checkHeader(status int, h map[string]string) string {
	seen := map[string]bool{}
	for k, v := range h {
		name := http.CanonicalHeaderKey(k)
		if seen[name] {
			return "header " + clip(name) + " is given twice"
		}
		seen[name] = true
		ok := false
		switch name {
		case http.CanonicalHeaderKey("Content-Type"):
			mt, params, err := mime.ParseMediaType(v)
			ok = err == nil && mt == "application/json" && (len(params) == 0 || (len(params) == 1 && strings.EqualFold(params["charset"], "utf-8")))
		case http.CanonicalHeaderKey("Retry-After"):
			ok = retryAllowed(status) && retryAfter.MatchString(v)
		case http.CanonicalHeaderKey("WWW-Authenticate"):
			ok = status == http.StatusUnauthorized && wwwAuthValue.MatchString(v)
		default:
			return "header " + clip(k) + " is not one a fixture may set"
		}
		if !ok {
			return "header " + clip(k) + " has a value replay does not serve with status " + strconv.Itoa(status)
		}
	}
	return ""
}

// checkBody refuses a body that is not a JSON object, and an error
// answer's that is not the contract's error body.
func checkBody(op *openapi3.Operation, f Fixture) *FixtureError {
	var v any
	if json.Unmarshal(f.Body, &v) != nil {
		return &FixtureError{Problem: "body is missing", Fix: "give it the answer's JSON object, or " + reRecord}
	}
	if _, ok := v.(map[string]any); !ok {
		return &FixtureError{Problem: "body is not a JSON object", Fix: "give it the answer's JSON object, or " + reRecord}
	}
	if !isError(f.Status) {
		return nil
	}
	schema := answerSchema(op, f.Status)
	if schema == nil || schema.VisitJSON(v) != nil {
		return &FixtureError{Problem: "body of an error answer is not the contract's error body {error: {code, message}, meta: {request_id, generated_at}}",
			Fix: "correct the body, or " + reRecord}
	}
	return nil
}

// readFixture reads and parses the fixture file.
func (d *Dir) readFixture(file string) (Fixture, error) {
	data, err := readBounded(file, maxFixtureFile)
	if err != nil {
		return Fixture{}, err
	}
	f, ferr := d.parse(data)
	if ferr != nil {
		ferr.File = file
		return Fixture{}, ferr
	}
	return f, nil
}

// readBounded reads a file of at most limit bytes; a longer one is read
// to limit+1 bytes, which parse refuses.
func readBounded(file string, limit int) ([]byte, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("fixture %s: %w", file, err)
	}
	return data, nil
}

// clip shortens a text taken from a fixture for an error message.
func clip(s string) string {
	const n = 80
	if len(s) > n {
		s = s[:n] + "…"
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
