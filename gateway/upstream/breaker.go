package upstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/minbil/minbil-bff/gateway/config"
)

// StateObserver is told about every breaker state change. It must not block
// and must not call back into the breaker (gobreaker calls it under its lock).
type StateObserver func(operation string, from, to gobreaker.State)

// Breakers holds one circuit breaker per upstream operation, so a failing
// POST does not block GETs.
type Breakers struct {
	settings config.Breaker
	observe  StateObserver

	// fixed holds the breakers of the operations named at construction; it
	// is never written afterwards, so finding one takes no lock.
	fixed map[string]*breaker

	mu   sync.Mutex
	byOp map[string]*breaker // any other operation, made on first use
}

type breaker struct {
	cb       *gobreaker.CircuitBreaker[*Response]
	openedAt atomic.Int64 // unix nanos of the last transition to open
}

// NewBreakers builds the breaker set, one closed breaker for each of ops
// at once (others are made on first use); observe may be nil.
func NewBreakers(cfg config.Breaker, observe StateObserver, ops ...string) *Breakers {
	b := &Breakers{settings: cfg, observe: observe, fixed: map[string]*breaker{}, byOp: map[string]*breaker{}}
	for _, op := range ops {
		b.fixed[op] = b.newBreaker(op)
	}
	return b
}

func (b *Breakers) get(op string) *breaker {
	if br, ok := b.fixed[op]; ok {
		return br
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if br, ok := b.byOp[op]; ok {
		return br
	}
	br := b.newBreaker(op)
	b.byOp[op] = br
	return br
}

func (b *Breakers) newBreaker(op string) *breaker {
	br := &breaker{}
	threshold := uint32(b.settings.ConsecutiveFailures)
	br.cb = gobreaker.NewCircuitBreaker[*Response](gobreaker.Settings{
		Name:        op,
		MaxRequests: uint32(b.settings.HalfOpenRequests),
		Interval:    b.settings.Interval,
		Timeout:     b.settings.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		IsExcluded:  isExcluded,
		OnStateChange: func(name string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				br.openedAt.Store(time.Now().UnixNano())
			}
			if b.observe != nil {
				b.observe(name, from, to)
			}
		},
	})
	return br
}

// isExcluded keeps outcomes that say nothing about the upstream's health
// out of the counts: a caller that went away and a full local pool.
func isExcluded(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, ErrOverloaded)
}

// Execute runs fn through the operation's breaker. An open breaker answers
// ErrBreakerOpen at once, without calling fn.
func (b *Breakers) Execute(op string, fn func() (*Response, error)) (*Response, error) {
	resp, err := b.get(op).cb.Execute(fn)
	switch {
	case errors.Is(err, gobreaker.ErrOpenState):
		return nil, errOpen
	case errors.Is(err, gobreaker.ErrTooManyRequests):
		return nil, errHalfOpenFull
	}
	return resp, err
}

// The refusals of an open breaker, built once: an open breaker answers at
// once, and answering must not cost an allocation per request.
var (
	errOpen         = fmt.Errorf("%w: %w", ErrBreakerOpen, gobreaker.ErrOpenState)
	errHalfOpenFull = fmt.Errorf("%w: %w", ErrBreakerOpen, gobreaker.ErrTooManyRequests)
)

// State returns the operation's breaker state.
func (b *Breakers) State(op string) gobreaker.State { return b.get(op).cb.State() }

// RetryAfter is how long until the operation's open breaker lets a probe
// through, rounded up to whole seconds and at least 1.
func (b *Breakers) RetryAfter(op string) time.Duration {
	br := b.get(op)
	left := b.settings.OpenTimeout - time.Since(time.Unix(0, br.openedAt.Load()))
	if left < time.Second {
		return time.Second
	}
	return (left + time.Second - 1).Truncate(time.Second)
}
