package auth

import (
	"errors"
	"unicode"
	"unicode/utf8"

	"github.com/minbil/minbil-bff/contracts/header"
	"github.com/minbil/minbil-bff/gateway/config"
)

// Refusals of the Authorization header: one fixed value per refusal of
// header.Bearer, which it wraps, so a flood of bad headers allocates
// nothing and the log names the header's own reason.
var (
	errMissing      = refuseHeader(ErrMissingToken, header.ErrMissing)
	errAmbiguous    = refuseHeader(ErrMalformedToken, header.ErrAmbiguous)
	errNotBearer    = refuseHeader(ErrMalformedToken, header.ErrNotBearer)
	errEmptyToken   = refuseHeader(ErrMalformedToken, header.ErrEmptyToken)
	errTokenTooLong = refuseHeader(ErrMalformedToken, header.ErrTokenTooLong)
	errTokenCharset = refuseHeader(ErrMalformedToken, header.ErrTokenCharset)
	// errMalformed is any other refusal header.Bearer may grow: malformed,
	// never accepted.
	errMalformed = refuse(ErrMalformedToken, "malformed authorization header", nil)
)

func refuseHeader(kind, cause error) error { return refuse(kind, cause.Error(), cause) }

// bearerToken extracts the token from the Authorization header values with
// the one Bearer parser (contracts/header). dev mode is a mock and takes any
// visible-ASCII token, so the documentation's own "Bearer <access-token>"
// works; jwt and passthrough, whose tokens a verifier reads,
// take RFC 6750's b64token only.
func bearerToken(mode config.AuthMode, values []string) (string, error) {
	syntax := header.B64Token
	if mode == config.AuthDev {
		syntax = header.Opaque
	}
	token, err := header.Bearer(values, syntax)
	if err != nil {
		return "", headerRefusal(err)
	}
	return token, nil
}

// headerRefusal maps a refusal of header.Bearer to its fixed auth error.
func headerRefusal(err error) error {
	switch {
	case errors.Is(err, header.ErrMissing):
		return errMissing
	case errors.Is(err, header.ErrAmbiguous):
		return errAmbiguous
	case errors.Is(err, header.ErrNotBearer):
		return errNotBearer
	case errors.Is(err, header.ErrEmptyToken):
		return errEmptyToken
	case errors.Is(err, header.ErrTokenTooLong):
		return errTokenTooLong
	case errors.Is(err, header.ErrTokenCharset):
		return errTokenCharset
	default:
		return errMalformed
	}
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
// records by it would let a forged token name a victim (OA-05).
func opaqueIdentity(token string) Identity {
	return Identity{Subject: hashedSubject(token), Token: token}
}
