package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// prismBin is Prism as contracts/portal/_web pins it (npm ci installs it).
const prismBin = "../portal/_web/node_modules/.bin/prism"

// independentSpec is a reading of the documentation page that we did not
// make our decisions in (see its header).
const independentSpec = "testdata/independent.yaml"

// TestIndependentStandIn runs the verifier against Prism mocking
// testdata/independent.yaml: an upstream that keeps the documentation but
// decides differently where it is silent passes at LevelDocumented with
// named warnings and fails at LevelStrict naming the decisions; the same
// upstream with a drifted field type fails at both, naming the JSON path.
func TestIndependentStandIn(t *testing.T) {
	if _, err := os.Stat(prismBin); err != nil {
		t.Skipf("Prism is not installed (cd contracts/portal/_web && npm ci): %v", err)
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
			target := startPrism(t, path)
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

// startPrism mocks spec with Prism on a free 127.0.0.1 port, behind a small
// front (see jsonFront), and returns the front's URL. The test stops both.
func startPrism(t *testing.T, spec string) string {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(prismBin, "mock", "-h", "127.0.0.1", "-p", port, spec)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logs, err := os.Create(filepath.Join(t.TempDir(), "prism.log"))
	if err != nil {
		t.Fatalf("create log: %v", err)
	}
	t.Cleanup(func() { logs.Close() })
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Prism: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group this test started
		_ = cmd.Wait()
	})
	backend := &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", port)}
	waitReady(t, backend.String()+"/api/co/rating", logs.Name())
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	proxy := httputil.NewSingleHostReverseProxy(backend)
	proxy.Transport = transport
	_, front := startHandler(t, jsonFront(proxy))
	return front
}

// jsonFront answers a JSON request body that does not parse with 400 and
// passes everything else to next. Prism 5.14.2 never answers such a body
// (its parser's rejection goes unhandled), where any real JSON framework
// refuses it; the front stands in for that framework, not for a decision.
func jsonFront(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > 0 && strings.Contains(r.Header.Get("Content-Type"), "json") && !json.Valid(body) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"statusCode":400,"message":"Unexpected end of JSON input"}`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// waitReady polls url until Prism answers. The bound only stops a hang; it
// does not judge speed.
func waitReady(t *testing.T, url, logFile string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-ctx.Done():
			logs, _ := os.ReadFile(logFile)
			t.Fatalf("Prism did not start: %v\n%s", ctx.Err(), logs)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
