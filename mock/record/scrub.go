package record

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/brianvoe/gofakeit/v6"
)

// maxText bounds a generated free text in runes (the contract's longest
// free text, service_rating_message, is at most 1000).
const maxText = 1000

// scrubber replaces what an upstream answer says with generated values of
// the same kind, deterministically: the fake of a value is seeded by the
// HMAC of the value under the fixture directory's salt, so the same plate
// is the same fake plate in every fixture of the directory, and nobody
// without the salt can tell the original.
type scrubber struct {
	salt []byte
	// secrets (the caller's token, the API key) are never written: a text
	// that quotes one (secret.Quotes) is left out or redacted.
	secrets []string
	// known are texts the contract itself states (the username messages):
	// they hold nothing of a person and are kept.
	known map[string]bool
}

func newScrubber(salt []byte, secrets []string, known map[string]bool) *scrubber {
	return &scrubber{salt: salt, secrets: secrets, known: known}
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
func (s *scrubber) plate(v string) string { return s.shape("plate", v, plateLetters) }

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

// text returns generated free text of about the same length (at most
// maxText runes), or v itself when it is empty or a text the contract
// states.
func (s *scrubber) text(v string) string {
	n := min(utf8.RuneCountInString(v), maxText)
	if n == 0 || s.known[v] {
		return v
	}
	f := s.faker("text", v)
	words := min(max(1, len(strings.Fields(v))), 20)
	var b strings.Builder
	for utf8.RuneCountInString(b.String()) < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.Sentence(words))
	}
	r := []rune(b.String())[:n]
	if r[n-1] == ' ' {
		r[n-1] = '.'
	}
	return string(r)
}

// username returns a fake username for v: lower-case first.last, 3–30
// characters, the same for the same v under the same salt.
func (s *scrubber) username(v string) string {
	f := s.faker("username", v)
	name := lowerLetters(f.FirstName()) + "." + lowerLetters(f.LastName())
	if len(name) > 30 {
		name = name[:30]
	}
	for len(name) < 3 {
		name += "x"
	}
	return name
}

func lowerLetters(x string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r
		}
		return -1
	}, strings.ToLower(x))
}

// workshop returns a fake workshop name.
func (s *scrubber) workshop(v string) string {
	f := s.faker("workshop", v)
	kinds := [...]string{"Bilservice", "Bilverksted", "Auto", "Motor", "Dekk og Bil"}
	return f.LastName() + " " + kinds[f.Number(0, len(kinds)-1)] + " AS"
}

// serviceTitle returns a fake service title from a short catalogue.
func (s *scrubber) serviceTitle(v string) string {
	titles := [...]string{"EU-kontroll", "Årlig service", "Dekkskift", "Bremseservice", "Oljeskift", "Klimaservice"}
	return titles[s.faker("service_title", v).Number(0, len(titles)-1)]
}

// requestID returns a fake request id (a UUID).
func (s *scrubber) requestID(v string) string { return s.faker("request_id", v).UUID() }

// orgNrWeights are the MOD11 weights of a Norwegian organisation number.
var orgNrWeights = [8]int{3, 2, 7, 6, 5, 4, 3, 2}

// orgNr returns a fake Norwegian organisation number: nine digits, the
// first 8 or 9, with a valid MOD11 check digit.
func (s *scrubber) orgNr(v string) string {
	f := s.faker("workshop_org_nr", v)
	for {
		b := make([]byte, 9)
		sum := 0
		for i := range 8 {
			d := f.Number(0, 9)
			if i == 0 {
				d = f.Number(8, 9)
			}
			b[i] = byte('0' + d)
			sum += d * orgNrWeights[i]
		}
		check := (11 - sum%11) % 11
		if check == 10 {
			continue // no valid check digit: draw again
		}
		b[8] = byte('0' + check)
		return string(b)
	}
}

// id returns the fake of an id of the given kind: the same number of
// digits, the sign kept, 0 kept; false for the one int64 without a
// positive counterpart.
func (s *scrubber) id(kind string, v int64) (int64, bool) {
	switch {
	case v == 0:
		return 0, true
	case v == math.MinInt64:
		return 0, false
	case v < 0:
		return -permuteID(s.salt, kind, -v), true
	}
	return permuteID(s.salt, kind, v), true
}
