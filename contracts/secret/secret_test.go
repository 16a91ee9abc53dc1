package secret

import (
	"strings"
	"testing"
)

const apiKey = "upk-5Rq8Zt2Wv9Lx3Nc7Hb4Jm6"

func TestQuotes(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		secrets []string
		want    bool
	}{
		{"no secrets", "anything", nil, false},
		{"empty secret ignored", "anything", []string{""}, false},
		{"long secret part", "key " + apiKey[3:11] + " refused", []string{apiKey}, true},
		{"long secret shorter part", "key " + apiKey[3:10] + " refused", []string{apiKey}, false},
		{"secret of exactly Window bytes", "a 01234567 b", []string{"01234567"}, true},
		{"short secret anywhere", "a kk b", []string{"kk"}, true},
		{"second secret quoted", "a kk b", []string{apiKey, "kk"}, true},
		{"clean", "Already rated.", []string{apiKey, "kk"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quotes(tt.text, tt.secrets...); got != tt.want {
				t.Errorf("Quotes(%q, %q) = %v, want %v", tt.text, tt.secrets, got, tt.want)
			}
		})
	}
}

// FuzzQuotes checks Quotes on any text and two secrets against the same
// rule read from the other side: a secret is quoted when some run of the
// text, as long as the secret or Window bytes whichever is shorter, is a
// part of it. A text that holds a whole secret always quotes it.
func FuzzQuotes(f *testing.F) {
	for _, seed := range []struct{ text, first, second string }{
		{"anything", "", ""},
		{"key " + apiKey[3:11] + " refused", apiKey, ""},
		{"key " + apiKey[3:10] + " refused", apiKey, "kk"},
		{"a kk b", apiKey, "kk"},
		{"01234567", "01234567", ""},
		{"x0123456y", "01234567", "0123456"},
		{"Already rated.", apiKey, "rated!"},
	} {
		f.Add(seed.text, seed.first, seed.second)
	}
	f.Fuzz(func(t *testing.T, text, first, second string) {
		got := Quotes(text, first, second)
		if want := holdsRunOf(text, first) || holdsRunOf(text, second); got != want {
			t.Fatalf("Quotes(%q, %q, %q) = %v, want %v", text, first, second, got, want)
		}
		for _, s := range []string{first, second} {
			if s != "" && strings.Contains(text, s) && !got {
				t.Fatalf("Quotes(%q, %q, %q) = false, but the text holds %q whole", text, first, second, s)
			}
		}
	})
}

// holdsRunOf reports whether some run of text, min(len(secret), Window)
// bytes long, is a part of secret: Quotes's rule walked over the text
// rather than over the secret.
func holdsRunOf(text, secret string) bool {
	if secret == "" {
		return false
	}
	n := min(len(secret), Window)
	for i := 0; i+n <= len(text); i++ {
		if strings.Contains(secret, text[i:i+n]) {
			return true
		}
	}
	return false
}
