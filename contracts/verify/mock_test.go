package verify

import (
	"context"
	"net"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/mock"
)

// startMock serves the real mock on 127.0.0.1; the test stops it.
func startMock(t *testing.T) string {
	t.Helper()
	srv, err := mock.New(mock.Config{Seed: 1, AllowFaultHeaders: true}, mustContract(t), zap.NewNop())
	if err != nil {
		t.Fatalf("mock.New() = %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown() = %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// TestMockKeepsTheContract runs the full verifier, rating flow included,
// against the real mock, twice: the second run finds booking 123 already
// rated. The token is the mock's demo owner, who owns booking 123 (any other
// token is an owner of its own, whose bookings the verifier cannot know).
func TestMockKeepsTheContract(t *testing.T) {
	c := mustContract(t)
	url := startMock(t)
	for _, run := range []string{"first run", "second run"} {
		rep := mustRun(t, c, Config{Target: url, Token: "demo"})
		if rep.ExitCode() != ExitOK || rep.Skipped != 0 {
			t.Fatalf("%s: %s, want every case passed:\n%s", run, rep.Summary(), strings.Join(allLines(rep), "\n"))
		}
	}
}

// TestMockReadOnly is the run a newcomer points at production, against the
// mock with the default dev token.
func TestMockReadOnly(t *testing.T) {
	c := mustContract(t)
	rep := mustRun(t, c, Config{Target: startMock(t), Token: DevToken, ReadOnly: true})
	if rep.ExitCode() != ExitOK {
		t.Fatalf("%s, want no failures:\n%s", rep.Summary(), strings.Join(allLines(rep), "\n"))
	}
}
