package record

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/minbil/minbil-bff/contracts"
)

var loadContract = sync.OnceValues(contracts.Load)

func testDir(t *testing.T) *Dir {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Create(t.TempDir(), c)
	if err != nil {
		t.Fatalf("Create() = %v", err)
	}
	return d
}

// fakeRatePath is the path a rating of the upstream's booking id is
// recorded under in d.
func fakeRatePath(d *Dir, id int64) string {
	return contracts.RatePath(permuteID(d.salt, "booking", id))
}

func TestScrubFakes(t *testing.T) {
	s := newScrubber([]byte("0123456789abcdef0123456789abcdef"), nil, map[string]bool{"Username is already taken.": true})
	tests := []struct {
		name      string
		fake      func(string) string
		in        string
		wantSame  bool
		wantShape string // letters L, digits D, else the character; "" skips
	}{
		{"plate", s.plate, "EL12345", false, "LLDDDDD"},
		{"plate with space", s.plate, "AB 1234", false, "LL DDDD"},
		{"free text", s.text, "Takk til Kari Nordmann!", false, ""},
		{"empty free text", s.text, "", true, ""},
		{"a text the contract states", s.text, "Username is already taken.", true, ""},
		{"workshop", s.workshop, "Bilservice Bergen AS", false, ""},
		{"org nr", s.orgNr, "921460929", false, "DDDDDDDDD"},
		{"org nr from a phone number", s.orgNr, "+47 912 34 567", false, "DDDDDDDDD"},
		{"title", s.serviceTitle, "EU-kontroll for Kari", false, ""},
		{"request id", s.requestID, "kari@example.no", false, "DDDDDDDD-DDDD-DDDD-DDDD-DDDDDDDDDDDD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.fake(tt.in)
			if (got == tt.in) != tt.wantSame {
				t.Errorf("fake(%q) = %q, want same %v", tt.in, got, tt.wantSame)
			}
			if tt.wantShape != "" && shapeOf(got) != tt.wantShape {
				t.Errorf("fake(%q) = %q, shape %q, want %q", tt.in, got, shapeOf(got), tt.wantShape)
			}
			if again := tt.fake(tt.in); again != got {
				t.Errorf("fake(%q) twice = %q, %q: want the same fake", tt.in, got, again)
			}
		})
	}
}

func shapeOf(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f' && len(s) == 36:
			return 'D' // a UUID's hex digits count as digits
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
			return 'L'
		}
		return r
	}, s)
}

// TestPermuteID: the remapping of ids is a permutation of the ids with as
// many digits (no two upstream ids share a fake), the same for the same
// salt, another for another salt, and in range at the int64 edge.
func TestPermuteID(t *testing.T) {
	salt := []byte("0123456789abcdef0123456789abcdef")
	for _, tt := range []struct {
		name   string
		lo, hi int64
	}{{"one digit", 1, 9}, {"two digits", 10, 99}, {"three digits", 100, 999}, {"four digits", 1000, 9999}} {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[int64]int64{}
			moved := 0
			for v := tt.lo; v <= tt.hi; v++ {
				got := permuteID(salt, "booking", v)
				if got < tt.lo || got > tt.hi {
					t.Fatalf("permuteID(%d) = %d, want %d..%d", v, got, tt.lo, tt.hi)
				}
				if other, dup := seen[got]; dup {
					t.Fatalf("permuteID(%d) = permuteID(%d) = %d", v, other, got)
				}
				seen[got] = v
				if got != v {
					moved++
				}
			}
			if moved < int(tt.hi-tt.lo)/2 {
				t.Errorf("only %d of %d ids moved", moved, tt.hi-tt.lo+1)
			}
		})
	}
	for _, v := range []int64{12345678901, 999_999_999_999_999_999, 1_000_000_000_000_000_000, 9_223_372_036_854_775_807} {
		got := permuteID(salt, "booking", v)
		if got < 1 || decimalDigits(got) != decimalDigits(v) {
			t.Errorf("permuteID(%d) = %d, want %d digits", v, got, decimalDigits(v))
		}
		if again := permuteID(salt, "booking", v); again != got {
			t.Errorf("permuteID(%d) twice = %d, %d", v, got, again)
		}
	}
	if a, b := permuteID(salt, "booking", 12345678901), permuteID([]byte("another salt, another recording"), "booking", 12345678901); a == b {
		t.Errorf("two salts map 12345678901 to the same %d", a)
	}
}

