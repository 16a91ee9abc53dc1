package record

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/brianvoe/gofakeit/v6"
)

// redacted replaces a string that quotes a secret (a token, the API key).
const redacted = "[redacted]"

// secretWindow is the shortest part of a secret that counts as quoting it.
const secretWindow = 8

// Fields a fixture keeps as recorded: a workshop's name and organisation
// number are public, the rest describes the service, not a person. A
// "message" is the API's own text: kept, with every scrubbed value in it
// replaced by its fake. Every other string field (a drifted field the
// contract does not name included) is replaced by a generated value of the
// same shape.
var kept = map[string]bool{
	"workshop_name": true, "workshop_org_nr": true, "service_title": true, "status": true,
	"code": true, "message": true, "request_id": true, "generated_at": true,
	"service_start_time": true, "service_estimated_end_time": true, "service_actual_end_time": true,
	"rated_at": true,
}

// scrubber replaces what identifies a person with generated values of the
// same shape, deterministically: the fake of a value is seeded by the HMAC
// of the value under the fixture directory's salt, so the same plate is the
// same fake plate in every fixture of the directory, and nobody without
// the salt can tell the original.
type scrubber struct {
	salt    []byte
	secrets []string
	// seen maps the originals met in one answer to their fakes, to replace
	// them inside kept free text.
	seen map[string]string
}

func newScrubber(salt []byte, secrets []string) *scrubber {
	var live []string
	for _, s := range secrets {
		if s != "" {
			live = append(live, s)
		}
	}
	return &scrubber{salt: salt, secrets: live, seen: map[string]string{}}
}

// faker is a gofakeit generator seeded by the HMAC of kind and value.
func (s *scrubber) faker(kind, value string) *gofakeit.Faker {
	m := hmac.New(sha256.New, s.salt)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	seed := int64(binary.BigEndian.Uint64(m.Sum(nil)[:8]) &^ (1 << 63))
	if seed == 0 {
		seed = 1 // 0 means random to gofakeit
	}
	return gofakeit.NewUnlocked(seed)
}

// plateLetters are the letters of Norwegian plates.
const plateLetters = "ABCDEFHJKLNPRSTUVWXYZ"

// plate returns a fake registration number of the same shape: every
// letter a letter, every digit a digit, the rest as it was.
func (s *scrubber) plate(v string) string {
	return s.remember(v, s.shape("plate", v, plateLetters))
}

// shape replaces letters and digits of v, keeping case, length and
// punctuation.
func (s *scrubber) shape(kind, v, letters string) string {
	f := s.faker(kind, v)
	var b strings.Builder
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			b.WriteByte(byte('0' + f.Number(0, 9)))
		case unicode.IsUpper(r):
			b.WriteByte(letters[f.Number(0, len(letters)-1)])
		case unicode.IsLetter(r):
			b.WriteRune(unicode.ToLower(rune(letters[f.Number(0, len(letters)-1)])))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// message returns generated free text of about the same length.
func (s *scrubber) message(v string) string {
	n := utf8.RuneCountInString(v)
	if n == 0 {
		return v
	}
	f := s.faker("message", v)
	words := max(1, len(strings.Fields(v)))
	out := f.Sentence(words)
	for utf8.RuneCountInString(out) < n {
		out += " " + f.Sentence(words)
	}
	r := []rune(out)[:n]
	if r[n-1] == ' ' {
		r[n-1] = '.'
	}
	return s.remember(v, string(r))
}

// username returns a fake username for v: lower-case first.last, 3–30
// characters, the same for the same v under the same salt.
func (s *scrubber) username(v string) string {
	f := s.faker("username", v)
	clean := func(x string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r
			}
			return -1
		}, strings.ToLower(x))
	}
	name := clean(f.FirstName()) + "." + clean(f.LastName())
	if len(name) > 30 {
		name = name[:30]
	}
	for len(name) < 3 {
		name += "x"
	}
	return s.remember(v, name)
}

func (s *scrubber) remember(orig, fake string) string {
	if len(orig) >= 3 {
		s.seen[orig] = fake
	}
	return fake
}

// quotesSecret reports whether v holds a secret, or a secretWindow-long
// part of one.
func (s *scrubber) quotesSecret(v string) bool {
	for _, secret := range s.secrets {
		if len(secret) <= secretWindow {
			if strings.Contains(v, secret) {
				return true
			}
			continue
		}
		for i := 0; i+secretWindow <= len(secret); i++ {
			if strings.Contains(v, secret[i:i+secretWindow]) {
				return true
			}
		}
	}
	return false
}

// walk rewrites every string in a decoded JSON value with leaf, which is
// told the name of the field the string stands under (the array's field
// for an element).
func walk(field string, v any, leaf func(field, s string) string) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = walk(k, e, leaf)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = walk(field, e, leaf)
		}
		return t
	case string:
		return leaf(field, t)
	}
	return v
}

// value scrubs a decoded JSON value found under the field name.
func (s *scrubber) value(field string, v any) any { return walk(field, v, s.str) }

func (s *scrubber) str(field, v string) string {
	if s.quotesSecret(v) {
		return redacted
	}
	switch {
	case field == "registration_number":
		return s.plate(v)
	case field == "service_rating_message":
		return s.message(v)
	case field == "username":
		return s.username(v)
	case kept[field]:
		return v
	}
	return s.remember(v, s.shape("field\x00"+field, v, "abcdefghijklmnopqrstuvwxyz"))
}

// free replaces, inside the kept texts of v, every original value met in
// the answer by its fake (a server message may quote a plate or a name).
func (s *scrubber) free(field string, v any) any {
	if len(s.seen) == 0 {
		return v
	}
	// Longest first, so that a value containing another is replaced whole.
	origs := make([]string, 0, len(s.seen))
	for o := range s.seen {
		origs = append(origs, o)
	}
	sort.Slice(origs, func(i, j int) bool { return len(origs[i]) > len(origs[j]) })
	return walk(field, v, func(field, t string) string {
		if !kept[field] {
			return t
		}
		for _, o := range origs {
			t = strings.ReplaceAll(t, o, s.seen[o])
		}
		return t
	})
}
