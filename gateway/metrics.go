package gateway

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/sony/gobreaker/v2"

	"github.com/minbil/minbil-bff/contracts"
)

// metrics are the gateway's Prometheus series. Labels never carry tokens,
// usernames, booking ids or anything else a client chooses (S-10): routes
// are the contract's operation ids or "other".
type metrics struct {
	registry          *prometheus.Registry
	requests          *prometheus.CounterVec
	duration          *prometheus.HistogramVec
	upstreamDuration  *prometheus.HistogramVec
	cache             *prometheus.CounterVec
	breakerState      *prometheus.GaugeVec
	contractViolation *prometheus.CounterVec
	storeFallbacks    *prometheus.CounterVec
	staleAnswers      *prometheus.CounterVec
	budgetRefusals    *prometheus.CounterVec

	// routes, upstream, cacheHit and cacheMiss are the series of the fixed
	// routes, operations and outcomes, resolved once: a label lookup hashes
	// its values on every call.
	routes              map[string]*routeMetrics
	upstream            map[string]*[2]prometheus.Observer // by operation: ok, error
	cacheHit, cacheMiss prometheus.Counter
	violations          map[string]prometheus.Counter // by operation

	storeMetrics
}

// routeMetrics are one route's request series.
type routeMetrics struct {
	name     string
	duration prometheus.Observer
	// statuses holds the requests counter of each status code, made on
	// first use: the codes a route answers with are few, but not fixed.
	statuses [600]atomic.Pointer[prometheus.Counter]
}

// storeOps are the shared-store operations that can fall back (the stale
// lists, the username cache, store.CounterFallback).
var storeOps = [...]string{"get", "set", "setnx", "del", "reset", "hit"}

// routeNames are the routes besides the contract's operations.
var routeNames = [...]string{"healthz", "readyz", "metrics", "openapi", opPassThrough, "other"}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minbil_bff_requests_total", Help: "Requests answered, by route and status code.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "minbil_bff_request_duration_seconds", Help: "Time to answer a request, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "minbil_bff_upstream_duration_seconds", Help: "Time of upstream calls, by operation and outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation", "outcome"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minbil_bff_username_cache_total", Help: "check-username cache lookups, by result (hit or miss).",
		}, []string{"result"}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "minbil_bff_breaker_state", Help: "Circuit breaker state by operation: 0 closed, 1 half-open, 2 open.",
		}, []string{"operation"}),
		contractViolation: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minbil_bff_upstream_contract_violations_total", Help: "Upstream answers that broke the contract, by operation.",
		}, []string{"operation"}),
		storeFallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minbil_bff_store_fallbacks_total", Help: "Shared-store (Redis) operations that failed and fell back to this process's state, by operation.",
		}, []string{"op"}),
		staleAnswers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minbil_bff_stale_answers_total", Help: "Answers of a caller's last good list while the upstream failed (stale-if-error), by operation.",
		}, []string{"operation"}),
	}
	m.routes = map[string]*routeMetrics{}
	m.upstream = map[string]*[2]prometheus.Observer{}
	for _, op := range append(contracts.OperationIDs(), routeNames[:]...) {
		m.routes[op] = &routeMetrics{name: op, duration: m.duration.WithLabelValues(op)}
	}
	// Every series whose labels are known at start-up exists from the
	// start (R3-T4), so a dashboard shows 0, not "No data", and an alert
	// on it can fire.
	for _, op := range append(contracts.OperationIDs(), opPassThrough) {
		m.breakerState.WithLabelValues(op).Set(float64(gobreaker.StateClosed))
		m.upstream[op] = &[2]prometheus.Observer{m.upstreamDuration.WithLabelValues(op, "ok"), m.upstreamDuration.WithLabelValues(op, "error")}
	}
	m.violations = map[string]prometheus.Counter{}
	for _, op := range contracts.OperationIDs() {
		m.violations[op] = m.contractViolation.WithLabelValues(op)
	}
	for _, op := range storeOps {
		m.storeFallbacks.WithLabelValues(op)
	}
	m.staleAnswers.WithLabelValues(contracts.OpListRatings)
	m.cacheHit, m.cacheMiss = m.cache.WithLabelValues("hit"), m.cache.WithLabelValues("miss")
	m.budgetRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "minbil_bff_upstream_budget_refusals_total", Help: "Upstream answers refused (503) because the in-flight answer budget (upstream.max_inflight_bytes) had no room in time, by operation.",
	}, []string{"operation"})
	for _, op := range append(contracts.OperationIDs(), opPassThrough) {
		m.budgetRefusals.WithLabelValues(op)
	}
	m.registry.MustRegister(m.budgetRefusals)
	m.storeMetrics = newStoreMetrics()
	m.registry.MustRegister(m.requests, m.duration, m.upstreamDuration, m.cache, m.breakerState, m.contractViolation, m.storeFallbacks, m.staleAnswers,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.registry.MustRegister(m.storeMetrics.collectors()...)
	return m
}

