package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/minbil/minbil-bff/contracts"
)

// StatusClass is what the documentation allows as the status of a case: the
// page states no status codes, so at LevelDocumented only the class counts.
type StatusClass int

// The status classes.
const (
	// AnyAnswer is a 2xx or a 4xx: the documentation leaves the outcome
	// open, only a server error or a redirect breaks it (the zero value).
	AnyAnswer StatusClass = iota
	// AnySuccess is a 2xx: the documentation promises an answer.
	AnySuccess
	// AnyRejection is a 4xx: the documentation implies a refusal.
	AnyRejection
)

func (c StatusClass) has(status int) bool {
	switch c {
	case AnySuccess:
		return is2xx(status)
	case AnyRejection:
		return is4xx(status)
	}
	return is2xx(status) || is4xx(status)
}

func (c StatusClass) String() string {
	switch c {
	case AnySuccess:
		return "a 2xx"
	case AnyRejection:
		return "a 4xx"
	}
	return "a 2xx or 4xx"
}

func is2xx(status int) bool { return status >= 200 && status < 300 }
func is4xx(status int) bool { return status >= 400 && status < 500 }

// judgeStatus compares the answer's status with the case: outside the
// documented class it is a documented break, inside it but not one of the
// statuses we decided it is the decision that differs.
func judgeStatus(c Case, status int) []Finding {
	if slices.Contains(c.WantStatus, status) {
		return nil
	}
	if status >= 500 {
		return []Finding{documented(CheckServerError, "status", fmt.Sprintf("expected %s, got %d", statusList(c.WantStatus), status))}
	}
	check := c.statusCheck()
	if !c.DocStatus.has(status) {
		return []Finding{documented(check, "status", fmt.Sprintf("expected %s (%s), got %d", c.DocStatus, statusList(c.WantStatus), status))}
	}
	return []Finding{decided(check, statusDecision(c, status), "status", fmt.Sprintf("expected %s, got %d", statusList(c.WantStatus), status))}
}

// statusDecision names the decision that a status inside the documented
// class but not among the case's statuses differs from.
func statusDecision(c Case, status int) DecisionID {
	rejects := slices.Equal(c.WantStatus, []int{http.StatusBadRequest})
	switch {
	case is2xx(status) && slices.ContainsFunc(c.WantStatus, is2xx):
		return DecisionSuccess200
	case rejects && status == http.StatusNotFound:
		return DecisionCheckOrder
	case rejects && is4xx(status):
		return DecisionBadInput400
	case c.Decision == "":
		return DecisionSuccess200
	}
	return c.Decision
}

// judgeAnswer checks the answer's content type, headers and body against
// the response the contract declares for its status. A 2xx is always read
// with the operation's documented success schema (a 201 too), never with
// the Error schema; everything on a non-2xx is decided (error_body).
func (r *runner) judgeAnswer(op contracts.Operation, ans Answer) []Finding {
	resp := responseFor(op, ans.Status)
	if resp == nil {
		return nil
	}
	errBody := DecisionID("")
	if !is2xx(ans.Status) {
		errBody = DecisionErrorBody
	}
	out := judgeHeaders(resp, ans.Header, errBody)
	mt := resp.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return out
	}
	if !isJSON(ans.Header.Get("Content-Type")) {
		return append(out, decided(CheckContentType, errBody, "header Content-Type",
			fmt.Sprintf("expected application/json, got %q", ans.Header.Get("Content-Type"))))
	}
	var value any
	if err := json.Unmarshal(ans.Body, &value); err != nil {
		return append(out, decided(CheckSchema, errBody, "body", "expected JSON: "+err.Error()))
	}
	err := mt.Schema.Value.VisitJSON(value, openapi3.MultiErrors(), openapi3.VisitAsResponse())
	for _, e := range schemaErrors(err) {
		d := errBody
		if d == "" {
			d = r.keywordDecision(e)
		}
		out = append(out, decided(CheckSchema, d, contracts.JSONPath(e.JSONPointer()), describeSchemaError(e)))
	}
	return out
}

