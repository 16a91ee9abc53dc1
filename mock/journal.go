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
	"strings"
)

// The state file is a journal: its first line is a snapshot of the default
// world's records, each further line one change, appended and fsynced
// before the change is applied and answered. So a request writes a line of
// a few hundred bytes, not the whole state, and an acknowledged change
// survives a crash of the process or the machine. The file is compacted
// (the snapshot rewritten atomically: temporary file, fsync, rename, fsync
// of the directory) when the mock starts, on reset, and when the changes
// appended since the last snapshot outgrow it and compactAfter.
//
// Version 1 files (before the journal) hold one indented snapshot whose
// owners keep every booking; they load as they are, and the compaction at
// start rewrites them as version 2. A file of any other version is refused
// with its name: a minbil-bff that read it would lose what it does not
// understand.
const (
	stateVersion   = 2
	stateVersionV1 = 1
	// compactAfter is the least journal growth, in bytes, that compacts the
	// file; beyond it the journal is compacted once it outgrows the
	// snapshot, so a change costs at most about three times its line.
	compactAfter = 1 << 20
)

// The kinds of change a journal line holds.
const (
	opRate     = "rate"     // a booking rated, with its Idempotency-Key
	opScenario = "scenario" // an owner put in a scenario, forgetting its ratings
	opKey      = "idp_key"  // the identity provider made its signing key
)

// errJournalClosed refuses changes after Shutdown closed the state file.
var errJournalClosed = errors.New("the state file is closed")

// snapshot is the first line of the state file.
type snapshot struct {
	Version int     `json:"version"`
	Seed    int64   `json:"seed"`
	Owners  []*kept `json:"owners"`
	// IdPKey is the identity provider's signing key (PEM, PKCS #8); empty
	// until it made one.
	IdPKey string `json:"idp_key,omitempty"`
}

// change is one line of the journal after the snapshot.
type change struct {
	Op          string      `json:"op"`
	Key         string      `json:"key,omitempty"`
	Demo        bool        `json:"demo,omitempty"`
	Prefix      int64       `json:"prefix,omitempty"`
	Scenario    string      `json:"scenario,omitempty"`
	Booking     *booking    `json:"booking,omitempty"`
	Idempotency *idemRecord `json:"idempotency,omitempty"`
	IdPKey      string      `json:"idp_key,omitempty"`
}

// stateFile is a state file as read: its snapshot and the changes after
// it.
type stateFile struct {
	snap    snapshot
	changes []*change
	// torn is the length of an incomplete last line, dropped: the process
	// stopped while writing it, before it was acknowledged.
	torn int
}

// encodeSnapshot encodes records (sorted by key) as a snapshot line.
func encodeSnapshot(seed int64, records map[string]*kept, idpKey string) ([]byte, error) {
	snap := snapshot{Version: stateVersion, Seed: seed, Owners: make([]*kept, 0, len(records)), IdPKey: idpKey}
	for _, r := range records {
		snap.Owners = append(snap.Owners, r)
	}
	slices.SortFunc(snap.Owners, func(a, b *kept) int { return strings.Compare(a.Key, b.Key) })
	out, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return append(out, '\n'), nil
}

// readState reads the state file at path; a missing file is nil.
func readState(path string) (*stateFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file %s: %w", path, err)
	}
	sf, err := parseState(data)
	var ve *versionError
	switch {
	case errors.As(err, &ve):
		return nil, fmt.Errorf("state file %s: %w; it was written by another version of minbil-bff: run that version, or move the file away to start afresh", path, err)
	case err != nil:
		return nil, fmt.Errorf("state file %s is not a mock state (%w); move it away to start afresh", path, err)
	}
	return sf, nil
}

// versionError is a state file of a version this mock does not read.
type versionError struct{ version int }

func (e *versionError) Error() string {
	return fmt.Sprintf("version %d, this mock reads versions %d and %d", e.version, stateVersionV1, stateVersion)
}

