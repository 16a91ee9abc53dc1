// Package record keeps answers of a real upstream as fixtures the mock can
// replay offline: plain JSON files a developer can read, edit and commit.
// A fixture holds only what the contract names, in the types it names:
// ids remapped, free text and everything that names a person or a place
// replaced by generated values (answer.go says which property is which),
// never a header beyond a short allow-list, never a body that is not JSON.
// Every fixture is validated against the contract when it is written; when
// it is loaded it is refused, naming its file, unless replay may serve it
// (load.go), and a drifted one is kept and flagged.
package record

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/secret"
)

// SaltFile holds the directory's scrubbing salt. It stays on the machine
// that recorded (the directory's .gitignore names it): with the salt, a
// fake plate could be matched to the real one by trying every plate.
const SaltFile = ".salt"

// Fixture is one recorded answer, as written to its file.
type Fixture struct {
	// Format is the fixture format (Format); a fixture without one was
	// written by a version before it and is refused at load.
	Format int `json:"format,omitempty"`
	// Request is what was asked: the method, the path (its booking id
	// remapped) and the query (its values scrubbed). Never a header.
	Request Request `json:"request"`
	Status  int     `json:"status"`
	// Header holds what replay serves of the answer's header: see
	// checkHeader for the allow-list.
	Header map[string]string `json:"header,omitempty"`
	// Body is the scrubbed JSON answer, a JSON object.
	Body json.RawMessage `json:"body,omitempty"`
	// BodyText was format 1's answer that is not JSON; read only to
	// refuse it by name.
	BodyText   string    `json:"body_text,omitempty"`
	RecordedAt time.Time `json:"recorded_at"`
	// Contract is the verdict of the contract's validator on the answer
	// the upstream gave (where and what kind, never a value).
	Contract Verdict `json:"contract"`
}

// Request is the request a fixture answers.
type Request struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query,omitempty"`
}

// Verdict is the contract's verdict on a fixture: OK, or the violations
// (where and what kind, never a value).
type Verdict struct {
	OK         bool     `json:"ok"`
	Violations []string `json:"violations,omitempty"`
}

// Dir is a directory of fixtures.
type Dir struct {
	path     string
	contract *contracts.Contract
	// salt seeds the fakes; nil when the directory has no salt file (a
	// committed directory replayed elsewhere): queries are then looked up
	// as they are given.
	salt []byte
	// known are the texts the contract states, kept in free-text fields.
	known map[string]bool
	// queryParams are the query parameters the contract names; a fixture
	// keeps no other.
	queryParams map[string]bool
	mu          sync.Mutex // serialises writes
	now         func() time.Time
}

func newDir(path string, c *contracts.Contract, salt []byte) *Dir {
	m := c.UsernameRules().Messages
	known := map[string]bool{m.Length: true, m.Charset: true, m.Taken: true, m.Available: true}
	params := map[string]bool{}
	for _, op := range c.Operations() {
		for _, p := range op.Op.Parameters {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				params[p.Value.Name] = true
			}
		}
	}
	return &Dir{path: path, contract: c, salt: salt, known: known, queryParams: params, now: time.Now}
}

// Create opens dir for recording, making it and its salt when missing.
func Create(dir string, c *contracts.Contract) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("fixtures: %w", err)
	}
	salt, err := readSalt(dir)
	if errors.Is(err, fs.ErrNotExist) {
		salt = make([]byte, 32)
		if _, err = rand.Read(salt); err != nil {
			return nil, fmt.Errorf("fixtures: salt: %w", err)
		}
		if err = os.WriteFile(filepath.Join(dir, SaltFile), []byte(hex.EncodeToString(salt)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("fixtures: %w", err)
		}
		ignore := filepath.Join(dir, ".gitignore")
		if _, serr := os.Stat(ignore); errors.Is(serr, fs.ErrNotExist) {
			_ = os.WriteFile(ignore, []byte(SaltFile+"\n"), 0o644)
		}
	} else if err != nil {
		return nil, err
	}
	return newDir(dir, c, salt), nil
}

