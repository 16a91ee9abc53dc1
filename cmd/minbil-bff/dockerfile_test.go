package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/gateway/config"
)

// No Docker engine runs where the tests run, so these tests read the
// Dockerfile as text and hold it to what the image must be: multi-stage, the
// Go of go.mod, a static version-stamped binary, a distroless non-root
// runtime that serves on the gateway's port, and exec forms only, because
// the runtime has no shell.

const dockerfilePath = "../../Dockerfile"

// instruction is one Dockerfile instruction with its continuation lines
// joined: Cmd upper-case ("RUN"), Args the rest of the line.
type instruction struct {
	Cmd  string
	Args string
	Line int
}

// stage is the instructions from one FROM up to the next.
type stage struct {
	From         string // the image reference
	Name         string // the AS name, or ""
	Instructions []instruction
}

// find returns the stage's instructions of kind cmd.
func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

var fromRE = regexp.MustCompile(`(?i)^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$`)

// parseDockerfile splits path into stages. Comments, parser directives and
// blank lines are dropped; a line ending in a backslash continues on the
// next.
func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(strings.TrimSpace(body) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		in := instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		cur.Reset()
		if in.Cmd == "FROM" {
			m := fromRE.FindStringSubmatch(in.Args)
			if m == nil {
				t.Fatalf("%s:%d: FROM %q is not IMAGE [AS NAME]", path, in.Line, in.Args)
			}
			stages = append(stages, stage{From: m[1], Name: m[2]})
			continue
		}
		if len(stages) == 0 {
			if in.Cmd != "ARG" {
				t.Fatalf("%s:%d: %s before the first FROM", path, in.Line, in.Cmd)
			}
			continue
		}
		stages[len(stages)-1].Instructions = append(stages[len(stages)-1].Instructions, in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatalf("%s: ends inside a continued line", path)
	}
	if len(stages) < 2 {
		t.Fatalf("%s has %d stage(s), want a build stage and a runtime stage", path, len(stages))
	}
	return stages
}

// execForm decodes a JSON-array (exec form) argument list; ok is false for
// the shell form, which needs a /bin/sh the runtime image does not have.
func execForm(args string) ([]string, bool) {
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		return nil, false
	}
	return argv, true
}

// goModVersion returns the version on the go line of go.mod.
func goModVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("go.mod has no go line")
	return ""
}

// buildRun returns the build stage's RUN instruction that runs go build.
func buildRun(t *testing.T, build stage) instruction {
	t.Helper()
	for _, in := range build.find("RUN") {
		if strings.Contains(in.Args, "go build") {
			return in
		}
	}
	t.Fatalf("build stage %q has no RUN … go build", build.Name)
	return instruction{}
}

func TestDockerfileInstructions(t *testing.T) {
	stages := parseDockerfile(t, dockerfilePath)
	build, final := stages[0], stages[len(stages)-1]
	tests := []struct {
		name  string
		stage stage
		cmd   string
		want  string // a regular expression one instruction's Args must match
	}{
		{"version is a build argument", build, "ARG", `^VERSION(=\S*)?$`},
		{"cgo off: a static binary", build, "RUN", `\bCGO_ENABLED=0\b.*\bgo build\b`},
		{"trimpath", build, "RUN", `\bgo build\b.*\s-trimpath\b`},
		{"version stamped", build, "RUN", `\bgo build\b.*-ldflags\s+"[^"]*-X main\.version=\$\{?VERSION\}?[ "]`},
		{"builds the command", build, "RUN", `\bgo build\b.*\s\./cmd/minbil-bff$`},
		{"binary from the build stage", final, "COPY", `^--from=` + regexp.QuoteMeta(build.Name) + ` /out/minbil-bff /usr/local/bin/minbil-bff$`},
		{"configuration files", final, "COPY", `^configs/gateway\.yaml configs/production\.yaml /etc/minbil-bff/$`},
		{"non-root user", final, "USER", `^(nonroot|65532)(:(nonroot|65532))?$`},
		{"gateway port", final, "EXPOSE", `^5000(/tcp)?$`},
		{"health check bounded by a timeout", final, "HEALTHCHECK", `--timeout=\d+s\b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := regexp.MustCompile(tt.want)
			var seen []string
			for _, in := range tt.stage.find(tt.cmd) {
				if re.MatchString(in.Args) {
					return
				}
				seen = append(seen, in.Args)
			}
			t.Errorf("stage %q: no %s matching %q; have %q", tt.stage.Name, tt.cmd, tt.want, seen)
		})
	}
}

func TestDockerfileImages(t *testing.T) {
	stages := parseDockerfile(t, dockerfilePath)
	goVersion := goModVersion(t)
	tests := []struct {
		name  string
		stage stage
		want  string // a regular expression the image reference must match
	}{
		{"build: golang at go.mod's version", stages[0], `^golang:` + regexp.QuoteMeta(goVersion) + `-[a-z]+(@sha256:[0-9a-f]{64})?$`},
		{"runtime: distroless static, nonroot", stages[len(stages)-1], `^gcr\.io/distroless/static-debian\d+:nonroot(@sha256:[0-9a-f]{64})?$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !regexp.MustCompile(tt.want).MatchString(tt.stage.From) {
				t.Errorf("FROM %s, want a match of %q", tt.stage.From, tt.want)
			}
		})
	}
	if stages[0].Name == "" {
		t.Errorf("the build stage has no name (FROM … AS build)")
	}
}

