package upstream

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/gateway/tracing"
)

func TestBudgetWeight(t *testing.T) {
	const maxBody = 64 << 10
	tests := []struct {
		name          string
		size          int64
		contentLength int64
		want          int64
	}{
		{"a small answer", 1 << 20, 1500, 1500 * answerCost},
		{"an empty answer", 1 << 20, 0, answerCost},
		{"length unknown: the most it may be", 1 << 20, -1, maxBody * answerCost},
		{"longer than allowed: the most it may be", 1 << 20, 1 << 30, maxBody * answerCost},
		{"more than the budget: all of it", 100 << 10, maxBody, 100 << 10},
	}
	for _, tt := range tests {
		if got := newAnswerBudget(tt.size, maxBody).weight(tt.contentLength); got != tt.want {
			t.Errorf("weight(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestBudgetHoldsAnswersInFlight: while one answer holds the whole budget
// another waits, then gets ErrNoRoom (overloaded: a 503 the breaker does
// not count) when its wait ends; once the first is done, it goes through.
func TestBudgetHoldsAnswersInFlight(t *testing.T) {
	body := strings.Repeat("x", 1000)
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	})
	u, b := testConfig(f.URL)
	u.MaxInflightBytes = 1000 * answerCost // room for one answer
	br := NewBreakers(b, nil)
	c, err := New(u, br, nil, tracing.Tracing{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	get := func(wait time.Duration) (*Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		return c.Do(ctx, Request{Operation: "op", Method: "GET", Path: "/x"})
	}
	first, err := get(time.Second)
	if err != nil || len(first.Body) != len(body) {
		t.Fatalf("first call = %v, want the answer", err)
	}
	if _, err := get(100 * time.Millisecond); !errors.Is(err, ErrNoRoom) || !errors.Is(err, ErrOverloaded) {
		t.Fatalf("call while the budget is full = %v, want ErrNoRoom (overloaded)", err)
	}
	first.Done()
	first.Done() // twice is harmless
	second, err := get(time.Second)
	if err != nil {
		t.Fatalf("call after the first was done = %v, want the answer", err)
	}
	second.Done()
	if s := br.State("op").String(); s != "closed" {
		t.Errorf("breaker %s after a full budget, want closed", s)
	}
}
