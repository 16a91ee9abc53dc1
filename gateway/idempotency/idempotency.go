// Package idempotency records the outcome of rating submissions per caller
// and Idempotency-Key (IETF httpapi draft), so a client that timed out can
// retry safely: the same key and body replay the first answer without a
// second upstream call, the same key with another body is refused, and a
// retry while the first is still in flight is refused.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/minbil/minbil-bff/gateway/store"
)

// Errors of Begin.
var (
	// ErrInFlight: a request with this key is still being processed (409).
	ErrInFlight = errors.New("a request with this idempotency key is in flight")
	// ErrKeyReused: the key was used with another request body (422).
	ErrKeyReused = errors.New("idempotency key reused with another request")
	// ErrInvalidKey: the key is empty, too long or not visible ASCII (400).
	ErrInvalidKey = errors.New("invalid idempotency key")
	// ErrFull: the store has no room for a new key, or the caller holds
	// its share of it (503 with Retry-After). Nothing held is dropped to
	// make room: not a claim in flight, not a recorded outcome (R3-F10).
	ErrFull = errors.New("idempotency records full")
)

// Errors of Finish and Close.
var (
	// ErrPending: the store did not take the outcome; it is kept in this
	// process, replayed to retries that reach it, and written as soon as
	// the store takes it (R3-F1).
	ErrPending = errors.New("outcome kept in this process until the store takes it")
	// ErrLost: an outcome could be neither stored nor kept (the outcomes
	// waiting for the store fill their budget), or was still unwritten
	// when Close gave up. A retry of its key reaches the upstream again
	// once the claim ends; the upstream refuses to rate a booking twice.
	ErrLost = errors.New("outcome not recorded")
)

// DefaultMaxBytes is the budget for records kept in memory (store.NewNoEviction):
// 16 MiB, about 11,000 outcomes of a 1,000-byte rating, or 36,000 claims.
const DefaultMaxBytes int64 = 16 << 20

// DefaultPendingBytes bounds the outcomes waiting for the store: 4 MiB,
// about 2,700 outcomes of a 1,000-byte rating. Only requests in flight when
// the store failed wait here: a new key is refused while the store fails.
const DefaultPendingBytes int64 = 4 << 20

// retryInterval is how often outcomes waiting for the store are written
// again; the store's own breaker makes a try fail at once while it is open.
const retryInterval = 250 * time.Millisecond

// MaxKeyLength is the longest Idempotency-Key accepted, as the contract says.
const MaxKeyLength = 255

// Outcome is a recorded answer: replayed byte for byte.
type Outcome struct {
	Status int    `json:"status"`
	Body   []byte `json:"body"`
}

type record struct {
	Fingerprint string   `json:"fp"`
	Done        bool     `json:"done"`
	Outcome     *Outcome `json:"outcome,omitempty"`
}

// Records keeps idempotency records in a store.KV: memory for one process,
// Redis for a fleet (a claim is atomic across replicas).
//
// An outcome the store does not take (Redis paused, or full) is not lost:
// Records keeps it in this process, answers retries of its key from it,
// and writes it again every retryInterval, in a goroutine that runs only
// while something waits, until the store takes it or Close ends the wait.
type Records struct {
	kv store.KV
	// ttl is how long a finished outcome is kept for replay.
	ttl time.Duration
	// inFlightTTL bounds a claim whose request never finished (a crash), so
	// the key becomes usable again.
	inFlightTTL time.Duration
	now         func() time.Time
	pending     pending
	retry       *store.Retrier
	observe     func(waiting int)
}

// Option changes Records.
type Option func(*Records)

// WithPendingBytes bounds the outcomes waiting for the store (0:
// DefaultPendingBytes). It is a test seam: production keeps the default,
// and a test fills a small budget to see the next outcome refused; deadcode
// lists it for that reason.
func WithPendingBytes(n int64) Option {
	return func(r *Records) {
		if n > 0 {
			r.pending.max = n
		}
	}
}

// WithObserver is told how many outcomes wait for the store each time the
// number changes (a gauge). It must not block.
func WithObserver(f func(waiting int)) Option { return func(r *Records) { r.observe = f } }

// New builds Records over kv. ttl is how long outcomes are replayed;
// inFlightTTL how long an unfinished claim blocks its key. Close ends the
// writing of outcomes that wait for the store.
func New(kv store.KV, ttl, inFlightTTL time.Duration, opts ...Option) *Records {
	r := &Records{kv: kv, ttl: ttl, inFlightTTL: inFlightTTL, now: time.Now,
		pending: pending{max: DefaultPendingBytes, byID: map[string]*unwritten{}}}
	for _, o := range opts {
		o(r)
	}
	r.retry = store.NewRetrier(retryInterval, r.flush)
	return r
}

// Slot is one caller's key, ready to Begin.
type Slot struct {
	id          string
	fingerprint string
}

// idPrefix starts every record's store key; ownerLen is the length of the
// part that names the caller (Owner).
const (
	idPrefix = "idem:"
	ownerLen = len(idPrefix) + 32
)

