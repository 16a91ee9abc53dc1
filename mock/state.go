package mock

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
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
	// errFull refuses a change when what the API changed already fills its
	// share of Config.MaxBytes: the mock never forgets an acknowledged
	// rating or scenario to make room, so it refuses the new one instead.
	errFull = errors.New("the mock's memory budget for changes is full")
)

// maxIdempotencyKeys bounds the remembered Idempotency-Keys per owner.
const maxIdempotencyKeys = 100

// owner is one car owner as the handlers see it: every booking, generated
// from the seed and the owner's scenario, with what the API changed (the
// owner's record) on top. Owners are a cache: an evicted one is built
// again, identically, on its next request.
type owner struct {
	Key      string
	Demo     bool
	Prefix   int64
	Bookings []*booking // ordered by id

	// list caches the encoded RatingList; nil when it must be rebuilt.
	list []byte
	// cost is the owner's share of the store's budget (ownerCost).
	cost int64
	// elem is the owner's place in the store's recency list.
	elem *list.Element
}

// kept is what the API changed about one owner, and all the state file
// keeps of it: the scenario, the bookings rated through the API and the
// Idempotency-Keys of those submissions. The rest of the owner is generated
// again from the seed whenever it is needed. A record is never modified
// once installed: a change installs a new one.
type kept struct {
	Key      string `json:"key"`
	Demo     bool   `json:"demo,omitempty"`
	Prefix   int64  `json:"prefix"`
	Scenario string `json:"scenario,omitempty"`
	// Bookings are the bookings rated through the API, ordered by id, as
	// they were when rated; each replaces the generated booking with its
	// id. With Complete they are all the owner's bookings instead.
	Bookings []*booking `json:"bookings,omitempty"`
	// Complete marks an owner of a version 1 state file whose bookings the
	// generator does not reproduce: they are kept whole.
	Complete    bool         `json:"complete,omitempty"`
	Idempotency []idemRecord `json:"idempotency,omitempty"`
}

// idemRecord remembers a successful submission made with an
// Idempotency-Key (stored hashed) so a retry replays it.
type idemRecord struct {
	KeyHash     string                 `json:"key_hash"`
	Fingerprint string                 `json:"fingerprint"`
	Data        contracts.RatedBooking `json:"data"`
}

// scenarioName is the record's scenario, ScenarioDefault when unset.
func (r *kept) scenarioName() string {
	if r == nil || r.Scenario == "" {
		return ScenarioDefault
	}
	return r.Scenario
}

// empty reports whether the record holds nothing an owner generated from
// the seed does not have: then it need not be kept.
func (r *kept) empty() bool {
	return r.Scenario == "" && len(r.Bookings) == 0 && len(r.Idempotency) == 0 && !r.Complete
}