// The bounded stores whose refusals are counted (storeMetrics.storeFull).
const (
	storeIdempotency = "idempotency"
	storeRateLimit   = "rate_limit"
)

// storeMetrics are the series of the state stores' refusals and of the
// idempotency outcomes that wait for the shared store (R3-F1, R3-F10, the
// rate-limit flood), each made at start-up.
type storeMetrics struct {
	// storeFull counts, by store, a keyed POST refused with 503 because the
	// idempotency store (memory or Redis) was full or the caller held its
	// share, and a hit counted in a shared window because the rate-limit
	// store was full of live windows.
	storeFull    map[string]prometheus.Counter
	storeFullVec *prometheus.CounterVec
	// outcomesWaiting is how many outcomes this process keeps until the
	// store takes them; outcomesLost counts those it could not keep, or
	// exited without writing.
	outcomesWaiting prometheus.Gauge
	outcomesLost    prometheus.Counter
}

func newStoreMetrics() storeMetrics {
	s := storeMetrics{
		storeFullVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minbil_bff_store_full_total",
			Help: "Refusals of a full state store, by store: idempotency (a keyed POST answered 503), rate_limit (a new caller counted in a window shared with other new callers).",
		}, []string{"store"}),
		outcomesWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "minbil_bff_idempotency_outcomes_waiting",
			Help: "Idempotency outcomes this process keeps, and replays, until the store takes them.",
		}),
		outcomesLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minbil_bff_idempotency_outcomes_lost_total",
			Help: "Idempotency outcomes neither stored nor kept (too many waiting, or unwritten at exit).",
		}),
	}
	s.storeFull = map[string]prometheus.Counter{}
	for _, name := range []string{storeIdempotency, storeRateLimit} {
		s.storeFull[name] = s.storeFullVec.WithLabelValues(name)
	}
	return s
}

func (s storeMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{s.storeFullVec, s.outcomesWaiting, s.outcomesLost}
}

// watchUsernameCache exports the bytes the check-username cache accounts
// for, read at each scrape: a gauge at the budget (cache.username_max_bytes)
// says the oldest answers are making room for new ones.
func (m *metrics) watchUsernameCache(bytes func() int64) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "minbil_bff_username_cache_bytes",
		Help: "Bytes the check-username cache accounts for (keys, answers and a fixed overhead per answer); at most cache.username_max_bytes.",
	}, func() float64 { return float64(bytes()) }))
}

// observeBreaker records a state change; it only sets a gauge, so it is
// safe under gobreaker's lock.
func (m *metrics) observeBreaker(op string, _, to gobreaker.State) {
	m.breakerState.WithLabelValues(op).Set(float64(to))
}

// route returns the series of the route named name ("other" for a name
// that is none of the routes).
func (m *metrics) route(name string) *routeMetrics {
	if r, ok := m.routes[name]; ok {
		return r
	}
	return m.routes["other"]
}

// request counts one answer with status and observes its duration.
func (m *metrics) request(r *routeMetrics, status int, seconds float64) {
	r.duration.Observe(seconds)
	if status < 0 || status >= len(r.statuses) {
		m.requests.WithLabelValues(r.name, strconv.Itoa(status)).Inc()
		return
	}
	c := r.statuses[status].Load()
	if c == nil {
		made := m.requests.WithLabelValues(r.name, strconv.Itoa(status))
		c = &made
		r.statuses[status].Store(c)
	}
	(*c).Inc()
}

// upstreamCall is the duration series of one upstream call to op that
// ended with err.
func (m *metrics) upstreamCall(op string, err error) prometheus.Observer {
	pair, ok := m.upstream[op]
	if !ok {
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		return m.upstreamDuration.WithLabelValues(op, outcome)
	}
	if err != nil {
		return pair[1]
	}
	return pair[0]
}
