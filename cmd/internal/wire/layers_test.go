package wire_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// module is the module path; packages outside it (the standard library,
// dependencies) belong to no layer.
const module = "github.com/minbil/minbil-bff"

// The layers of the module, bottom up. A package may import its own layer
// and those its layer lists in mayImport: contracts ← mock, contracts ←
// gateway (mock and gateway never import each other), gateway and mock ←
// the assembly (cmd/internal: wire, its harness and the full-stack
// suites) ← the commands.
const (
	layerContracts = "contracts"
	layerMock      = "mock"
	layerGateway   = "gateway"
	layerAssembly  = "assembly"
	layerCommands  = "commands"
)

var mayImport = map[string][]string{
	layerContracts: {layerContracts},
	layerMock:      {layerContracts, layerMock},
	layerGateway:   {layerContracts, layerGateway},
	layerAssembly:  {layerContracts, layerMock, layerGateway, layerAssembly},
	layerCommands:  {layerContracts, layerMock, layerGateway, layerAssembly, layerCommands},
}

// verifyTests is the one exception: the tests of contracts/verify may run
// their checks against the mock, the contract's reference implementation.
const verifyTests = "contracts/verify.test"

// layerOf returns the layer of the module's package rel (its path inside
// the module, with any test suffix removed), or "" for a folder no layer
// names yet, which the test refuses until someone decides.
func layerOf(rel string) string {
	switch first, _, _ := strings.Cut(rel, "/"); {
	case first == "contracts", first == "mock", first == "gateway":
		return first
	case rel == "cmd/internal" || strings.HasPrefix(rel, "cmd/internal/"):
		return layerAssembly
	case first == "cmd":
		return layerCommands
	}
	return ""
}

// splitID splits a package id as `go list -test` prints it, such as
// "…/gateway_test […/gateway.test]" or "…/gateway.test", into the
// package's path inside the module (the external test package and the
// test main counted as the package they test) and the test binary it is
// compiled into (inside the module), or ok=false for a package outside
// the module.
func splitID(id string) (rel, binary string, ok bool) {
	path, variant, _ := strings.Cut(id, " ")
	rel, ok = strings.CutPrefix(path, module+"/")
	if !ok {
		return "", "", false
	}
	if b, found := strings.CutPrefix(strings.Trim(variant, "[]"), module+"/"); found {
		binary = b
	}
	rel = strings.TrimSuffix(strings.TrimSuffix(rel, ".test"), "_test")
	return rel, binary, true
}

// importEdge is one import of one package of the module, as go list -test
// -deps shows it (test variants included).
type importEdge struct{ from, to string }

// moduleImports lists every import between packages of the module, the
// packages' tests included, with one go list call.
func moduleImports(t *testing.T) []importEdge {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, which go test puts on PATH: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-test",
		"-f", "{{.ImportPath}}{{range .Imports}}\t{{.}}{{end}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var edges []importEdge
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if _, _, ok := splitID(fields[0]); !ok {
			continue
		}
		for _, to := range fields[1:] {
			if _, _, ok := splitID(to); ok {
				edges = append(edges, importEdge{fields[0], to})
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading go list's output: %v", err)
	}
	return edges
}

// layerViolation says why the import e breaks the layers, or "".
func layerViolation(e importEdge) string {
	from, binary, _ := splitID(e.from)
	to, _, _ := splitID(e.to)
	fromLayer, toLayer := layerOf(from), layerOf(to)
	switch {
	case fromLayer == "":
		return fmt.Sprintf("%s is in no layer: add its folder to layerOf", from)
	case toLayer == "":
		return fmt.Sprintf("%s is in no layer: add its folder to layerOf", to)
	case slices.Contains(mayImport[fromLayer], toLayer):
		return ""
	case binary == verifyTests && toLayer == layerMock:
		return ""
	}
	return fmt.Sprintf("%s imports %s: the %s layer may import only %s",
		strings.TrimPrefix(e.from, module+"/"), strings.TrimPrefix(e.to, module+"/"), fromLayer, strings.Join(mayImport[fromLayer], ", "))
}

// TestLayers: no package imports a package of a layer above its own,
// tests included (go list -test -deps sees each test's imports): the
// contract layer imports none of ours, the mock and the gateway only the
// contract layer and themselves, the assembly all three, the commands
// anything. The one exception is contracts/verify's tests, which may run
// against the mock.
func TestLayers(t *testing.T) {
	edges := moduleImports(t)
	if len(edges) == 0 {
		t.Fatal("go list found no import between the module's packages")
	}
	var bad []string
	for _, e := range edges {
		if why := layerViolation(e); why != "" {
			bad = append(bad, why)
		}
	}
	slices.Sort(bad)
	for _, why := range slices.Compact(bad) {
		t.Error(why)
	}
}

// TestLayerRules: the rules themselves, on imports the module has had and
// should never have again.
func TestLayerRules(t *testing.T) {
	tests := []struct {
		name     string
		from, to string
		wantBad  bool
	}{
		{"gateway imports contracts", "gateway", "contracts", false},
		{"gateway's tests import the mock", "gateway_test [" + module + "/gateway.test]", "mock", true},
		{"gateway's tests import the assembly", "gateway_test [" + module + "/gateway.test]", "cmd/internal/wire/wiretest", true},
		{"a gateway test binary imports the assembly", "gateway.test", "cmd/internal/wire/wiretest", true},
		{"mock imports the gateway", "mock", "gateway/config", true},
		{"contracts/portal's tests import the mock", "contracts/portal [" + module + "/contracts/portal.test]", "mock/idp", true},
		{"contracts/verify's tests import the mock", "contracts/verify [" + module + "/contracts/verify.test]", "mock", false},
		{"contracts/verify imports the mock", "contracts/verify", "mock", true},
		{"the assembly imports the mock", "cmd/internal/wire", "mock", false},
		{"the assembly imports a command", "cmd/internal/wire", "cmd/minbil-bff", true},
		{"a command imports the assembly", "cmd/minbil-bff", "cmd/internal/wire", false},
		{"the contract imports the gateway", "contracts", "gateway/scrub", true},
		{"a new top-level folder", "internal/x", "contracts", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := importEdge{module + "/" + tt.from, module + "/" + tt.to}
			if got := layerViolation(e); (got != "") != tt.wantBad {
				t.Errorf("layerViolation(%s → %s) = %q, want a violation: %v", tt.from, tt.to, got, tt.wantBad)
			}
		})
	}
}
