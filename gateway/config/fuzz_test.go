package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load as the config file. Load must not
// panic; when it accepts the file, Validate must either pass or report only
// *FieldError problems, each naming a real key or section on its own line.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{gatewayYAML, productionYAML} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		"",
		"server:\n",
		"server: {addr: ':1', max_conns: -1}\n",
		"upstream:\n  url: https://api.minbil.no\nauth:\n  mode: dev\n",
		"auth: {mode: jwt, jwt: {algorithms: [none, HS256]}}\n",
		"cors:\n  allow_origins: [\"*\", \"http://[::1]:*\"]\n",
		"a: &a [*a]\n",
		"server: &s {addr: x}\nupstream: *s\n",
		"- [\n",
		"server:\n  read_timeout: -9223372036854775808ns\n",
		"limits: {body_bytes: 99999999999999999999}\n",
		"---\n---\n",
		"log: {format: !!binary aGk=}\n",
		"? [a]\n: b\n",
		"\"a\\nb\": 1\n",
		"server: {\"\\u0000\": 1}\n",
	} {
		f.Add([]byte(seed))
	}
	known := map[string]bool{}
	for _, k := range Keys() {
		for p := k.Path; p != ""; p, _ = cutLast(p) {
			known[p] = true
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "gateway.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, nil)
		if err != nil {
			// One problem per line, each saying where.
			n := 1
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				n = len(j.Unwrap())
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != n {
				t.Fatalf("Load() error has %d lines for %d problems:\n%v", len(lines), n, err)
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, path) {
					t.Fatalf("Load() error line %q does not start with the file name", l)
				}
			}
			return
		}
		err = cfg.Validate()
		if err == nil {
			return
		}
		keys, others := problemKeys(err)
		if others != nil {
			t.Fatalf("Validate() returned non-FieldError problems: %v", others)
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != len(keys) {
			t.Fatalf("Validate() has %d lines for %d problems:\n%v", len(lines), len(keys), err)
		}
		for i, k := range keys {
			if !known[k] || !strings.HasPrefix(lines[i], k+": ") {
				t.Fatalf("Validate() line %q names key %q, not a known key", lines[i], k)
			}
		}
	})
}

// cutLast drops the last element of a dotted path.
func cutLast(path string) (string, bool) {
	i := strings.LastIndex(path, ".")
	if i < 0 {
		return "", false
	}
	return path[:i], true
}
