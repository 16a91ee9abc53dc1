package mock

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minbil/minbil-bff/contracts"
)

// Outcomes of a rating submission that are not a success. The error handler
// maps them to statuses; they never carry data of another owner.
var (
	errBookingNotFound = errors.New("no such booking for this car owner")
	errAlreadyRated    = errors.New("the booking is already rated")
	errNotCompleted    = errors.New("the booking is not completed yet")
	errIdempotencyUsed = errors.New("the idempotency key was used with another request")
)

const (
	stateVersion = 1
	// maxOwners bounds the owners kept in memory. Owners nobody has rated
	// through the API are evicted first: they are regenerated identically on
	// their next request.
	maxOwners = 50_000
	// maxIdempotencyKeys bounds the remembered Idempotency-Keys per owner.
	maxIdempotencyKeys = 100
)

// owner is one car owner: their bookings (ordered by id) and the
// Idempotency-Keys of their successful submissions.
type owner struct {
	Key         string       `json:"key"`
	Demo        bool         `json:"demo,omitempty"`
	Prefix      int64        `json:"prefix"`
	Bookings    []*booking   `json:"bookings"`
	Idempotency []idemRecord `json:"idempotency,omitempty"`
	// Scenario names the scenario the bookings were set to; empty is
	// ScenarioDefault.
	Scenario string `json:"scenario,omitempty"`

	// mutated is set once the owner has rated through the API: the owner is
	// then persisted and never evicted.
	mutated bool
	// list caches the encoded RatingList; nil when it must be rebuilt.
	list []byte
}

// idemRecord remembers a successful submission made with an
// Idempotency-Key (stored hashed) so a retry replays it.
type idemRecord struct {
	KeyHash     string                 `json:"key_hash"`
	Fingerprint string                 `json:"fingerprint"`
	Data        contracts.RatedBooking `json:"data"`
}

