package contracts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// DecodeJSON decodes body, one JSON value, the way the contract's checks
// read it: numbers kept exact (json.Number), nothing after the value. It is
// the one decoding of an upstream answer: CheckAnswer validates the value
// and PruneValue cleans it, so neither reads the bytes again.
func DecodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidJSON, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the value", ErrInvalidJSON)
	}
	return v, nil
}

// Answer is an answer to one of the contract's operations, its JSON body
// already decoded (DecodeJSON).
type Answer struct {
	// Operation is the operation's id (OpListRatings, ...).
	Operation string
	Status    int
	// Header holds the answer's headers the contract may name
	// (Content-Type among them).
	Header http.Header
	// Value is the decoded body; DecodeErr, when not nil, says why the body
	// could not be decoded (then Value is nil).
	Value     any
	DecodeErr error
}

// CheckAnswer validates a decoded answer as ValidateResponse validates the
// bytes of one: its status, the headers the contract names, the content
// type and the body against the schema of that status (or the default
// answer). It returns a *ValidationError or nil.
func (c *Contract) CheckAnswer(ctx context.Context, a Answer) error {
	route, ok := c.routes[a.Operation]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoOperation, a.Operation)
	}
	if err := c.checkAnswer(ctx, route, a); err != nil {
		return &ValidationError{Operation: operationName(route), Violations: violationsOf(err)}
	}
	return nil
}

// checkAnswer is kin-openapi's openapi3filter.ValidateResponse with the
// body's decoding taken out: the library validates the status and the
// headers (ExcludeResponseBody), then the decoded value is visited with the
// same options. Its errors are the library's, so violationsOf reads them as
// it reads ValidateResponse's.
func (c *Contract) checkAnswer(ctx context.Context, route *routers.Route, a Answer) error {
	opts := options()
	opts.ExcludeResponseBody = true
	req := &http.Request{Method: route.Method, Header: http.Header{}}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route, Options: opts},
		Status:                 a.Status,
		Header:                 a.Header,
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return err
	}
	ref := route.Operation.Responses.Status(a.Status)
	if ref == nil {
		ref = route.Operation.Responses.Default()
	}
	if ref == nil || ref.Value == nil || len(ref.Value.Content) == 0 {
		return nil
	}
	ct := a.Header.Get("Content-Type")
	media := ref.Value.Content.Get(ct)
	switch {
	case media == nil:
		return &openapi3filter.ResponseError{Input: in, Reason: fmt.Sprintf("response header Content-Type has unexpected value: %q", ct)}
	case media.Schema == nil:
		return nil
	case a.DecodeErr != nil:
		return &openapi3filter.ResponseError{Input: in, Reason: "failed to decode response body",
			Err: &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: a.DecodeErr}}
	}
	if err := media.Schema.Value.VisitJSON(a.Value, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		return &openapi3filter.ResponseError{Input: in, Reason: "response body doesn't match schema", Err: err}
	}
	return nil
}

// operationRoutes builds the route of every endpoint once, so that checking
// an answer to a known operation needs no routing.
func operationRoutes(doc *openapi3.T) map[string]*routers.Route {
	out := make(map[string]*routers.Route, len(endpoints))
	for _, e := range endpoints {
		item := doc.Paths.Value(e.Path)
		out[e.ID] = &routers.Route{Spec: doc, Path: e.Path, PathItem: item, Method: e.Method, Operation: item.GetOperation(e.Method)}
	}
	return out
}