// TestDockerfileExecForms pins the runtime's commands. They must be exec
// forms: the distroless image has no /bin/sh to run a shell form.
func TestDockerfileExecForms(t *testing.T) {
	stages := parseDockerfile(t, dockerfilePath)
	final := stages[len(stages)-1]
	healthArgs := ""
	if hc := final.find("HEALTHCHECK"); len(hc) == 1 {
		_, healthArgs, _ = strings.Cut(hc[0].Args, "CMD ")
	}
	tests := []struct {
		name string
		args string
		want []string
	}{
		{"ENTRYPOINT", onlyArgs(t, final, "ENTRYPOINT"), []string{"/usr/local/bin/minbil-bff"}},
		{"CMD serves the gateway", onlyArgs(t, final, "CMD"), []string{"serve", "--config", "/etc/minbil-bff/gateway.yaml", "--addr", ":5000"}},
		{"HEALTHCHECK runs the healthcheck command", healthArgs, []string{"/usr/local/bin/minbil-bff", "healthcheck"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := execForm(tt.args)
			if !ok {
				t.Fatalf("%s %s is not an exec form (JSON array)", tt.name, tt.args)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
	if runs := final.find("RUN"); len(runs) > 0 {
		t.Errorf("the runtime stage has RUN at line %d; it has no shell", runs[0].Line)
	}
}

// onlyArgs returns the arguments of the one cmd instruction of s.
func onlyArgs(t *testing.T, s stage, cmd string) string {
	t.Helper()
	ins := s.find(cmd)
	if len(ins) != 1 {
		t.Fatalf("runtime stage has %d %s instructions, want 1", len(ins), cmd)
	}
	return ins[0].Args
}

// TestDockerfilePortAgrees checks that the port the image exposes is the one
// the gateway listens on by default, the one CMD gives, and the one the
// health check asks.
func TestDockerfilePortAgrees(t *testing.T) {
	stages := parseDockerfile(t, dockerfilePath)
	final := stages[len(stages)-1]
	cmd, _ := execForm(onlyArgs(t, final, "CMD"))
	addrFlag := ""
	if i := slices.Index(cmd, "--addr"); i >= 0 && i+1 < len(cmd) {
		addrFlag = cmd[i+1]
	}
	health, err := url.Parse(defaultHealthURL)
	if err != nil {
		t.Fatal(err)
	}
	expose := strings.TrimSuffix(onlyArgs(t, final, "EXPOSE"), "/tcp")
	tests := []struct {
		name string
		addr string
	}{
		{"config.Default server.addr", config.Default().Server.Addr},
		{"CMD --addr", addrFlag},
		{"healthcheck default --url", health.Host},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, port, err := net.SplitHostPort(tt.addr)
			if err != nil || port != expose {
				t.Errorf("%s = %q, want port %s as EXPOSEd", tt.name, tt.addr, expose)
			}
		})
	}
	if h := health.Hostname(); !net.ParseIP(h).IsLoopback() {
		t.Errorf("healthcheck default --url host %q is not loopback", h)
	}
}

// TestDockerfileLdflagsStampVersion builds the command with the Dockerfile's
// own flags: a misspelt -X target (main.Version) would be ignored by the
// linker and leave every image saying "dev".
func TestDockerfileLdflagsStampVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	stages := parseDockerfile(t, dockerfilePath)
	run := buildRun(t, stages[0])
	m := regexp.MustCompile(`-ldflags\s+"([^"]*)"`).FindStringSubmatch(run.Args)
	if m == nil {
		t.Fatalf("Dockerfile:%d: no -ldflags \"…\" in %q", run.Line, run.Args)
	}
	const stamp = "v9.8.7-test"
	ldflags := strings.NewReplacer("${VERSION}", stamp, "$VERSION", stamp).Replace(m[1])
	bin := filepath.Join(t.TempDir(), "minbil-bff")
	// Only -ldflags: the other flags would change every package's build
	// cache key and recompile the module and its dependencies, while the
	// e2e tests' build has already compiled them this way.
	build := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -ldflags %q: %v\n%s", ldflags, err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("minbil-bff version: %v", err)
	}
	if got, want := strings.TrimSpace(string(out)), "minbil-bff "+stamp; got != want {
		t.Errorf("minbil-bff version = %q, want %q", got, want)
	}
}