func (o *owner) booking(id int64) *booking {
	i, ok := slices.BinarySearchFunc(o.Bookings, id, func(b *booking, id int64) int {
		switch {
		case b.ID < id:
			return -1
		case b.ID > id:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return o.Bookings[i]
}

// encodeList builds the owner's RatingList: exactly the rated bookings,
// newest rating first (booking id breaks ties).
func (o *owner) encodeList() ([]byte, error) {
	items := make([]contracts.RatingItem, 0, len(o.Bookings))
	for _, b := range o.Bookings {
		if b.Rating == nil {
			continue
		}
		items = append(items, contracts.RatingItem{
			BookingID:               b.ID,
			WorkshopOrgNr:           b.WorkshopOrgNr,
			WorkshopName:            b.WorkshopName,
			ServiceID:               b.ServiceID,
			ServiceTitle:            b.ServiceTitle,
			RegistrationNumber:      b.RegistrationNumber,
			Status:                  b.Status,
			ServiceStartTime:        b.Start,
			ServiceEstimatedEndTime: b.EstimatedEnd,
			ServiceActualEndTime:    b.ActualEnd,
			ServiceRating:           b.Rating.Stars,
			ServiceRatingMessage:    b.Rating.Message,
			PrivateServiceRating:    b.Rating.Private,
			RatedAt:                 b.Rating.RatedAt,
		})
	}
	slices.SortStableFunc(items, func(a, b contracts.RatingItem) int {
		if c := b.RatedAt.Compare(a.RatedAt); c != 0 {
			return c
		}
		return compareInt64(a.BookingID, b.BookingID)
	})
	out, err := json.Marshal(contracts.RatingList{Total: len(items), Items: items})
	if err != nil {
		return nil, fmt.Errorf("encode rating list: %w", err)
	}
	return out, nil
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// snapshot is the content of the state file.
type snapshot struct {
	Version int      `json:"version"`
	Seed    int64    `json:"seed"`
	Owners  []*owner `json:"owners"`
	// IdPKey is the identity provider's signing key (PEM, PKCS #8); empty
	// until it made one.
	IdPKey string `json:"idp_key,omitempty"`
}

// store holds every owner in memory. All access goes through mu; a change
// and its persistence happen under one lock, before the answer is sent.
type store struct {
	mu       sync.Mutex
	seed     int64
	owners   map[string]*owner
	prefixes map[int64]string // owner id prefix → owner key
	file     string           // empty: memory only
	idpKey   string           // written with the owners
	// writeFile persists the state; writeFileAtomic outside tests.
	writeFile func(path string, data []byte) error
	// generate builds an owner on first sight: generateOwner, or the
	// recorded bookings when replaying fixtures.
	generate func(seed int64, key string, demo bool, prefix int64) *owner
	// maxOwners bounds the owners held (see the constant).
	maxOwners int
	// ephemeral marks a session world: bounded strictly, never persisted.
	ephemeral bool
	// bookings counts the bookings held, for the bounds of session worlds.
	bookings atomic.Int64
}

func newStore(seed int64, file string) *store {
	return &store{
		seed:      seed,
		owners:    map[string]*owner{},
		prefixes:  map[int64]string{},
		file:      file,
		writeFile: writeFileAtomic,
		generate:  generateOwner,
		maxOwners: maxOwners,
	}
}

// size is the number of bookings the store holds.
func (s *store) size() int { return int(s.bookings.Load()) }

// reset forgets every owner, so each is generated afresh from the seed, and
// persists the empty state.
func (s *store) reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owners, s.prefixes = map[string]*owner{}, map[int64]string{}
	s.bookings.Store(0)
	if err := s.persistLocked(); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	return nil
}

// readSnapshot reads a state file; a missing file is an empty state (nil).
func readSnapshot(path string) (*snapshot, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	var snap snapshot
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&snap); err != nil {
		return nil, fmt.Errorf("state file %s is not a mock state (%w); move it away to start afresh", path, err)
	}
	if snap.Version != stateVersion {
		return nil, fmt.Errorf("state file %s has version %d, want %d", path, snap.Version, stateVersion)
	}
	return &snap, nil
}

// load puts the owners of a snapshot into an empty store, checking that
// keys, prefixes and booking ids are unique so ids never collide.
func (s *store) load(snap *snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idpKey = snap.IdPKey
	ids := map[int64]bool{}
	for i, o := range snap.Owners {
		if o == nil || len(o.Key) != 64 {
			return fmt.Errorf("state file: owners[%d]: bad key", i)
		}
		if _, err := hex.DecodeString(o.Key); err != nil {
			return fmt.Errorf("state file: owners[%d]: bad key", i)
		}
		if _, dup := s.owners[o.Key]; dup {
			return fmt.Errorf("state file: owners[%d]: duplicate owner", i)
		}
		if !o.Demo {
			if o.Prefix < 1 || o.Prefix > maxPrefix {
				return fmt.Errorf("state file: owners[%d]: prefix %d out of range", i, o.Prefix)
			}
			if _, dup := s.prefixes[o.Prefix]; dup {
				return fmt.Errorf("state file: owners[%d]: prefix %d used twice", i, o.Prefix)
			}
			s.prefixes[o.Prefix] = o.Key
		}
		for j, b := range o.Bookings {
			if b == nil || b.ID < 1 || ids[b.ID] || (j > 0 && o.Bookings[j-1].ID >= b.ID) {
				return fmt.Errorf("state file: owners[%d].bookings[%d]: bad or duplicate id", i, j)
			}
			ids[b.ID] = true
		}
		o.mutated = true
		s.owners[o.Key] = o
		s.bookings.Add(int64(len(o.Bookings)))
	}
	return nil
}

// ownerLocked returns the owner with key (see ownerKey), generating it on
// first sight; demo marks the demo owner. The caller holds mu.
func (s *store) ownerLocked(key string, demo bool) *owner {
	if o, ok := s.owners[key]; ok {
		return o
	}
	if len(s.owners) >= s.maxOwners {
		s.evictLocked()
	}
	var prefix int64
	if !demo {
		// Probe until the prefix is free: ids never collide across owners.
		for attempt := 0; ; attempt++ {
			prefix = candidatePrefix(s.seed, key, attempt)
			if _, used := s.prefixes[prefix]; !used {
				break
			}
		}
		s.prefixes[prefix] = key
	}
	o := s.generate(s.seed, key, demo, prefix)
	s.owners[key] = o
	s.bookings.Add(int64(len(o.Bookings)))
	return o
}

// evictLocked drops one owner that holds nothing but generated data; in a
// session world (ephemeral), any owner when all have rated.
func (s *store) evictLocked() {
	for key, o := range s.owners {
		if o.mutated {
			continue
		}
		s.dropLocked(key, o)
		return
	}
	if s.ephemeral {
		for key, o := range s.owners {
			s.dropLocked(key, o)
			return
		}
	}
}

func (s *store) dropLocked(key string, o *owner) {
	delete(s.owners, key)
	if !o.Demo {
		delete(s.prefixes, o.Prefix)
	}
	s.bookings.Add(-int64(len(o.Bookings)))
}

// list returns the encoded RatingList of an owner. The returned slice is
// never modified afterwards.
func (s *store) list(key string, demo bool) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.ownerLocked(key, demo)
	if o.list == nil {
		out, err := o.encodeList()
		if err != nil {
			return nil, err
		}
		o.list = out
	}
	return o.list, nil
}

// rateInput is a validated rating submission.
type rateInput struct {
	BookingID int64
	Stars     float64
	Message   string
	Private   bool
	Now       time.Time
	// IdemKeyHash is the hashed Idempotency-Key, empty without one;
	// Fingerprint identifies the submission (booking id and body).
	IdemKeyHash string
	Fingerprint string
}

// rate stores a rating of one of the owner's completed bookings. Either the
// rating is stored and persisted, or nothing changes.
func (s *store) rate(key string, demo bool, in rateInput) (contracts.RatedBooking, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.ownerLocked(key, demo)
	if in.IdemKeyHash != "" {
		for _, r := range o.Idempotency {
			if r.KeyHash != in.IdemKeyHash {
				continue
			}
			if r.Fingerprint != in.Fingerprint {
				return contracts.RatedBooking{}, errIdempotencyUsed
			}
			return r.Data, nil
		}
	}
	b := o.booking(in.BookingID)
	switch {
	case b == nil:
		return contracts.RatedBooking{}, errBookingNotFound
	case b.Status != statusCompleted:
		return contracts.RatedBooking{}, errNotCompleted
	case b.Rating != nil:
		return contracts.RatedBooking{}, errAlreadyRated
	}

	r := &rating{Stars: in.Stars, Message: in.Message, Private: in.Private, RatedAt: in.Now.UTC().Truncate(time.Second)}
	data := contracts.RatedBooking{
		BookingID:            b.ID,
		ServiceRating:        r.Stars,
		ServiceRatingMessage: r.Message,
		PrivateServiceRating: r.Private,
		RatedAt:              r.RatedAt,
	}
	wasMutated, oldIdem := o.mutated, o.Idempotency
	committed := false
	// Undo the change unless it was persisted, also when persisting panics.
	defer func() {
		if !committed {
			b.Rating, o.mutated, o.list, o.Idempotency = nil, wasMutated, nil, oldIdem
		}
	}()
	b.Rating, o.mutated, o.list = r, true, nil
	if in.IdemKeyHash != "" {
		rec := idemRecord{KeyHash: in.IdemKeyHash, Fingerprint: in.Fingerprint, Data: data}
		keep := oldIdem
		if len(keep) >= maxIdempotencyKeys {
			keep = keep[len(keep)-maxIdempotencyKeys+1:]
		}
		o.Idempotency = append(slices.Clip(keep), rec)
	}
	if err := s.persistLocked(); err != nil {
		return contracts.RatedBooking{}, fmt.Errorf("rate booking: %w", err)
	}
	committed = true
	return data, nil
}

// persistLocked writes every mutated owner to the state file, atomically.
// The caller holds mu.
func (s *store) persistLocked() error {
	if s.file == "" {
		return nil
	}
	snap := snapshot{Version: stateVersion, Seed: s.seed, Owners: []*owner{}, IdPKey: s.idpKey}
	for _, o := range s.owners {
		if o.mutated {
			snap.Owners = append(snap.Owners, o)
		}
	}
	slices.SortFunc(snap.Owners, func(a, b *owner) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	data, err := json.MarshalIndent(snap, "", " ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := s.writeFile(s.file, data); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	return nil
}

// keepKey records the identity provider's signing key and persists it.
func (s *store) keepKey(pemKey string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idpKey = pemKey
	return s.persistLocked()
}

// flush writes the state file once more (on shutdown).
func (s *store) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.persistLocked()
}

// writeFileAtomic replaces path with data so that a crash at any moment
// leaves either the old or the new content: write a temporary file in the
// same directory, fsync it, rename it over path, fsync the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	name := tmp.Name()
	if err := writeSyncClose(tmp, data); err != nil {
		_ = os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("rename temporary file: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open state directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync state directory: %w", err)
	}
	return nil
}

func writeSyncClose(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write temporary file: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync temporary file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	return nil
}
