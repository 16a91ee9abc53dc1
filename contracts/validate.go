package contracts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Operation is one method on one path of the contract.
type Operation struct {
	Method string
	Path   string
	Op     *openapi3.Operation
}

// Name returns "METHOD /path", the way reports name an operation.
func (o Operation) Name() string { return o.Method + " " + o.Path }

func sortOperations(ops []Operation) {
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
}

// Violation is one way in which a request or response breaks the contract.
type Violation struct {
	// Where is "status", "header <Name>", "body" or a JSON path into the body
	// such as "items[0].total".
	Where string `json:"where"`
	// Problem says what was expected and what came.
	Problem string `json:"problem"`
}

// String renders the violation as "where: problem".
func (v Violation) String() string { return v.Where + ": " + v.Problem }

// ValidationError carries every violation found in one request or response.
type ValidationError struct {
	Operation  string
	Violations []Violation
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return e.Operation + ": " + strings.Join(parts, "; ")
}

// noAuth lets the filter skip security checks: authentication is the
// gateway's job, the contract only says where a token is required.
func noAuth(context.Context, *openapi3filter.AuthenticationInput) error { return nil }

func options() *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError:            true,
		IncludeResponseStatus: true,
		AuthenticationFunc:    noAuth,
	}
}

// ValidateRequest checks a request (with its body already read into body)
// against the operation it addresses. It returns ErrNoOperation when the
// request addresses no operation, else a *ValidationError or nil.
func (c *Contract) ValidateRequest(ctx context.Context, req *http.Request, body []byte) error {
	route, params, err := c.Route(req)
	if err != nil {
		return err
	}
	in := requestInput(req, body, route, params)
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return &ValidationError{Operation: operationName(route), Violations: violationsOf(err)}
	}
	return nil
}

// ValidateResponse checks a response to req against the contract: status
// code, the headers the contract names and the body.
func (c *Contract) ValidateResponse(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := c.Route(req)
	if err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: requestInput(req, nil, route, params),
		Status:                 status,
		Header:                 header,
		Options:                options(),
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return &ValidationError{Operation: operationName(route), Violations: violationsOf(err)}
	}
	return nil
}

func requestInput(req *http.Request, body []byte, route *routers.Route, params map[string]string) *openapi3filter.RequestValidationInput {
	if body != nil {
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	return &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options:    options(),
	}
}

func operationName(route *routers.Route) string {
	return route.Method + " " + route.Path
}

// violationsOf flattens kin-openapi's error tree into violations with JSON
// paths. Errors are read with errors.As, never by their text.
func violationsOf(err error) []Violation {
	var out []Violation
	var walk func(error)
	walk = func(err error) {
		var multi openapi3.MultiError
		if errors.As(err, &multi) {
			for _, e := range multi {
				walk(e)
			}
			return
		}
		var schemaErr *openapi3.SchemaError
		if errors.As(err, &schemaErr) {
			out = append(out, schemaViolation(err, schemaErr))
			return
		}
		var respErr *openapi3filter.ResponseError
		if errors.As(err, &respErr) && respErr.Err != nil {
			before := len(out)
			walk(respErr.Err)
			if len(out) > before {
				return
			}
		}
		var reqErr *openapi3filter.RequestError
		if errors.As(err, &reqErr) && reqErr.Err != nil && reqErr.Parameter == nil {
			before := len(out)
			walk(reqErr.Err)
			if len(out) > before {
				return
			}
		}
		out = append(out, Violation{Where: whereOf(err), Problem: problemOf(err)})
	}
	walk(err)
	return out
}

func schemaViolation(outer error, e *openapi3.SchemaError) Violation {
	where := JSONPath(e.JSONPointer())
	var reqErr *openapi3filter.RequestError
	if errors.As(outer, &reqErr) && reqErr.Parameter != nil {
		where = reqErr.Parameter.In + " parameter " + reqErr.Parameter.Name
	}
	return Violation{Where: where, Problem: describeSchemaError(e)}
}

func whereOf(err error) string {
	var reqErr *openapi3filter.RequestError
	if errors.As(err, &reqErr) {
		switch {
		case reqErr.Parameter != nil:
			return reqErr.Parameter.In + " parameter " + reqErr.Parameter.Name
		case reqErr.RequestBody != nil:
			return "body"
		}
		return "request"
	}
	var respErr *openapi3filter.ResponseError
	if errors.As(err, &respErr) {
		if name, ok := strings.CutPrefix(respErr.Reason, "response header "); ok {
			return "header " + strings.Trim(strings.Fields(name)[0], `"`)
		}
		if strings.Contains(respErr.Reason, "status code") {
			return "status"
		}
		return "body"
	}
	return "response"
}

func problemOf(err error) string {
	var respErr *openapi3filter.ResponseError
	if errors.As(err, &respErr) && respErr.Reason != "" {
		if respErr.Err != nil {
			return respErr.Reason + ": " + respErr.Err.Error()
		}
		return respErr.Reason
	}
	var reqErr *openapi3filter.RequestError
	if errors.As(err, &reqErr) {
		if reqErr.Err != nil {
			return strings.TrimSpace(reqErr.Reason + " " + reqErr.Err.Error())
		}
		return reqErr.Reason
	}
	return err.Error()
}

// JSONPath turns a JSON pointer's segments into a dotted path with array
// indexes ("items", "0", "total" → "items[0].total"); the root is "body".
func JSONPath(segments []string) string {
	if len(segments) == 0 {
		return "body"
	}
	var b strings.Builder
	for _, s := range segments {
		if isIndex(s) {
			fmt.Fprintf(&b, "[%s]", s)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// describeSchemaError says what the schema expected and what came, without
// echoing the value itself (it may be private data).
func describeSchemaError(e *openapi3.SchemaError) string {
	s := e.Schema
	switch e.SchemaField {
	case "type":
		want := "?"
		if s != nil && s.Type != nil && len(*s.Type) > 0 {
			want = strings.Join(*s.Type, " or ")
		}
		return fmt.Sprintf("expected %s, got %s", want, jsonKind(e.Value))
	case "required":
		return e.Reason
	case "nullable":
		return "expected a value, got null"
	case "format":
		if s != nil {
			return fmt.Sprintf("expected a %s string, got a string that is not one", s.Format)
		}
	case "additionalProperties":
		// kin-openapi's reason quotes the property's name, which an
		// upstream that echoes headers fills with a token.
		return "a property the schema does not declare"
	}
	return fmt.Sprintf("%s (schema %q)", withoutValue(e.Reason, e.Value, s), e.SchemaField)
}

// withoutValue removes a value from a reason that quotes it.
// Violations say where and what kind, never the value: it may be private
// data or a secret an upstream echoed (OA-01).
// For an object, the names of properties its schema does not declare are
// values too (kin-openapi's "property %q is unsupported" quotes them).
func withoutValue(reason string, v any, schema *openapi3.Schema) string {
	switch v := v.(type) {
	case string:
		if v != "" {
			reason = strings.ReplaceAll(reason, v, "…")
		}
	case map[string]any:
		for name := range v {
			if name != "" && (schema == nil || schema.Properties[name] == nil) {
				reason = strings.ReplaceAll(reason, name, "…")
			}
		}
	}
	return reason
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, int64, int, int32, float32:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
