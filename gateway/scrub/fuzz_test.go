package scrub

import (
	"net/url"
	"strings"
	"testing"

	"github.com/minbil/minbil-bff/contracts/secret"
)

// FuzzRedactURL checks URL and URLs on any text. URL is idempotent; what
// it returns has no "?" or "#" but the one that starts a Hidden query or
// fragment, and no user info but Hidden; when net/url parses the input,
// it parses the output too, to the same scheme, host and path, with no
// user info, query or fragment left but Hidden. URLs redacts a URL
// standing between spaces exactly as URL does.
func FuzzRedactURL(f *testing.F) {
	for _, seed := range []string{
		"", "mock", "https://api.minbil.no", "https://svc:pw@api.minbil.no/base/",
		"http://127.0.0.1:1/?key=SECRET", "https://id.example/jwks?client_secret=s#f",
		"https://h/p#access_token=t", "ht!tp://u:p@h/?k", "user:pass@host", "//u:p@h/x",
		"http://h/a@b", "http://h?a@b", "http://[::1]:80/?q", "HTTP://U:P@H/", "http:///u@h",
		"a?b://u:p@h", "http://u:p@h\\@evil/", "http://h/?", "http://h/#", "://@?#",
		"http://%41:%42@h/%3F?%23#%3F", "http://h:99999/", "x://y://z?w",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out := URL(raw)
		if again := URL(out); again != out {
			t.Fatalf("URL(URL(%q)) = %q, want %q", raw, again, out)
		}
		if i := strings.IndexAny(out, "?#"); i >= 0 && out[i+1:] != "" && out[i+1:] != Hidden {
			t.Fatalf("URL(%q) = %q: after %q comes %q, want %q or nothing", raw, out, out[i], out[i+1:], Hidden)
		}
		checkParsed(t, raw, out)
		if !strings.ContainsFunc(raw, func(r rune) bool { return r < 0x80 && endsURL(byte(r)) }) &&
			strings.Contains(raw, "://") && isSchemeStart(raw) {
			if got, want := URLs("see "+raw+" now"), "see "+out+" now"; got != want {
				t.Fatalf("URLs(%q) = %q, want %q", "see "+raw+" now", got, want)
			}
		}
	})
}

// isSchemeStart reports whether raw starts with its scheme: every byte
// before the first "://" may be part of a scheme, so URLs takes the same
// span URL is given.
func isSchemeStart(raw string) bool {
	scheme, _, _ := strings.Cut(raw, "://")
	for i := range len(scheme) {
		if !isSchemeByte(scheme[i]) {
			return false
		}
	}
	return true
}

// checkParsed compares what net/url makes of raw and of out, URL(raw).
func checkParsed(t *testing.T, raw, out string) {
	t.Helper()
	in, err := url.Parse(raw)
	if err != nil || in.Opaque != "" {
		// An opaque URL ("user:pass@host" is scheme "user") has no user
		// info for net/url; URL hides what looks like some.
		return
	}
	got, err := url.Parse(out)
	if err != nil {
		t.Fatalf("url.Parse(%q) works, url.Parse(URL(...) = %q) fails: %v", raw, out, err)
	}
	// Without an authority ("//host") net/url reads "u@h" as a path; URL
	// hides what looks like user info there too, so only a URL with one
	// must keep its path.
	hasAuthority := in.Host != "" || in.User != nil
	if got.Scheme != in.Scheme || got.Host != in.Host || hasAuthority && got.Path != in.Path {
		t.Fatalf("URL(%q) = %q changed scheme, host, path or opaque: %#v, want %#v", raw, out,
			[]string{got.Scheme, got.Host, got.Path, got.Opaque}, []string{in.Scheme, in.Host, in.Path, in.Opaque})
	}
	if _, hasPassword := got.User.Password(); got.User != nil && (got.User.Username() != Hidden || hasPassword) {
		t.Fatalf("URL(%q) = %q keeps user info %q", raw, out, got.User.String())
	}
	if got.RawQuery != "" && got.RawQuery != Hidden || got.Fragment != "" && got.Fragment != Hidden {
		t.Fatalf("URL(%q) = %q keeps query %q or fragment %q", raw, out, got.RawQuery, got.Fragment)
	}
}

// FuzzScrubber checks String with one secret, key, on any text. A key of
// secret.Window bytes or more leaves no Window-long part of itself (when
// it has no byte of the markers, which could otherwise spell a part of
// it); one shorter than Window is removed from a field equal to it and
// leaves any other text that holds no URL or credential as it was
// (R3-F20).
func FuzzScrubber(f *testing.F) {
	for _, seed := range []struct{ key, text string }{
		{"k", "upstream.api_key_header=X-API-Key"},
		{"k", "k"},
		{"k", " 'k'\n"},
		{"k", "X-API-Key: k"},
		{"5", "breaker.consecutive_failures=5"},
		{apiKey, "got " + apiKey[3:15] + " back"},
		{apiKey, apiKey + apiKey},
		{"0123456789", "x01234567y23456789z"},
		{"pw", "https://u:pw@h/?pw=pw"},
		{"eyJhbGciOiJIUzI1NiJ9", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln"},
	} {
		f.Add(seed.key, seed.text)
	}
	f.Fuzz(func(t *testing.T, key, text string) {
		out := New(key).String(text)
		switch {
		case key == "":
		case len(key) >= secret.Window:
			if strings.ContainsAny(key, secret.Redacted+Hidden) {
				return
			}
			for i := 0; i+secret.Window <= len(key); i++ {
				if strings.Contains(out, key[i:i+secret.Window]) {
					t.Fatalf("String(%q) with secret %q = %q, holds %q", text, key, out, key[i:i+secret.Window])
				}
			}
		case strings.Trim(text, " \t\r\n\"'`") == key:
			if out != secret.Redacted {
				t.Fatalf("String(%q) with short secret %q = %q, want %q", text, key, out, secret.Redacted)
			}
		case !strings.Contains(text, ":") && !strings.Contains(text, "eyJ") && !hasBearer(text):
			if out != text {
				t.Fatalf("String(%q) with short secret %q = %q, want it unchanged", text, key, out)
			}
		}
	})
}
