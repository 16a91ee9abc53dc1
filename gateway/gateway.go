// Package gateway is the minbil-bff backend-for-frontend: a Fiber app that
// authenticates callers, caches username checks and forwards ratings calls
// through per-operation circuit breakers to the MinBil upstream, adding the
// upstream API key. It knows an upstream only by its URL (and, for one served
// in process, a dialer); development abilities arrive as Dev options that
// production never has.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/contracts/header"
	"github.com/minbil/minbil-bff/contracts/linger"
	"github.com/minbil/minbil-bff/contracts/portal"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/gateway/idempotency"
	"github.com/minbil/minbil-bff/gateway/stale"
	"github.com/minbil/minbil-bff/gateway/store"
	"github.com/minbil/minbil-bff/gateway/tracing"
	"github.com/minbil/minbil-bff/gateway/upstream"
	"github.com/minbil/minbil-bff/gateway/usernames"
)

// Authenticator decides who a caller is from the Authorization header
// values of a request.
type Authenticator interface {
	Authenticate(ctx context.Context, authorization []string) (auth.Identity, error)
}

var _ Authenticator = (*auth.Authenticator)(nil)

// Deps are what a Gateway is built from besides its configuration.
type Deps struct {
	Contract *contracts.Contract
	Log      *zap.Logger
	Auth     Authenticator
	// Upstream overrides where calls go; the zero value is cfg.Upstream.URL
	// over TCP.
	Upstream Upstream
	// Dev are the development abilities; nil (production) has none.
	Dev *Dev
	// Tracer makes the gateway's spans (request, authentication, username
	// cache, breaker, upstream call); nil makes none and only propagates:
	// an incoming trace reaches the upstream under a span id of the
	// gateway's own, and a request without one starts a trace, not sampled.
	Tracer trace.TracerProvider
	// Propagator reads the incoming trace and writes the outbound one;
	// nil is W3C Trace Context (traceparent, tracestate).
	Propagator propagation.TextMapPropagator
}

// Upstream is where the gateway sends its calls.
type Upstream struct {
	// URL is the upstream's base URL; empty means cfg.Upstream.URL.
	URL string
	// Dial replaces DNS and TCP (an upstream served in process); nil dials
	// the URL's host.
	Dial upstream.Dialer
}

// Dev are abilities for a gateway in front of a development upstream (the
// built-in mock). Production never has them, so, for example, a fault
// header can never reach a real upstream: nothing forwards it.
type Dev struct {
	// ForwardHeaders are request headers passed to the upstream as they
	// are, and allowed by CORS (the mock's fault headers). A request that
	// carries one is answered for itself alone: never cached.
	ForwardHeaders []string
	// FaultHeaders are those of ForwardHeaders that ask the upstream for a
	// fault: a call that carries one is not counted by any breaker.
	FaultHeaders []string
	// PassThrough are the upstream's own routes (the mock's control and
	// identity-provider routes), forwarded with their method, query and
	// JSON or form body, and answered as the upstream answers, after the
	// same authentication as the contract's optional-token operations.
	PassThrough []portal.Route
	// Control lists those routes on /docs (method, path, summary).
	Control []portal.Route
	// ContractCheck validates every answer of the gateway against the
	// contract and reports the verdict in X-Contract-Check.
	ContractCheck bool
}

// Gateway is the running backend-for-frontend. Build it with New, run it
// with Serve or Listen, stop it with Shutdown.
type Gateway struct {
	cfg       config.Config
	log       *zap.Logger
	accessLog *zap.Logger
	contract  *contracts.Contract
	rules     contracts.UsernameRules
	ratings   contracts.RatingRules
	auth      Authenticator
	client    *upstream.Client
	breakers  *upstream.Breakers
	usernames *usernames.Cache
	idem      *idempotency.Records
	lastGood  *stale.Keeper // each caller's last good rating list
	limits    store.Counter
	records   store.KV
	redis     *store.Redis
	storeWarn atomic.Int64
	metrics   *metrics
	tracing   tracing.Tracing
	dev       Dev
	drift     *watch // upstream answers; nil when validate_responses is off
	own       *watch // the gateway's answers; nil unless Dev.ContractCheck
	// answers remembers what was made of recent upstream answers;
	// ownVerdicts the verdicts on the gateway's own (with own).
	answers     *memo
	ownVerdicts *memo
	proxies     proxies
	required    map[string]bool
	app         *fiber.App
	draining    atomic.Bool
}

