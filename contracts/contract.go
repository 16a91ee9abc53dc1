// Package contracts holds the OpenAPI document of the MinBil Ratings namespace,
// embedded in the binary, and the code that loads it once and validates
// requests and responses against it. It is the single source of truth for the
// mock, the gateway and the verifier.
package contracts

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

//go:embed openapi.yaml
var spec []byte

// Spec returns a copy of the embedded OpenAPI document as YAML.
func Spec() []byte {
	out := make([]byte, len(spec))
	copy(out, spec)
	return out
}

// Contract is the loaded, validated OpenAPI document with a router over its
// operations. It is safe for concurrent use; build it once with Load.
type Contract struct {
	doc      *openapi3.T
	router   routers.Router
	routes   map[string]*routers.Route // by operation id
	username UsernameRules
	rating   RatingRules
}

// Load parses and validates the embedded OpenAPI document.
func Load() (*Contract, error) {
	return loadFrom(spec)
}

func loadFrom(data []byte) (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("parse contract: %w", err)
	}
	// The documentation's own examples are kept verbatim, placeholders (499.0,
	// "string_value" dates) included, so they are not validated as examples.
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("validate contract: %w", err)
	}
	// Route on paths only: the same contract serves the mock, a gateway on a
	// laptop and the production host, so the servers list must not filter.
	routable := *doc
	routable.Servers = nil
	router, err := gorillamux.NewRouter(&routable)
	if err != nil {
		return nil, fmt.Errorf("build contract router: %w", err)
	}
	if err := checkEndpoints(doc); err != nil {
		return nil, err
	}
	if err := checkBookingIDBounds(doc); err != nil {
		return nil, err
	}
	c := &Contract{doc: doc, router: router, routes: operationRoutes(doc)}
	if c.username, err = readUsernameRules(doc); err != nil {
		return nil, err
	}
	if c.rating, err = readRatingRules(doc); err != nil {
		return nil, err
	}
	return c, nil
}

// Doc returns the parsed document. Callers must not modify it.
func (c *Contract) Doc() *openapi3.T { return c.doc }

// UsernameRules returns the documented username rules.
func (c *Contract) UsernameRules() UsernameRules { return c.username }

// RatingRules returns the documented limits of a rating submission.
func (c *Contract) RatingRules() RatingRules { return c.rating }

// ErrNoOperation is returned when a request matches no operation of the
// contract (unknown path, or a known path with another method).
var ErrNoOperation = errors.New("no such operation in the contract")

// Route finds the operation that a request addresses.
func (c *Contract) Route(req *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s %s", ErrNoOperation, req.Method, req.URL.Path)
	}
	return route, params, nil
}

// Operations lists every operation of the contract in a stable order
// (path, then method).
func (c *Contract) Operations() []Operation {
	var ops []Operation
	for _, path := range c.doc.Paths.InMatchingOrder() {
		item := c.doc.Paths.Value(path)
		for method, op := range item.Operations() {
			ops = append(ops, Operation{Method: method, Path: path, Op: op})
		}
	}
	sortOperations(ops)
	return ops
}
