// Package mock is a contract-faithful mock of the MinBil Ratings namespace:
// a Fiber server that answers the three operations of contracts/openapi.yaml
// with realistic, deterministic Norwegian data, keeps car owners' ratings in
// memory (optionally in a state file), and injects faults on request so that
// frontends can test their error handling.
package mock

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/linger"
	"github.com/minbil/minbil-bff/contracts/portal"
	"github.com/minbil/minbil-bff/mock/idp"
)

// DefaultBodyLimit is the largest request body accepted when
// Config.BodyLimit is 0.
const DefaultBodyLimit = 16 << 10

// DefaultMaxBytes is the budget of Config.MaxBytes when it is 0, and
// MinMaxBytes the least one accepted.
const (
	DefaultMaxBytes = 64 << 20
	MinMaxBytes     = 1 << 20
)

// shares splits the budget. Half is for what the API changed in the
// default world (ratings, scenarios, Idempotency-Keys): never evicted, so a
// change beyond it is refused. A quarter is for the default world's
// generated owners, a cache rebuilt on demand. A quarter is for the session
// worlds together, and each session world has an eighth for its changes
// and an eighth for its owners.
func shares(maxBytes int64) (world, session limits, sessions int64) {
	return limits{records: maxBytes / 2, owners: maxBytes / 4},
		limits{records: maxBytes / 8, owners: maxBytes / 8},
		maxBytes / 4
}

// MaxDelay caps injected delays: an X-Mock-Delay header or Config.Latency
// longer than this waits MaxDelay.
const MaxDelay = 30 * time.Second

// Config configures the mock. The zero value is a usable mock with random
// data, memory-only state, no faults and fault headers ignored.
type Config struct {
	// Seed makes the data deterministic: the same seed gives byte-identical
	// data for the same owner on every machine. 0 picks a random seed (or the
	// seed recorded in StateFile).
	Seed int64 `yaml:"seed"`
	// StateFile persists ratings and scenarios across restarts: a journal,
	// each change appended and fsynced before it is answered, compacted now
	// and then. Empty keeps the state in memory only.
	StateFile string `yaml:"state_file"`
	// MaxBytes bounds what the mock holds for its owners, sessions and
	// scenarios, in bytes (see shares). 0 means DefaultMaxBytes; at least
	// MinMaxBytes.
	MaxBytes int64 `yaml:"max_bytes"`
	// Latency delays every answer of an operation. 0 means no delay; at most
	// MaxDelay.
	Latency time.Duration `yaml:"latency"`
	// ErrorRate is the fraction (0–1) of operation requests that answer 503
	// with code injected_fault. 0 means never.
	ErrorRate float64 `yaml:"error_rate"`
	// AllowFaultHeaders honours the per-request fault headers
	// (Prefer: code=NNN, X-Mock-Delay). false ignores them.
	AllowFaultHeaders bool `yaml:"allow_fault_headers"`
	// BodyLimit is the largest request body in bytes; larger bodies answer
	// 413. 0 means DefaultBodyLimit.
	BodyLimit int `yaml:"body_limit"`
	// Issuer is the iss of the identity provider's tokens; empty means
	// idp.DefaultIssuer.
	Issuer string `yaml:"issuer"`
	// Audience is the aud of its access tokens; empty means
	// idp.DefaultAudience.
	Audience string `yaml:"audience"`
	// Record forwards the operations to a real upstream and writes each
	// answer, scrubbed, as a fixture (replay.go); nil records nothing.
	Record *RecordConfig `yaml:"-"`
	// Replay serves the fixtures of this directory offline, with the
	// mock's state on top; empty serves generated data.
	Replay string `yaml:"replay"`
}

// validate reports every problem of the configuration at once.
func (c Config) validate() error {
	var errs []error
	if c.Latency < 0 || c.Latency > MaxDelay {
		errs = append(errs, fmt.Errorf("latency: %s is outside 0..%s", c.Latency, MaxDelay))
	}
	if !(c.ErrorRate >= 0 && c.ErrorRate <= 1) {
		errs = append(errs, fmt.Errorf("error_rate: %g is outside 0..1", c.ErrorRate))
	}
	if c.BodyLimit < 0 {
		errs = append(errs, fmt.Errorf("body_limit: %d is negative", c.BodyLimit))
	}
	if c.MaxBytes != 0 && c.MaxBytes < MinMaxBytes {
		errs = append(errs, fmt.Errorf("max_bytes: %d is less than %d (1 MiB)", c.MaxBytes, MinMaxBytes))
	}
	errs = append(errs, c.validateFixtures()...)
	return errors.Join(errs...)
}

