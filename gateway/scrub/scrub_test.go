package scrub

import (
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/minbil/minbil-bff/contracts/secret"
)

const (
	apiKey = "upk-5Rq8Zt2Wv9Lx3Nc7Hb4Jm6"
	jwt    = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
)

func TestString(t *testing.T) {
	s := New(apiKey, "", "pw")
	tests := []struct {
		name, in string
		wantGone []string
		want     string // "" when only wantGone is checked
	}{
		{name: "clean text untouched", in: "upstream answered 503", want: "upstream answered 503"},
		{name: "the whole key", in: `expected a date-time string, got "` + apiKey + `"`, wantGone: []string{apiKey[:8], apiKey[8:16]}},
		{name: "a part of the key", in: "decode: " + apiKey[5:17] + " is not a time", wantGone: []string{apiKey[5:13]}},
		{name: "bearer token", in: `property "Bearer ` + jwt + `" is unsupported`, wantGone: []string{"eyJ", "Bearer", "c2lu"}},
		{name: "bare JWT", in: "token " + jwt, wantGone: []string{"eyJhbGci"}},
		{name: "URL query and user info", in: `Get "https://u:pw-0123@idp.example/jwks?client_secret=s3cr3t-query": refused`,
			want: `Get "https://***@idp.example/jwks?***": refused`},
		// R3-F20: a secret shorter than Window is removed where it stands
		// whole, never as a part of the line's own words.
		{name: "R3-F20 short secret inside words kept", in: "upstream.api_key_header=X-API-Key breaker.consecutive_failures=5", want: "upstream.api_key_header=X-API-Key breaker.consecutive_failures=5"},
		{name: "R3-F20 short secret after an equals sign kept", in: "auth pw=pw", want: "auth pw=pw"},
		{name: "R3-F20 field equal to a short secret", in: "pw", want: secret.Redacted},
		{name: "R3-F20 field equal to a short secret, quoted", in: ` "pw"` + "\n", want: secret.Redacted},
		{name: "R3-F20 header line with a short secret", in: "X-API-Key: pw", want: "X-API-Key: " + secret.Redacted},
		{name: "R3-F20 header line with other text kept", in: "X-API-Key: pw2", want: "X-API-Key: pw2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.String(tt.in)
			if tt.want != "" && got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, gone := range tt.wantGone {
				if strings.Contains(got, gone) {
					t.Errorf("String(%q) = %q, still holds %q", tt.in, got, gone)
				}
			}
		})
	}
}

func TestCore(t *testing.T) {
	obs, logs := observer.New(zap.InfoLevel)
	log := zap.New(Core(obs, New(apiKey))).With(zap.String("with", apiKey))
	log.Info("got "+apiKey, zap.String("s", "x"+apiKey), zap.Error(errors.New("Bearer "+jwt)), zap.Int("n", 1))
	e := logs.All()[0]
	text := e.Message
	for k, v := range e.ContextMap() {
		text += " " + k + "=" + toString(v)
	}
	for _, gone := range []string{apiKey[:8], "eyJ"} {
		if strings.Contains(text, gone) {
			t.Errorf("log entry %q holds %q", text, gone)
		}
	}
	if e.ContextMap()["n"] != int64(1) {
		t.Errorf("int field = %v, want 1", e.ContextMap()["n"])
	}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// BenchmarkAccessLine is the scrubber's cost on a clean access line (the
// hot path: nothing to remove), as a ratio against the bare core.
func BenchmarkAccessLine(b *testing.B) {
	bare := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel)
	for _, tt := range []struct {
		name string
		core zapcore.Core
	}{{"bare", bare}, {"scrubbed", Core(bare, New(apiKey, "0123456789abcdef0123456789abcdef", "redis-pw"))}} {
		b.Run(tt.name, func(b *testing.B) {
			log := zap.New(tt.core)
			b.ReportAllocs()
			for b.Loop() {
				log.Info("request", zap.String("request_id", "5f0c1e9a-7d2b-4c3e-9f1a-2b3c4d5e6f70"), zap.String("method", "GET"),
					zap.String("route", "listRatings"), zap.Int("status", 200), zap.Duration("latency", 1234),
					zap.String("breaker", "closed"), zap.String("subject", "3f2a9c1b7d4e8f60"))
			}
		})
	}
}

// TestCoreCapsEveryField checks that no text field, message or byte
// string outgrows MaxFieldBytes (R3-F16: an 8 KB unknown field name made an
// 8.3 KB access line), and that a cut never splits a character.
func TestCoreCapsEveryField(t *testing.T) {
	obs, logs := observer.New(zap.InfoLevel)
	long := strings.Repeat("é", MaxFieldBytes) // two bytes each
	log := zap.New(Core(obs, New()))
	log.Info(long, zap.String("s", long), zap.Error(errors.New(long)), zap.ByteString("b", []byte(long)), zap.String("short", "ok"))
	e := logs.All()[0]
	texts := map[string]string{"message": e.Message}
	for k, v := range e.ContextMap() {
		texts[k] = toString(v)
	}
	for name, text := range texts {
		if name == "short" {
			if text != "ok" {
				t.Errorf("field short = %q, want %q", text, "ok")
			}
			continue
		}
		if len(text) > MaxFieldBytes+len(Truncated) || !strings.HasSuffix(text, Truncated) {
			t.Errorf("%s is %d bytes, want at most %d ending in %q", name, len(text), MaxFieldBytes+len(Truncated), Truncated)
		}
		if !utf8.ValidString(text) {
			t.Errorf("%s was cut inside a character", name)
		}
	}
}

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mock", "mock"},
		{"https://api.minbil.no", "https://api.minbil.no"},
		{"https://api.minbil.no/base/", "https://api.minbil.no/base/"},
		{"https://svc:pw@api.minbil.no/x", "https://***@api.minbil.no/x"},
		{"https://a@b@host/", "https://***@host/"},
		{"http://127.0.0.1:1/?key=SECRET", "http://127.0.0.1:1/?***"},
		{"https://id.example/jwks?client_secret=s#frag", "https://id.example/jwks?***"},
		{"https://id.example/jwks#access_token=t", "https://id.example/jwks#***"},
		{"https://host/path?", "https://host/path?"},
		{"ht!tp://u:p@h/?key=SECRET", "ht!tp://***@h/?***"},
		{"user:pass@host:6379", "***@host:6379"},
		{"//user:pass@host/x", "//***@host/x"},
		{"http://host/a@b", "http://host/a@b"},
		{"http://host?x=a@b", "http://host?***"},
	}
	for _, tt := range tests {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestURLs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no url here: a?b#c u@h", "no url here: a?b#c u@h"},
		{`jwks fetch: Get "http://127.0.0.1:1/jwks?client_secret=S": dial tcp 127.0.0.1:1: refused`,
			`jwks fetch: Get "http://127.0.0.1:1/jwks?***": dial tcp 127.0.0.1:1: refused`},
		{"two: https://u:p@a/x?q https://b/y#f end", "two: https://***@a/x?*** https://b/y#*** end"},
		{"upstream.url=\"https://u:p@a/?k=v\" auth.jwt.jwks_url=\"\"", "upstream.url=\"https://***@a/?***\" auth.jwt.jwks_url=\"\""},
		{"<http://h/?q>", "<http://h/?***>"},
		{"://u:p@h?q", "://***@h?***"},
	}
	for _, tt := range tests {
		if got := URLs(tt.in); got != tt.want {
			t.Errorf("URLs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
