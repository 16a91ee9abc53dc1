package gateway

// What the internal tests (benchmarks, fuzz targets, the contract watch)
// share. The gateway's black-box tests, which build it as `serve` does
// (with the shared harness, cmd/internal/wire/wiretest), are in
// cmd/internal/fullstack and cmd/internal/reliability: the assembly imports
// the mock, and no package under gateway/ may, tests included.

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway/config"
)

// fasthttp's idle-connection, worker-pool and DNS-cache cleaners are
// library goroutines that sleep between sweeps and end on their own after
// Shutdown; every goroutine of ours must be gone. The suites above the
// gateway share this list as wiretest.LibraryGoroutines, which this
// package cannot import.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		// Fiber's limiter starts one process-wide timestamp ticker (a
		// sync.Once) that never stops; it is one goroutine, not a leak per
		// request or per gateway.
		goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/utils.StartTimeStampUpdater.func1.1"),
		goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/middleware/limiter.FixedWindow.New.StartTimeStampUpdater.func2.1"),
	)
}

const (
	testSecret = "0123456789abcdef0123456789abcdef-test-secret"
	testAPIKey = "upstream-api-key-7f3c9a1e5b2d"
)

var testContract = func() *contracts.Contract {
	c, err := contracts.Load()
	if err != nil {
		panic(err)
	}
	return c
}()

// option changes the configuration of a benchmark gateway.
type option func(*config.Config)

// baseConfig is what the benchmarks start from: config.Default with an
// upstream API key to inject, a breaker that opens after 3 failures, and no
// rate limits (a benchmark is one caller).
func baseConfig() config.Config {
	cfg := config.Default()
	cfg.Upstream.APIKey = testAPIKey
	cfg.Breaker.ConsecutiveFailures = 3
	cfg.RateLimit.PerIdentity, cfg.RateLimit.PerIP = 0, 0
	return cfg
}

// withJWT is jwt mode with the test secret.
func withJWT(cfg *config.Config) {
	cfg.Auth.Mode = "jwt"
	cfg.Auth.JWT.HS256Secret = testSecret
}

// The seeds of FuzzUpstreamAnswer: valid upstream answers.
const ratingItem = `{"booking_id":1,"workshop_org_nr":"921460929","workshop_name":"Bilservice AS","service_id":1,"service_title":"EU-kontroll","registration_number":"BT57225","status":"completed","service_start_time":"2026-02-12T08:00:00Z","service_estimated_end_time":"2026-02-12T10:00:00Z","service_actual_end_time":"2026-02-12T10:00:00Z","service_rating":5,"service_rating_message":"Bra","private_service_rating":true,"rated_at":"2026-02-13T09:30:00Z"}`

var (
	listBody     = `{"total":1,"items":[` + ratingItem + `]}`
	usernameBody = `{"username":"ola","available":true,"message":"Username is available."}`
	rateBody     = `{"data":{"booking_id":123,"service_rating":5},"meta":{"request_id":"x","generated_at":"2026-02-12T10:00:00Z"}}`
)