// TestEveryContractFieldDecided: every property of every answer the
// contract names is decided in fieldKinds (free text or structural, id,
// fake), so that a new field is never kept by default.
func TestEveryContractFieldDecided(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var visit func(where string, s *openapi3.Schema)
	visit = func(where string, s *openapi3.Schema) {
		if s == nil || seen[where] {
			return
		}
		seen[where] = true
		for name, p := range s.Properties {
			if fieldKinds[name] == undecided {
				t.Errorf("%s.%s: no decision in fieldKinds", where, name)
			}
			visit(where+"."+name, p.Value)
		}
		if s.Items != nil {
			visit(where+"[]", s.Items.Value)
		}
	}
	for _, op := range c.Operations() {
		for code, ref := range op.Op.Responses.Map() {
			if mt := ref.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				visit(op.Name()+" "+code, mt.Schema.Value)
			}
		}
	}
	if len(seen) < 10 {
		t.Fatalf("visited %d schemas: the walk found no answers", len(seen))
	}
}

// TestWriteAndLoad: fixtures are written scrubbed and validated, the same
// plate is the same fake across fixtures, a POST keeps its first answer, a
// GET its latest, a drifted answer is flagged and listed at load.
func TestWriteAndLoad(t *testing.T) {
	d := testDir(t)
	ctx := context.Background()
	json200 := http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {"s=1"}}
	item := `{"booking_id":7,"workshop_org_nr":"921460929","workshop_name":"Verksted AS","service_id":1,"service_title":"EU-kontroll","registration_number":"EL12345","status":"completed","service_start_time":"2026-01-10T08:00:00Z","service_estimated_end_time":"2026-01-10T09:00:00Z","service_actual_end_time":"2026-01-10T09:00:00Z","service_rating":5,"service_rating_message":"Hei fra Ola","private_service_rating":false,"rated_at":"2026-01-11T08:00:00Z"}`
	rate := func(msg string) string {
		return `{"data":{"booking_id":7,"service_rating":4,"service_rating_message":"` + msg + `","private_service_rating":true,"rated_at":"2026-01-11T08:00:00Z"},"meta":{"request_id":"r","generated_at":"2026-01-11T08:00:00Z"}}`
	}
	conflict := `{"error":{"code":"already_rated","message":"Already rated."},"meta":{"request_id":"r","generated_at":"2026-01-11T08:00:00Z"}}`
	ratePath := fakeRatePath(d, 7)
	tests := []struct {
		name        string
		method      string
		path, query string
		status      int
		body        string
		wantName    string
		wantWritten bool
		wantOK      bool
	}{
		{"list", "GET", contracts.PathRatings, "", 200, `{"total":1,"items":[` + item + `]}`, "GET_api_co_rating", true, true},
		{"list again, drifted", "GET", contracts.PathRatings, "", 200, `{"total":1,"items":[` + item + `],"extra":"Ola"}`, "GET_api_co_rating", true, false},
		{"rate", "POST", contracts.PathRatePrefix + "7", "", 200, rate("Takk Ola"), Name(Request{Method: "POST", Path: ratePath}), true, true},
		{"rate again keeps the first", "POST", contracts.PathRatePrefix + "7", "", 409, conflict, Name(Request{Method: "POST", Path: ratePath}), false, true},
		{"username", "GET", contracts.PathCheckUsername, "username=ola.nordmann", 200, `{"username":"ola.nordmann","available":false,"message":"ola.nordmann is taken."}`, "", true, true},
		{"a redirect is not recorded", "GET", contracts.PathRatings, "", 302, ``, "GET_api_co_rating", false, false},
		{"a 201 is not recorded", "POST", contracts.PathRatePrefix + "8", "", 201, rate("x"), Name(Request{Method: "POST", Path: fakeRatePath(d, 8)}), false, false},
		{"a bad booking id is not recorded", "POST", contracts.PathRatePrefix + "ola@example.no", "", 400, conflict, "", false, false},
	}
	for _, tt := range tests {
		name, f, written, err := d.Write(ctx, tt.method, tt.path, tt.query, tt.status, json200, []byte(tt.body), "tok-1234567890")
		if err != nil {
			t.Fatalf("%s: Write() = %v", tt.name, err)
		}
		if tt.wantName != "" && name != tt.wantName {
			t.Errorf("%s: name = %q, want %q", tt.name, name, tt.wantName)
		}
		if written != tt.wantWritten || f.Contract.OK != tt.wantOK {
			t.Errorf("%s: written %v ok %v (%v), want %v %v", tt.name, written, f.Contract.OK, f.Contract.Violations, tt.wantWritten, tt.wantOK)
		}
	}
	files, _ := filepath.Glob(filepath.Join(d.Path(), "*.json"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		for _, bad := range []string{"EL12345", "Ola", "ola.nordmann", "Set-Cookie", "Verksted AS", "921460929", `"r"`} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s holds %q:\n%s", filepath.Base(file), bad, b)
			}
		}
		if !json.Valid(b) {
			t.Errorf("%s is not JSON", file)
		}
	}
	if ignore, _ := os.ReadFile(filepath.Join(d.Path(), ".gitignore")); string(ignore) != SaltFile+"\n" {
		t.Errorf(".gitignore = %q, want the salt file", ignore)
	}

	set, err := d.Load(ctx)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if set.Len() != 3 || len(set.Drifted) != 1 || set.Drifted[0] != "GET_api_co_rating" {
		t.Errorf("Load: %d fixtures, drifted %v; want 3 and the list", set.Len(), set.Drifted)
	}
	// The asked username finds its fixture through the salt.
	if _, ok := set.Get(Name(Request{Method: "GET", Path: contracts.PathCheckUsername, Query: d.ScrubQuery("username=ola.nordmann")})); !ok {
		t.Errorf("the username fixture is not found by the asked name")
	}
	// The list and the rating name the same booking.
	list, _ := set.Get("GET_api_co_rating")
	var body contracts.RatingList
	if err := json.Unmarshal(list.Body, &body); err != nil || len(body.Items) != 1 {
		t.Fatalf("list body %s: %v", list.Body, err)
	}
	if got := contracts.RatePath(body.Items[0].BookingID); got != ratePath {
		t.Errorf("the list's booking is rated at %s, the rating fixture is %s", got, ratePath)
	}
}

