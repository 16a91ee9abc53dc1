// Package auth authenticates callers of the gateway from their Authorization
// header.
//
// It has three modes (config.Auth.Mode): dev accepts any Bearer token of
// visible ASCII characters and passthrough any b64token (RFC 6750), both
// without verifying it; jwt verifies signed tokens (HS256 with a shared
// secret, RS256 and ES256 with keys from a JWKS URL), and when configured
// accepts only access tokens typed at+jwt (RFC 9068).
// Whether a route requires a token is the gateway's decision; this package
// only answers "who is calling, if anyone can tell".
//
// Errors returned by Authenticate wrap exactly one of ErrMissingToken,
// ErrMalformedToken and ErrInvalidToken. Their text is meant for logs: it
// names a fixed reason and never contains the token, its claims or its
// header values. Challenge turns them into a WWW-Authenticate value that
// never says why a token was refused.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/minbil/minbil-bff/gateway/config"
)

// Sentinel errors. Every error returned by Authenticate wraps exactly one.
var (
	// ErrMissingToken means the request carried no Authorization header.
	ErrMissingToken = errors.New("missing bearer token")
	// ErrMalformedToken means the Authorization header is not one
	// well-formed Bearer credential (RFC 6750 §2.1): another scheme, an
	// empty token, characters its mode does not allow (outside b64token in
	// jwt and passthrough modes, outside visible ASCII in dev mode), a
	// token longer than header.MaxTokenBytes, or more than one
	// Authorization header.
	ErrMalformedToken = errors.New("malformed bearer credential")
	// ErrInvalidToken means a well-formed Bearer token was refused in jwt
	// mode: bad signature, disallowed algorithm, expired, wrong issuer or
	// audience, unknown key, keys unavailable, and so on. dev and
	// passthrough modes never return it.
	ErrInvalidToken = errors.New("invalid token")
)

// Realm is the realm named in every challenge.
const Realm = "minbil"

const (
	challengeMissing = `Bearer realm="` + Realm + `"`
	challengeRequest = `Bearer realm="` + Realm + `", error="invalid_request"`
	challengeInvalid = `Bearer realm="` + Realm + `", error="invalid_token"`
)

// Challenge returns the WWW-Authenticate value for an error returned by
// Authenticate: no error code when the token is missing (or err is nil),
// invalid_request when the header is malformed, invalid_token otherwise.
// Any other error, including a context error, gets invalid_token, so an
// unexpected failure never looks like success. It never says why a token
// was refused (S-12): expired, bad signature and unknown key look the same.
func Challenge(err error) string {
	switch {
	case err == nil, errors.Is(err, ErrMissingToken):
		return challengeMissing
	case errors.Is(err, ErrMalformedToken):
		return challengeRequest
	default:
		return challengeInvalid
	}
}

// authError is a refusal: one sentinel, a fixed reason safe for logs, and
// optionally the underlying cause. Error() deliberately leaves out the
// cause's text, which may come from a library and quote token material.
type authError struct {
	kind   error
	reason string
	cause  error
}

func (e *authError) Error() string { return e.kind.Error() + ": " + e.reason }

// Is matches the sentinel without allocating (errors.Is on a refused
// request is on the hot path of a flood).
func (e *authError) Is(target error) bool { return target == e.kind }

func (e *authError) Unwrap() error { return e.cause }

func refuse(kind error, reason string, cause error) error {
	return &authError{kind: kind, reason: reason, cause: cause}
}

// Identity is an authenticated caller. The zero value means no caller.
//
// Identity formats itself (fmt verbs, zap fields) as its LogSubject only, so
// logging it by mistake does not leak the token (S-01, S-09).
type Identity struct {
	// Subject identifies the caller; the gateway keys rate limits, the
	// username cache and idempotency records by it. In jwt mode it is the
	// verified sub claim. In dev and passthrough modes, where nothing is
	// verified, it is always HashedSubjectPrefix followed by a digest of
	// the whole token, never a claim read from it: an unsigned token naming
	// a victim's sub must not share the victim's limits, cache entries or
	// records. It is never the raw token.
	Subject string
	// Token is the raw bearer token, without the scheme, for forwarding
	// upstream. Never log it.
	Token string

	logSubject string
}

// HashedSubjectPrefix starts the Subject of every token in dev and
// passthrough modes: the prefix followed by 32 hex digits of the token's
// SHA-256.
const HashedSubjectPrefix = "tok-sha256:"

// LogSubject returns a short SHA-256-based hash of Subject (16 hex digits),
// safe for logs and metrics. The zero Identity returns "".
func (i Identity) LogSubject() string {
	if i.logSubject != "" {
		return i.logSubject
	}
	if i.Subject == "" {
		return ""
	}
	return logSubjectOf(i.Subject)
}

// String returns a redacted form naming only LogSubject.
func (i Identity) String() string { return "auth.Identity{sub_hash:" + i.LogSubject() + "}" }

// GoString is String, so %#v does not print the token either.
func (i Identity) GoString() string { return i.String() }

// MarshalLogObject lets zap.Any and zap.Object log only the hashed subject.
func (i Identity) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("sub_hash", i.LogSubject())
	return nil
}

var _ zapcore.ObjectMarshaler = Identity{}

func logSubjectOf(sub string) string {
	sum := sha256.Sum256(bytesOf(sub))
	return hex.EncodeToString(sum[:8])
}

func hashedSubject(token string) string {
	sum := sha256.Sum256(bytesOf(token))
	return HashedSubjectPrefix + hex.EncodeToString(sum[:16])
}

