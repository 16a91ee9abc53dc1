package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPaths checks, without building or starting anything, that what the
// harness finds relative to the repository root is there: the test runs in
// the package's own directory, so repoRoot has to walk up to go.mod as it
// does when the harness is run from anywhere inside the repository.
func TestPaths(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("repoRoot() error = %v", err)
	}
	tests := []struct {
		name    string
		path    string
		wantDir bool
	}{
		{name: "gateway package", path: filepath.Join(gatewayPkg, "main.go")},
		{name: "baseline servers", path: filepath.Join(barePkg, "main.go")},
		{name: "published results", path: resultsDir, wantDir: true},
		{name: "published soak", path: filepath.Join(resultsDir, "soak.md")},
		{name: "Prism's document", path: contractDoc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(tt.path)))
			if err != nil {
				t.Fatalf("Stat(%q) error = %v", tt.path, err)
			}
			if fi.IsDir() != tt.wantDir {
				t.Errorf("Stat(%q).IsDir() = %v, want %v", tt.path, fi.IsDir(), tt.wantDir)
			}
		})
	}
}
