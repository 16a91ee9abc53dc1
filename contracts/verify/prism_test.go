package verify

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts/prismtest"
)

// independentSpec is a reading of the documentation page that we did not
// make our decisions in (see its header).
const independentSpec = "testdata/independent.yaml"

// TestIndependentStandIn runs the verifier against Prism mocking
// testdata/independent.yaml: an upstream that keeps the documentation but
// decides differently where it is silent passes at LevelDocumented with
// named warnings and fails at LevelStrict naming the decisions; the same
// upstream with a drifted field type fails at both, naming the JSON path.
func TestIndependentStandIn(t *testing.T) {
	if !prismtest.Available() {
		t.Skip(prismtest.SkipReason)
	}
	spec, err := os.ReadFile(independentSpec)
	if err != nil {
		t.Fatalf("read %s: %v", independentSpec, err)
	}
	drifted := []byte(strings.NewReplacer(
		"type: integer  # drift-marker", "type: string",
		"total: 1  # drift-example", "total: '1'",
	).Replace(string(spec)))
	if bytes.Equal(drifted, spec) {
		t.Fatalf("%s lost its drift markers", independentSpec)
	}
	c := mustContract(t)
	tests := []struct {
		name          string
		spec          []byte
		level         Level
		wantExit      int
		wantDecisions []DecisionID // among the warnings (documented) or violations (strict)
		wantLine      string       // a violation line contains this
	}{
		{"documented", spec, LevelDocumented, ExitOK, []DecisionID{DecisionSuccess200, DecisionBadInput400, DecisionErrorBody,
			DecisionClosedSchemas, DecisionRequestIDEcho, DecisionDateTime, DecisionRatingRange}, ""},
		{"strict", spec, LevelStrict, ExitViolations, []DecisionID{DecisionSuccess200, DecisionBadInput400, DecisionErrorBody,
			DecisionClosedSchemas, DecisionRequestIDEcho, DecisionDateTime}, ""},
		{"drifted documented", drifted, LevelDocumented, ExitViolations, nil, "documented request: total: expected integer, got string"},
		{"drifted strict", drifted, LevelStrict, ExitViolations, nil, "documented request: total: expected integer, got string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "openapi.yaml")
			if err := os.WriteFile(path, tt.spec, 0o600); err != nil {
				t.Fatalf("write spec: %v", err)
			}
			target := prismtest.Start(t, path)
			rep := mustRun(t, c, Config{Target: target, Token: DevToken, Level: tt.level, Timeout: time.Minute})
			lines := allLines(rep)
			if got := rep.ExitCode(); got != tt.wantExit {
				t.Fatalf("ExitCode() = %d, want %d; violations:\n%s", got, tt.wantExit, strings.Join(lines, "\n"))
			}
			for _, d := range tt.wantDecisions {
				if !namesDecision(rep, tt.level, d) {
					t.Errorf("report does not name decision %s at level %s", d, tt.level)
				}
			}
			if tt.level == LevelStrict && tt.wantLine == "" {
				for _, l := range lines {
					if !strings.Contains(l, ", decision ") {
						t.Errorf("strict violation %q is not a decision: a documented break", l)
					}
				}
			}
			if tt.wantLine != "" && !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, tt.wantLine) }) {
				t.Errorf("violations do not contain %q:\n%s", tt.wantLine, strings.Join(lines, "\n"))
			}
		})
	}
}

// namesDecision reports whether the report names decision d: among the
// decisions that differ at LevelDocumented, in a violation at LevelStrict.
func namesDecision(rep *Report, level Level, d DecisionID) bool {
	if level == LevelDocumented {
		return slices.ContainsFunc(rep.Differ, func(diff DecisionDiff) bool { return diff.ID == d })
	}
	return slices.ContainsFunc(allLines(rep), func(l string) bool { return strings.Contains(l, "decision "+string(d)+"]") })
}