// TestKeepHostileAnswers: what an upstream plants in an answer's every
// place is gone from what a fixture keeps, and the kept body is still the
// contract's.
func TestKeepHostileAnswers(t *testing.T) {
	const key, token = "api-key-0123456789abcdef", "caller-token-abcdefghij"
	planted := []string{key, token, "kari.nordmann@example.no", "Kari Nordmann", "+47 912 34 567", "91234567", "12345678901", "hunter2-Passord"}
	personal := "Kari Nordmann, kari.nordmann@example.no, +47 912 34 567, fnr 12345678901"
	item := map[string]any{"booking_id": 42, "workshop_org_nr": "921460929", "workshop_name": personal, "service_id": 7,
		"service_title": personal, "registration_number": "EL12345", "status": personal,
		"service_start_time": "2026-01-10T08:00:00Z", "service_estimated_end_time": personal, "service_actual_end_time": "2026-01-10T09:15:00Z",
		"service_rating": 12345678901, "service_rating_message": personal, "private_service_rating": false, "rated_at": "2026-01-11T10:00:00Z",
		"owner_phone": 91234567, "fnr": 12345678901, key: "x", token: map[string]any{"password": "hunter2-Passord"}}
	meta := map[string]any{"request_id": personal, "generated_at": "2026-02-12T10:00:00Z", key: token}
	tests := []struct {
		name   string
		method string
		path   string
		query  string
		status int
		header http.Header
		body   any
	}{
		{"list", "GET", contracts.PathRatings, "", 200, nil, map[string]any{"total": 12345678901, "items": []any{item}, key: 1}},
		{"rating", "POST", contracts.PathRatePrefix + "42", "", 200, nil,
			map[string]any{"data": map[string]any{"booking_id": 42, "service_rating_message": personal, token: 1, "fnr": 12345678901}, "meta": meta}},
		{"error", "POST", contracts.PathRatePrefix + "43", "", 409, nil,
			map[string]any{"error": map[string]any{"code": "kari_nordmann_12345678901", "message": personal, key: 1}, "meta": meta}},
		{"username", "GET", contracts.PathCheckUsername, "username=kari.nordmann", 200, nil,
			map[string]any{"username": "kari.nordmann", "available": false, "message": personal, "owner_phone": 91234567}},
		{"html 500", "GET", contracts.PathRatings, "", 500, http.Header{"Content-Type": {"text/html; password=hunter2-Passord"}},
			"<html><body>DB login failed: password=hunter2-Passord for Kari Nordmann</body></html>"},
		{"401 challenge", "GET", contracts.PathCheckUsername, "username=x", 401,
			canonical(map[string]string{"WWW-Authenticate": `Bearer realm="Kari Nordmann", error="invalid_token", error_description="token ` + token + ` expired"`, "Set-Cookie": "k=" + key}), ""},
		{"429 retry", "GET", contracts.PathRatings, "", 429, canonical(map[string]string{"Retry-After": "12345678901", "Location": "https://evil.example/"}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDir(t)
			body, ok := tt.body.(string)
			if !ok {
				b, err := json.Marshal(tt.body)
				if err != nil {
					t.Fatal(err)
				}
				body = string(b)
			}
			name, f, written, err := d.Write(context.Background(), tt.method, tt.path, tt.query, tt.status, tt.header, []byte(body), key, token, "Bearer "+token)
			if err != nil || !written {
				t.Fatalf("Write() = %q, written %v, %v; want written", name, written, err)
			}
			b, err := os.ReadFile(filepath.Join(d.Path(), FileName(name)))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range planted {
				if strings.Contains(string(b), p) {
					t.Errorf("%s holds %q:\n%s", FileName(name), p, b)
				}
			}
			if _, err := d.Load(context.Background()); err != nil {
				t.Errorf("Load() of what Write wrote = %v", err)
			}
			if got := f.Header["WWW-Authenticate"]; tt.status == http.StatusUnauthorized && got != `Bearer error="invalid_token"` {
				t.Errorf("WWW-Authenticate = %q, want the Bearer scheme and the RFC 6750 error only", got)
			}
			if isError(tt.status) {
				var eb contracts.ErrorBody
				if err := json.Unmarshal(f.Body, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
					t.Errorf("error body %s: want the contract's error body", f.Body)
				}
			}
		})
	}
}

