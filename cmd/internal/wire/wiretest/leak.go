package wiretest

import "go.uber.org/goleak"

// LibraryGoroutines are the goleak options that ignore the libraries'
// goroutines a stopped gateway may leave behind for a while: fasthttp's
// idle-connection, worker-pool and DNS-cache cleaners sleep between
// sweeps and end on their own after Shutdown, and Fiber's limiter starts
// one process-wide timestamp ticker (a sync.Once) that never stops, one
// goroutine rather than a leak per request or per gateway. Every goroutine
// of ours must be gone. Package gateway's TestMain keeps the same list: it
// cannot import this package.
func LibraryGoroutines() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/utils.StartTimeStampUpdater.func1.1"),
		goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/middleware/limiter.FixedWindow.New.StartTimeStampUpdater.func2.1"),
	}
}
