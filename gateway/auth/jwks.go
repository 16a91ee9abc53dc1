package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
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
// caller blocks up to RateLimitWaitMax for its turn, concurrent callers
// with the same new kid are not coalesced, and one limiter is a budget that
// a flood of junk kids spends before a genuinely new kid arrives; their clock and ticker are the
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
	// seenSlots sizes the table of unknown kids refused since the last
	// fetch (8 bytes a slot).
	seenSlots = 4096
)

var errClosed = errors.New("authenticator closed")

// keySet is one successfully fetched JWKS; immutable once published.
type keySet struct {
	kf      keyfunc.Keyfunc
	byKID   map[string]any // kid → public key
	fetched time.Time      // by the Authenticator's clock
	size    int
}

// holds reports whether the set maps kid to key, the same key material.
func (k *keySet) holds(kid string, key any) bool {
	cur, ok := k.byKID[kid].(interface{ Equal(crypto.PublicKey) bool })
	return ok && cur.Equal(key)
}

// fetchCall is one JWKS fetch that callers can join.
type fetchCall struct {
	done  chan struct{}
	start time.Time
	err   error // written before done is closed
}

// keySource serves JWKS keys: the last good set while it is at most
// maxStale old, refreshed on a schedule and on unknown kids (coalesced).
// Unknown kids have two allowances of one fetch per minRefresh each: the
// first for any kid, the reserve for a kid that comes back after being
// refused. A flood of random kids spends only the first, so it cannot
// starve a genuine rotation, whose new kid comes back request after
// request; a flood that repeats its kids spends both, which still bounds
// the fetches to two per minRefresh.
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
	lastReserve time.Time // start of the last fetch for a kid that came back
	lastErr     error     // outcome of the last fetch
	inflight    *fetchCall
	// seen holds the hashes of unknown kids refused since the last fetch
	// began (0 is an empty slot). A random kid overwrites whatever slot it
	// lands in, so junk never fills the table for good.
	seen [seenSlots]uint64
	seed maphash.Seed
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
		seed:       maphash.MakeSeed(),
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
	_, err := s.refresh(s.ctx, scheduled, 0)
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
		_, err := s.refresh(s.ctx, scheduled, 0)
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

// holds reports whether the current key set is fresh and maps kid to key:
// a verification cached with a key is valid only while the key is still
// published.
func (s *keySource) holds(now time.Time, kid string, key any) bool {
	set := s.usable(now)
	return set != nil && set.holds(kid, key)
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
// set, triggers one refresh (joined if one is running, skipped when its
// allowance is spent) and one more lookup.
func (s *keySource) key(ctx context.Context, t *jwt.Token) (any, error) {
	before := s.usable(s.now())
	var kid uint64
	if before != nil {
		k, err := before.kf.Keyfunc(t)
		if !errors.Is(err, jwkset.ErrKeyNotFound) {
			return k, err
		}
		// Only a kid unknown to a fresh set may use the reserve: with no
		// fresh set the IdP is failing, and more fetches would not help.
		kid = s.kidHash(t)
	}
	if _, err := s.refresh(ctx, onDemand, kid); ctx.Err() != nil {
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

// kidHash returns a hash of t's kid for the table of refused kids, or 0 when
// it has none.
func (s *keySource) kidHash(t *jwt.Token) uint64 {
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return 0
	}
	return maphash.String(s.seed, kid) | 1 // never 0, the empty slot
}

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
	// rotated just after it. Then a kid refused before since the last
	// fetch may still use the reserve allowance (see keySource).
	onDemand
)

// refresh starts a fetch, or joins the one in flight, and waits for it or
// for ctx. kid is the kidHash of an on-demand fetch's unknown kid, or 0. It
// returns the current key set and the fetch's error (errRateLimited when it
// did not start one).
func (s *keySource) refresh(ctx context.Context, kind fetchKind, kid uint64) (*keySet, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.cur.Load(), errClosed
	}
	c := s.inflight
	if c == nil {
		now := s.now()
		if ok, err := s.admit(now, kind, kid); !ok {
			s.mu.Unlock()
			return s.cur.Load(), err
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

// admit decides, under s.mu, whether a fetch of kind may start at now and
// books it against its allowance; when it may not, it returns the error to
// report.
func (s *keySource) admit(now time.Time, kind fetchKind, kid uint64) (bool, error) {
	switch {
	case kind == scheduled:
		if recent(now, s.lastAny, s.minRefresh) {
			return false, s.lastErr
		}
	case !recent(now, s.lastLimited, s.minRefresh):
		s.lastLimited = now
	case s.cameBack(now, kid):
		s.lastReserve = now
	default:
		return false, errRateLimited
	}
	s.lastAny = now
	clear(s.seen[:]) // the fetch answers every kid refused so far
	return true, nil
}

// cameBack records kid among the unknown kids refused since the last fetch
// and reports whether it was there already while the reserve allowance is
// free.
func (s *keySource) cameBack(now time.Time, kid uint64) bool {
	if kid == 0 || recent(now, s.lastReserve, s.minRefresh) {
		return false
	}
	slot := &s.seen[kid%seenSlots]
	if *slot == kid {
		return true
	}
	*slot = kid
	return false
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
	byKID := make(map[string]any, len(raw.Keys))
	for _, m := range raw.Keys {
		// Private: false reads only public parameters and refuses
		// symmetric (oct) keys: a JWKS never supplies an HMAC secret.
		k, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil || !verifyingKey(k) {
			s.log.Debug("jwks key skipped", zap.String("kid", m.KID), zap.String("kty", string(m.KTY)))
			continue
		}
		keys = append(keys, k)
		byKID[m.KID] = k.Key()
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
	return &keySet{kf: kf, byKID: byKID, fetched: s.now(), size: len(keys)}, nil
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
