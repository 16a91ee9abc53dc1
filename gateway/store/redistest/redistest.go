// Package redistest is test support: it runs Debian's redis-server on a
// free 127.0.0.1 port for the length of a test, and can pause and resume
// it (SIGSTOP, SIGCONT) the way a stalled Redis behaves. Production never
// imports it.
package redistest

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process owned by one test.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	argv []string
	cmd  *exec.Cmd
}

// Start runs redis-server with args added to its command line and stops it
// when the test ends; the test is skipped when redis-server is not
// installed (.ci/run installs it).
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install -y redis-server; .ci/run does it)")
	}
	port := freePort(t)
	s := &Server{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		argv: append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no"}, args...),
	}
	s.launch(t)
	t.Cleanup(s.kill)
	return s
}

// launch runs redis-server with s.argv and waits until it listens.
func (s *Server) launch(t testing.TB) {
	t.Helper()
	s.cmd = exec.Command("redis-server", s.argv...)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	s.waitListening(t)
}

// Stop kills the process (SIGKILL): connections break and nothing listens
// on Addr until Restart.
func (s *Server) Stop(t testing.TB) { t.Helper(); s.kill() }

// Restart runs a stopped server again on the same Addr with the same
// command line; it starts empty (nothing is saved).
func (s *Server) Restart(t testing.TB) { t.Helper(); s.launch(t) }

// Memory is the command line of a redis-server with a memory limit of
// maxBytes (a redis-server size: "2mb") and maxmemory-policy policy.
func Memory(maxBytes, policy string) []string {
	return []string{"--maxmemory", maxBytes, "--maxmemory-policy", policy}
}

// Client is a go-redis client of the server, closed when the test ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Info returns the fields of one INFO section ("memory", "stats").
func (s *Server) Info(t testing.TB, section string) map[string]string {
	t.Helper()
	text, err := s.Client(t).Info(context.Background(), section).Result()
	if err != nil {
		t.Fatalf("redis INFO %s: %v", section, err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(text, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = v
		}
	}
	return fields
}

// Fill writes filler keys of size bytes under prefix, each living ttl (0:
// for ever), until Redis refuses a write because its memory is full (a
// server started with Memory); then it lowers maxmemory below what Redis
// uses, so that every later write that needs memory is refused too (a
// write smaller than the refused one could still fit). It returns how many
// keys it wrote. Under a policy that evicts, Redis evicts instead.
func (s *Server) Fill(t testing.TB, prefix string, size int, ttl time.Duration) int {
	t.Helper()
	c, ctx, val := s.Client(t), context.Background(), strings.Repeat("f", size)
	n := 0
	for ; ; n++ {
		err := c.Set(ctx, prefix+strconv.Itoa(n), val, ttl).Err()
		if redis.IsOOMError(err) {
			break
		}
		if err != nil {
			t.Fatalf("fill redis: %v", err)
		}
		if n > 1_000_000 {
			t.Fatal(errors.New("fill redis: a million keys and still room: start it with Memory"))
		}
	}
	used, err := strconv.ParseInt(s.Info(t, "memory")["used_memory"], 10, 64)
	if err != nil {
		t.Fatalf("fill redis: used_memory: %v", err)
	}
	if err := c.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used-int64(size), 10)).Err(); err != nil {
		t.Fatalf("fill redis: lower maxmemory: %v", err)
	}
	return n
}

// Pause stops the process (SIGSTOP): connections stay open, nothing answers.
func (s *Server) Pause(t testing.TB) { t.Helper(); s.signal(t, syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func (s *Server) Resume(t testing.TB) { t.Helper(); s.signal(t, syscall.SIGCONT) }

func (s *Server) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal redis-server: %v", err)
	}
}

func (s *Server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

func (s *Server) waitListening(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server does not listen on %s", s.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort asks the kernel for a free 127.0.0.1 port.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
