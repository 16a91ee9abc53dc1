package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// coldStart is the time from a fresh clone to the first 200 of `make run`.
type coldStart struct {
	// Commit is the commit cloned (the repository's HEAD).
	Commit string `json:"commit"`
	// Clone is how long the local `git clone` took; ToFirst200 is from the
	// start of the clone to the first 200, so it includes Clone, the
	// module downloads into an empty GOMODCACHE and the build with an
	// empty GOCACHE.
	Clone      time.Duration `json:"clone_ns"`
	ToFirst200 time.Duration `json:"to_first_200_ns"`
}

// coldStartLimit is how long measureColdStart waits for the first 200.
const coldStartLimit = 10 * time.Minute

// measureColdStart clones the repository at root into a temporary
// directory, runs `make run`'s command there (go run ./cmd/minbil-bff
// serve) on a free 127.0.0.1 port with empty, temporary GOMODCACHE and
// GOCACHE (GOPROXY, GOFLAGS and the rest from the environment), polls the
// list until it answers 200, and stops the process group. The server is not
// pinned: the goal is for a developer's two cores. Its output goes to
// logDir/cold-start.log.
func measureColdStart(ctx context.Context, root, logDir string) (coldStart, error) {
	var cs coldStart
	var err error
	if cs.Commit, err = resolveRef(ctx, root, "HEAD"); err != nil {
		return cs, err
	}
	tmp, err := os.MkdirTemp("", "minbil-cold-start-")
	if err != nil {
		return cs, err
	}
	env := append(os.Environ(), "GOMODCACHE="+filepath.Join(tmp, "mod"), "GOCACHE="+filepath.Join(tmp, "cache"))
	defer func() {
		// The module cache is read-only; go clean knows how to remove it.
		clean := exec.Command("go", "clean", "-modcache")
		clean.Env = env
		_ = clean.Run()
		_ = os.RemoveAll(tmp)
	}()
	port, err := freePort()
	if err != nil {
		return cs, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	src := filepath.Join(tmp, "src")

	started := time.Now()
	clone := exec.CommandContext(ctx, "git", "clone", "--quiet", root, src)
	if out, err := clone.CombinedOutput(); err != nil {
		return cs, fmt.Errorf("git clone: %w\n%s", err, out)
	}
	cs.Clone = time.Since(started)

	log, err := os.Create(filepath.Join(logDir, "cold-start.log"))
	if err != nil {
		return cs, err
	}
	defer log.Close()
	cmd := exec.Command("go", "run", gatewayPkg, "serve", "--addr", addr)
	cmd.Dir, cmd.Env = src, env
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return cs, fmt.Errorf("go run: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		// go run's child is the server; the group takes both.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}()

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := started.Add(coldStartLimit)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			done <- err
			return cs, fmt.Errorf("go run exited before the first 200 (see %s): %v", log.Name(), err)
		case <-ctx.Done():
			return cs, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := client.Get("http://" + addr + pathList)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			cs.ToFirst200 = time.Since(started)
			return cs, nil
		}
	}
	return cs, errors.New("no 200 within " + coldStartLimit.String() + " (see " + log.Name() + ")")
}

// freePort asks the kernel for a free 127.0.0.1 port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	_, port, _ := strings.Cut(l.Addr().String(), ":")
	return strconv.Atoi(port)
}
