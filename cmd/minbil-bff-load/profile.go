package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// profileTop is how many functions of the profile the report lists.
const profileTop = 15

// profileStopGrace is how long the profiled gateway may take to drain and
// write its profile after SIGTERM: more than its default
// server.shutdown_timeout (15 s), so that the harness never kills it
// while the profile is being written.
const profileStopGrace = 30 * time.Second

// cpuProfile is what -profile produced: the profile's path relative to the
// repository root, the command that reads it, and the top of
// `go tool pprof -top`. Error says why there is none.
type cpuProfile struct {
	Path     string `json:"path,omitempty"`
	Command  string `json:"command,omitempty"`
	Requests int64  `json:"requests,omitempty"`
	Run      string `json:"run,omitempty"`
	Top      string `json:"top,omitempty"`
	Error    string `json:"error,omitempty"`
}

// profileGateway starts a gateway of its own, configured as gw-hs256 and
// writing a CPU profile, drives it as the gw-hs256 row for one round's
// duration, stops it with SIGTERM and waits for it to write the profile.
// Its own process, so that the profile holds the list path only (gw-hs256's
// process also serves the cache-hit row) and no measured round runs with
// the profiler on.
func profileGateway(ctx context.Context, e environment) (*cpuProfile, error) {
	path := filepath.Join(e.root, filepath.FromSlash(profileFile))
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var t target
	for _, tt := range targets(e.creds) {
		if tt.id == "gw-hs256" {
			t = tt
		}
	}
	logf("profiling: %s on %s for %s", srvGwProfile, e.serverAddr(srvGwProfile), e.o.duration)
	p, err := start(ctx, e.spec(srvGwProfile), e.runDir)
	if err != nil {
		return nil, fmt.Errorf("%w (-profile needs a minbil-bff whose serve has --cpu-profile)", err)
	}
	defer p.stop()
	if err := probe(ctx, t, p.addr); err != nil {
		return nil, err
	}
	s, out, err := wrkRun(ctx, e.o.clientCPU, "http://"+p.addr+t.path, e.o.conns, e.o.duration, t.header, t.script)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, out)
	}
	if bad := badAnswers(t, s); bad != "" {
		return nil, fmt.Errorf("%s: %s", srvGwProfile, bad)
	}
	if err := p.stopWithin(profileStopGrace); err != nil {
		return nil, fmt.Errorf("%s after SIGTERM: %w", srvGwProfile, err)
	}
	bin := filepath.Join(e.binDir, "minbil-bff")
	top, err := pprofTop(ctx, e.root, bin, path)
	if err != nil {
		return nil, err
	}
	rel := func(p string) string {
		if r, err := filepath.Rel(e.root, p); err == nil {
			return r
		}
		return p
	}
	return &cpuProfile{
		Path:     rel(path),
		Command:  "go tool pprof -top " + rel(bin) + " " + rel(path),
		Requests: s.requests,
		Run:      fmt.Sprintf("one %s wrk run of the gw-hs256 row (%.0f req/s), start-up and shutdown included", e.o.duration, s.rps),
		Top:      top,
	}, nil
}

// pprofTop is the head of `go tool pprof -top`: its summary lines and the
// profileTop functions with the most samples of their own.
func pprofTop(ctx context.Context, root, bin, profile string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", fmt.Sprintf("-nodecount=%d", profileTop), bin, profile)
	cmd.Dir = root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof -top %s: %w\n%s", profile, err, stderr.String())
	}
	return strings.TrimRight(string(out), "\n"), nil
}