// Open opens dir for replay; the salt is optional.
func Open(dir string, c *contracts.Contract) (*Dir, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("fixtures: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("fixtures: %s is not a directory", dir)
	}
	salt, err := readSalt(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return newDir(dir, c, salt), nil
}

func readSalt(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, SaltFile))
	if err != nil {
		return nil, err
	}
	salt, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(salt) < 16 {
		return nil, fmt.Errorf("fixtures: %s is not a salt", filepath.Join(dir, SaltFile))
	}
	return salt, nil
}

// Path is the directory.
func (d *Dir) Path() string { return d.path }

// ScrubQuery returns the query as a fixture records it: a parameter the
// contract does not name is dropped (its name may be anything a caller
// sent), a username is replaced by its fake, any other value by a digest
// of it (with the salt; without one the query is kept as it is).
func (d *Dir) ScrubQuery(query string) string {
	if d.salt == nil || query == "" {
		return query
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return hex.EncodeToString(d.mac("query", query)[:8])
	}
	s := newScrubber(d.salt, nil, nil)
	for k, vs := range values {
		if !d.queryParams[k] {
			delete(values, k)
			continue
		}
		for i, v := range vs {
			if k == "username" {
				vs[i] = s.username(v)
			} else {
				vs[i] = hex.EncodeToString(d.mac("query\x00"+k, v)[:8])
			}
		}
	}
	return values.Encode()
}

func (d *Dir) mac(kind, v string) []byte {
	m := hmac.New(sha256.New, d.salt)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(v))
	return m.Sum(nil)
}

// Name is the name of the fixture answering r (with its query already
// scrubbed): METHOD_path_segments[__query], e.g. GET_api_co_rating or
// POST_api_co_rating_rate_123.
func Name(r Request) string {
	name := r.Method + "_" + strings.ReplaceAll(strings.Trim(r.Path, "/"), "/", "_")
	if r.Query != "" {
		name += "__" + r.Query
	}
	name = strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.', c == '=':
			return c
		}
		return '-'
	}, name)
	if len(name) > 160 {
		sum := sha256.Sum256([]byte(name))
		name = name[:140] + "-" + hex.EncodeToString(sum[:8])
	}
	return name
}

// FileName is the file of the fixture named name.
func FileName(name string) string { return name + ".json" }

// notRecorded is the verdict on an answer no fixture can hold.
func notRecorded(why string) Verdict {
	return Verdict{Violations: []string{why + "; not recorded"}}
}

// Write scrubs an upstream answer to the request (method, path, raw
// query), validates it against the contract and writes it as a fixture.
// secrets (the caller's token, the API key) are never written. A GET's
// latest answer replaces the fixture; any other method keeps its first
// answer that is not a 5xx or a 429: it says what the booking was before
// the recording changed it. An answer replay could not serve (a request
// or status the contract does not name, a 2xx that is not its JSON) is not
// written; its verdict says why. Write returns the fixture's name (empty
// when the request has none a fixture could carry) and whether it was
// written.
func (d *Dir) Write(ctx context.Context, method, path, query string, status int, header http.Header, body []byte, secrets ...string) (string, Fixture, bool, error) {
	name, f, ok := d.fixture(ctx, newScrubber(d.salt, secrets, d.known), method, path, query, status, header, body)
	if !ok {
		return name, f, false, nil
	}
	if ferr := d.refusal(f); ferr != nil {
		return name, f, false, fmt.Errorf("fixture %s: the recorder wrote what replay refuses: %w", name, ferr)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	file := filepath.Join(d.path, FileName(name))
	if method != http.MethodGet {
		if old, err := d.readFixture(file); err == nil && old.Status < 500 && old.Status != http.StatusTooManyRequests {
			return name, old, false, nil
		}
	}
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return name, f, false, fmt.Errorf("fixture %s: %w", name, err)
	}
	if err := writeAtomic(file, append(out, '\n')); err != nil {
		return name, f, false, fmt.Errorf("fixture %s: %w", name, err)
	}
	return name, f, true, nil
}

