package reliability

import (
	"testing"

	"go.uber.org/goleak"
)

// fasthttp's idle-connection, worker-pool and DNS-cache cleaners are
// library goroutines that sleep between sweeps and end on their own after
// Shutdown (the same list as gateway/harness_test.go); every goroutine of
// the gateway and of this suite must be gone (L-16).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		// Fiber's limiter starts one process-wide timestamp ticker (a
		// sync.Once) that never stops: one goroutine, not a leak.
		goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/utils.StartTimeStampUpdater.func1.1"),
		goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/middleware/limiter.FixedWindow.New.StartTimeStampUpdater.func2.1"),
	)
}
