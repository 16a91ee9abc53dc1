package scrub

import (
	"errors"
	"io"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
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
		{name: "short secret", in: "auth pw=pw", want: "auth " + Redacted + "=" + Redacted},
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