// fixture is the fixture of an upstream answer, and its name; false when
// no fixture may hold it (the fixture's verdict says why).
func (d *Dir) fixture(ctx context.Context, s *scrubber, method, path, query string, status int, header http.Header, body []byte) (string, Fixture, bool) {
	f := Fixture{
		Format:     Format,
		Request:    Request{Method: method, Path: path, Query: d.ScrubQuery(query)},
		Status:     status,
		RecordedAt: d.now().UTC().Truncate(time.Second),
	}
	op, err := d.operation(f.Request)
	if err != nil {
		f.Contract = notRecorded("request: not an operation of the contract")
		return "", f, false
	}
	if idText, ok := strings.CutPrefix(path, contracts.PathRatePrefix); ok {
		id, err := contracts.ParseBookingID(idText)
		fake, ok := s.id("booking", id)
		if err != nil || !ok {
			f.Contract = notRecorded("request: a booking id the contract refuses")
			return "", f, false
		}
		f.Request.Path = contracts.RatePath(fake)
	}
	name := Name(f.Request)
	if !statusAllowed(op, status) {
		f.Contract = notRecorded(fmt.Sprintf("status %d: not an answer the contract lists for this operation", status))
		return name, f, false
	}
	f.Header = s.header(status, header)
	if !d.keepBody(s, op, &f, body) {
		f.Contract = notRecorded("body: not a JSON answer of the contract")
		return name, f, false
	}
	f.Contract = d.verdict(ctx, s, f, body)
	return name, f, true
}

// keepBody sets the fixture's body from the upstream's: a 2xx as keep
// keeps it (false when nothing is left of it), a 4xx or 5xx as the
// contract's error body, whatever the upstream sent (an HTML page, an
// empty body, another JSON shape).
func (d *Dir) keepBody(s *scrubber, op *openapi3.Operation, f *Fixture, body []byte) bool {
	v, isJSON := decodeJSON(body)
	var kept any
	ok := false
	if isJSON {
		kept, ok = s.keep("", v, answerSchema(op, f.Status))
	}
	var out any = kept
	switch {
	case isError(f.Status):
		out = s.errorBody(f.Status, kept, f.RecordedAt)
	case !ok:
		return false
	}
	b, err := json.Marshal(out)
	if err != nil {
		return false
	}
	f.Body = b
	return true
}

// verdict is the contract's verdict on the upstream's answer as it came
// (a drift is what a recording is for), with the header the fixture keeps;
// a violation that quotes a secret is redacted.
func (d *Dir) verdict(ctx context.Context, s *scrubber, f Fixture, body []byte) Verdict {
	if _, isJSON := decodeJSON(body); !isJSON {
		return Verdict{Violations: []string{"body: not JSON; the contract's error body was recorded in its place"}}
	}
	v := d.check(ctx, Fixture{Request: f.Request, Status: f.Status, Header: f.Header, Body: body})
	for i, x := range v.Violations {
		if secret.Quotes(x, s.secrets...) {
			v.Violations[i] = secret.Redacted
		}
	}
	return v
}

// operation is the contract's operation r addresses.
func (d *Dir) operation(r Request) (*openapi3.Operation, error) {
	req, err := http.NewRequest(r.Method, "http://fixture"+r.Path, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", contracts.ErrNoOperation, err)
	}
	route, _, err := d.contract.Route(req)
	if err != nil {
		return nil, err
	}
	return route.Operation, nil
}

