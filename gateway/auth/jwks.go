package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/gateway/config"
)

// Why not keyfunc.NewDefaultOverrideCtx / jwkset.NewHTTPClient as they are
// (v3.9.2 / v0.11.4): their unknown-kid refresh is a rate.Limiter.Wait, so a
// caller blocks up to RateLimitWaitMax for its turn and concurrent callers
// with the same new kid are not coalesced; their clock and ticker are the
// real ones; a failed refresh keeps the old keys forever (no max-stale
// bound); the refresh goroutine stops on a context but cannot be waited
// for; and the response body is read without a size limit. So this file
// owns fetching, scheduling, coalescing and staleness, and uses jwkset to
// parse and validate the JWKs and keyfunc to pick the key for a token (kid
// lookup, JWK alg and use checks).

const (
	// maxJWKSBytes caps a JWKS response.
	maxJWKSBytes = 1 << 20
	// fetchTimeout bounds one JWKS fetch even with a caller's client
	// without a timeout.
	fetchTimeout = 10 * time.Second
	// minRSABits refuses weak RSA keys from the JWKS.
	minRSABits = 2048
)

var errClosed = errors.New("authenticator closed")

// keySet is one successfully fetched JWKS; immutable once published.
type keySet struct {
	kf      keyfunc.Keyfunc
	fetched time.Time // by the Authenticator's clock
	size    int
}

// fetchCall is one JWKS fetch that callers can join.
type fetchCall struct {
	done  chan struct{}
	start time.Time
	err   error // written before done is closed
}

// keySource serves JWKS keys: the last good set while it is at most
// maxStale old, refreshed on a schedule and on unknown kids (coalesced, and
// at most one such fetch per minRefresh whatever the kids).
type keySource struct {
	url        string
	client     *http.Client
	ownClient  bool
	log        *zap.Logger
	now        func() time.Time
	every      time.Duration
	minRefresh time.Duration
	maxStale   time.Duration

	ctx    context.Context // cancelled by close; parent of every fetch
	cancel context.CancelFunc
	wg     sync.WaitGroup // the refresh loop and fetches in flight

	cur atomic.Pointer[keySet]

	mu          sync.Mutex
	closed      bool
	lastAny     time.Time // start of the last fetch, by now
	lastLimited time.Time // start of the last on-demand or failed fetch
	lastErr     error     // outcome of the last fetch
	inflight    *fetchCall
}

// newKeySource serves the keys of j.JWKSURL; j has its defaults.
func newKeySource(j config.JWT, o options, log *zap.Logger) *keySource {
	ks := &keySource{
		url:        j.JWKSURL,
		client:     o.client,
		log:        log,
		now:        o.now,
		every:      j.JWKSRefreshInterval,
		minRefresh: j.JWKSMinRefreshInterval,
		maxStale:   j.JWKSMaxStale,
	}
	if ks.client == nil {
		ks.ownClient = true
		ks.client = &http.Client{
			Timeout: fetchTimeout,
			// The configured URL is the one trusted; a redirect is refused
			// (the non-200 status fails the fetch).
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	ks.ctx, ks.cancel = context.WithCancel(context.Background())
	return ks
}

// start fetches once, synchronously, then runs the scheduled refresh.
func (s *keySource) start() {
	_, err := s.refresh(s.ctx, scheduled)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go s.loop(err == nil)
}

// loop refreshes every s.every; after a failure it retries after
// minRefresh, so the end of an outage is noticed quickly without hammering.
func (s *keySource) loop(ok bool) {
	defer s.wg.Done()
	next := func(ok bool) time.Duration {
		if ok {
			return s.every
		}
		return min(s.minRefresh, s.every)
	}
	t := time.NewTimer(next(ok))
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		_, err := s.refresh(s.ctx, scheduled)
		t.Reset(next(err == nil))
	}
}

func (s *keySource) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
}

// usable returns the current key set, or nil if there is none or it is
// older than maxStale (fail closed).
func (s *keySource) usable(now time.Time) *keySet {
	set := s.cur.Load()
	if set == nil || now.Sub(set.fetched) > s.maxStale {
		return nil
	}
	return set
}

// key returns the verification key for t. An unknown kid, or no fresh key
// set, triggers one refresh (joined if one is running, skipped if one
// started less than minRefresh ago) and one more lookup.
func (s *keySource) key(ctx context.Context, t *jwt.Token) (any, error) {
	before := s.usable(s.now())
	if before != nil {
		k, err := before.kf.Keyfunc(t)
		if !errors.Is(err, jwkset.ErrKeyNotFound) {
			return k, err
		}
	}
	if _, err := s.refresh(ctx, onDemand); ctx.Err() != nil {
		return nil, fmt.Errorf("waiting for jwks refresh: %w", errors.Join(err, ctx.Err()))
	}
	after := s.usable(s.now())
	switch {
	case after == nil:
		return nil, errKeysUnavailable
	case after == before:
		return nil, errUnknownKID
	}
	k, err := after.kf.Keyfunc(t)
	if errors.Is(err, jwkset.ErrKeyNotFound) {
		return nil, errUnknownKID
	}
	return k, err
}

