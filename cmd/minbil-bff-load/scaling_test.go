package main

import (
	"os"
	"regexp"
	"testing"
)

// TestScalingTargets checks that every scaling script holds as many
// distinct requests as its case names, so the 10,000-caller row really
// sends 10,000 different tokens.
func TestScalingTargets(t *testing.T) {
	ts, err := scalingTargets(credentials{secret: "load-test-secret"}, t.TempDir())
	if err != nil {
		t.Fatalf("scalingTargets() error = %v", err)
	}
	entry := regexp.MustCompile(`(?m)^\{"([^"]+)","Bearer ([^"]+)"\},$`)
	for _, tt := range ts {
		c, _ := scalingCaseOf(tt.id)
		b, err := os.ReadFile(tt.script)
		if err != nil {
			t.Fatal(err)
		}
		paths, tokens := map[string]bool{}, map[string]bool{}
		for _, m := range entry.FindAllStringSubmatch(string(b), -1) {
			paths[m[1]], tokens[m[2]] = true, true
		}
		wantPaths := max(c.names, 1)
		if len(tokens) != c.callers || len(paths) != wantPaths {
			t.Errorf("%s: %d distinct tokens and %d paths, want %d and %d", tt.id, len(tokens), len(paths), c.callers, wantPaths)
		}
		if tt.server != tt.id || !tt.scaling {
			t.Errorf("%s: server %q, scaling %v; want its own server and scaling", tt.id, tt.server, tt.scaling)
		}
	}
}
