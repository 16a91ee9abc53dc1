package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/minbil/minbil-bff/contracts"
)

// Comparison is what differs between two targets that answered the same
// cases: status, content type, the fields present, their types and
// formats, the error shape.
type Comparison struct {
	A     string `json:"a"`
	B     string `json:"b"`
	Cases int    `json:"cases"`
	// Skipped counts the cases that change state, which a comparison sends
	// only when both sides name their own booking.
	Skipped int           `json:"skipped"`
	Diffs   []CompareDiff `json:"diffs"`
}

// CompareDiff is one difference of one case.
type CompareDiff struct {
	Operation string `json:"operation"`
	Case      string `json:"case"`
	Where     string `json:"where"`
	A         string `json:"a"`
	B         string `json:"b"`
	// Decision is the decision the difference is about; empty when the
	// documentation settles it (then it fails the comparison).
	Decision DecisionID `json:"decision,omitempty"`
}

// ExitCode is ExitViolations when a documented difference was found.
func (c *Comparison) ExitCode() int {
	if slices.ContainsFunc(c.Diffs, func(d CompareDiff) bool { return d.Decision == "" }) {
		return ExitViolations
	}
	return ExitOK
}

// Compare sends the cases that change nothing (and, when both configs name
// their own booking, the others too, but not the flow) to both targets and
// reports where the answers differ.
func Compare(ctx context.Context, contract *contracts.Contract, a, b Config) (*Comparison, error) {
	sides := []Config{a, b}
	var runners []*runner
	for i := range sides {
		sides[i].Level = LevelDocumented
		if err := sides[i].Validate(); err != nil {
			return nil, err
		}
		r, done := newRunner(contract, sides[i])
		defer done()
		if _, err := r.prepare(ctx); err != nil {
			return nil, err
		}
		runners = append(runners, r)
	}
	mutate := a.BookingID != 0 && b.BookingID != 0
	casesA, err := Cases(contract, runners[0].cfg)
	if err != nil {
		return nil, &RunError{Kind: ErrConfig, Err: err}
	}
	casesB, err := Cases(contract, runners[1].cfg)
	if err != nil {
		return nil, &RunError{Kind: ErrConfig, Err: err}
	}
	out := &Comparison{A: a.Target, B: b.Target}
	for i, c := range casesA {
		if c.Mutates && !mutate {
			out.Skipped++
			continue
		}
		diffs, err := compareCase(ctx, contract, runners, c, casesB[i])
		if err != nil {
			return out, err
		}
		out.Cases++
		out.Diffs = append(out.Diffs, diffs...)
	}
	return out, nil
}

// compareCase sends the case to both sides and compares the answers.
func compareCase(ctx context.Context, contract *contracts.Contract, rs []*runner, ca, cb Case) ([]CompareDiff, error) {
	var obs []observation
	for i, c := range []Case{ca, cb} {
		if reason := rs[i].skipReason(c); reason != "" {
			return nil, nil
		}
		ans, err := rs[i].send(ctx, c.Request, rs[i].nextRequestID())
		if err != nil {
			var runErr *RunError
			if errors.As(err, &runErr) {
				return nil, err
			}
			ans = &Answer{}
		}
		obs = append(obs, observe(*ans))
	}
	documentedFields := map[string]bool{}
	if op, ok := rs[0].operation(ca.Operation); ok {
		if resp := responseFor(op, 200); resp != nil {
			if mt := resp.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				schemaPaths(mt.Schema.Value, "", documentedFields)
			}
		}
	}
	var out []CompareDiff
	for _, d := range obs[0].diff(obs[1], documentedFields) {
		d.Operation, d.Case = ca.Operation, ca.Name
		out = append(out, d)
	}
	return out, nil
}

// observation is what a comparison looks at in an answer.
type observation struct {
	status      int
	contentType string
	// fields maps each JSON path ("items[].rated_at") to its type, with the
	// format for strings that are RFC 3339 times ("string date-time").
	fields map[string]string
}

