package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/sony/gobreaker/v2"
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
}

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
	m.registry.MustRegister(m.requests, m.duration, m.upstreamDuration, m.cache, m.breakerState, m.contractViolation, m.storeFallbacks, m.staleAnswers,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeBreaker records a state change; it only sets a gauge, so it is
// safe under gobreaker's lock.
func (m *metrics) observeBreaker(op string, _, to gobreaker.State) {
	m.breakerState.WithLabelValues(op).Set(float64(to))
}