// New builds the gateway. It starts no goroutines; Shutdown closes what it
// opened.
func New(cfg config.Config, d Deps) (*Gateway, error) {
	if d.Contract == nil || d.Log == nil || d.Auth == nil {
		return nil, errors.New("gateway: contract, logger and authenticator are required")
	}
	g := &Gateway{
		cfg: cfg,
		log: d.Log.Named("gateway"),
		// The access log's caller is always finish: recording it cost a
		// stack walk per request and added nothing.
		accessLog: d.Log.Named("access").WithOptions(zap.WithCaller(false)),
		contract:  d.Contract,
		rules:     d.Contract.UsernameRules(),
		ratings:   d.Contract.RatingRules(),
		auth:      d.Auth,
		metrics:   newMetrics(),
		tracing:   tracing.New(d.Tracer, d.Propagator),
	}
	if d.Dev != nil {
		g.dev = *d.Dev
	}
	g.breakers = upstream.NewBreakers(cfg.Breaker, g.metrics.observeBreaker, append(contracts.OperationIDs(), opPassThrough)...)
	ucfg := cfg.Upstream
	if d.Upstream.URL != "" {
		ucfg.URL = d.Upstream.URL
	}
	client, err := upstream.New(ucfg, g.breakers, d.Upstream.Dial, g.tracing)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g.client = client
	g.required = requiredTokens(d.Contract, cfg.Auth.RequireTokenOn)
	g.answers = newMemo()
	g.proxies = parseProxies(cfg.Server.TrustedProxies)
	if cfg.Upstream.ValidateResponses != config.ValidateOff && cfg.Upstream.ValidateResponses != "" {
		g.drift = newWatch(g.log.Named("drift"), "upstream answer breaks the contract")
	}
	if g.dev.ContractCheck {
		g.own = newWatch(g.log.Named("contract-check"), "gateway answer breaks the contract")
		g.ownVerdicts = newMemo()
	}
	g.usernames = usernames.New(cfg.Cache.UsernameTTL, int64(cfg.Cache.UsernameMaxBytes))
	g.openStores()
	g.idem = idempotency.New(g.records, cfg.Idempotency.TTL, g.claimTTL(),
		idempotency.WithObserver(func(n int) { g.metrics.outcomesWaiting.Set(float64(n)) }))
	g.app = g.newApp()
	return g, nil
}

// requiredTokens lists the operations that require a token: those whose
// contract security has no anonymous alternative, plus the configured ones.
func requiredTokens(c *contracts.Contract, extra []string) map[string]bool {
	req := map[string]bool{}
	for _, op := range c.Operations() {
		anonymous := false
		if op.Op.Security != nil {
			for _, s := range *op.Op.Security {
				if len(s) == 0 {
					anonymous = true
				}
			}
		}
		req[op.Op.OperationID] = !anonymous
	}
	for _, id := range extra {
		req[id] = true
	}
	return req
}

func (g *Gateway) newApp() *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:                      "minbil-bff",
		ErrorHandler:                 g.refused,
		ReadTimeout:                  g.cfg.Server.ReadTimeout,
		WriteTimeout:                 g.cfg.Server.WriteTimeout,
		IdleTimeout:                  g.cfg.Server.IdleTimeout,
		BodyLimit:                    g.cfg.Limits.BodyBytes,
		ReadBufferSize:               g.cfg.Limits.HeaderBytes,
		Concurrency:                  g.cfg.Server.MaxConns,
		StrictRouting:                true,
		CaseSensitive:                true,
		DisableStartupMessage:        true,
		DisablePreParseMultipartForm: true,
		DisableKeepalive:             false,
	})
	// X-Forwarded-For is read by clientIP, from the right; Fiber's own
	// reading (c.IP with ProxyHeader) takes the left-most entry.
	app.Server().Handler = g.guardMethods(app.Server().Handler)
	app.Use(g.begin)
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: g.logPanic}))
	app.Use(g.ipLimiter())
	app.Use(cors.New(cors.Config{
		AllowOriginsFunc: originMatcher(g.cfg.CORS.AllowOrigins),
		AllowMethods:     allowMethods(g.dev),
		AllowHeaders:     strings.Join(append([]string{"Authorization", "Content-Type", header.IdempotencyKeyName, "X-Request-ID", "traceparent", "tracestate"}, g.dev.ForwardHeaders...), ","),
		ExposeHeaders:    "X-Request-ID,X-Cache,Age,Retry-After,X-Contract-Check,WWW-Authenticate",
		MaxAge:           600,
	}))
	if g.checksMockSession() {
		app.Use(checkMockSession)
	}

	app.Get("/healthz", g.healthz)
	app.Get("/readyz", g.readyz)
	app.Get("/metrics", g.metricsHandler())
	app.Get("/openapi.yaml", g.openAPI)

	for _, r := range g.dev.PassThrough {
		app.Add(r.Method, r.Path, g.operation(opPassThrough), g.passThrough)
	}
	handlers := map[string]fiber.Handler{
		contracts.OpCheckUsername: g.checkUsername,
		contracts.OpListRatings:   g.listRatings,
		contracts.OpRateBooking:   g.rateBooking,
	}
	perCaller := g.identityLimiter()
	for _, e := range contracts.Endpoints() {
		// app.Get also answers HEAD, as it always has here.
		register := app.Post
		if e.Method == fiber.MethodGet {
			register = app.Get
		}
		register(e.Route(), g.operation(e.ID), perCaller, handlers[e.ID])
	}
	portal.Mount(app, portal.Options{Server: portal.ServerGateway, FaultControls: len(g.dev.ForwardHeaders) > 0, Control: g.dev.Control})
	return app
}

