// Package record keeps answers of a real upstream as fixtures the mock can
// replay offline: plain JSON files a developer can read, edit and commit,
// scrubbed of what identifies a person (registration numbers, free-text
// messages, usernames, any string field the contract does not name) with
// generated values of the same shape, and never holding a token, a key or
// a cookie. Every fixture is validated against the contract when it is
// written and when it is loaded; a drifted answer is kept and flagged.
package record

import (
	"bytes"
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

	"github.com/minbil/minbil-bff/contracts"
)

// SaltFile holds the directory's scrubbing salt. It stays on the machine
// that recorded (the directory's .gitignore names it): with the salt, a
// fake plate could be matched to the real one by trying every plate.
const SaltFile = ".salt"

// Fixture is one recorded answer, as written to its file.
type Fixture struct {
	// Request is what was asked: the method, the path and the query (its
	// personal values scrubbed like the answer's). Never a header.
	Request Request `json:"request"`
	Status  int     `json:"status"`
	// Header holds the answer's Content-Type and Retry-After only.
	Header map[string]string `json:"header,omitempty"`
	// Body is the scrubbed JSON answer; BodyText an answer that is not JSON.
	Body       json.RawMessage `json:"body,omitempty"`
	BodyText   string          `json:"body_text,omitempty"`
	RecordedAt time.Time       `json:"recorded_at"`
	// Contract is the verdict of the contract's validator on this answer.
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
	mu   sync.Mutex // serialises writes
	now  func() time.Time
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
	return &Dir{path: dir, contract: c, salt: salt, now: time.Now}, nil
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
	return &Dir{path: dir, contract: c, salt: salt, now: time.Now}, nil
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

// ScrubQuery returns the query as a fixture records it: a username is
// replaced by its fake, any other value by a digest of it (with the salt;
// without one the query is kept as it is).
func (d *Dir) ScrubQuery(query string) string {
	if d.salt == nil || query == "" {
		return query
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return hex.EncodeToString(d.mac("query", query)[:8])
	}
	s := newScrubber(d.salt, nil)
	for k, vs := range values {
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

// Write scrubs an upstream answer to the request (method, path, raw
// query), validates it against the contract and writes it as a fixture.
// secrets (the caller's token, the API key) are never written, nor any
// string that quotes one. A GET's latest answer replaces the fixture; any
// other method keeps its first answer that is not a 5xx or a 429: it says
// what the booking was before the recording changed it. It returns the
// fixture's name and whether it was written.
func (d *Dir) Write(ctx context.Context, method, path, query string, status int, header http.Header, body []byte, secrets ...string) (string, Fixture, bool, error) {
	f := Fixture{
		Request:    Request{Method: method, Path: path, Query: d.ScrubQuery(query)},
		Status:     status,
		RecordedAt: d.now().UTC().Truncate(time.Second),
	}
	name := Name(f.Request)
	s := newScrubber(d.salt, secrets)
	if q, err := url.ParseQuery(query); err == nil {
		for _, u := range q["username"] {
			s.username(u) // a message may quote it
		}
	}
	var decoded any
	if json.Unmarshal(body, &decoded) == nil && len(bytes.TrimSpace(body)) > 0 {
		decoded = s.free("", s.value("", decoded))
		out, err := json.Marshal(decoded)
		if err != nil {
			return name, f, false, fmt.Errorf("fixture %s: %w", name, err)
		}
		f.Body = out
	} else if len(body) > 0 {
		text := string(body)
		if s.quotesSecret(text) {
			text = redacted
		}
		f.BodyText = text
	}
	f.Header = map[string]string{}
	for _, h := range []string{"Content-Type", "Retry-After"} {
		if v := header.Get(h); v != "" && !s.quotesSecret(v) {
			f.Header[h] = v
		}
	}
	f.Contract = d.check(ctx, f)

	d.mu.Lock()
	defer d.mu.Unlock()
	file := filepath.Join(d.path, FileName(name))
	if method != http.MethodGet {
		if old, err := readFixture(file); err == nil && old.Status < 500 && old.Status != http.StatusTooManyRequests {
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

// check validates a fixture's answer against the contract.
func (d *Dir) check(ctx context.Context, f Fixture) Verdict {
	target := f.Request.Path
	if f.Request.Query != "" {
		target += "?" + f.Request.Query
	}
	req, err := http.NewRequestWithContext(ctx, f.Request.Method, "http://fixture"+target, nil)
	if err != nil {
		return Verdict{Violations: []string{"request: not a valid request"}}
	}
	header := http.Header{}
	for k, v := range f.Header {
		header.Set(k, v)
	}
	body := []byte(f.Body)
	if f.Body == nil {
		body = []byte(f.BodyText)
	}
	err = d.contract.ValidateResponse(ctx, req, f.Status, header, body)
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

// Set is the fixtures of a directory, loaded.
type Set struct {
	fixtures map[string]Fixture
	// Drifted names the fixtures the contract refuses, sorted.
	Drifted []string
}

// Load reads every fixture of the directory and validates each against
// the contract again (a fixture may have been edited by hand); a drifted
// one is kept, with its verdict, and named in Set.Drifted.
func (d *Dir) Load(ctx context.Context) (*Set, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("fixtures: %w", err)
	}
	set := &Set{fixtures: map[string]Fixture{}}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		f, err := readFixture(filepath.Join(d.path, e.Name()))
		if err != nil {
			return nil, err
		}
		f.Contract = d.check(ctx, f)
		if !f.Contract.OK {
			set.Drifted = append(set.Drifted, name)
		}
		set.fixtures[name] = f
	}
	sort.Strings(set.Drifted)
	return set, nil
}

func readFixture(file string) (Fixture, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Fixture{}, fmt.Errorf("fixture: %w", err)
	}
	var f Fixture
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Fixture{}, fmt.Errorf("fixture %s is not a fixture: %w", file, err)
	}
	if f.Request.Method == "" || f.Request.Path == "" || f.Status < 100 || f.Status > 599 {
		return Fixture{}, fmt.Errorf("fixture %s: request.method, request.path and status are required", file)
	}
	return f, nil
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
