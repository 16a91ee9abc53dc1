// Package scrub is the last line of defence against secrets in logs: a
// zapcore.Core that rewrites every message and string field before it is
// written, removing the configured secrets (the upstream API key, the JWT
// secret, the Redis password) and any part of one eight bytes or longer,
// and anything shaped like a bearer credential or a JWT. The code that logs
// is still responsible for logging where and what kind, not values; this
// catches what slips through (issue 13 #1).
package scrub

import (
	"encoding/binary"
	"regexp"
	"strings"

	"go.uber.org/zap/zapcore"
)

// Redacted replaces what was removed.
const Redacted = "[redacted]"

// window is the shortest part of a secret that counts as the secret.
const window = 8

// credential matches a bearer credential or a compact JWS/JWE anywhere.
var credential = regexp.MustCompile(`(?i)bearer\s+\S+|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?`)

// Scrubber removes secrets from strings. Build it with New; the zero value
// removes only credential-shaped text.
type Scrubber struct {
	// runs holds every window-byte run of every secret, as the uint64 of
	// its bytes, so a string is checked in one pass.
	runs map[uint64]struct{}
	// starts marks the bytes a run can begin with, so most positions of a
	// string are passed over without a map lookup.
	starts  [256]bool
	secrets []string
}

// New returns a Scrubber for secrets; empty ones are ignored, and one
// shorter than eight bytes is matched whole.
func New(secrets ...string) *Scrubber {
	s := &Scrubber{runs: map[uint64]struct{}{}}
	for _, secret := range secrets {
		switch {
		case secret == "":
		case len(secret) < window:
			s.secrets = append(s.secrets, secret)
		default:
			s.secrets = append(s.secrets, secret)
			for i := 0; i+window <= len(secret); i++ {
				s.runs[binary.LittleEndian.Uint64([]byte(secret[i:i+window]))] = struct{}{}
				s.starts[secret[i]] = true
			}
		}
	}
	return s
}

// String returns v with every secret, part of a secret and credential
// replaced by Redacted.
func (s *Scrubber) String(v string) string {
	if s.holdsRun(v) {
		v = s.cut(v)
	}
	for _, secret := range s.secrets {
		if len(secret) < window && strings.Contains(v, secret) {
			v = strings.ReplaceAll(v, secret, Redacted)
		}
	}
	if strings.Contains(v, "eyJ") || hasBearer(v) {
		v = credential.ReplaceAllString(v, Redacted)
	}
	return v
}

// holdsRun reports whether v contains a window-long run of a secret.
func (s *Scrubber) holdsRun(v string) bool {
	if len(s.runs) == 0 {
		return false
	}
	for i := 0; i+window <= len(v); i++ {
		if !s.starts[v[i]] {
			continue
		}
		if _, ok := s.runs[binary.LittleEndian.Uint64([]byte(v[i:i+window]))]; ok {
			return true
		}
	}
	return false
}

// cut replaces every maximal stretch of v made of secret runs.
func (s *Scrubber) cut(v string) string {
	var b strings.Builder
	last := 0
	for i := 0; i+window <= len(v); {
		if _, ok := s.runs[binary.LittleEndian.Uint64([]byte(v[i:i+window]))]; !ok {
			i++
			continue
		}
		end := i + window
		for end+1 <= len(v) {
			if _, ok := s.runs[binary.LittleEndian.Uint64([]byte(v[end+1-window:end+1]))]; !ok {
				break
			}
			end++
		}
		b.WriteString(v[last:i])
		b.WriteString(Redacted)
		last, i = end, end
	}
	b.WriteString(v[last:])
	return b.String()
}

// hasBearer reports whether s contains "bearer" in any case; one pass that
// compares only where a 'b' stands.
func hasBearer(s string) bool {
	const word = "bearer"
	for i := 0; i+len(word) <= len(s); i++ {
		if s[i]|0x20 == 'b' && strings.EqualFold(s[i:i+len(word)], word) {
			return true
		}
	}
	return false
}

// Core wraps c so that every entry it writes is scrubbed by s.
func Core(c zapcore.Core, s *Scrubber) zapcore.Core { return &core{Core: c, s: s} }

type core struct {
	zapcore.Core
	s *Scrubber
}

func (c *core) With(fields []zapcore.Field) zapcore.Core {
	return &core{Core: c.Core.With(c.fields(fields)), s: c.s}
}

func (c *core) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *core) Write(e zapcore.Entry, fields []zapcore.Field) error {
	e.Message = c.s.String(e.Message)
	return c.Core.Write(e, c.fields(fields))
}

// fields scrubs string, error and stringer fields; others hold no text a
// caller chose.
func (c *core) fields(in []zapcore.Field) []zapcore.Field {
	out := in
	for i, f := range in {
		var text string
		switch f.Type {
		case zapcore.StringType:
			text = f.String
		case zapcore.ErrorType:
			if err, ok := f.Interface.(error); ok && err != nil {
				text = err.Error()
			}
		case zapcore.StringerType:
			text = stringOf(f.Interface)
		default:
			continue
		}
		clean := c.s.String(text)
		if clean == text && f.Type == zapcore.StringType {
			continue
		}
		if &out[0] == &in[0] {
			out = append([]zapcore.Field(nil), in...)
		}
		out[i] = zapcore.Field{Key: f.Key, Type: zapcore.StringType, String: clean}
	}
	return out
}

// stringOf renders a Stringer field as zap would, a panicking String
// (a nil pointer) included.
func stringOf(v any) (text string) {
	defer func() {
		if recover() != nil {
			text = "<nil>"
		}
	}()
	if st, ok := v.(interface{ String() string }); ok {
		return st.String()
	}
	return ""
}
