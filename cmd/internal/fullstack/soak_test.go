package fullstack

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/mock"
)

// TestSoak runs mixed traffic (cached and uncached username checks, lists,
// keyed and unkeyed rating submissions, bad requests) through the gateway
// and its in-process mock for MINBIL_SOAK (e.g. 3m; `make soak`), samples
// RSS, goroutines, open files and the sizes of the bounded caches and
// stores, prints them as a table, and fails if RSS, goroutines or open files
// still trend upward over the second half of the run, or a cache or store
// ever exceeds its bound. The load generator runs in the same process, so
// RSS includes it. It is skipped unless MINBIL_SOAK
// is set.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("MINBIL_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set MINBIL_SOAK=3m (make soak) to run the soak test")
	}
	h := startGatewayWithMock(t, mock.Config{Seed: 3, ErrorRate: 0.01}, func(cfg *config.Config) {
		cfg.Cache.UsernameMaxBytes = 1 << 20
		cfg.Cache.UsernameTTL = 5 * time.Second
		cfg.Idempotency.MaxBytes = 2 << 20
		cfg.Idempotency.TTL = 10 * time.Second
		cfg.Log.Level = "warn"
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var requests atomic.Int64
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				soakRequest(h, rng)
				requests.Add(1)
			}
		}(uint64(w))
	}
	var samples []soakSample
	start := time.Now()
	tick := time.NewTicker(d / 30)
	for time.Since(start) < d {
		<-tick.C
		samples = append(samples, sample(t, h, time.Since(start)))
	}
	tick.Stop()
	close(stop)
	wg.Wait()

	t.Logf("%d requests in %v", requests.Load(), d)
	t.Log("\n" + soakTable(samples))
	half := samples[len(samples)/2:]
	for _, m := range soakMetrics {
		if grows, why := trendsUp(half, m); grows {
			t.Errorf("%s trends upward over the second half: %s", m.name, why)
		}
	}
	// The cache and the store fill, and drop expired entries only when they
	// are read or their room is needed (no sweeper): they must stay within
	// their byte bounds rather than be flat.
	for _, s := range samples {
		if s.cache > 1<<20 || s.idem > 2<<20 {
			t.Errorf("at %v the username cache holds %.0f bytes (bound 1 MiB) and the idempotency store %.0f (bound 2 MiB)", s.at, s.cache, s.idem)
		}
	}
}

type soakSample struct {
	at                                    time.Duration
	rssKB, goroutines, files, cache, idem float64
}

type soakMetric struct {
	name string
	get  func(soakSample) float64
	// slack is the growth tolerated over the second half, relative to the mean.
	slack float64
}

var soakMetrics = []soakMetric{
	{"RSS", func(s soakSample) float64 { return s.rssKB }, 0.10},
	{"goroutines", func(s soakSample) float64 { return s.goroutines }, 0.25},
	{"open files", func(s soakSample) float64 { return s.files }, 0.25},
}

// sample reads the process's RSS, goroutines and open files, and the
// bytes of the username cache and the idempotency store from /metrics, as
// an operator sees them.
func sample(t *testing.T, h *wiretest.Server, at time.Duration) soakSample {
	t.Helper()
	stores, err := storeBytes(h)
	if err != nil {
		t.Fatal(err)
	}
	s := soakSample{at: at, goroutines: float64(runtime.NumGoroutine()), cache: stores["username_cache"], idem: stores["idempotency"]}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				n, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
				s.rssKB = n
			}
		}
	}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.files = float64(len(ents))
	}
	return s
}

// trendsUp fits a least-squares line and reports growth over the span
// beyond slack × mean.
func trendsUp(ss []soakSample, m soakMetric) (bool, string) {
	n := float64(len(ss))
	var sx, sy, sxx, sxy float64
	for _, s := range ss {
		x, y := s.at.Seconds(), m.get(s)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return false, ""
	}
	slope := (n*sxy - sx*sy) / den
	mean := sy / n
	span := ss[len(ss)-1].at.Seconds() - ss[0].at.Seconds()
	growth := slope * span
	return growth > m.slack*mean+1, fmt.Sprintf("%.1f over %.0fs (mean %.1f)", growth, span, mean)
}

func soakTable(ss []soakSample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%8s %10s %11s %6s %7s %7s\n", "t", "RSS MB", "goroutines", "files", "cache", "idem")
	for _, s := range ss {
		fmt.Fprintf(&b, "%8s %10.1f %11.0f %6.0f %7.0f %7.0f\n", s.at.Round(time.Second), s.rssKB/1024, s.goroutines, s.files, s.cache, s.idem)
	}
	return b.String()
}

var soakCounter atomic.Int64

func soakRequest(h *wiretest.Server, rng *rand.Rand) {
	owner := fmt.Sprintf("soak-%d", rng.IntN(500))
	switch rng.IntN(10) {
	case 0, 1, 2:
		_, _ = get(h, fmt.Sprintf("/api/co/profile/check-username?username=name%d", rng.IntN(5000)), owner)
	case 3, 4:
		_, _ = get(h, "/api/co/profile/check-username?username=popular", owner)
	case 5, 6:
		_, _ = get(h, "/api/co/rating", owner)
	case 7:
		_, _ = post(h, fmt.Sprintf("/api/co/rating/rate/%d", 1+rng.IntN(1000)), owner,
			fmt.Sprintf("soak-%d", soakCounter.Add(1)), `{"service_rating":4,"private_service_rating":true}`, 5*time.Second)
	case 8:
		_, _ = post(h, "/api/co/rating/rate/abc", owner, "", `{}`, 5*time.Second)
	default:
		_, _ = post(h, "/api/co/rating/rate/123", owner, "", `{"service_rating":`, 5*time.Second)
	}
}

func get(h *wiretest.Server, path, owner string) (int, error) {
	req, err := http.NewRequest("GET", h.URL+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+owner)
	resp, err := h.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}
