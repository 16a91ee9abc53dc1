package contracts

import (
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// PruneValue keeps, of a JSON answer to the operation with id, already
// decoded with DecodeJSON, only what the contract's 200 answer schema
// names: at every level an object keeps the properties its schema declares
// and drops the rest; values are kept as they came, whatever their type
// (numbers exactly), so a field whose type or format drifted still reaches
// the caller — checking it is the drift watch's job. A null is dropped like
// an absent field, and a required list that is absent or null becomes
// empty, so the envelope keeps its shape. It may reuse v's arrays, so v
// must not be used afterwards.
//
// Pruning is how the gateway stays liberal in what it accepts from the
// upstream and still strict in what it sends: nothing the contract does not
// name ever passes.
func (c *Contract) PruneValue(id string, v any) (any, error) {
	schema, err := c.answerSchema(id)
	if err != nil {
		return nil, err
	}
	return prune(v, schema), nil
}

// answerSchema is the JSON schema of the 200 answer of operation id.
func (c *Contract) answerSchema(id string) (*openapi3.Schema, error) {
	for _, e := range endpoints {
		if e.ID != id {
			continue
		}
		op := c.doc.Paths.Value(e.Path).GetOperation(e.Method)
		if r := op.Responses.Status(200); r != nil && r.Value != nil {
			if mt := r.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				return mt.Schema.Value, nil
			}
		}
		return nil, fmt.Errorf("contract: %s has no JSON 200 answer", id)
	}
	return nil, fmt.Errorf("contract: no operation %s", id)
}

// prune drops from v what schema does not name.
func prune(v any, schema *openapi3.Schema) any {
	if schema == nil {
		return v
	}
	switch v := v.(type) {
	case map[string]any:
		if len(schema.Properties) == 0 {
			return v
		}
		out := make(map[string]any, len(schema.Properties))
		for name, prop := range schema.Properties {
			if pv := v[name]; pv != nil {
				out[name] = prune(pv, prop.Value)
			}
		}
		for _, name := range schema.Required {
			if p := schema.Properties[name]; out[name] == nil && p != nil && p.Value != nil && p.Value.Type.Is("array") {
				out[name] = []any{}
			}
		}
		return out
	case []any:
		if schema.Items == nil {
			return v
		}
		for i := range v {
			v[i] = prune(v[i], schema.Items.Value)
		}
		return v
	}
	return v
}