// parseState decodes a state file: the snapshot, then one change per line.
// An incomplete last line (no newline) is dropped; any other line that is
// not a change is an error.
func parseState(data []byte) (*stateFile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	sf := &stateFile{}
	if err := dec.Decode(&sf.snap); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	switch sf.snap.Version {
	case stateVersion, stateVersionV1:
	default:
		return nil, &versionError{version: sf.snap.Version}
	}
	if sf.snap.Seed == 0 {
		return nil, errors.New("snapshot: no seed")
	}
	rest := data[dec.InputOffset():]
	if sf.snap.Version == stateVersionV1 {
		if len(bytes.TrimSpace(rest)) > 0 {
			return nil, errors.New("a version 1 file has nothing after its snapshot")
		}
		return sf, nil
	}
	for line := 2; len(rest) > 0; line++ {
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			if len(bytes.TrimSpace(rest)) > 0 {
				sf.torn = len(rest)
			}
			break
		}
		text := bytes.TrimSpace(rest[:end])
		rest = rest[end+1:]
		if len(text) == 0 {
			continue
		}
		ch, err := decodeChange(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		sf.changes = append(sf.changes, ch)
	}
	return sf, nil
}

func decodeChange(text []byte) (*change, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	var ch change
	if err := dec.Decode(&ch); err != nil {
		return nil, fmt.Errorf("not a change: %w", err)
	}
	if dec.More() {
		return nil, errors.New("more than one change on a line")
	}
	switch ch.Op {
	case opRate, opScenario:
	case opKey:
		if ch.IdPKey == "" {
			return nil, errors.New("an idp_key change without a key")
		}
	default:
		return nil, fmt.Errorf("unknown change %q", ch.Op)
	}
	return &ch, nil
}

// load fills an empty store with a state file's records and changes,
// checking that keys, prefixes and booking ids are unique so ids never
// collide. Owners of a version 1 file keep only what the generator does
// not give again (see slimLocked).
func (s *store) load(sf *stateFile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idpKey = sf.snap.IdPKey
	ids := map[int64]string{} // booking id → owner key
	for i, rec := range sf.snap.Owners {
		if err := s.loadRecordLocked(rec, sf.snap.Version, ids); err != nil {
			return fmt.Errorf("owners[%d]: %w", i, err)
		}
	}
	for i, ch := range sf.changes {
		if err := s.replayLocked(ch, ids); err != nil {
			return fmt.Errorf("change %d: %w", i+1, err)
		}
	}
	if s.recordBytes > s.limits.records {
		return fmt.Errorf("it holds %d KiB of changes, more than the %d KiB that max_bytes leaves for them: %w",
			s.recordBytes>>10, s.limits.records>>10, errFull)
	}
	return nil
}

func (s *store) loadRecordLocked(rec *kept, version int, ids map[int64]string) error {
	if rec == nil {
		return errors.New("null owner")
	}
	if _, dup := s.records[rec.Key]; dup {
		return errors.New("duplicate owner")
	}
	if err := s.checkOwnerLocked(rec.Key, rec.Demo, rec.Prefix, nil); err != nil {
		return err
	}
	if _, ok := scenarioByName(rec.scenarioName()); !ok {
		return fmt.Errorf("unknown scenario %q", rec.Scenario)
	}
	if len(rec.Idempotency) > maxIdempotencyKeys {
		return fmt.Errorf("%d idempotency records, at most %d", len(rec.Idempotency), maxIdempotencyKeys)
	}
	for j, b := range rec.Bookings {
		if b == nil || b.ID < 1 || (j > 0 && rec.Bookings[j-1].ID >= b.ID) {
			return fmt.Errorf("bookings[%d]: bad or unordered id", j)
		}
		if holder, dup := ids[b.ID]; dup && holder != rec.Key {
			return fmt.Errorf("bookings[%d]: id %d belongs to another owner", j, b.ID)
		}
		ids[b.ID] = rec.Key
	}
	if version == stateVersionV1 {
		rec.Complete = true
		s.slimLocked(rec)
	}
	if rec.empty() {
		return nil
	}
	s.applyLocked(&change{Op: opScenario, Key: rec.Key, Demo: rec.Demo, Prefix: rec.Prefix}, rec)
	return nil
}

// slimLocked turns a complete record into the bookings the generator does
// not give again for its scenario: version 1 files kept every booking of
// an owner who ever changed, hundreds of them for the "many" scenario.
// When the generator no longer makes the same ids, the record stays
// complete.
func (s *store) slimLocked(rec *kept) {
	sc, _ := scenarioByName(rec.scenarioName())
	generated := s.scenarioBookings(sc, rec.Key, rec.Demo, rec.Prefix)
	if len(generated) != len(rec.Bookings) {
		return
	}
	var differ []*booking
	for i, b := range rec.Bookings {
		if generated[i].ID != b.ID {
			return
		}
		if !sameBooking(generated[i], b) {
			differ = append(differ, b)
		}
	}
	rec.Bookings, rec.Complete = differ, false
}

