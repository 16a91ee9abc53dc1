package store

import (
	"context"
	"sync"
	"time"
)

// Retrier calls work again and again, interval apart, in one goroutine that
// starts when Kick is called and ends as soon as work reports that nothing
// is left to do: while the shared store works there is no goroutine at all,
// and one that has something to write has an owner (the Retrier's) and a
// stop (Stop). It writes out what a store could not take when it was asked
// to (idempotency outcomes, stale-list drop-marks).
type Retrier struct {
	interval time.Duration
	work     func() (done bool)

	mu      sync.Mutex
	running bool
	kicked  bool // Kick was called since the current call of work began
	stopped bool
	stop    chan struct{}
	idle    chan struct{} // closed while no goroutine runs
}

// NewRetrier builds a Retrier of work; it starts nothing.
func NewRetrier(interval time.Duration, work func() (done bool)) *Retrier {
	idle := make(chan struct{})
	close(idle)
	return &Retrier{interval: interval, work: work, stop: make(chan struct{}), idle: idle}
}

// Kick makes sure work is called within interval, and again until it is
// done. After Stop it does nothing.
func (r *Retrier) Kick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.kicked = true
	if r.running {
		return
	}
	r.running = true
	r.idle = make(chan struct{})
	go r.run(r.idle)
}

func (r *Retrier) run(idle chan struct{}) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			r.end(idle)
			return
		case <-t.C:
		}
		r.mu.Lock()
		r.kicked = false
		r.mu.Unlock()
		if r.work() && r.endUnlessKicked(idle) {
			return
		}
	}
}

// endUnlessKicked ends the run unless Kick came while work ran: what it
// was kicked for may not have been seen.
func (r *Retrier) endUnlessKicked(idle chan struct{}) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kicked {
		return false
	}
	r.running = false
	close(idle)
	return true
}

func (r *Retrier) end(idle chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running = false
	close(idle)
}

// Wait returns when work has reported it is done (or was never kicked), or
// with ctx's error when ctx ends first.
func (r *Retrier) Wait(ctx context.Context) error {
	r.mu.Lock()
	idle := r.idle
	r.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop ends the goroutine, if one runs, and waits for it; Kick does nothing
// after it. It may be called more than once.
func (r *Retrier) Stop() {
	r.mu.Lock()
	if !r.stopped {
		r.stopped = true
		close(r.stop)
	}
	idle := r.idle
	r.mu.Unlock()
	<-idle
}
