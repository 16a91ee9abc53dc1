package header

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestBearer(t *testing.T) {
	tok := "abc.DEF-123_~+/=="
	tests := []struct {
		name       string
		values     []string
		wantB64    error // nil: accepted as B64Token with wantTok
		wantOpaque error // nil: accepted as Opaque with wantTok
		wantTok    string
	}{
		{name: "BI-25/no header", values: nil, wantB64: ErrMissing, wantOpaque: ErrMissing},
		{name: "BI-26/basic", values: []string{"Basic dXNlcjpw"}, wantB64: ErrNotBearer, wantOpaque: ErrNotBearer},
		{name: "BI-26/other scheme", values: []string{"Token abc"}, wantB64: ErrNotBearer, wantOpaque: ErrNotBearer},
		{name: "BI-27/bearer alone", values: []string{"Bearer"}, wantB64: ErrEmptyToken, wantOpaque: ErrEmptyToken},
		{name: "BI-27/bearer and spaces", values: []string{"Bearer   "}, wantB64: ErrEmptyToken, wantOpaque: ErrEmptyToken},
		{name: "BI-27/empty value", values: []string{""}, wantB64: ErrNotBearer, wantOpaque: ErrNotBearer},
		{name: "BI-27/only padding", values: []string{"Bearer ==="}, wantB64: ErrTokenCharset, wantTok: "==="},
		{name: "BI-27/no space after scheme", values: []string{"Bearerabc"}, wantB64: ErrNotBearer, wantOpaque: ErrNotBearer},
		{name: "BI-27/tab after scheme", values: []string{"Bearer\tabc"}, wantB64: ErrNotBearer, wantOpaque: ErrNotBearer},
		{name: "BI-28/canonical", values: []string{"Bearer " + tok}, wantTok: tok},
		{name: "BI-28/mixed case and whitespace", values: []string{" \tbEaReR   " + tok + " \t"}, wantTok: tok},
		{name: "BI-29/two headers", values: []string{"Bearer a", "Bearer b"}, wantB64: ErrAmbiguous, wantOpaque: ErrAmbiguous},
		{name: "BI-30/space inside", values: []string{"Bearer ab cd"}, wantB64: ErrTokenCharset, wantOpaque: ErrTokenCharset},
		{name: "BI-30/tab inside", values: []string{"Bearer ab\tcd"}, wantB64: ErrTokenCharset, wantOpaque: ErrTokenCharset},
		{name: "BI-30/NUL", values: []string{"Bearer ab\x00cd"}, wantB64: ErrTokenCharset, wantOpaque: ErrTokenCharset},
		{name: "BI-30/CRLF", values: []string{"Bearer ab\r\nX-Evil: 1"}, wantB64: ErrTokenCharset, wantOpaque: ErrTokenCharset},
		{name: "BI-30/non-ASCII", values: []string{"Bearer abcø"}, wantB64: ErrTokenCharset, wantOpaque: ErrTokenCharset},
		{name: "BI-30/DEL", values: []string{"Bearer ab\x7fcd"}, wantB64: ErrTokenCharset, wantOpaque: ErrTokenCharset},
		{name: "documentation placeholder", values: []string{"Bearer <access-token>"}, wantB64: ErrTokenCharset, wantTok: "<access-token>"},
		{name: "BI-30/comma", values: []string{"Bearer ab,cd"}, wantB64: ErrTokenCharset, wantTok: "ab,cd"},
		{name: "BI-30/padding not at the end", values: []string{"Bearer ab=cd"}, wantB64: ErrTokenCharset, wantTok: "ab=cd"},
		{name: "BI-31/at the cap", values: []string{"Bearer " + strings.Repeat("a", MaxTokenBytes)}, wantTok: strings.Repeat("a", MaxTokenBytes)},
		{name: "BI-31/over the cap", values: []string{"Bearer " + strings.Repeat("a", MaxTokenBytes+1)}, wantB64: ErrTokenTooLong, wantOpaque: ErrTokenTooLong},
	}
	for _, tt := range tests {
		for _, s := range []struct {
			name    string
			syntax  TokenSyntax
			wantErr error
		}{{"b64token", B64Token, tt.wantB64}, {"opaque", Opaque, tt.wantOpaque}} {
			t.Run(tt.name+"/"+s.name, func(t *testing.T) {
				got, err := Bearer(tt.values, s.syntax)
				if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
					t.Fatalf("Bearer(%.40q) error = %v, want %v", tt.values, err, s.wantErr)
				}
				want := tt.wantTok
				if s.wantErr != nil {
					want = ""
				}
				if got != want {
					t.Errorf("Bearer(%.40q) = %.40q, want %.40q", tt.values, got, want)
				}
			})
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		want    string
		wantErr error
	}{
		{name: "none", values: nil},
		{name: "uuid", values: []string{"5f0c1e9a-7d2b-4c3e-9f1a-2b3c4d5e6f70"}, want: "5f0c1e9a-7d2b-4c3e-9f1a-2b3c4d5e6f70"},
		{name: "longest", values: []string{strings.Repeat("k", MaxIdempotencyKeyLen)}, want: strings.Repeat("k", MaxIdempotencyKeyLen)},
		{name: "too long", values: []string{strings.Repeat("k", MaxIdempotencyKeyLen+1)}, wantErr: ErrIdempotencyKeyInvalid},
		{name: "empty", values: []string{""}, wantErr: ErrIdempotencyKeyInvalid},
		{name: "space", values: []string{"a b"}, wantErr: ErrIdempotencyKeyInvalid},
		{name: "non-ASCII", values: []string{"nøkkel"}, wantErr: ErrIdempotencyKeyInvalid},
		{name: "twice", values: []string{"a", "b"}, wantErr: ErrIdempotencyKeyRepeated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := IdempotencyKey(tt.values)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("IdempotencyKey(%.40q) = %q, %v, want %q, %v", tt.values, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestJSONBody(t *testing.T) {
	tests := []struct {
		name, contentType, encoding string
		wantErr                     error
	}{
		{name: "plain", contentType: "application/json"},
		{name: "utf-8", contentType: "application/json; charset=UTF-8"},
		{name: "identity encoding", contentType: "application/json", encoding: "identity"},
		{name: "gzip", contentType: "application/json", encoding: "gzip", wantErr: ErrEncoded},
		{name: "missing", contentType: "", wantErr: ErrNotJSONMedia},
		{name: "text", contentType: "text/plain", wantErr: ErrNotJSONMedia},
		{name: "latin-1", contentType: "application/json; charset=iso-8859-1", wantErr: ErrNotJSONMedia},
		{name: "other parameter", contentType: "application/json; boundary=x", wantErr: ErrNotJSONMedia},
		{name: "suffix type", contentType: "application/problem+json", wantErr: ErrNotJSONMedia},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := JSONBody(tt.contentType, tt.encoding); !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("JSONBody(%q, %q) = %v, want %v", tt.contentType, tt.encoding, err, tt.wantErr)
			}
		})
	}
}

// FuzzBearer checks that an accepted token is always a substring of the
// header, within the cap, and free of white space and control characters.
func FuzzBearer(f *testing.F) {
	for _, seed := range []string{"Bearer abc", "bearer <access-token>", "Bearer a b", "Bearer\x00", "Basic x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, syntax := range []TokenSyntax{B64Token, Opaque} {
			tok, err := Bearer([]string{v}, syntax)
			if err != nil {
				continue
			}
			if tok == "" || len(tok) > MaxTokenBytes || !strings.Contains(v, tok) || !isVisibleASCII(tok) {
				t.Fatalf("Bearer(%q, %d) = %q", v, syntax, tok)
			}
		}
	})
}

func TestValues(t *testing.T) {
	tests := []struct {
		name string
		sent []string // the values of X-Test, in order
		want []string
	}{
		{name: "none", sent: nil, want: nil},
		{name: "one", sent: []string{"Bearer a"}, want: []string{"Bearer a"}},
		{name: "BI-29/two kept apart", sent: []string{"Bearer a", "Bearer b"}, want: []string{"Bearer a", "Bearer b"}},
		{name: "empty value", sent: []string{""}, want: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h fasthttp.RequestHeader
			for _, v := range tt.sent {
				h.Add("X-Test", v)
			}
			got := Values(&h, "x-test")
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Values = %q, want %q", got, tt.want)
			}
			// The values outlive the request: reusing the header for the
			// next one (values of the same lengths, written into the same
			// buffers) leaves them as they were.
			h.Reset()
			for _, v := range tt.sent {
				h.Add("X-Test", strings.Repeat("x", len(v)))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Values after the header was reused = %q, want %q", got, tt.want)
			}
		})
	}
}