func sameBooking(a, b *booking) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// replayLocked applies one change of the journal.
func (s *store) replayLocked(ch *change, ids map[int64]string) error {
	if ch.Op == opKey {
		s.idpKey = ch.IdPKey
		return nil
	}
	next, err := s.nextRecordLocked(ch)
	if err != nil {
		return err
	}
	if ch.Op == opRate {
		if holder, dup := ids[ch.Booking.ID]; dup && holder != ch.Key {
			return fmt.Errorf("booking id %d belongs to another owner", ch.Booking.ID)
		}
		ids[ch.Booking.ID] = ch.Key
	}
	s.applyLocked(ch, next)
	return nil
}

func validKey(key string) bool {
	if len(key) != 64 {
		return false
	}
	_, err := hex.DecodeString(key)
	return err == nil
}

func bookingID(b *booking) int64 {
	if b == nil {
		return 0
	}
	return b.ID
}

// journal appends changes to the state file and compacts it.
type journal struct {
	path string
	f    *os.File // open for appending; nil after a failed compaction
	// size is the file's length; base the length of its snapshot line.
	size, base int64
	// broken: the last write failed, so the file may end in a partial
	// line; the next change compacts first.
	broken bool
	closed bool
	// written counts every byte written, compactions included.
	written int64
	// compactAt is compactAfter outside tests.
	compactAt int64
	// replace swaps the file's content atomically (writeFileAtomic);
	// appendSync appends a line and fsyncs it. Tests replace them.
	replace    func(path string, data []byte) error
	appendSync func(f *os.File, data []byte) error
}

// openJournal writes snapshot as the state file at path and opens it for
// appending.
func openJournal(path string, snapshot []byte) (*journal, error) {
	j := &journal{path: path, replace: writeFileAtomic, appendSync: appendSync, compactAt: compactAfter}
	if err := j.compact(snapshot); err != nil {
		return nil, err
	}
	return j, nil
}

// append writes ch as a line and fsyncs it, compacting first (with the
// snapshot of the state before ch) when the journal has grown or broken.
func (j *journal) append(ch *change, snapshot func() ([]byte, error)) error {
	if j.closed {
		return errJournalClosed
	}
	if j.f == nil || j.broken || j.size-j.base > max(j.compactAt, j.base) {
		data, err := snapshot()
		if err != nil {
			return err
		}
		if err := j.compact(data); err != nil {
			return err
		}
	}
	line, err := json.Marshal(ch)
	if err != nil {
		return fmt.Errorf("encode change: %w", err)
	}
	line = append(line, '\n')
	done := false
	defer func() {
		// A failed or panicking write may leave part of the line: cut it,
		// and compact before the next change in case that failed too.
		if !done {
			_ = j.f.Truncate(j.size)
			j.broken = true
		}
	}()
	if err := j.appendSync(j.f, line); err != nil {
		return fmt.Errorf("append to state file: %w", err)
	}
	done = true
	j.size += int64(len(line))
	j.written += int64(len(line))
	return nil
}

// compact replaces the file with snapshot and reopens it for appending.
func (j *journal) compact(snapshot []byte) error {
	if j.closed {
		return errJournalClosed
	}
	if err := j.replace(j.path, snapshot); err != nil {
		return fmt.Errorf("compact state file: %w", err)
	}
	j.written += int64(len(snapshot))
	// The old descriptor names the replaced file: never append to it.
	if j.f != nil {
		_ = j.f.Close()
		j.f = nil
	}
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open state file: %w", err)
	}
	j.f, j.size, j.base, j.broken = f, int64(len(snapshot)), int64(len(snapshot)), false
	return nil
}

func (j *journal) close() error {
	if j.closed {
		return nil
	}
	j.closed = true
	if j.f == nil {
		return nil
	}
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("close state file: %w", err)
	}
	return nil
}

func appendSync(f *os.File, line []byte) error {
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
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

// openJournal makes path the store's state file, written afresh from the
// records (the compaction at start).
func (s *store) openJournal(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, err := s.snapshotLocked()
	if err != nil {
		return err
	}
	j, err := openJournal(path, snap)
	if err != nil {
		return err
	}
	s.journal = j
	return nil
}
