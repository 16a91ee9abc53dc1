package verify

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/minbil/minbil-bff/contracts"
)

// TestDecisionsAreTheContracts keeps the decision table and the contract's
// x-assumption notes together: every pointer of a decision names a note,
// and every note is a decision or a relaxation.
func TestDecisionsAreTheContracts(t *testing.T) {
	var doc any
	if err := yaml.Unmarshal(contracts.Spec(), &doc); err != nil {
		t.Fatalf("yaml.Unmarshal(Spec()) = %v", err)
	}
	notes := map[string]bool{}
	collectAssumptions(doc, "", notes)
	claimed := map[string]bool{}
	for _, d := range decisions {
		for _, ptr := range d.Where {
			if !notes[ptr] {
				t.Errorf("decision %s points at %s, which has no x-assumption", d.ID, ptr)
			}
			claimed[ptr] = true
		}
	}
	for ptr := range relaxations {
		claimed[ptr] = true
	}
	for ptr := range notes {
		if !claimed[ptr] {
			t.Errorf("the x-assumption at %s is neither a decision nor a relaxation", ptr)
		}
	}
}

func collectAssumptions(node any, ptr string, out map[string]bool) {
	m, ok := node.(map[string]any)
	if !ok {
		return
	}
	if _, ok := m["x-assumption"]; ok {
		out[ptr] = true
	}
	for k, v := range m {
		collectAssumptions(v, ptr+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"), out)
	}
}

// TestPreconditionIsNotAViolation: a booking that is not the token's
// owner's stops the run with ErrPrecondition naming --booking-id.
func TestPreconditionIsNotAViolation(t *testing.T) {
	c := mustContract(t)
	_, url := startFake(t, c, correct)
	rep, err := Run(context.Background(), c, Config{Target: url, Token: DevToken, BookingID: fakeBooking + 1})
	if !errors.Is(err, ErrPrecondition) || !strings.Contains(err.Error(), "--booking-id") {
		t.Fatalf("Run() = %v, want ErrPrecondition naming --booking-id", err)
	}
	var ec interface{ ExitCode() int }
	if !errors.As(err, &ec) || ec.ExitCode() != ExitUnusable {
		t.Fatalf("Run() = %v, want ExitCode() %d", err, ExitUnusable)
	}
	if rep == nil || rep.Failed != 0 {
		t.Fatalf("report = %v, want the cases so far, none failed", rep)
	}
}

// TestLevelDetection: strict when the target serves the embedded contract,
// documented otherwise.
func TestLevelDetection(t *testing.T) {
	c := mustContract(t)
	tests := []struct {
		name      string
		spec      []byte // served at /openapi.yaml; nil serves none
		wantLevel Level
	}{
		{"our contract", contracts.Spec(), LevelStrict},
		{"another document", []byte("openapi: 3.0.3\n"), LevelDocumented},
		{"none", nil, LevelDocumented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := startFake(t, c, correct)
			mux := http.NewServeMux()
			mux.Handle("/", f)
			if tt.spec != nil {
				mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(tt.spec) })
			}
			_, url := startHandler(t, mux)
			rep := mustRun(t, c, Config{Target: url, Token: DevToken, ReadOnly: true})
			if rep.Level != tt.wantLevel || rep.LevelReason == "" {
				t.Fatalf("Level = %q (%q), want %q with a reason", rep.Level, rep.LevelReason, tt.wantLevel)
			}
			if !strings.Contains(rep.Header(), "level "+string(tt.wantLevel)) {
				t.Errorf("Header() = %q, want the level", rep.Header())
			}
		})
	}
}

// TestCheckSelection: an excluded check neither fails nor runs its cases.
func TestCheckSelection(t *testing.T) {
	c := mustContract(t)
	tests := []struct {
		name     string
		defect   defect
		cfg      Config
		wantExit int
	}{
		{"all checks see the 201", wrongStatus, Config{}, ExitViolations},
		{"only the schema", wrongStatus, Config{Checks: []Check{CheckSchema}}, ExitOK},
		{"auth excluded", noChallenge, Config{ExcludeChecks: []Check{CheckAuth, CheckSchema}}, ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := startFake(t, c, tt.defect)
			cfg := tt.cfg
			cfg.Target, cfg.Token, cfg.Level = url, DevToken, LevelStrict
			rep := mustRun(t, c, cfg)
			if got := rep.ExitCode(); got != tt.wantExit {
				t.Fatalf("ExitCode() = %d, want %d:\n%s", got, tt.wantExit, strings.Join(allLines(rep), "\n"))
			}
		})
	}
}

// TestCompare: the fake against itself differs nowhere; against a fake
// with a wrong type it differs where the documentation is explicit; against
// one with an unparseable date only in a decision.
func TestCompare(t *testing.T) {
	c := mustContract(t)
	tests := []struct {
		defect       defect
		wantExit     int
		wantDecision DecisionID
	}{
		{correct, ExitOK, ""},
		{wrongTypeItem, ExitViolations, ""},
		{unparseableDate, ExitOK, DecisionDateTime},
	}
	for _, tt := range tests {
		t.Run(string(tt.defect), func(t *testing.T) {
			_, a := startFake(t, c, correct)
			_, b := startFake(t, c, tt.defect)
			cmp, err := Compare(context.Background(), c, Config{Target: a, Token: DevToken}, Config{Target: b, Token: DevToken})
			if err != nil {
				t.Fatalf("Compare() = %v", err)
			}
			if got := cmp.ExitCode(); got != tt.wantExit {
				t.Fatalf("ExitCode() = %d, want %d: %+v", got, tt.wantExit, cmp.Diffs)
			}
			if tt.wantDecision != "" && (len(cmp.Diffs) == 0 || cmp.Diffs[0].Decision != tt.wantDecision) {
				t.Fatalf("Diffs = %+v, want decision %s", cmp.Diffs, tt.wantDecision)
			}
		})
	}
}