// bytesOf views s as a byte slice without copying. Only for read-only use:
// the hash functions it feeds never write to their input.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// Option changes how New builds an Authenticator.
type Option func(*options)

type options struct {
	now    func() time.Time
	client *http.Client
}

// WithClock replaces time.Now for every time decision (token expiry, JWKS
// staleness and refresh rate limits), so tests move time instead of
// sleeping. nil means time.Now. Timers of the scheduled JWKS refresh still
// run on the real clock. It is a test seam: production never sets it, and
// deadcode lists it for that reason.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithHTTPClient sets the client that fetches the JWKS. nil means a private
// client with a 10 s timeout that does not follow redirects. The caller
// owns a client it passes in; Close does not close its idle connections.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) { o.client = c }
}

// Authenticator authenticates requests from their Authorization header
// values. Build it with New; the zero value is not usable. It is safe for
// concurrent use. Close stops its background JWKS refresh.
type Authenticator struct {
	mode config.AuthMode
	log  *zap.Logger
	now  func() time.Time

	// jwt mode
	parser      *jwt.Parser
	algs        []string
	hmacKey     []byte
	leeway      time.Duration
	maxLifetime time.Duration
	jwks        *keySource                     // nil without a JWKS URL
	cache       *lru.Cache[[32]byte, verified] // nil when disabled
	// accessType refuses a token whose typ is not at+jwt (RFC 9068).
	accessType bool

	// verifications counts full signature verifications, so tests can tell
	// a cache hit from a miss.
	verifications atomic.Int64
	closeOnce     sync.Once
}

// New validates cfg with cfg.Validate (the configuration's one set of
// checks; the error joins a *config.FieldError per problem) and returns an
// Authenticator. In jwt mode with a JWKS URL it fetches the key set once
// (bounded by the HTTP client's timeout) and starts the scheduled refresh;
// a failed first fetch is logged, not returned: tokens signed with JWKS
// keys are then refused until a fetch succeeds. log may be nil (no logs).
func New(cfg config.Auth, log *zap.Logger, opts ...Option) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("auth")
	a := &Authenticator{mode: cfg.Mode, log: log, now: o.now}
	switch cfg.Mode {
	case config.AuthDev:
		log.Warn("auth mode dev: bearer tokens are accepted without verification")
		return a, nil
	case config.AuthPassthrough:
		log.Info("auth mode passthrough: bearer tokens are checked for shape only; the upstream verifies them")
		return a, nil
	case config.AuthLocalIDP:
		// Only the assembly knows the built-in provider's keys:
		// cmd/internal/wire turns local-idp into jwt settings naming them.
		return nil, errors.New("auth: auth.mode local-idp is built as jwt mode against the in-process mock (cmd/internal/wire)")
	}
	if err := a.setupJWT(cfg.JWT.WithDefaults(), o); err != nil {
		return nil, err
	}
	return a, nil
}

// setupJWT prepares jwt mode from validated settings with their defaults.
func (a *Authenticator) setupJWT(j config.JWT, o options) error {
	a.algs = j.Algorithms
	a.leeway = j.Leeway
	a.maxLifetime = j.MaxLifetime
	a.accessType = j.RequireAccessTokenType
	if j.HS256Secret != "" {
		a.hmacKey = []byte(j.HS256Secret)
	}
	a.parser = jwt.NewParser(parserOptions(j, o.now)...)
	if j.TokenCacheSize > 0 {
		c, err := lru.New[[32]byte, verified](j.TokenCacheSize)
		if err != nil {
			return fmt.Errorf("auth.jwt.token_cache_size: %w", err)
		}
		a.cache = c
	}
	if j.JWKSURL != "" {
		a.jwks = newKeySource(j, o, a.log.Named("jwks"))
		a.jwks.start()
	}
	a.log.Info("auth mode jwt",
		zap.Strings("algorithms", j.Algorithms),
		zap.Bool("jwks", j.JWKSURL != ""),
		zap.Bool("hs256_secret", j.HS256Secret != ""),
		zap.Bool("require_access_token_type", j.RequireAccessTokenType),
		zap.Int("token_cache_size", j.TokenCacheSize))
	return nil
}

// parserOptions are the checks of every token in jwt mode.
func parserOptions(j config.JWT, now func() time.Time) []jwt.ParserOption {
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(j.Algorithms),
		jwt.WithLeeway(j.Leeway),
		jwt.WithTimeFunc(now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
	}
	if j.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(j.Issuer))
	}
	if j.Audience != "" {
		popts = append(popts, jwt.WithAudience(j.Audience))
	}
	return popts
}

// Close stops the background JWKS refresh and waits for it. It is
// idempotent. Authenticate keeps working after Close with the keys it had,
// but no longer refreshes them.
func (a *Authenticator) Close() {
	a.closeOnce.Do(func() {
		if a.jwks != nil {
			a.jwks.close()
		}
	})
}

// Authenticate checks the values of the request's Authorization header (all
// of them, in order; nil or empty means none was sent) and returns the
// caller. A returned error wraps ErrMissingToken, ErrMalformedToken or
// ErrInvalidToken; while waiting for a JWKS refresh it may also wrap ctx's
// error. ctx bounds only that wait.
func (a *Authenticator) Authenticate(ctx context.Context, authorization []string) (Identity, error) {
	token, err := bearerToken(a.mode, authorization)
	if err != nil {
		return Identity{}, err
	}
	if a.mode != config.AuthJWT {
		return opaqueIdentity(token), nil
	}
	return a.verify(ctx, token)
}
