package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
)

// healthServer answers /ok 200, /empty 204, /down 503 (as a draining
// gateway's /readyz does), /moved a redirect to /ok, and /slow only when the
// client gives up.
func healthServer(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"status":"ready"}`)) })
	mux.HandleFunc("/empty", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"status":"draining"}`, http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/slow", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(srv.Close)
	return srv.URL
}

// closedPortURL returns a loopback URL on which nothing listens.
func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + "/readyz"
}

func TestHealthcheck(t *testing.T) {
	base := healthServer(t)
	closed := closedPortURL(t)
	tests := []struct {
		name       string
		args       []string
		wantErr    string // "" means healthy
		wantStderr string // the line written when healthy
	}{
		{name: "200", args: []string{"--url", base + "/ok"}, wantStderr: "GET " + base + "/ok: 200 OK\n"},
		{name: "204", args: []string{"--url", base + "/empty"}, wantStderr: "204 No Content\n"},
		{name: "503 draining", args: []string{"--url", base + "/down"}, wantErr: "503 Service Unavailable"},
		{name: "redirect not followed", args: []string{"--url", base + "/moved"}, wantErr: "302 Found"},
		{name: "unreachable port", args: []string{"--url", closed}, wantErr: "connection refused"},
		{name: "timeout", args: []string{"--url", base + "/slow", "--timeout", "100ms"}, wantErr: "deadline exceeded"},
		{name: "unknown flag", args: []string{"--uri", base}, wantErr: "flag provided but not defined"},
		{name: "not http", args: []string{"--url", "ftp://127.0.0.1/readyz"}, wantErr: "not an http(s) URL"},
		{name: "no host", args: []string{"--url", "http:///readyz"}, wantErr: "not an http(s) URL"},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, wantErr: "not positive"},
		{name: "extra argument", args: []string{"now"}, wantErr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			err := healthcheck(context.Background(), tt.args, &stderr)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("healthcheck(%q) = %v, want nil", tt.args, err)
				}
				if got := stderr.String(); !strings.HasSuffix(got, tt.wantStderr) || strings.Count(got, "\n") != 1 {
					t.Errorf("healthcheck(%q) wrote %q, want one line ending %q", tt.args, got, tt.wantStderr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("healthcheck(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
			// Docker reserves exit code 2, which main gives errUsage.
			if errors.Is(err, errUsage) {
				t.Errorf("healthcheck(%q) = %v, which main would exit 2 on; want exit 1", tt.args, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("healthcheck(%q) = %q, want one line", tt.args, err)
			}
			if stderr.Len() != 0 {
				t.Errorf("healthcheck(%q) wrote %q on failure, want nothing besides main's one line", tt.args, stderr.String())
			}
		})
	}
}

// TestHealthcheckExitCodes runs the real binary, as Docker's HEALTHCHECK
// does: exit 0 when healthy, 1 otherwise, and exactly one line on stderr.
func TestHealthcheckExitCodes(t *testing.T) {
	base := healthServer(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantLine string
	}{
		{name: "healthy", args: []string{"--url", base + "/ok"}, wantCode: 0, wantLine: "minbil-bff: healthcheck: GET " + base + "/ok: 200 OK"},
		{name: "draining", args: []string{"--url", base + "/down"}, wantCode: 1, wantLine: "minbil-bff: healthcheck: GET " + base + "/down: 503 Service Unavailable"},
		{name: "unreachable", args: []string{"--url", closedPortURL(t)}, wantCode: 1, wantLine: "connection refused"},
		{name: "bad flag", args: []string{"--timeout", "soon"}, wantCode: 1, wantLine: "minbil-bff: healthcheck: invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary(t), append([]string{"healthcheck"}, tt.args...)...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("healthcheck %q exited %d, want %d; stderr %q", tt.args, code, tt.wantCode, stderr.String())
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.wantLine) {
				t.Errorf("healthcheck %q stderr = %q, want one line containing %q", tt.args, stderr.String(), tt.wantLine)
			}
			if stdout.Len() != 0 {
				t.Errorf("healthcheck %q stdout = %q, want empty", tt.args, stdout.String())
			}
		})
	}
}