// responseFor is the response the contract declares for status; for an
// undeclared 2xx, the documented 200.
func responseFor(op contracts.Operation, status int) *openapi3.Response {
	ref := op.Op.Responses.Status(status)
	if ref == nil && is2xx(status) {
		ref = op.Op.Responses.Status(http.StatusOK)
	}
	if ref == nil {
		ref = op.Op.Responses.Default()
	}
	if ref == nil {
		return nil
	}
	return ref.Value
}

// judgeHeaders checks the headers the response declares: required ones
// present, present ones of their schema. Every header is a decision.
func judgeHeaders(resp *openapi3.Response, h http.Header, errBody DecisionID) []Finding {
	var out []Finding
	for _, name := range sortedKeys(resp.Headers) {
		ref := resp.Headers[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		d := headerDecision(name, errBody)
		value, present := h.Get(name), len(h.Values(name)) > 0
		switch {
		case !present && ref.Value.Required:
			out = append(out, decided(CheckSchema, d, "header "+name, "missing"))
		case present && ref.Value.Schema != nil && ref.Value.Schema.Value != nil:
			if err := ref.Value.Schema.Value.VisitJSON(value); err != nil {
				out = append(out, decided(CheckSchema, d, "header "+name, describe(err)))
			}
		}
	}
	return out
}

func headerDecision(name string, errBody DecisionID) DecisionID {
	switch http.CanonicalHeaderKey(name) {
	case "X-Request-Id":
		return DecisionRequestIDEcho
	case "Www-Authenticate":
		return DecisionUnauthorized401
	}
	if errBody != "" {
		return errBody
	}
	return DecisionSuccess200
}

// keywordDecision says whether a failed schema keyword of a 2xx body is
// documented (types, required fields: the page shows them) or which
// decision it enforces.
func (r *runner) keywordDecision(e *openapi3.SchemaError) DecisionID {
	switch e.SchemaField {
	case "type", "required", "nullable":
		return ""
	}
	if d, ok := r.schemaDecision[e.Schema]; ok {
		return d
	}
	switch e.SchemaField {
	case "format":
		return DecisionDateTime
	case "additionalProperties":
		return DecisionClosedSchemas
	}
	return DecisionValueBounds
}

// schemaErrors flattens kin-openapi's error tree.
func schemaErrors(err error) []*openapi3.SchemaError {
	var multi openapi3.MultiError
	if errors.As(err, &multi) {
		var out []*openapi3.SchemaError
		for _, e := range multi {
			out = append(out, schemaErrors(e)...)
		}
		return out
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return []*openapi3.SchemaError{se}
	}
	return nil
}

// describeSchemaError says what the schema expected and what came, without
// echoing long values (they may be private data).
func describeSchemaError(e *openapi3.SchemaError) string {
	switch e.SchemaField {
	case "type":
		want := "?"
		if e.Schema != nil && e.Schema.Type != nil {
			want = strings.Join(*e.Schema.Type, " or ")
		}
		return fmt.Sprintf("expected %s, got %s", want, kindOf(e.Value))
	case "format":
		return fmt.Sprintf("expected a %s string, got %s", e.Schema.Format, shortValue(e.Value))
	case "required":
		return e.Reason
	case "nullable":
		return "expected a value, got null"
	}
	return fmt.Sprintf("%s (schema %q)", e.Reason, e.SchemaField)
}

func describe(err error) string {
	if es := schemaErrors(err); len(es) > 0 {
		return describeSchemaError(es[0])
	}
	return err.Error()
}

func shortValue(v any) string {
	if s, ok := v.(string); ok && len(s) <= 40 {
		return fmt.Sprintf("%q", s)
	}
	return kindOf(v)
}

// kindOf names the JSON type of a decoded value by its encoding's first
// byte.
func kindOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) == 0 {
		return fmt.Sprintf("%T", v)
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}
