package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/minbil/minbil-bff/gateway/config"
)

// verified is a token-cache entry: what a verified token proved, and until
// when.
type verified struct {
	subject    string
	logSubject string
	// deadline is exp+leeway: the token is valid while now is before it.
	deadline time.Time
	// kid and key name the JWKS key that verified the token; key is nil for
	// HS256. Such an entry is served only while the current key set is
	// fresh and still maps kid to key, so a key the JWKS dropped stops
	// working at once, not at the token's expiry (OA-03).
	kid string
	key any
}

// Key-lookup refusals.
var (
	errCritHeader      = errors.New("crit header present")
	errTokenType       = errors.New("typ is not at+jwt")
	errNoKeyForAlg     = errors.New("no key configured for the algorithm")
	errUnknownKID      = errors.New("unknown key id")
	errKeysUnavailable = errors.New("no fresh key set")
	errLifetime        = errors.New("lifetime exceeds max")
	errSubject         = errors.New("missing or invalid sub")
)

// verify checks token in jwt mode, answering from the token cache when it
// can. A cached token is served only while now < exp+leeway; past that it
// is verified again, which refuses it with the precise reason.
func (a *Authenticator) verify(ctx context.Context, token string) (Identity, error) {
	var key [32]byte
	if a.cache != nil {
		key = sha256.Sum256(bytesOf(token))
		if v, ok := a.cache.Get(key); ok {
			now := a.now()
			if now.Before(v.deadline) && (v.key == nil || a.jwks.holds(now, v.kid, v.key)) {
				return Identity{Subject: v.subject, Token: token, logSubject: v.logSubject}, nil
			}
			a.cache.Remove(key)
		}
	}

	a.verifications.Add(1)
	var (
		c       claims
		usedKey any
	)
	kf := a.keyFunc(ctx)
	t, err := a.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		k, err := kf(t)
		usedKey = k
		return k, err
	})
	if err != nil {
		return Identity{}, refusal(ctx, err)
	}
	exp := c.ExpiresAt.Time // required by the parser, so not nil
	if c.IssuedAt != nil {
		if exp.Sub(c.IssuedAt.Time) > a.maxLifetime {
			return Identity{}, refuse(ErrInvalidToken, "lifetime exceeds max", errLifetime)
		}
	} else if exp.Sub(a.now()) > a.maxLifetime+a.leeway {
		// Without iat the lifetime is unknown; bound what is left of it.
		return Identity{}, refuse(ErrInvalidToken, "lifetime exceeds max", errLifetime)
	}
	if !validSubject(c.Subject) {
		return Identity{}, refuse(ErrInvalidToken, "missing or invalid sub", errSubject)
	}
	v := verified{
		subject:    c.Subject,
		logSubject: logSubjectOf(c.Subject),
		deadline:   exp.Add(a.leeway),
	}
	if t.Method.Alg() != config.AlgHS256 {
		v.kid, _ = t.Header["kid"].(string)
		v.key = usedKey
	}
	if a.cache != nil {
		a.cache.Add(key, v)
	}
	return Identity{Subject: v.subject, Token: token, logSubject: v.logSubject}, nil
}

// keyFunc picks the verification key by the token's algorithm, which the
// parser has already checked against the allowlist. Headers that point at
// keys (jku, x5u, jwk, x5c) are never read. A token of the wrong typ is
// refused here, before any key is looked up or fetched for it.
func (a *Authenticator) keyFunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			// RFC 7515 §4.1.11: no extension is understood here.
			return nil, errCritHeader
		}
		if a.accessType && !isAccessTokenType(t.Header["typ"]) {
			return nil, errTokenType
		}
		switch t.Method.Alg() {
		case config.AlgHS256:
			if a.hmacKey != nil {
				return a.hmacKey, nil
			}
		case config.AlgRS256, config.AlgES256:
			if a.jwks != nil {
				return a.jwks.key(ctx, t)
			}
		}
		return nil, errNoKeyForAlg
	}
}

// isAccessTokenType reports whether a JOSE typ names an RFC 9068 access
// token: at+jwt, or application/at+jwt. typ is a media type, compared
// without regard to case (RFC 7515 §4.1.9).
func isAccessTokenType(typ any) bool {
	s, ok := typ.(string)
	return ok && (strings.EqualFold(s, "at+jwt") || strings.EqualFold(s, "application/at+jwt"))
}

// refusal maps a parse error to ErrInvalidToken with a fixed reason for the
// logs (S-12: the client sees the same challenge for all of them).
func refusal(ctx context.Context, err error) error {
	reason := "invalid"
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		reason = "cancelled while waiting for keys"
	case errors.Is(err, errUnknownKID):
		reason = "unknown key id"
	case errors.Is(err, errKeysUnavailable):
		reason = "no fresh key set"
	case errors.Is(err, errNoKeyForAlg):
		reason = "no key for algorithm"
	case errors.Is(err, errCritHeader):
		reason = "crit header"
	case errors.Is(err, errTokenType):
		reason = "not an access token (typ)"
	case errors.Is(err, jwt.ErrTokenMalformed):
		reason = "malformed jwt"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		reason = "signature invalid or algorithm not allowed"
	case errors.Is(err, jwt.ErrTokenExpired):
		reason = "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		reason = "not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		reason = "issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		reason = "issuer mismatch"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		reason = "audience mismatch"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		reason = "required claim missing"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		reason = "unverifiable"
	}
	return refuse(ErrInvalidToken, reason, err)
}

// claims are the registered claims this package reads. Unlike
// jwt.RegisteredClaims, the time claims accept only JSON numbers in a sane
// range: "exp":"9999999999", 1e300, -1 and true are refused, and null is
// the same as absent (so a required exp is missing).
type claims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.ClaimStrings `json:"aud"`
	ExpiresAt *numericDate     `json:"exp"`
	NotBefore *numericDate     `json:"nbf"`
	IssuedAt  *numericDate     `json:"iat"`
}

var _ jwt.Claims = (*claims)(nil)

func (c *claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt.jwt(), nil }
func (c *claims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore.jwt(), nil }
func (c *claims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt.jwt(), nil }
func (c *claims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *claims) GetAudience() (jwt.ClaimStrings, error)       { return c.Audience, nil }

// maxNumericDate is 9999-12-31T23:59:59Z.
const maxNumericDate = 253402300799

// numericDate is an RFC 7519 NumericDate that must be a JSON number in
// [0, maxNumericDate].
type numericDate struct{ time.Time }

// UnmarshalJSON refuses strings, booleans, objects and out-of-range numbers.
func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || !(b[0] == '-' || '0' <= b[0] && b[0] <= '9') {
		return errors.New("numeric date is not a JSON number")
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return errors.New("numeric date out of range")
	}
	sec, frac := math.Modf(f)
	d.Time = time.Unix(int64(sec), int64(frac*1e9))
	return nil
}

func (d *numericDate) jwt() *jwt.NumericDate {
	if d == nil {
		return nil
	}
	return &jwt.NumericDate{Time: d.Time}
}
