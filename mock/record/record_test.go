package record

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

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

func TestScrub(t *testing.T) {
	s := newScrubber([]byte("0123456789abcdef0123456789abcdef"), []string{"secret-token-123456", "api-key-abcdefgh"})
	tests := []struct {
		name      string
		field     string
		in        string
		wantSame  bool   // kept as it is
		wantShape string // letters L, digits D, else the character; "" skips
	}{
		{"plate", "registration_number", "EL12345", false, "LLDDDDD"},
		{"plate with space", "registration_number", "AB 1234", false, "LL DDDD"},
		{"message", "service_rating_message", "Takk til Kari Nordmann!", false, ""},
		{"empty message", "service_rating_message", "", true, ""},
		{"workshop", "workshop_name", "Bilservice Bergen AS", true, ""},
		{"org nr", "workshop_org_nr", "921460929", true, ""},
		{"status", "status", "completed", true, ""},
		{"drifted field", "owner_phone", "+47 912 34 567", false, "+DD DDD DD DDD"},
		{"token anywhere", "message", "token secret-token-123456 expired", false, ""},
		{"part of the key", "code", "x-key-abcdefgh", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.str(tt.field, tt.in)
			if (got == tt.in) != tt.wantSame {
				t.Errorf("str(%q, %q) = %q, want same %v", tt.field, tt.in, got, tt.wantSame)
			}
			if tt.wantShape != "" && shapeOf(got) != tt.wantShape {
				t.Errorf("str(%q, %q) = %q, shape %q, want %q", tt.field, tt.in, got, shapeOf(got), tt.wantShape)
			}
			if len([]rune(got)) != len([]rune(tt.in)) && got != redacted {
				t.Errorf("str(%q, %q) = %q: length %d, want %d", tt.field, tt.in, got, len([]rune(got)), len([]rune(tt.in)))
			}
			if again := s.str(tt.field, tt.in); again != got {
				t.Errorf("str(%q, %q) twice = %q, %q: want the same fake", tt.field, tt.in, got, again)
			}
		})
	}
}

func shapeOf(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return 'D'
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
			return 'L'
		}
		return r
	}, s)
}

// TestWriteAndLoad: fixtures are written scrubbed and validated, the same
// plate is the same fake across fixtures, a POST keeps its first answer, a
// GET its latest, a drifted answer is flagged and listed at load.
func TestWriteAndLoad(t *testing.T) {
	d := testDir(t)
	ctx := context.Background()
	json200 := http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {"s=1"}}
	item := `{"booking_id":1,"workshop_org_nr":"921460929","workshop_name":"Verksted AS","service_id":1,"service_title":"EU-kontroll","registration_number":"EL12345","status":"completed","service_start_time":"2026-01-10T08:00:00Z","service_estimated_end_time":"2026-01-10T09:00:00Z","service_actual_end_time":"2026-01-10T09:00:00Z","service_rating":5,"service_rating_message":"Hei fra Ola","private_service_rating":false,"rated_at":"2026-01-11T08:00:00Z"}`
	rate := func(msg string) string {
		return `{"data":{"booking_id":7,"service_rating":4,"service_rating_message":"` + msg + `","private_service_rating":true,"rated_at":"2026-01-11T08:00:00Z"},"meta":{"request_id":"r","generated_at":"2026-01-11T08:00:00Z"}}`
	}
	conflict := `{"error":{"code":"already_rated","message":"Already rated."},"meta":{"request_id":"r","generated_at":"2026-01-11T08:00:00Z"}}`
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
		{"rate", "POST", contracts.PathRatePrefix + "7", "", 200, rate("Takk Ola"), "POST_api_co_rating_rate_7", true, true},
		{"rate again keeps the first", "POST", contracts.PathRatePrefix + "7", "", 409, conflict, "POST_api_co_rating_rate_7", false, true},
		{"username", "GET", contracts.PathCheckUsername, "username=ola.nordmann", 200, `{"username":"ola.nordmann","available":false,"message":"ola.nordmann is taken."}`, "", true, true},
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
		for _, bad := range []string{"EL12345", "Ola", "ola.nordmann", "Set-Cookie"} {
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
}

func TestNewProxyRefusesBadUpstreams(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://user:pw@host", "not a url", "https://"} {
		if _, err := NewProxy(ProxyConfig{Upstream: u}, nil); err == nil {
			t.Errorf("NewProxy(%q) = nil error", u)
		}
	}
}