// check validates a fixture's answer, with the header replay serves,
// against the contract.
func (d *Dir) check(ctx context.Context, f Fixture) Verdict {
	target := f.Request.Path
	if f.Request.Query != "" {
		target += "?" + f.Request.Query
	}
	req, err := http.NewRequestWithContext(ctx, f.Request.Method, "http://fixture"+target, nil)
	if err != nil {
		return Verdict{Violations: []string{"request: not a valid request"}}
	}
	err = d.contract.ValidateResponse(ctx, req, f.Status, servedHeader(f.Header), f.Body)
	var ve *contracts.ValidationError
	switch {
	case err == nil:
		return Verdict{OK: true}
	case errors.As(err, &ve):
		v := Verdict{}
		for _, x := range ve.Violations {
			v.Violations = append(v.Violations, x.String())
		}
		return v
	case errors.Is(err, contracts.ErrNoOperation):
		return Verdict{Violations: []string{"request: not an operation of the contract"}}
	}
	return Verdict{Violations: []string{"not validated: " + err.Error()}}
}

// servedHeader is the header replay serves with a fixture: its own, and
// Content-Type application/json when it names none.
func servedHeader(h map[string]string) http.Header {
	out := http.Header{"Content-Type": {"application/json"}}
	for k, v := range h {
		out.Set(k, v)
	}
	return out
}

// Set is the fixtures of a directory, loaded.
type Set struct {
	fixtures map[string]Fixture
	// Drifted names the fixtures the contract refuses, sorted.
	Drifted []string
}

// Load reads every fixture of the directory. A fixture replay may not
// serve is refused: Load fails with a *FixtureError for each, naming its
// file, what is wrong and what to do. Every other is validated against
// the contract again (a fixture may have been edited by hand); one that
// breaks it, or whose upstream answer broke it when it was recorded, is
// kept, with both verdicts, and named in Set.Drifted.
func (d *Dir) Load(ctx context.Context) (*Set, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("fixtures: %w", err)
	}
	set := &Set{fixtures: map[string]Fixture{}}
	var refused []error
	total := 0
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		file := filepath.Join(d.path, e.Name())
		data, err := readBounded(file, maxFixtureFile)
		if err != nil {
			return nil, err
		}
		if total += len(data); total > maxFixtures {
			return nil, fmt.Errorf("fixtures: %s holds more than %d MiB of fixtures; split it", d.path, maxFixtures>>20)
		}
		f, ferr := d.parse(data)
		if ferr == nil && FileName(Name(f.Request)) != e.Name() {
			ferr = &FixtureError{Problem: "its request is answered by " + FileName(Name(f.Request)),
				Fix: "rename the file, or correct its request"}
		}
		if ferr != nil {
			ferr.File = file
			refused = append(refused, ferr)
			continue
		}
		f.Contract = merge(f.Contract, d.check(ctx, f))
		if !f.Contract.OK {
			set.Drifted = append(set.Drifted, name)
		}
		set.fixtures[name] = f
	}
	if len(refused) > 0 {
		return nil, errors.Join(refused...)
	}
	sort.Strings(set.Drifted)
	return set, nil
}

// merge is the verdict of a fixture whose upstream answer got recorded
// and whose stored answer got now.
func merge(recorded, now Verdict) Verdict {
	if recorded.OK || len(recorded.Violations) == 0 {
		return now
	}
	out := Verdict{Violations: append([]string(nil), recorded.Violations...)}
	for _, v := range now.Violations {
		if !contains(out.Violations, v) {
			out.Violations = append(out.Violations, v)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Get returns the fixture named name.
func (s *Set) Get(name string) (Fixture, bool) {
	f, ok := s.fixtures[name]
	return f, ok
}

// Len is the number of fixtures.
func (s *Set) Len() int { return len(s.fixtures) }

// Each calls fn for every fixture, in name order.
func (s *Set) Each(fn func(name string, f Fixture)) {
	names := make([]string, 0, len(s.fixtures))
	for n := range s.fixtures {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fn(n, s.fixtures[n])
	}
}

// writeAtomic replaces file with data: a temporary file renamed over it.
func writeAtomic(file string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), file)
}