func (o *owner) booking(id int64) *booking {
	i, ok := slices.BinarySearchFunc(o.Bookings, id, func(b *booking, id int64) int { return compareInt64(b.ID, id) })
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

// limits are a store's shares of Config.MaxBytes, in bytes as the cost
// functions count them.
type limits struct {
	// records bounds what the API changed (the records). It is never
	// evicted: a change that does not fit is refused with errFull.
	records int64
	// owners bounds the generated owners, a cache evicted least recently
	// used first; the owner in use stays whatever its size.
	owners int64
}

// store is one world: the records of what the API changed, the generated
// owners built from them (a cache), and, for the default world with a
// state file, the journal that keeps the records. All access goes through
// mu; a change is written to the journal before it is applied, both under
// mu and before the answer is sent.
type store struct {
	mu     sync.Mutex
	seed   int64
	limits limits

	records map[string]*kept
	owners  map[string]*owner
	recent  *list.List // of *owner, most recently used at the front
	// prefixes maps the id prefixes of records and cached owners to their
	// owner key, so that no two owners ever share booking ids.
	prefixes    map[int64]string
	recordBytes int64
	ownerBytes  int64
	// used is recordBytes+ownerBytes, read without mu by the sessions.
	used atomic.Int64

	idpKey string // the identity provider's key, kept with the records
	// journal keeps the records in the state file; nil keeps them in
	// memory only.
	journal *journal
	// generate builds an owner's default bookings: generateOwner, or the
	// recorded bookings when replaying fixtures.
	generate func(seed int64, key string, demo bool, prefix int64) *owner
}

func newStore(seed int64, lim limits) *store {
	return &store{
		seed:     seed,
		limits:   lim,
		records:  map[string]*kept{},
		owners:   map[string]*owner{},
		recent:   list.New(),
		prefixes: map[int64]string{},
		generate: generateOwner,
	}
}

// bytes is the store's share of the budget in use.
func (s *store) bytes() int64 { return s.used.Load() }

func (s *store) accountLocked() { s.used.Store(s.recordBytes + s.ownerBytes) }

// ownerLocked returns the owner with key (see ownerKey), built from its
// record or from the seed when it is not cached, and marks it the most
// recently used; demo marks the demo owner. The caller holds mu.
func (s *store) ownerLocked(key string, demo bool) *owner {
	if o, ok := s.owners[key]; ok {
		s.recent.MoveToFront(o.elem)
		return o
	}
	var o *owner
	if rec := s.records[key]; rec != nil {
		o = s.buildLocked(rec)
	} else {
		o = s.generate(s.seed, key, demo, s.freePrefixLocked(key, demo))
		o.Key, o.Demo = key, demo
	}
	if !o.Demo {
		s.prefixes[o.Prefix] = key
	}
	o.cost = ownerCost(o)
	o.elem = s.recent.PushFront(o)
	s.owners[key] = o
	s.ownerBytes += o.cost
	s.evictLocked()
	return o
}

// buildLocked builds the owner of a record: the bookings of its scenario
// with the record's bookings in place of the generated ones.
func (s *store) buildLocked(rec *kept) *owner {
	o := &owner{Key: rec.Key, Demo: rec.Demo, Prefix: rec.Prefix}
	if rec.Complete {
		o.Bookings = slices.Clone(rec.Bookings)
		return o
	}
	sc, _ := scenarioByName(rec.scenarioName()) // checked when the record was made
	o.Bookings = overlay(s.scenarioBookings(sc, rec.Key, rec.Demo, rec.Prefix), rec.Bookings)
	return o
}

// overlay puts each of kept in place of the booking with its id in
// generated (or among them, when the generator no longer makes that id),
// keeping the order by id.
func overlay(generated, kept []*booking) []*booking {
	for _, k := range kept {
		i, found := slices.BinarySearchFunc(generated, k.ID, func(b *booking, id int64) int { return compareInt64(b.ID, id) })
		if found {
			generated[i] = k
		} else {
			generated = slices.Insert(generated, i, k)
		}
	}
	return generated
}

// freePrefixLocked returns the id prefix of a new owner: the first of its
// candidates that no other owner holds (the demo owner has prefix 0).
func (s *store) freePrefixLocked(key string, demo bool) int64 {
	if demo {
		return 0
	}
	for attempt := 0; ; attempt++ {
		prefix := candidatePrefix(s.seed, key, attempt)
		if holder, used := s.prefixes[prefix]; !used || holder == key {
			return prefix
		}
	}
}

// evictLocked drops the least recently used owners until the owners fit
// their share, keeping the most recent one. Only the cache shrinks: an
// evicted owner's record stays, and the owner is built again from it.
func (s *store) evictLocked() {
	for s.ownerBytes > s.limits.owners && s.recent.Len() > 1 {
		s.dropOwnerLocked(s.recent.Back().Value.(*owner))
	}
	s.accountLocked()
}

func (s *store) dropOwnerLocked(o *owner) {
	s.recent.Remove(o.elem)
	delete(s.owners, o.Key)
	s.ownerBytes -= o.cost
	if _, kept := s.records[o.Key]; !kept && !o.Demo {
		delete(s.prefixes, o.Prefix)
	}
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
		o.cost += int64(len(out))
		s.ownerBytes += int64(len(out))
		s.evictLocked()
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
// rating is written to the journal and applied, or nothing changes.
func (s *store) rate(key string, demo bool, in rateInput) (contracts.RatedBooking, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.ownerLocked(key, demo)
	if rec := s.records[key]; rec != nil && in.IdemKeyHash != "" {
		for _, r := range rec.Idempotency {
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
	rated := *b
	rated.Rating = &rating{Stars: in.Stars, Message: in.Message, Private: in.Private, RatedAt: in.Now.UTC().Truncate(time.Second)}
	data := contracts.RatedBooking{
		BookingID:            rated.ID,
		ServiceRating:        rated.Rating.Stars,
		ServiceRatingMessage: rated.Rating.Message,
		PrivateServiceRating: rated.Rating.Private,
		RatedAt:              rated.Rating.RatedAt,
	}
	ch := &change{Op: opRate, Key: key, Demo: demo, Prefix: o.Prefix, Booking: &rated}
	if in.IdemKeyHash != "" {
		ch.Idempotency = &idemRecord{KeyHash: in.IdemKeyHash, Fingerprint: in.Fingerprint, Data: data}
	}
	if err := s.commitLocked(ch); err != nil {
		return contracts.RatedBooking{}, fmt.Errorf("rate booking: %w", err)
	}
	return data, nil
}

// commitLocked makes a change: it works out the owner's next record, refuses
// it with errFull when it would grow the records beyond their share,
// writes it to the journal, and only then applies it. The caller holds mu.
func (s *store) commitLocked(ch *change) error {
	next, err := s.nextRecordLocked(ch)
	if err != nil {
		return err
	}
	if next == nil && s.records[ch.Key] == nil {
		return nil // nothing to keep before or after: the default scenario again
	}
	if grow := recordCost(next) - recordCost(s.records[ch.Key]); grow > 0 && s.recordBytes+grow > s.limits.records {
		return errFull
	}
	if s.journal != nil {
		if err := s.journal.append(ch, s.snapshotLocked); err != nil {
			return err
		}
	}
	s.applyLocked(ch, next)
	return nil
}

// nextRecordLocked returns the owner's record after ch (nil when nothing is
// left to keep), without changing the store; an error means ch does not
// fit the store (only a damaged state file has such changes).
func (s *store) nextRecordLocked(ch *change) (*kept, error) {
	old := s.records[ch.Key]
	if err := s.checkOwnerLocked(ch.Key, ch.Demo, ch.Prefix, old); err != nil {
		return nil, err
	}
	next := &kept{Key: ch.Key, Demo: ch.Demo, Prefix: ch.Prefix}
	switch ch.Op {
	case opRate:
		if ch.Booking == nil || ch.Booking.ID < 1 || ch.Booking.Rating == nil {
			return nil, errors.New("a rating without its rated booking")
		}
		if old != nil {
			*next = *old
		}
		i, found := slices.BinarySearchFunc(next.Bookings, ch.Booking.ID, func(b *booking, id int64) int { return compareInt64(b.ID, id) })
		next.Bookings = slices.Clone(next.Bookings)
		if found {
			next.Bookings[i] = ch.Booking
		} else {
			next.Bookings = slices.Insert(next.Bookings, i, ch.Booking)
		}
		if ch.Idempotency != nil {
			keep := next.Idempotency
			if len(keep) >= maxIdempotencyKeys {
				keep = keep[len(keep)-maxIdempotencyKeys+1:]
			}
			next.Idempotency = append(slices.Clip(keep), *ch.Idempotency)
		}
	case opScenario:
		if _, ok := scenarioByName(ch.Scenario); !ok {
			return nil, fmt.Errorf("unknown scenario %q", ch.Scenario)
		}
		if ch.Scenario != ScenarioDefault {
			next.Scenario = ch.Scenario
		}
	default:
		return nil, fmt.Errorf("unknown change %q", ch.Op)
	}
	if next.empty() {
		return nil, nil
	}
	return next, nil
}

// checkOwnerLocked checks that a change names the owner as the store
// knows it: the same kind and id prefix as its record, or, for a new
// record, a prefix no other owner holds.
func (s *store) checkOwnerLocked(key string, demo bool, prefix int64, old *kept) error {
	if !validKey(key) {
		return errors.New("bad owner key")
	}
	switch {
	case old != nil && (old.Demo != demo || old.Prefix != prefix):
		return fmt.Errorf("owner %.12s changes its prefix", key)
	case demo && prefix != 0:
		return fmt.Errorf("demo owner with prefix %d", prefix)
	case !demo && (prefix < 1 || prefix > maxPrefix):
		return fmt.Errorf("prefix %d out of range", prefix)
	}
	if holder, used := s.prefixes[prefix]; !demo && used && holder != key {
		return fmt.Errorf("prefix %d used twice", prefix)
	}
	return nil
}

// applyLocked installs next as the owner's record and brings the cached
// owner, if any, up to date. The caller holds mu.
func (s *store) applyLocked(ch *change, next *kept) {
	s.recordBytes += recordCost(next) - recordCost(s.records[ch.Key])
	if next == nil {
		delete(s.records, ch.Key)
	} else {
		s.records[ch.Key] = next
		if !next.Demo {
			s.prefixes[next.Prefix] = ch.Key
		}
	}
	if o, ok := s.owners[ch.Key]; ok {
		i, found := slices.BinarySearchFunc(o.Bookings, bookingID(ch.Booking), func(b *booking, id int64) int { return compareInt64(b.ID, id) })
		if ch.Op == opRate && found {
			o.Bookings[i] = ch.Booking
			s.ownerBytes -= o.cost
			o.list, o.cost = nil, ownerCost(o)
			s.ownerBytes += o.cost
		} else {
			// Another scenario: the owner is built afresh on its next request.
			s.dropOwnerLocked(o)
		}
	}
	if next == nil && !ch.Demo {
		if _, cached := s.owners[ch.Key]; !cached {
			delete(s.prefixes, ch.Prefix)
		}
	}
	s.accountLocked()
}

// reset forgets every record and owner, so each owner is generated afresh
// from the seed, and empties the state file.
func (s *store) reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal != nil {
		empty, err := encodeSnapshot(s.seed, nil, s.idpKey)
		if err == nil {
			err = s.journal.compact(empty)
		}
		if err != nil {
			return fmt.Errorf("reset: %w", err)
		}
	}
	s.records, s.owners, s.prefixes = map[string]*kept{}, map[string]*owner{}, map[int64]string{}
	s.recent.Init()
	s.recordBytes, s.ownerBytes = 0, 0
	s.accountLocked()
	return nil
}

// keepKey records the identity provider's signing key in the journal.
func (s *store) keepKey(pemKey string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal != nil {
		if err := s.journal.append(&change{Op: opKey, IdPKey: pemKey}, s.snapshotLocked); err != nil {
			return err
		}
	}
	s.idpKey = pemKey
	return nil
}

// close closes the state file (on shutdown); every change is already in
// it.
func (s *store) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return nil
	}
	return s.journal.close()
}

// snapshotLocked encodes the records as the first line of a state file.
// The caller holds mu.
func (s *store) snapshotLocked() ([]byte, error) {
	return encodeSnapshot(s.seed, s.records, s.idpKey)
}

// What the store counts against its limits: estimates of the heap an
// owner, a record and their parts take (struct, pointers, map and list
// entries), measured with runtime.MemStats (TestR3F5CostsCoverTheHeap)
// and rounded up, plus the bytes of their strings.
const (
	costOwner   = 512
	costRecord  = 256
	costBooking = 320
	costRating  = 96
	costIdem    = 256
)

func bookingCost(b *booking) int64 {
	n := costBooking + len(b.WorkshopOrgNr) + len(b.WorkshopName) + len(b.ServiceTitle) + len(b.RegistrationNumber) + len(b.Status)
	if b.Rating != nil {
		n += costRating + len(b.Rating.Message)
	}
	return int64(n)
}

func ownerCost(o *owner) int64 {
	n := int64(costOwner + len(o.Key) + 8*cap(o.Bookings) + len(o.list))
	for _, b := range o.Bookings {
		n += bookingCost(b)
	}
	return n
}

func recordCost(r *kept) int64 {
	if r == nil {
		return 0
	}
	n := int64(costRecord + len(r.Key) + len(r.Scenario) + 8*cap(r.Bookings))
	for _, b := range r.Bookings {
		n += bookingCost(b)
	}
	for _, i := range r.Idempotency {
		n += int64(costIdem + len(i.KeyHash) + len(i.Fingerprint) + len(i.Data.ServiceRatingMessage))
	}
	return n
}