var errRateLimited = errors.New("jwks refresh rate-limited")

// fetchKind says why a fetch is wanted.
type fetchKind int

const (
	// scheduled: at start and on the refresh timer. Skipped when any fetch
	// started less than minRefresh ago (its outcome is returned).
	scheduled fetchKind = iota
	// onDemand: an unknown kid or no fresh keys. Skipped when an on-demand
	// or a failed fetch started less than minRefresh ago, so a flood of
	// random kids causes at most one fetch per minRefresh, while a
	// successful scheduled fetch does not delay the pick-up of a key
	// rotated just after it.
	onDemand
)

// refresh starts a fetch, or joins the one in flight, and waits for it or
// for ctx. It returns the current key set and the fetch's error
// (errRateLimited when it did not start one).
func (s *keySource) refresh(ctx context.Context, kind fetchKind) (*keySet, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.cur.Load(), errClosed
	}
	c := s.inflight
	if c == nil {
		now := s.now()
		switch {
		case kind == scheduled && recent(now, s.lastAny, s.minRefresh):
			err := s.lastErr
			s.mu.Unlock()
			return s.cur.Load(), err
		case kind == onDemand && recent(now, s.lastLimited, s.minRefresh):
			s.mu.Unlock()
			return s.cur.Load(), errRateLimited
		}
		s.lastAny = now
		if kind == onDemand {
			s.lastLimited = now
		}
		c = &fetchCall{done: make(chan struct{}), start: now}
		s.inflight = c
		s.wg.Add(1)
		// The fetch runs under the source's context, not the caller's: a
		// caller that gives up does not fail the fetch for the others.
		go s.fetch(c)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return s.cur.Load(), c.err
	case <-ctx.Done():
		return s.cur.Load(), ctx.Err()
	}
}

// recent reports whether last is set and less than d before now. A clock
// that went backwards counts as recent.
func recent(now, last time.Time, d time.Duration) bool {
	return !last.IsZero() && now.Sub(last) < d
}

func (s *keySource) fetch(c *fetchCall) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.ctx, fetchTimeout)
	defer cancel()
	set, err := s.load(ctx)
	s.mu.Lock()
	if err == nil {
		s.cur.Store(set)
	} else if c.start.After(s.lastLimited) {
		s.lastLimited = c.start
	}
	s.lastErr = err
	s.inflight = nil
	s.mu.Unlock()
	c.err = err
	close(c.done)

	if err != nil {
		fields := []zap.Field{zap.Error(err)}
		if old := s.cur.Load(); old != nil {
			fields = append(fields, zap.Duration("serving_keys_age", s.now().Sub(old.fetched)),
				zap.Duration("max_stale", s.maxStale))
		}
		s.log.Warn("jwks refresh failed; keeping the last good key set", fields...)
		return
	}
	s.log.Debug("jwks refreshed", zap.Int("keys", set.size))
}

// load fetches and parses the JWKS. A response with no usable key is a
// failure, so an IdP glitch does not replace good keys with none.
func (s *keySource) load(ctx context.Context) (*keySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("jwks fetch: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwks read: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("jwks read: body larger than %d bytes", maxJWKSBytes)
	}
	var raw jwkset.JWKSMarshal
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("jwks decode: %w", err)
	}
	keys := make([]jwkset.JWK, 0, len(raw.Keys))
	for _, m := range raw.Keys {
		// Private: false reads only public parameters and refuses
		// symmetric (oct) keys: a JWKS never supplies an HMAC secret.
		k, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil || !verifyingKey(k) {
			s.log.Debug("jwks key skipped", zap.String("kid", m.KID), zap.String("kty", string(m.KTY)))
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwks decode: no usable RS256 or ES256 key among %d", len(raw.Keys))
	}
	store := jwkset.NewMemoryStorage()
	if err := store.KeyReplaceAll(ctx, keys); err != nil {
		return nil, fmt.Errorf("jwks store: %w", err)
	}
	kf, err := keyfunc.New(keyfunc.Options{
		Ctx:          s.ctx,
		Storage:      store,
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err != nil {
		return nil, fmt.Errorf("jwks keyfunc: %w", err)
	}
	return &keySet{kf: kf, fetched: s.now(), size: len(keys)}, nil
}

// verifyingKey keeps RSA keys of at least minRSABits and P-256 keys: the
// only ones RS256 and ES256 can use.
func verifyingKey(k jwkset.JWK) bool {
	switch key := k.Key().(type) {
	case *rsa.PublicKey:
		return key.N.BitLen() >= minRSABits
	case *ecdsa.PublicKey:
		return key.Curve == elliptic.P256()
	}
	return false
}