// Server is the mock. Build it with New; it is safe for concurrent use.
type Server struct {
	cfg      Config
	contract *contracts.Contract
	log      *zap.Logger
	app      *fiber.App
	store    *store // the default world
	sessions *sessions
	fx       fixtures // record or replay mode
	username contracts.UsernameRules
	rating   contracts.RatingRules
	taken    map[string]struct{}
	declared map[string]map[int]bool // operation → error statuses it declares
	idp      *idp.Provider

	// now is the clock of answers (time.Now outside tests).
	now func() time.Time
	// chance returns a number in [0, 1) for Config.ErrorRate.
	chance func() float64

	stop     chan struct{} // closed by Shutdown: ends injected delays
	stopOnce sync.Once
	mu       sync.Mutex // guards stopped and listeners
	stopped  bool
	// listeners are closed by Shutdown, so a Serve that has not reached
	// fasthttp yet still returns.
	listeners []net.Listener
}

// New builds the mock. It loads StateFile when it exists and writes it
// afresh (creating it when missing), so a file it cannot write fails here,
// not at the first rating; a state file written with another seed than a
// non-zero Config.Seed is an error, and so is one it cannot read, with the
// file's name and what to do.
func New(cfg Config, c *contracts.Contract, log *zap.Logger) (*Server, error) {
	if c == nil {
		return nil, errors.New("mock: nil contract")
	}
	if log == nil {
		log = zap.NewNop()
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("mock config: %w", err)
	}
	if cfg.BodyLimit == 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	var sf *stateFile
	if cfg.StateFile != "" {
		var err error
		if sf, err = readState(cfg.StateFile); err != nil {
			return nil, fmt.Errorf("mock: %w", err)
		}
	}
	seed, err := chooseSeed(cfg.Seed, sf)
	if err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	cfg.Seed = seed
	world, sessionLimits, sessionBytes := shares(cfg.MaxBytes)
	st := newStore(seed, world)
	key, err := loadState(st, cfg.StateFile, sf)
	if err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	fx, err := openFixtures(cfg, c, log.Named("mock"), st)
	if err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	declared, err := declaredStatuses(c)
	if err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		contract: c,
		log:      log.Named("mock"),
		store:    st,
		username: c.UsernameRules(),
		rating:   c.RatingRules(),
		taken:    takenUsernames(seed),
		declared: declared,
		now:      time.Now,
		chance:   randomFraction,
		stop:     make(chan struct{}),
		fx:       fx,
	}
	s.sessions = newSessions(sessionBytes, func() *store { w := newStore(seed, sessionLimits); w.generate = st.generate; return w })
	s.idp = idp.New(idp.Config{Issuer: cfg.Issuer, Audience: cfg.Audience, Key: key,
		KeyCreated: s.keepKey, Now: func() time.Time { return s.now() }})
	s.app = s.newApp()
	if cfg.StateFile != "" {
		// Last, so that nothing after it fails with the file open.
		if err := st.openJournal(cfg.StateFile); err != nil {
			return nil, fmt.Errorf("mock: state file %s: %w", cfg.StateFile, err)
		}
		if sf != nil && sf.torn > 0 {
			s.log.Warn("state file ended in an incomplete change, dropped: the mock stopped while writing it, before answering",
				zap.String("state", cfg.StateFile), zap.Int("bytes", sf.torn))
		}
	}
	return s, nil
}

// loadState puts the state file's records into st and returns the identity
// provider's key it holds (nil without one).
func loadState(st *store, file string, sf *stateFile) (*rsa.PrivateKey, error) {
	if sf == nil {
		return nil, nil
	}
	err := st.load(sf)
	switch {
	case errors.Is(err, errFull):
		return nil, fmt.Errorf("state file %s: %w; start the mock with a larger --max-bytes (mock.max_bytes under serve), or move the file away to start afresh", file, err)
	case err != nil:
		return nil, fmt.Errorf("state file %s is damaged (%w); move it away to start afresh", file, err)
	}
	if st.idpKey == "" {
		return nil, nil
	}
	key, err := idp.DecodeKey(st.idpKey)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w; move it away to start afresh", file, err)
	}
	return key, nil
}

