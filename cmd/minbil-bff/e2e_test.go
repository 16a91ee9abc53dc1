package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run the real binary as separate processes on loopback ports,
// as CI and users do: the standalone mock, the gateway with its in-process
// mock, and the gateway in front of the standalone mock; `verify` must pass
// against each.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "minbil-bff-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "minbil-bff")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a running minbil-bff with its output captured.
type process struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan error
}

// start runs the binary and waits until addr accepts connections. The
// process gets SIGTERM at cleanup and must exit 0 (graceful shutdown).
func start(t *testing.T, addr string, env []string, args ...string) *process {
	t.Helper()
	p := startUnmanaged(t, addr, env, args...)
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.wait(20 * time.Second); err != nil {
			t.Errorf("%v after SIGTERM: %v; output:\n%s", args, err, p.out)
		}
	})
	return p
}

// startUnmanaged is start without the SIGTERM at cleanup (a kill if the
// test left it running): for tests that stop the process themselves.
func startUnmanaged(t *testing.T, addr string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, out: out, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = conn.Close()
			return p
		}
		select {
		case err := <-p.exited:
			t.Fatalf("%v exited early (%v); output:\n%s", args, err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v did not listen on %s; output:\n%s", args, addr, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wait returns the process's exit error, or an error when it has not
// exited within d (a bound on a hang, not a speed requirement).
func (p *process) wait(d time.Duration) error {
	select {
	case err := <-p.exited:
		p.exited <- err
		return err
	case <-time.After(d):
		return fmt.Errorf("did not exit within %s", d)
	}
}

// runVerifyCmd runs `minbil-bff verify` and returns its exit code and output.
func runVerifyCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary(t), append([]string{"verify"}, args...)...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("verify: %v", err)
	return -1, ""
}

func TestVerifyPassesAgainstMockAndGateways(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	mockAddr := freeAddr(t)
	start(t, mockAddr, nil, "mock", "--addr", mockAddr, "--seed", "7")
	devAddr := freeAddr(t)
	start(t, devAddr, nil, "serve", "--addr", devAddr)
	proxyAddr := freeAddr(t)
	start(t, proxyAddr, []string{"MINBIL_AUTH_MODE=passthrough", "MINBIL_API_KEY=e2e-api-key-not-a-secret"},
		"serve", "--addr", proxyAddr, "--upstream", "http://"+mockAddr)

	tests := []struct {
		name   string
		target string
		args   []string
	}{
		{"standalone mock", mockAddr, nil},
		{"gateway with in-process mock", devAddr, nil},
		{"gateway in front of the standalone mock", proxyAddr, nil},
		{"gateway read-only", proxyAddr, []string{"--read-only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			junit := filepath.Join(t.TempDir(), "verify.xml")
			code, out := runVerifyCmd(t, append([]string{"--target", "http://" + tt.target, "--junit", junit}, tt.args...)...)
			if code != 0 {
				t.Fatalf("verify against %s exited %d:\n%s", tt.name, code, out)
			}
			if !strings.Contains(out, " passed, 0 failed") {
				t.Fatalf("verify output has no summary line:\n%s", out)
			}
			checkJUnit(t, junit)
		})
	}
}

func checkJUnit(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Tests int `xml:"tests,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatalf("JUnit file does not parse: %v", err)
	}
	total := 0
	for _, s := range suites.Suites {
		if s.Tests != len(s.Cases) {
			t.Fatalf("suite says %d tests, holds %d", s.Tests, len(s.Cases))
		}
		total += s.Tests
	}
	if total == 0 {
		t.Fatal("JUnit file holds no test cases")
	}
}

func TestVerifyExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"unreachable target", []string{"--target", "http://" + freeAddr(t)}, 2},
		{"no target", nil, 2},
		{"bad format", []string{"--target", "http://127.0.0.1:1", "--format", "yaml"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, out := runVerifyCmd(t, tt.args...); code != tt.wantCode {
				t.Fatalf("verify %v exited %d, want %d:\n%s", tt.args, code, tt.wantCode, out)
			}
		})
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	tests := []struct {
		name    string
		env     []string
		args    []string
		wantKey string
	}{
		{"dev auth with a real upstream", nil, []string{"--upstream", "https://api.minbil.no"}, "auth.mode"},
		{"bad upstream URL", nil, []string{"--upstream", "ftp://x"}, "upstream.url"},
		{"negative duration", []string{"MINBIL_UPSTREAM_TIMEOUT=-1s"}, nil, "upstream.timeout"},
		{"unknown auth mode", []string{"MINBIL_AUTH_MODE=magic"}, nil, "auth.mode"},
		{"F-36: the real API key next to the mock", []string{"MINBIL_API_KEY=live-key-1234567890"}, nil, "upstream.api_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, tt.args...)...)
			cmd.Env = append(os.Environ(), tt.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tt.wantKey) {
				t.Fatalf("serve %v = %v, output %q; want a failure naming %s", tt.args, err, out, tt.wantKey)
			}
		})
	}
}