func observe(a Answer) observation {
	o := observation{status: a.Status, fields: map[string]string{}}
	o.contentType, _, _ = mime.ParseMediaType(a.Header.Get("Content-Type"))
	var v any
	if json.Unmarshal(a.Body, &v) == nil {
		collectFields(v, "", o.fields)
	}
	return o
}

func collectFields(v any, path string, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			p := k
			if path != "" {
				p = path + "." + k
			}
			collectFields(child, p, out)
		}
	case []any:
		for _, child := range t {
			collectFields(child, path+"[]", out)
		}
	}
	if path == "" {
		return
	}
	kind := kindOf(v)
	if s, ok := v.(string); ok {
		if _, err := time.Parse(time.RFC3339, s); err == nil {
			kind += " date-time"
		}
	}
	out[path] = kind
}

// schemaPaths collects the property paths a schema declares.
func schemaPaths(s *openapi3.Schema, path string, out map[string]bool) {
	if s == nil {
		return
	}
	for name, ref := range s.Properties {
		p := name
		if path != "" {
			p = path + "." + name
		}
		out[p] = true
		if ref != nil {
			schemaPaths(ref.Value, p, out)
		}
	}
	if s.Items != nil {
		schemaPaths(s.Items.Value, path+"[]", out)
	}
}

// diff lists how o and p differ. A different status class, content type of
// a success, or a documented field's presence or type is documented; the
// rest is a decision.
func (o observation) diff(p observation, documentedFields map[string]bool) []CompareDiff {
	var out []CompareDiff
	add := func(where, a, b string, d DecisionID) {
		out = append(out, CompareDiff{Where: where, A: a, B: b, Decision: d})
	}
	if o.status != p.status {
		d := DecisionSuccess200
		switch {
		case statusClass(o.status) != statusClass(p.status):
			d = ""
		case is4xx(o.status):
			d = DecisionBadInput400
		}
		add("status", strconv.Itoa(o.status), strconv.Itoa(p.status), d)
	}
	success := is2xx(o.status) && is2xx(p.status)
	errBody := DecisionID("")
	if !success {
		errBody = DecisionErrorBody
	}
	if o.contentType != p.contentType {
		add("header Content-Type", o.contentType, p.contentType, errBody)
	}
	for _, path := range unionKeys(o.fields, p.fields) {
		a, b := o.fields[path], p.fields[path]
		if a == b {
			continue
		}
		d := errBody
		switch {
		case d != "":
		case !documentedFields[path]:
			d = DecisionClosedSchemas
		case a != "" && b != "" && baseType(a) == baseType(b):
			d = DecisionDateTime
		}
		add(path, orAbsent(a), orAbsent(b), d)
	}
	return out
}

func statusClass(s int) int { return s / 100 }

func baseType(kind string) string { return strings.Fields(kind)[0] }

func orAbsent(s string) string {
	if s == "" {
		return "absent"
	}
	return s
}

func unionKeys(a, b map[string]string) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	return sortedKeys(seen)
}

// WriteText writes the comparison: every difference, documented ones
// first, then the summary.
func (c *Comparison) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "compare A %s with B %s: %d cases (%d that change state not sent)\n\n", c.A, c.B, c.Cases, c.Skipped)
	var documentedN int
	for _, pass := range []bool{true, false} {
		for _, d := range c.Diffs {
			if (d.Decision == "") != pass {
				continue
			}
			label := "DIFF"
			if !pass {
				label = "warn (decision " + string(d.Decision) + ")"
			} else {
				documentedN++
			}
			fmt.Fprintf(w, "%s  %s: %s: %s: A %s, B %s\n", label, d.Operation, d.Case, d.Where, d.A, d.B)
		}
	}
	_, err := fmt.Fprintf(w, "\n%d documented differences, %d differing decisions\n", documentedN, len(c.Diffs)-documentedN)
	if err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// WriteJSON writes the comparison as one indented JSON document.
func (c *Comparison) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("write JSON comparison: %w", err)
	}
	return nil
}
