// Package header parses the request headers the contract defines: Bearer
// credentials (the bearerAuth scheme), Idempotency-Key, and the media type
// and encoding of a JSON body; and the mock's development header
// X-Mock-Session, which a gateway in front of the mock forwards. The mock
// and the gateway both read headers through it, so the two can never
// disagree on what a header means.
package header

import (
	"errors"
	"mime"
	"strings"

	"github.com/valyala/fasthttp"
)

// Values returns every value of the request header name, copied out of
// fasthttp's buffers, which the next request on the connection reuses: a
// caller may keep them (the gateway's authenticator caches tokens). The
// parsers here take all of a header's values, so that a repeated header
// is refused rather than one of them picked (BI-29).
func Values(h *fasthttp.RequestHeader, name string) []string {
	var out []string
	for _, v := range h.PeekAll(name) {
		out = append(out, string(v))
	}
	return out
}

// Refusals of an Authorization header. They are fixed values: a flood of
// bad headers allocates nothing.
var (
	ErrMissing      = errors.New("no authorization header")
	ErrAmbiguous    = errors.New("more than one authorization header")
	ErrNotBearer    = errors.New("scheme is not bearer")
	ErrEmptyToken   = errors.New("empty bearer token")
	ErrTokenTooLong = errors.New("bearer token too long")
	ErrTokenCharset = errors.New("bearer token has characters its syntax does not allow")
)

// MaxTokenBytes caps the length of a bearer token (8 KiB, far above any
// real JWT).
const MaxTokenBytes = 8 << 10

// TokenSyntax is what a bearer token may consist of.
type TokenSyntax int

const (
	// B64Token is RFC 6750's b64token, for verified tokens (jwt and
	// passthrough modes):
	//	b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
	B64Token TokenSyntax = iota
	// Opaque is any run of visible ASCII characters: what a mock and dev mode
	// accept, so the documentation's own "Bearer <access-token>" works.
	Opaque
)

// Bearer extracts the token from the Authorization header values:
// "Bearer" 1*SP token (RFC 6750 §2.1). The scheme is case-insensitive;
// optional whitespace around the whole value is ignored (RFC 9110 §5.5),
// whitespace inside the token is not. More than one value is refused
// rather than picking one (BI-29).
func Bearer(values []string, syntax TokenSyntax) (string, error) {
	switch len(values) {
	case 0:
		return "", ErrMissing
	case 1:
	default:
		return "", ErrAmbiguous
	}
	v := strings.Trim(values[0], " \t")
	const scheme = "bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", ErrNotBearer
	}
	rest := v[len(scheme):]
	if rest == "" {
		return "", ErrEmptyToken
	}
	if rest[0] != ' ' {
		// "Bearerx", "Bearer\tx": not the bearer scheme followed by SP.
		return "", ErrNotBearer
	}
	token := strings.TrimLeft(rest, " ")
	switch {
	case token == "":
		return "", ErrEmptyToken
	case len(token) > MaxTokenBytes:
		return "", ErrTokenTooLong
	case syntax == B64Token && !isB64Token(token), syntax == Opaque && !isVisibleASCII(token):
		return "", ErrTokenCharset
	}
	return token, nil
}

func isB64Token(s string) bool {
	i := 0
	for ; i < len(s) && isB64Char(s[i]); i++ {
	}
	if i == 0 {
		return false // only "=" or nothing
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

func isB64Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

// isVisibleASCII reports whether s is made of visible ASCII characters only
// (no space, no control character, nothing beyond ASCII).
func isVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted, as the
// contract says.
const MaxIdempotencyKeyLen = 255

// Refusals of an Idempotency-Key header.
var (
	ErrIdempotencyKeyRepeated = errors.New("more than one Idempotency-Key header")
	ErrIdempotencyKeyInvalid  = errors.New("Idempotency-Key is not 1–255 visible ASCII characters")
)

// IdempotencyKeyName is the header a client names a rating's retries by.
const IdempotencyKeyName = "Idempotency-Key"

// IdempotencyKey validates the optional Idempotency-Key header values:
// given at most once, 1–255 visible ASCII characters. It returns "" when
// there is none.
func IdempotencyKey(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", ErrIdempotencyKeyRepeated
	}
	k := values[0]
	if k == "" || len(k) > MaxIdempotencyKeyLen || !isVisibleASCII(k) {
		return "", ErrIdempotencyKeyInvalid
	}
	return k, nil
}

// Refusals of a request body's headers.
var (
	ErrEncoded      = errors.New("body has a Content-Encoding")
	ErrNotJSONMedia = errors.New("body is not application/json")
)

// JSONBody accepts a request body sent as application/json (with at most a
// utf-8 charset) and without a Content-Encoding other than identity: a
// compressed body would be inflated without a limit.
func JSONBody(contentType, contentEncoding string) error {
	if enc := strings.TrimSpace(contentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		return ErrEncoded
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return ErrNotJSONMedia
	}
	for name, value := range params {
		if name != "charset" || !strings.EqualFold(value, "utf-8") {
			return ErrNotJSONMedia
		}
	}
	return nil
}
