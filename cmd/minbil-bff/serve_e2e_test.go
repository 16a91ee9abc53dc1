package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeCPUProfile runs the real binary with --cpu-profile, sends it a
// few requests and stops it with SIGTERM, as the load harness does: the
// profile must then be complete. A pprof file is a gzipped protobuf whose
// string table names the sample types; a profile cut short (the process
// killed before StopCPUProfile) is empty or does not decompress to its end.
func TestServeCPUProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	profile := filepath.Join(t.TempDir(), "gateway.cpu.pprof")
	addr := freeAddr(t)
	p := startUnmanaged(t, addr, nil, "serve", "--addr", addr, "--cpu-profile", profile)
	for range 20 {
		if code, body := recordDo(t, "GET", "http://"+addr+"/api/co/rating", map[string]string{"Authorization": "Bearer e2e-token"}, ""); code != 200 {
			t.Fatalf("GET /api/co/rating = %d, want 200: %s", code, body)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(20 * time.Second); err != nil {
		t.Fatalf("gateway exited with %v after SIGTERM, want 0; output:\n%s", err, p.out)
	}
	raw, err := os.ReadFile(profile)
	if err != nil {
		t.Fatalf("ReadFile(profile) error = %v", err)
	}
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		t.Fatalf("profile is %d bytes and starts % x, want gzip (1f 8b)", len(raw), raw[:min(len(raw), 2)])
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("gzip.NewReader(profile) error = %v", err)
	}
	pb, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("profile does not decompress to its end: %v", err)
	}
	for _, want := range []string{"samples", "cpu", "nanoseconds"} {
		if !bytes.Contains(pb, []byte(want)) {
			t.Errorf("profile's protobuf does not name %q, the sample types of a CPU profile", want)
		}
	}
}

// TestServeCPUProfileUnwritable checks that a profile that cannot be
// written stops the gateway at start-up, naming the flag, instead of
// serving without the profile the operator asked for.
func TestServeCPUProfileUnwritable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	missing := filepath.Join(t.TempDir(), "no-such-dir", "gateway.cpu.pprof")
	cmd := exec.Command(binary(t), "serve", "--addr", freeAddr(t), "--cpu-profile", missing)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("serve --cpu-profile %s: %v, want exit 1; output:\n%s", missing, err, out)
	}
	if !strings.Contains(string(out), "cpu profile") {
		t.Errorf("output does not say the cpu profile failed:\n%s", out)
	}
}
