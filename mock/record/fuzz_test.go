package record

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/secret"
)

// fuzzDir is a Dir with a fixed salt, for fuzz targets (no files).
func fuzzDir(t testing.TB) *Dir {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	return newDir(t.TempDir(), c, []byte("0123456789abcdef0123456789abcdef"))
}

// FuzzFixtureLoad checks the fixture loader on any file content: it never
// panics; a refusal says what is wrong and what to do; an accepted fixture
// is one replay may serve (format 2, an operation of the contract, a
// status it lists or a 4xx/5xx, only the allowed headers, a JSON object as
// the body, no body_text), and it loads again, the same, when written out
// as the recorder writes it. The seed corpus (testdata/fuzz) holds valid
// fixtures, the previous format, and every kind of refused one.
func FuzzFixtureLoad(f *testing.F) {
	for _, file := range []string{"GET_api_co_rating.json", "POST_api_co_rating_rate_555.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "format1", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	d := fuzzDir(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fx, ferr := d.parse(data)
		if ferr != nil {
			if ferr.Problem == "" || ferr.Fix == "" {
				t.Fatalf("parse(%q) refused with %+v: want a problem and a fix", data, ferr)
			}
			return
		}
		op, err := d.operation(fx.Request)
		if err != nil {
			t.Fatalf("parse(%q) accepted a request that is no operation: %v", data, err)
		}
		if fx.Format != Format || !statusAllowed(op, fx.Status) || fx.Status < 200 || (fx.Status >= 300 && fx.Status < 400) || fx.BodyText != "" {
			t.Fatalf("parse(%q) accepted format %d, status %d, body_text %q", data, fx.Format, fx.Status, fx.BodyText)
		}
		for k := range fx.Header {
			switch http.CanonicalHeaderKey(k) {
			case "Content-Type", "Retry-After", "Www-Authenticate":
			default:
				t.Fatalf("parse(%q) accepted header %q", data, k)
			}
		}
		var body map[string]any
		if err := json.Unmarshal(fx.Body, &body); err != nil {
			t.Fatalf("parse(%q) accepted a body that is not a JSON object: %v", data, err)
		}
		out, err := json.MarshalIndent(fx, "", "  ")
		if err != nil {
			t.Fatalf("marshal an accepted fixture: %v", err)
		}
		again, ferr := d.parse(out)
		if ferr != nil {
			t.Fatalf("an accepted fixture, written out, is refused: %v\n%s", ferr, out)
		}
		if again.Status != fx.Status || again.Request != fx.Request || len(again.Header) != len(fx.Header) || !jsonEqual(again.Body, fx.Body) {
			t.Fatalf("an accepted fixture changes when written out and read again:\n%s", out)
		}
		_ = d.check(context.Background(), fx) // must not panic
	})
}

// jsonEqual reports whether a and b are the same JSON value (json.Marshal
// escapes "&" and "<" where the file may not).
func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// FuzzRecordAnswer checks the recorder on any upstream answer: it never
// panics, whatever it keeps is a fixture replay serves (the recorder never
// writes one the loader refuses), and no planted value survives in it.
func FuzzRecordAnswer(f *testing.F) {
	const planted = "fuzz-secret-0123456789"
	f.Add("GET", contracts.PathRatings, "", 200, "application/json", []byte(`{"total":1,"items":[{"booking_id":1,"workshop_name":"fuzz-secret-0123456789"}]}`))
	f.Add("POST", contracts.PathRatePrefix+"123", "", 409, "application/json", []byte(`{"error":{"code":"already_rated","message":"x"},"meta":{"request_id":"r","generated_at":"2026-02-12T10:00:00Z"}}`))
	f.Add("GET", contracts.PathCheckUsername, "username=ola", 200, "application/json", []byte(`{"username":"ola","available":true,"message":"Username is available."}`))
	f.Add("GET", contracts.PathRatings, "", 500, "text/html", []byte(`<html>password=fuzz-secret-0123456789</html>`))
	f.Add("POST", contracts.PathRatePrefix+"1", "", 200, "application/json", []byte(`{"data":{"booking_id":-9223372036854775808},"meta":{}}`))
	f.Add("GET", contracts.PathRatings, "", 101, "", []byte(``))
	d := fuzzDir(f)
	f.Fuzz(func(t *testing.T, method, path, query string, status int, contentType string, body []byte) {
		h := http.Header{}
		h.Set("Content-Type", contentType)
		h.Set("Retry-After", "fuzz-secret-0123456789")
		s := newScrubber(d.salt, []string{planted}, d.known)
		_, fx, ok := d.fixture(context.Background(), s, method, path, query, status, h, body)
		if !ok {
			return
		}
		if ferr := d.refusal(fx); ferr != nil {
			t.Fatalf("the recorder kept %s %s %d %q as a fixture replay refuses: %v", method, path, status, body, ferr)
		}
		out, err := json.Marshal(fx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), planted[:secret.Window]) {
			t.Fatalf("the fixture of %q holds the planted secret: %s", body, out)
		}
	})
}

// TestFixtureSeedsAsNamed keeps the seed corpus honest: a seed named
// valid-… loads, every other is refused, so the fuzzer starts from both
// sides of the loader.
func TestFixtureSeedsAsNamed(t *testing.T) {
	d := fuzzDir(t)
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzFixtureLoad", "*"))
	if err != nil || len(files) < 10 {
		t.Fatalf("seed corpus: %d files, %v", len(files), err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(b), "\n", 3)
		if len(lines) < 2 {
			t.Fatalf("%s: not a seed", file)
		}
		quoted, ok := strings.CutPrefix(strings.TrimSuffix(lines[1], ")"), "[]byte(")
		data, err := strconv.Unquote(quoted)
		if !ok || err != nil {
			t.Fatalf("%s: not a []byte seed: %v", file, err)
		}
		_, ferr := d.parse([]byte(data))
		if wantOK := strings.HasPrefix(filepath.Base(file), "valid-"); (ferr == nil) != wantOK {
			t.Errorf("parse(%s) = %v, want accepted %v", filepath.Base(file), ferr, wantOK)
		}
	}
}
