// Package scrub is the last line of defence against secrets in logs: a
// zapcore.Core that rewrites every message and text field before it is
// written. It removes the configured secrets (the upstream API key, the
// JWT secret, the Redis password): one of eight bytes or more wherever any
// eight-byte part of it appears, a shorter one only where it stands whole
// (a field equal to it, or the value of a "Name: value" header line), so
// that a one-letter key does not take that letter out of every line. It
// also removes anything shaped like a bearer credential or a JWT, hides the
// user info, query and fragment of every URL (URL), and caps every field
// at MaxFieldBytes. The code that logs is still responsible for logging
// where and what kind, not values; this catches what slips through.
package scrub

import (
	"encoding/binary"
	"regexp"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap/zapcore"
	"golang.org/x/net/http/httpguts"

	"github.com/minbil/minbil-bff/contracts/secret"
)

// MaxFieldBytes caps the message and every text field of a log line, after
// scrubbing: a field longer than this is cut at a character boundary and
// ends in Truncated. The longest field the gateway writes on purpose, the
// configuration at start-up, is under 2 KiB; a client's or an upstream's
// text (an unknown field's name, a path, a decoder's error) is what grows
// past it.
const MaxFieldBytes = 4 << 10

// Truncated ends a field cut at MaxFieldBytes.
const Truncated = "…[truncated]"

// credential matches a bearer credential or a compact JWS/JWE anywhere.
var credential = regexp.MustCompile(`(?i)bearer\s+\S+|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?`)

// Scrubber removes secrets from strings. Build it with New; the zero value
// removes only credential-shaped text and URL credentials.
type Scrubber struct {
	// runs holds every Window-byte run (contracts/secret) of every long secret, as the
	// uint64 of its bytes, so a string is checked in one pass.
	runs map[uint64]struct{}
	// starts marks the bytes a run can begin with, so most positions of a
	// string are passed over without a map lookup.
	starts [256]bool
	// short holds the secrets shorter than Window, matched whole only.
	short []string
}

// New returns a Scrubber for secrets; empty ones are ignored.
func New(secrets ...string) *Scrubber {
	s := &Scrubber{runs: map[uint64]struct{}{}}
	for _, x := range secrets {
		switch {
		case x == "":
		case len(x) < secret.Window:
			s.short = append(s.short, x)
		default:
			for i := 0; i+secret.Window <= len(x); i++ {
				s.runs[binary.LittleEndian.Uint64([]byte(x[i:i+secret.Window]))] = struct{}{}
				s.starts[x[i]] = true
			}
		}
	}
	return s
}

// String returns the field value v with every long secret and part of
// one, every short secret standing whole, every credential-shaped string
// and every URL's credentials replaced (see the package doc). It does not
// cap v; the Core does.
func (s *Scrubber) String(v string) string {
	if s.holdsRun(v) {
		v = s.cut(v)
	}
	for _, short := range s.short {
		v = replaceWhole(v, short)
	}
	v = URLs(v)
	if strings.Contains(v, "eyJ") || hasBearer(v) {
		v = credential.ReplaceAllString(v, secret.Redacted)
	}
	return v
}

// replaceWhole returns v with short replaced where it stands whole: v
// is the secret (white space and quotes around it aside), or v is one
// header line "Name: value" whose value is the secret. Anywhere else a
// short secret is left alone: as a substring it is as likely to be a
// part of the line's own words.
func replaceWhole(v, short string) string {
	if strings.Trim(v, " \t\r\n\"'`") == short {
		return secret.Redacted
	}
	name, value, ok := strings.Cut(v, ":")
	if ok && httpguts.ValidHeaderFieldName(name) && strings.Trim(value, " \t") == short {
		return name + ": " + secret.Redacted
	}
	return v
}

// holdsRun reports whether v contains a Window-long run of a secret.
func (s *Scrubber) holdsRun(v string) bool {
	if len(s.runs) == 0 {
		return false
	}
	for i := 0; i+secret.Window <= len(v); i++ {
		if !s.starts[v[i]] {
			continue
		}
		if _, ok := s.runs[binary.LittleEndian.Uint64([]byte(v[i:i+secret.Window]))]; ok {
			return true
		}
	}
	return false
}

// cut replaces every maximal stretch of v made of secret runs.
func (s *Scrubber) cut(v string) string {
	var b strings.Builder
	last := 0
	for i := 0; i+secret.Window <= len(v); {
		if _, ok := s.runs[binary.LittleEndian.Uint64([]byte(v[i:i+secret.Window]))]; !ok {
			i++
			continue
		}
		end := i + secret.Window
		for end+1 <= len(v) {
			if _, ok := s.runs[binary.LittleEndian.Uint64([]byte(v[end+1-secret.Window:end+1]))]; !ok {
				break
			}
			end++
		}
		b.WriteString(v[last:i])
		b.WriteString(secret.Redacted)
		last, i = end, end
	}
	b.WriteString(v[last:])
	return b.String()
}

// Cap returns s cut to at most limit bytes at a character boundary,
// ending in Truncated when cut.
func Cap(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	n := limit
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + Truncated
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
	e.Message = Cap(c.s.String(e.Message), MaxFieldBytes)
	return c.Core.Write(e, c.fields(fields))
}

// fields scrubs and caps string, byte string, error and stringer fields;
// others hold no text a caller chose.
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
		case zapcore.ByteStringType:
			if b, ok := f.Interface.([]byte); ok {
				text = string(b)
			}
		default:
			continue
		}
		clean := Cap(c.s.String(text), MaxFieldBytes)
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