// allowMethods are the methods CORS allows: those the routes serve, the
// contract's and, in development, the pass-through routes'.
func allowMethods(dev Dev) string {
	methods := []string{fiber.MethodGet, fiber.MethodPost}
	for _, r := range dev.PassThrough {
		if !slices.Contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
	}
	return strings.Join(append(methods, fiber.MethodOptions), ",")
}

// originMatcher allows the configured origins; a "*" port matches any port
// of that scheme and host. "*" alone is never configured (config refuses it).
func originMatcher(allowed []string) func(string) bool {
	return func(origin string) bool {
		for _, a := range allowed {
			if a == origin {
				return true
			}
			if prefix, ok := strings.CutSuffix(a, ":*"); ok {
				if rest, ok := strings.CutPrefix(origin, prefix+":"); ok && rest != "" && isDigits(rest) {
					return true
				}
			}
		}
		return false
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Serve answers requests on ln until Shutdown.
func (g *Gateway) Serve(ln net.Listener) error {
	// A connection closed after a refused request lingers (R3-T7).
	if err := g.app.Listener(&linger.Listener{Listener: ln}); err != nil {
		return fmt.Errorf("gateway: serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting requests, lets in-flight requests finish until
// ctx is done, then closes what New opened, in reverse order: the stores,
// and the upstream connections. /readyz
// answers 503 from the first moment so a load balancer stops sending
// traffic. Idempotency outcomes (and stale-list drop-marks) the shared
// store has not taken yet are written until ctx is done; any still
// unwritten then are logged, counted and returned as an error.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.draining.Store(true)
	err := g.app.ShutdownWithContext(ctx)
	err = errors.Join(err, g.closeStores(ctx))
	g.client.Close()
	if err != nil {
		return fmt.Errorf("gateway: shutdown: %w", err)
	}
	return nil
}

func (g *Gateway) logPanic(c *fiber.Ctx, v any) {
	g.log.Error("panic in handler", zap.String("request_id", stateOf(c).requestID), zap.Any("panic", v), zap.Stack("stack"))
}

// claimGrace is how much longer a claim in a shared store lives than the
// request it guards: the outage of the store it rides out. A request whose
// outcome the store could not take (Redis paused) keeps the outcome in its
// process and writes it as soon as the store answers again; until then the
// claim must keep other replicas from sending the request upstream again
// (R3-F1). The price is that the key of a request whose replica crashed
// answers 409 in flight this much longer.
const claimGrace = time.Minute

// requestBound is the longest a keyed submission takes: the upstream
// timeout plus the server's write time. A full idempotency store has room
// again within it, when claims end.
func (g *Gateway) requestBound() time.Duration {
	return g.cfg.Upstream.Timeout + g.cfg.Server.WriteTimeout
}

// claimTTL is how long an idempotency claim lives: longer than the longest
// request it guards and, in Redis, by claimGrace more. While Redis cannot
// be reached every replica refuses keyed POSTs (503): a new key cannot be
// claimed; a retry of a key whose outcome waits in a replica is answered
// from it by that replica, and by every replica once Redis takes it. Only
// if Redis stays unreachable longer than the claim and a retry then reaches
// another replica before the outcome is written can the request go
// upstream again, and the upstream refuses to rate a booking twice.
func (g *Gateway) claimTTL() time.Duration {
	if g.cfg.Store.Backend == "redis" {
		return g.requestBound() + claimGrace
	}
	return g.requestBound()
}

// callerShares is how many callers' shares the memory idempotency store is
// divided into: one caller holds at most a 64th of it (256 KiB of the
// default 16 MiB, some 170 outcomes), so one caller's flood of keys fills
// its own share, never the room other callers' keys need (R3-F10).
const callerShares = 64

// callerShare is the bytes of the memory idempotency store one caller may
// hold: a 64th of it, and at least room for a few records.
func callerShare(budget int64) int64 {
	return max(budget/callerShares, min(budget, 16<<10))
}

// openStores builds the state stores, each bounded in bytes: in memory for
// one process, or in Redis shared by every replica. With Redis, rate limits,
// the username cache and the last good rating lists fall back to this
// process while Redis fails; idempotency records do not (a keyed POST is
// refused rather than risk a duplicate).
//
// The idempotency records and the rate-limit counters are state, not
// caches: their memory stores never drop a live entry (a recorded outcome,
// a claim, a caller's window) to make room; a full store refuses a new key,
// and counts a new caller in a window its kind shares (store.NoEviction).
// Redis must not evict either: checkEvictionPolicy warns when it may.
func (g *Gateway) openStores() {
	lists := store.NewBounded(int64(g.cfg.Cache.RatingsStaleMaxBytes))
	limits := store.NewNoEviction(int64(g.cfg.RateLimit.MaxBytes), store.OnFull(g.metrics.storeFull[storeRateLimit].Inc))
	g.metrics.storeBytes(storeUsernames, g.usernames.Bytes)
	g.metrics.storeBytes(storeRateLimit, limits.Bytes)
	g.metrics.storeBytes(storeLastGood, lists.Bytes)
	if g.cfg.Store.Backend != "redis" {
		budget := int64(g.cfg.Idempotency.MaxBytes)
		records := store.NewNoEviction(budget, store.WithShares(callerShare(budget), idempotency.Owner))
		g.metrics.storeBytes(storeIdempotency, records.Bytes)
		g.records = records
		g.limits = limits
		g.lastGood = stale.New(lists, g.cfg.Cache.RatingsStaleIfError)
		return
	}
	g.redis = store.NewRedis(g.cfg.Store.Redis, store.OnBreakerChange(g.metrics.observeStoreBreaker))
	g.records = g.redis
	g.limits = store.NewCounterFallback(g.redis, limits, g.storeFailed)
	g.usernames.Share(g.redis, g.storeFailed)
	// One copy in Redis, not a local one in front of it: a rating on any
	// replica must drop the list every replica would serve.
	g.lastGood = stale.New(lists, g.cfg.Cache.RatingsStaleIfError, stale.WithShared(g.redis, g.storeFailed))
	g.checkEvictionPolicy()
}

// checkEvictionPolicy warns when Redis may evict idempotency records: under
// any maxmemory-policy but noeviction a Redis at its memory limit drops
// keys with a TTL, and claims, with the shortest, go first (R3-F2). A
// managed Redis may refuse CONFIG GET, and Redis may be down at start:
// then the gateway says it could not check.
func (g *Gateway) checkEvictionPolicy() {
	policy, err := g.redis.EvictionPolicy(context.Background())
	switch {
	case err != nil:
		g.log.Info("could not read Redis's maxmemory-policy; make sure it is noeviction, or Redis may evict idempotency records when full",
			zap.Error(err))
	case policy != store.PolicyNoEviction:
		g.log.Warn("Redis may evict idempotency records when full: set maxmemory-policy noeviction (a full Redis then refuses new keys with 503 instead)",
			zap.String("maxmemory_policy", policy))
	}
}

// closeStores writes out the idempotency outcomes that wait for the shared
// store until ctx is done, and never longer than server.shutdown_timeout
// (a caller's ctx may have no deadline), then closes the stores.
func (g *Gateway) closeStores(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Server.ShutdownTimeout)
	defer cancel()
	err := g.idem.Close(ctx)
	if n := g.idem.Waiting(); n > 0 {
		g.metrics.outcomesLost.Add(float64(n))
		g.log.Error("idempotency outcomes not written to the store before exit: a retry of their keys may reach the upstream again once their claims end",
			zap.Int("outcomes", n), zap.Error(err))
	}
	err = errors.Join(err, g.limits.Close(), g.lastGood.Close(ctx))
	if g.redis != nil {
		err = errors.Join(err, g.redis.Close())
	} else {
		err = errors.Join(err, g.records.Close())
	}
	return err
}

// storeFailed counts a failed shared-store operation and warns at most every
// ten seconds, so an outage does not flood the log.
func (g *Gateway) storeFailed(op string, err error) {
	g.metrics.storeFallbacks.WithLabelValues(op).Inc()
	now := time.Now().UnixNano()
	last := g.storeWarn.Load()
	if now-last < int64(10*time.Second) || !g.storeWarn.CompareAndSwap(last, now) {
		return
	}
	g.log.Warn("shared store unavailable: using this process's state", zap.String("op", op), zap.Error(err))
}