// canonical is an http.Header as a server's arrives: names canonical.
func canonical(m map[string]string) http.Header {
	h := http.Header{}
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

// fixtureJSON is a valid fixture of the list, with change applied.
func fixtureJSON(t *testing.T, change func(map[string]any)) []byte {
	t.Helper()
	f := map[string]any{
		"format":      Format,
		"request":     map[string]any{"method": "GET", "path": contracts.PathRatings},
		"status":      200,
		"header":      map[string]any{"Content-Type": "application/json"},
		"body":        map[string]any{"total": 0, "items": []any{}},
		"recorded_at": "2026-02-12T10:00:00Z",
		"contract":    map[string]any{"ok": true},
	}
	change(f)
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func errorBodyOf(code string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": "m"}, "meta": map[string]any{"request_id": "r", "generated_at": "2026-02-12T10:00:00Z"}}
}

// TestR3F15LoadRefuses: a fixture with a status the contract does not list
// for its operation, a header outside the allow-list, a body that is not
// JSON or not the error body, is refused when the directory is loaded,
// with an error naming the file; a good one next to it loads.
func TestR3F15LoadRefuses(t *testing.T) {
	setHeader := func(k, v string) func(map[string]any) {
		return func(f map[string]any) { f["header"].(map[string]any)[k] = v }
	}
	tests := []struct {
		name        string
		change      func(map[string]any)
		wantProblem string
	}{
		{"Set-Cookie", setHeader("Set-Cookie", "session=1"), "Set-Cookie"},
		{"Location", setHeader("Location", "https://evil.example/"), "Location"},
		{"CORS", setHeader("Access-Control-Allow-Origin", "*"), "Access-Control-Allow-Origin"},
		{"lower-case name", setHeader("set-cookie", "session=1"), "set-cookie"},
		{"X-Request-ID", setHeader("X-Request-ID", "r"), "X-Request-ID"},
		{"HTML content type", setHeader("Content-Type", "text/html"), "Content-Type"},
		{"Content-Type twice", setHeader("content-type", "application/json"), "twice"},
		{"WWW-Authenticate on a 200", setHeader("WWW-Authenticate", "Bearer"), "WWW-Authenticate"},
		{"Retry-After on a 200", setHeader("Retry-After", "1"), "Retry-After"},
		{"Retry-After not a number", func(f map[string]any) {
			f["status"], f["body"] = 429, errorBodyOf("rate_limited")
			f["header"].(map[string]any)["Retry-After"] = "soon<script>"
		}, "Retry-After"},
		{"WWW-Authenticate with free text", func(f map[string]any) {
			f["request"], f["status"], f["body"] = map[string]any{"method": "GET", "path": contracts.PathCheckUsername, "query": "username=x"}, 401, errorBodyOf("unauthorized")
			f["header"].(map[string]any)["WWW-Authenticate"] = `Bearer error_description="<script>alert(1)</script>"`
		}, "WWW-Authenticate"},
		{"HTML body with a script", func(f map[string]any) {
			f["status"] = 500
			delete(f, "body")
			f["body_text"] = "<html><script>alert(1)</script></html>"
		}, "body_text"},
		{"body that is a string", func(f map[string]any) { f["body"] = "<script>alert(1)</script>" }, "JSON object"},
		{"no body", func(f map[string]any) { delete(f, "body") }, "body is missing"},
		{"500 without the error body", func(f map[string]any) { f["status"], f["body"] = 500, map[string]any{"detail": "x"} }, "error body"},
		{"101", func(f map[string]any) { f["status"] = 101 }, "status 101"},
		{"302", func(f map[string]any) { f["status"] = 302 }, "status 302"},
		{"201", func(f map[string]any) { f["status"] = 201 }, "status 201"},
		{"204", func(f map[string]any) { f["status"] = 204; delete(f, "body") }, "status 204"},
		{"600", func(f map[string]any) { f["status"] = 600 }, "status 600"},
		{"format 1", func(f map[string]any) { delete(f, "format") }, "format 1"},
		{"format 3", func(f map[string]any) { f["format"] = 3 }, "format 3"},
		{"not an operation", func(f map[string]any) { f["request"] = map[string]any{"method": "GET", "path": "/admin"} }, "not an operation"},
		{"unknown field", func(f map[string]any) { f["cookies"] = []any{"a"} }, "not a fixture"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDir(t)
			good := fixtureJSON(t, func(f map[string]any) {
				f["request"] = map[string]any{"method": "POST", "path": contracts.RatePath(5)}
				f["status"], f["body"] = 404, errorBodyOf("not_found")
			})
			if err := os.WriteFile(filepath.Join(d.Path(), "POST_api_co_rating_rate_5.json"), good, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Load(context.Background()); err != nil {
				t.Fatalf("Load() of the good fixture alone = %v", err)
			}
			bad := filepath.Join(d.Path(), "GET_api_co_rating.json")
			if err := os.WriteFile(bad, fixtureJSON(t, tt.change), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := d.Load(context.Background())
			var fe *FixtureError
			if !errors.As(err, &fe) || fe.File != bad || !strings.Contains(fe.Problem, tt.wantProblem) || fe.Fix == "" {
				t.Fatalf("Load() = %v, want a *FixtureError naming %s, its problem with %q and a fix", err, bad, tt.wantProblem)
			}
		})
	}
}

// TestLoadRefusesMisnamedFixture: a fixture under a file name its request
// would never be looked up by is refused, naming the file it belongs in.
func TestLoadRefusesMisnamedFixture(t *testing.T) {
	d := testDir(t)
	file := filepath.Join(d.Path(), "GET_api_co_rating_old.json")
	if err := os.WriteFile(file, fixtureJSON(t, func(map[string]any) {}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := d.Load(context.Background())
	var fe *FixtureError
	if !errors.As(err, &fe) || fe.File != file || !strings.Contains(fe.Problem, "GET_api_co_rating.json") {
		t.Fatalf("Load() = %v, want a *FixtureError naming %s and GET_api_co_rating.json", err, file)
	}
}

// TestUpgradeFixtureFormat1Refused: a directory the previous recorder wrote
// (testdata/format1, as it wrote it) is refused, each fixture by name,
// saying to record again; recording into it is refused the same way.
func TestUpgradeFixtureFormat1Refused(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(filepath.Join("testdata", "format1"), c)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Load(context.Background())
	if err == nil {
		t.Fatal("Load() of a format 1 directory = nil, want refused")
	}
	for _, file := range []string{"GET_api_co_rating.json", "POST_api_co_rating_rate_555.json"} {
		if !strings.Contains(err.Error(), filepath.Join("testdata", "format1", file)) {
			t.Errorf("Load() = %v, want it to name %s", err, file)
		}
	}
	if !strings.Contains(err.Error(), "format 1") || !strings.Contains(err.Error(), "record it again") {
		t.Errorf("Load() = %v, want it to say format 1 and to record it again", err)
	}
}

func TestNewProxyRefusesBadUpstreams(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://user:pw@host", "not a url", "https://"} {
		if _, err := NewProxy(ProxyConfig{Upstream: u}, nil); err == nil {
			t.Errorf("NewProxy(%q) = nil error", u)
		}
	}
}
