// Package prismtest runs Stoplight Prism, pinned in contracts/portal/_web,
// as a mock of an OpenAPI file for tests: an upstream that someone else's
// tool generates from a document, not one we wrote. It is test support,
// imported only by tests.
package prismtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// root is the module's root directory, found from this file's path.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// Bin is Prism as contracts/portal/_web pins it (npm ci installs it).
func Bin() string { return filepath.Join(root(), "contracts/portal/_web/node_modules/.bin/prism") }

// Spec is the path of a file under the module's root.
func Spec(rel string) string { return filepath.Join(root(), rel) }

// Available reports whether Prism can run: installed by npm ci in
// contracts/portal/_web, and Node.js on the PATH to run it (the installed
// bin is a node script, so a checkout whose node_modules outlived Node.js
// would fail to start it rather than skip). Tests skip without it; make
// test requires it.
func Available() bool {
	if _, err := exec.LookPath("node"); err != nil {
		return false
	}
	_, err := os.Stat(Bin())
	return err == nil
}

// SkipReason is what a test that needs Prism says when it skips.
const SkipReason = "Prism needs Node.js and npm ci in contracts/portal/_web (make test requires both; make test-go skips this)"

// Start mocks spec with Prism on a free 127.0.0.1 port, behind a small
// front (see jsonFront), and returns the front's URL. The test stops both.
func Start(t *testing.T, spec string) string {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(Bin(), "mock", "-h", "127.0.0.1", "-p", port, spec)
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
	front := httptest.NewServer(jsonFront(proxy))
	t.Cleanup(front.Close)
	return front.URL
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