// NewSlot names the record of caller's key for a request whose canonical
// form is request. The store key is hashes, so no client string reaches
// the store as a key: 128 bits of the caller's, then 128 bits of the
// caller's and key's together, so that a store can tell callers apart
// (Owner) without learning who they are.
func NewSlot(caller, key string, request []byte) Slot {
	who := sha256.Sum256([]byte(caller))
	id := sha256.Sum256([]byte(caller + "\x00" + key))
	fp := sha256.Sum256(request)
	return Slot{
		id:          idPrefix + hex.EncodeToString(who[:16]) + ":" + hex.EncodeToString(id[:16]),
		fingerprint: hex.EncodeToString(fp[:]),
	}
}

// Owner names the caller of a record's store key (store.WithShares): the
// key up to its caller's hash. A key of another form is its own owner.
func Owner(key string) string {
	if len(key) < ownerLen || key[:len(idPrefix)] != idPrefix {
		return key
	}
	return key[:ownerLen]
}

// Begin claims the slot. It returns a recorded outcome to replay, or nil
// when the caller must go on, then Finish or Abandon the slot; or an error:
// ErrInFlight, ErrKeyReused, ErrFull, or the store's error wrapped. An
// outcome that waits for the store is answered from this process, without
// asking the store.
func (r *Records) Begin(_ context.Context, s Slot) (*Outcome, error) {
	if o, ok := r.pending.get(s.id, r.now()); ok {
		if o.fingerprint != s.fingerprint {
			return nil, ErrKeyReused
		}
		return &o.outcome, nil
	}
	claim, err := json.Marshal(record{Fingerprint: s.fingerprint})
	if err != nil {
		return nil, fmt.Errorf("idempotency: encode claim: %w", err)
	}
	ok, err := r.claim(s, claim)
	if err != nil || ok {
		return nil, err
	}
	raw, err := r.kv.Get(s.id)
	if err != nil {
		return nil, fmt.Errorf("idempotency: read: %w", err)
	}
	if raw == nil {
		// The record expired between the claim and the read: try once more.
		if ok, err := r.claim(s, claim); err != nil || ok {
			return nil, err
		}
		return nil, ErrInFlight
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("idempotency: decode record: %w", err)
	}
	switch {
	case rec.Fingerprint != s.fingerprint:
		return nil, ErrKeyReused
	case !rec.Done || rec.Outcome == nil:
		return nil, ErrInFlight
	}
	return rec.Outcome, nil
}

// claim stores the claim unless the slot holds a record.
func (r *Records) claim(s Slot, claim []byte) (bool, error) {
	ok, err := r.kv.SetNX(s.id, claim, r.inFlightTTL)
	switch {
	case errors.Is(err, store.ErrFull):
		return false, fmt.Errorf("idempotency: claim: %w: %w", ErrFull, err)
	case err != nil:
		return false, fmt.Errorf("idempotency: claim: %w", err)
	}
	return ok, nil
}

// Finish records the definitive outcome of the slot's request for replay.
// When the store does not take it, the outcome waits in this process (see
// Records) and Finish returns an error wrapping ErrPending; when it cannot
// wait either, one wrapping ErrLost.
func (r *Records) Finish(_ context.Context, s Slot, o Outcome) error {
	raw, err := json.Marshal(record{Fingerprint: s.fingerprint, Done: true, Outcome: &o})
	if err != nil {
		return fmt.Errorf("idempotency: encode outcome: %w", err)
	}
	err = r.kv.Set(s.id, raw, r.ttl)
	if err == nil {
		return nil
	}
	u := &unwritten{fingerprint: s.fingerprint, outcome: o, raw: raw, expires: r.now().Add(r.ttl)}
	n, kept := r.pending.put(s.id, u)
	if !kept {
		return fmt.Errorf("idempotency: record outcome: %w: %d bytes wait for the store already: %w", ErrLost, r.pending.max, err)
	}
	r.observed(n)
	r.retry.Kick()
	return fmt.Errorf("idempotency: record outcome: %w: %w", ErrPending, err)
}

// flush writes the outcomes that wait for the store, each for the rest of
// its TTL, and reports whether none is left. It stops at the first the
// store refuses: the rest would fail alike.
func (r *Records) flush() bool {
	for id, u := range r.pending.all() {
		left := u.expires.Sub(r.now())
		if left > 0 {
			if err := r.kv.Set(id, u.raw, left); err != nil {
				return false
			}
		}
		r.observed(r.pending.remove(id, u))
	}
	return r.pending.len() == 0
}

func (r *Records) observed(waiting int) {
	if r.observe != nil {
		r.observe(waiting)
	}
}

// Waiting returns how many outcomes wait for the store.
func (r *Records) Waiting() int { return r.pending.len() }

// Close waits until every outcome waiting for the store is written, or ctx
// ends, then stops writing. It returns an error wrapping ErrLost that
// counts the outcomes still unwritten: the process is ending without them.
func (r *Records) Close(ctx context.Context) error {
	waited := r.retry.Wait(ctx)
	r.retry.Stop()
	if n := r.pending.len(); n > 0 {
		return fmt.Errorf("idempotency: %w: %d outcomes not written to the store: %w", ErrLost, n, waited)
	}
	return nil
}

// Abandon releases the slot when the outcome is unknown or was not decided
// by the upstream (timeout, breaker open), so a retry goes through; the
// upstream's own refusal to rate a booking twice keeps such a retry from
// creating a second rating.
func (r *Records) Abandon(_ context.Context, s Slot) error {
	if err := r.kv.Delete(s.id); err != nil {
		return fmt.Errorf("idempotency: release: %w", err)
	}
	return nil
}
