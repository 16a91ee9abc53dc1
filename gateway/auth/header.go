package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Header refusals are fixed values: a flood of bad headers allocates nothing.
var (
	errMissing      = refuse(ErrMissingToken, "no authorization header", nil)
	errAmbiguous    = refuse(ErrMalformedToken, "more than one authorization header", nil)
	errNotBearer    = refuse(ErrMalformedToken, "scheme is not bearer", nil)
	errEmptyToken   = refuse(ErrMalformedToken, "empty bearer token", nil)
	errTokenTooLong = refuse(ErrMalformedToken, "bearer token too long", nil)
	errTokenCharset = refuse(ErrMalformedToken, "bearer token outside the b64token syntax", nil)
)

// bearerToken extracts the token from the Authorization header values:
//
//	credentials = "Bearer" 1*SP b64token            (RFC 6750 §2.1)
//	b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// The scheme is case-insensitive. Optional whitespace around the whole value
// is ignored (RFC 9110 §5.5), whitespace inside the token is not. More than
// one value is refused rather than picking one (BI-29).
func bearerToken(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", errMissing
	case 1:
	default:
		return "", errAmbiguous
	}
	v := strings.Trim(values[0], " \t")
	const scheme = "bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", errNotBearer
	}
	rest := v[len(scheme):]
	if rest == "" {
		return "", errEmptyToken
	}
	if rest[0] != ' ' {
		// "Bearerx", "Bearer\tx": not the bearer scheme followed by SP.
		return "", errNotBearer
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" {
		return "", errEmptyToken
	}
	if len(token) > MaxTokenBytes {
		return "", errTokenTooLong
	}
	if !isB64Token(token) {
		return "", errTokenCharset
	}
	return token, nil
}

func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		switch c {
		case '-', '.', '_', '~', '+', '/':
			continue
		}
		break
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

// maxSubjectBytes caps a subject taken from a token.
const maxSubjectBytes = 256

// validSubject accepts a non-empty, bounded, valid UTF-8 subject without
// control or invisible format characters, so a subject is safe to use as a
// key, to log hashed and to forward.
func validSubject(sub string) bool {
	if sub == "" || len(sub) > maxSubjectBytes || !utf8.ValidString(sub) {
		return false
	}
	for _, r := range sub {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

// opaqueIdentity is the identity in dev and passthrough modes: a digest of
// the whole token, never a claim. Nobody verified the token, so its sub
// proves nothing: keying rate limits, the username cache or idempotency
// records by it would let a forged token name a victim (issue 13 #5).
func opaqueIdentity(token string) Identity {
	return Identity{Subject: hashedSubject(token), Token: token}
}
