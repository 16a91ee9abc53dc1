package verify

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

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

// TestR3T2AllowedCharactersHaveAValidLength: every case that sends a name
// of allowed characters sends one of a valid length, so the real mock
// answers it available or taken, never with the length message (the
// letters-and-digits cases once sent 32 characters and tested only the
// length rule).
func TestR3T2AllowedCharactersHaveAValidLength(t *testing.T) {
	c := mustContract(t)
	rules := c.UsernameRules()
	target := startMock(t)
	cases, err := Cases(c, Config{Target: target, Token: "demo"})
	if err != nil {
		t.Fatalf("Cases() = %v", err)
	}
	r, done := newRunner(c, Config{Target: target, Token: "demo"})
	t.Cleanup(done)
	var allowed int
	for _, tc := range cases {
		if tc.Operation != opUsername || !strings.Contains(tc.Name, "allowed") {
			continue
		}
		allowed++
		t.Run(tc.Name, func(t *testing.T) {
			name := tc.Request.Query.Get("username")
			if n := utf8.RuneCountInString(name); n < rules.MinLength || n > rules.MaxLength {
				t.Errorf("len(%q) = %d, want %d..%d", name, n, rules.MinLength, rules.MaxLength)
			}
			if ok, msg := rules.Check(name); !ok {
				t.Errorf("Check(%q) = false (%s), want true", name, msg)
			}
			a, err := r.send(context.Background(), tc.Request, "r3t2")
			if err != nil {
				t.Fatalf("send(%q) = %v", name, err)
			}
			var got struct {
				Message string `json:"message"`
			}
			if err := json.Unmarshal(a.Body, &got); err != nil || a.Status != http.StatusOK {
				t.Fatalf("answer to %q = %d %s, want 200 with a message", name, a.Status, a.Body)
			}
			if got.Message != rules.Messages.Available && got.Message != rules.Messages.Taken {
				t.Errorf("message for %q = %q, want %q or %q", name, got.Message, rules.Messages.Available, rules.Messages.Taken)
			}
		})
	}
	if allowed == 0 {
		t.Fatal("no case of allowed characters")
	}
}
