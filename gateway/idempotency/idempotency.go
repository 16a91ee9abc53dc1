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
	// ErrFull: the store holds nothing but other requests' claims, so no
	// new key can be claimed until one finishes or expires (503 with
	// Retry-After; a claim lasts at most the inFlightTTL given to New).
	ErrFull = errors.New("idempotency records full of requests in flight")
)

// DefaultMaxBytes is the budget for records kept in memory (store.NewBounded):
// 16 MiB, about 11,000 outcomes of a 1,000-byte rating, or 36,000 claims.
const DefaultMaxBytes int64 = 16 << 20

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
type Records struct {
	kv store.KV
	// ttl is how long a finished outcome is kept for replay.
	ttl time.Duration
	// inFlightTTL bounds a claim whose request never finished (a crash), so
	// the key becomes usable again.
	inFlightTTL time.Duration
}

// New builds Records over kv. ttl is how long outcomes are replayed;
// inFlightTTL how long an unfinished claim blocks its key.
func New(kv store.KV, ttl, inFlightTTL time.Duration) *Records {
	return &Records{kv: kv, ttl: ttl, inFlightTTL: inFlightTTL}
}

// ValidKey reports whether key is 1–255 visible ASCII characters.
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLength {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// Slot is one caller's key, ready to Begin.
type Slot struct {
	id          string
	fingerprint string
}

// NewSlot names the record of caller's key for a request whose canonical
// form is request. The store key is a hash, so no client string reaches the
// store as a key.
func NewSlot(caller, key string, request []byte) Slot {
	id := sha256.Sum256([]byte(caller + "\x00" + key))
	fp := sha256.Sum256(request)
	return Slot{id: "idem:" + hex.EncodeToString(id[:]), fingerprint: hex.EncodeToString(fp[:])}
}

// Begin claims the slot. It returns a recorded outcome to replay, or nil
// when the caller must go on, then Finish or Abandon the slot; or an error:
// ErrInFlight, ErrKeyReused, ErrFull, or the store's error wrapped.
func (r *Records) Begin(_ context.Context, s Slot) (*Outcome, error) {
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
func (r *Records) Finish(_ context.Context, s Slot, o Outcome) error {
	raw, err := json.Marshal(record{Fingerprint: s.fingerprint, Done: true, Outcome: &o})
	if err != nil {
		return fmt.Errorf("idempotency: encode outcome: %w", err)
	}
	if err := r.kv.Set(s.id, raw, r.ttl); err != nil {
		return fmt.Errorf("idempotency: record outcome: %w", err)
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