// chooseSeed reconciles the configured seed with the state file's.
func chooseSeed(configured int64, sf *stateFile) (int64, error) {
	switch {
	case sf != nil && configured != 0 && sf.snap.Seed != configured:
		return 0, fmt.Errorf("the state file was written with seed %d, not %d: use --seed %d or another state file", sf.snap.Seed, configured, sf.snap.Seed)
	case sf != nil:
		return sf.snap.Seed, nil
	case configured != 0:
		return configured, nil
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("random seed: %w", err)
	}
	if s := int64(binary.BigEndian.Uint64(b[:]) &^ (1 << 63)); s != 0 {
		return s, nil
	}
	return 1, nil
}

func randomFraction() float64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 1 // never inject when randomness fails
	}
	return float64(binary.BigEndian.Uint64(b[:])>>11) / (1 << 53)
}

// keepKey writes a signing key the identity provider made to the state
// file, so tokens stay valid across restarts.
func (s *Server) keepKey(key *rsa.PrivateKey) {
	if s.cfg.StateFile == "" {
		return
	}
	pemKey, err := idp.EncodeKey(key)
	if err == nil {
		err = s.store.keepKey(pemKey)
	}
	if err != nil {
		s.log.Warn("identity provider key not kept in the state file; tokens end with this process", zap.Error(err))
	}
}

// Issuer returns the iss of the identity provider's tokens.
func (s *Server) Issuer() string { return s.idp.Issuer() }

// Audience returns the aud of the identity provider's access tokens.
func (s *Server) Audience() string { return s.idp.Audience() }

// Seed returns the seed in use (the random one when Config.Seed was 0).
func (s *Server) Seed() int64 { return s.cfg.Seed }

// Serve answers requests on ln until Shutdown. It returns nil after a
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	// A connection closed after a refused request lingers (R3-T7).
	l := &closeOnceListener{Listener: &linger.Listener{Listener: ln}}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		_ = l.Close()
		return nil
	}
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	if err := s.app.Listener(l); err != nil {
		return fmt.Errorf("mock serve: %w", err)
	}
	return nil
}

// Listen listens on the TCP address addr and serves until Shutdown.
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mock listen: %w", err)
	}
	return s.Serve(ln)
}

// Shutdown stops accepting connections, ends injected delays, waits for
// in-flight requests until ctx is done, and closes the state file (every
// change is in it already). It is
// safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	s.stopOnce.Do(func() {
		close(s.stop)
		s.mu.Lock()
		s.stopped = true
		listeners := s.listeners
		s.mu.Unlock()
		for _, l := range listeners {
			_ = l.Close()
		}
		if err := s.app.ShutdownWithContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("mock shutdown: %w", err))
		}
	})
	if err := s.store.close(); err != nil {
		errs = append(errs, fmt.Errorf("mock shutdown: %w", err))
	}
	return errors.Join(errs...)
}

// closeOnceListener lets Shutdown and fasthttp both close a listener
// without the second close reporting an error.
type closeOnceListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *closeOnceListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}

// hardBodyLimit is the size at which fasthttp stops reading a body.
func hardBodyLimit(limit int) int {
	return max(4*limit, 64<<10)
}

func (s *Server) newApp() *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "minbil-bff mock",
		DisableStartupMessage: true,
		StrictRouting:         true,
		CaseSensitive:         true,
		// The handler answers 413 above cfg.BodyLimit with the error body;
		// fasthttp drops bodies far beyond it before they are read.
		BodyLimit:      hardBodyLimit(s.cfg.BodyLimit),
		ReadTimeout:    10 * time.Second,
		WriteTimeout:   10 * time.Second,
		IdleTimeout:    60 * time.Second,
		ReadBufferSize: 16 << 10, // room for a large JWT
		ErrorHandler:   s.serverError,
	})
	app.Use(s.accessLog)
	app.Use(recover.New())
	app.Use(idp.Preflight)
	app.Use(checkSession)
	// Fiber's Get would also register HEAD, which the contract does not
	// declare: register GET alone.
	handlers := map[string]fiber.Handler{
		contracts.OpCheckUsername: s.checkUsername,
		contracts.OpListRatings:   s.listRatings,
		contracts.OpRateBooking:   s.rateBooking,
	}
	s.fixtureHandlers(handlers)
	for _, e := range contracts.Endpoints() {
		app.Add(e.Method, e.Route(), s.faults(e.ID), handlers[e.ID])
	}
	s.mountControl(app)
	s.idp.Mount(app)
	portal.Mount(app, portal.Options{Server: portal.ServerMock, FaultControls: s.cfg.AllowFaultHeaders, Control: ControlRoutes()})
	app.Use(s.fallback)
	return app
}
