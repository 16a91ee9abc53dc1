package fullstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp/fasthttputil"
	"go.uber.org/zap"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/contracts"
	"github.com/minbil/minbil-bff/gateway"
	"github.com/minbil/minbil-bff/gateway/auth"
	"github.com/minbil/minbil-bff/gateway/config"
	"github.com/minbil/minbil-bff/mock"
)

// startGatewayWithMock runs the gateway in front of a mock built with mcfg
// (faults included) on an in-memory listener, as `serve` does; wire.Build
// cannot, since its mock never fails on its own.
func startGatewayWithMock(t *testing.T, mcfg mock.Config, opts ...func(*config.Config)) *wiretest.Server {
	t.Helper()
	srv, err := mock.New(mcfg, wiretest.Contract, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		<-served
	})
	cfg := wiretest.Config("mock")
	for _, o := range opts {
		o(&cfg)
	}
	authn, err := auth.New(cfg.Auth, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(authn.Close)
	g, err := gateway.New(cfg, gateway.Deps{Contract: wiretest.Contract, Log: zap.NewNop(), Auth: authn,
		Upstream: gateway.Upstream{URL: mock.InProcessURL, Dial: func(string) (net.Conn, error) { return ln.Dial() }},
		Dev:      &gateway.Dev{PassThrough: mock.ControlRoutes()}})
	if err != nil {
		t.Fatal(err)
	}
	return wiretest.Serve(t, g)
}

// submissionResult is what a client learned about one booking.
type submissionResult struct {
	owner     string
	bookingID int64
	stars     int
	message   string
	// acked: a 200 came back, or 409 already_rated after an attempt whose
	// outcome was unknown (that attempt committed).
	acked bool
	// faults counts the attempts that ended in a client timeout or a 5xx;
	// inFlight those answered 409 idempotency_in_flight.
	timeouts, serverErrors, inFlight int
}

// TestNoRatingLostOrDuplicated submits more than 2,000 ratings
// concurrently through the gateway to a mock that fails 5 % of requests,
// with clients that time out and retry with their Idempotency-Key, then
// proves that every acknowledged rating is listed exactly once with the
// submitted values and that no refused rating appears.
func TestNoRatingLostOrDuplicated(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	h := startGatewayWithMock(t, mock.Config{Seed: 42, ErrorRate: 0.05})
	const owners = 850
	type job struct {
		owner    string
		id       int64
		rateable bool
	}
	var jobs []job
	for i := 0; i < owners; i++ {
		owner := fmt.Sprintf("owner-%d", i)
		var states struct{ Items []mock.BookingState }
		getJSON(t, h, mock.PathBookings, owner, &states)
		for _, b := range states.Items {
			if !b.Rated {
				jobs = append(jobs, job{owner: owner, id: b.BookingID, rateable: b.Rateable})
			}
		}
	}
	rateable := 0
	for _, j := range jobs {
		if j.rateable {
			rateable++
		}
	}
	if rateable < 2000 {
		t.Fatalf("only %d rateable bookings; the test needs at least 2000", rateable)
	}

	results := make(chan submissionResult, len(jobs))
	work := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < 48; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 7))
			for j := range work {
				results <- submitWithRetries(t, h, rng, j.owner, j.id)
			}
		}(uint64(w))
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	close(results)

	byOwner := map[string][]submissionResult{}
	acked, timeouts, serverErrors := 0, 0, 0
	for r := range results {
		byOwner[r.owner] = append(byOwner[r.owner], r)
		timeouts += r.timeouts
		serverErrors += r.serverErrors
		if r.acked {
			acked++
		}
	}
	if acked < 2000 {
		t.Fatalf("%d ratings acknowledged, want at least 2000", acked)
	}
	if timeouts == 0 || serverErrors == 0 {
		t.Fatalf("faults seen: %d client timeouts, %d 5xx; the test needs both to mean anything", timeouts, serverErrors)
	}
	for owner, rs := range byOwner {
		var list contracts.RatingList
		getJSON(t, h, "/api/co/rating", owner, &list)
		seen := map[int64]int{}
		listed := map[int64]contracts.RatingItem{}
		for _, it := range list.Items {
			seen[it.BookingID]++
			listed[it.BookingID] = it
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s: booking %d listed %d times", owner, id, n)
			}
		}
		for _, r := range rs {
			it, ok := listed[r.bookingID]
			switch {
			case r.acked && !ok:
				t.Errorf("%s: acknowledged rating of booking %d is lost", owner, r.bookingID)
			case r.acked && (it.ServiceRating != float64(r.stars) || it.ServiceRatingMessage != r.message):
				t.Errorf("%s: booking %d listed as %v %q, submitted %d %q", owner, r.bookingID, it.ServiceRating, it.ServiceRatingMessage, r.stars, r.message)
			case !r.acked && ok:
				t.Errorf("%s: refused rating of booking %d appears in the list", owner, r.bookingID)
			}
		}
	}
	t.Logf("%d bookings tried, %d ratings acknowledged, %d client timeouts and %d 5xx answers retried", len(jobs), acked, timeouts, serverErrors)
}

// submitWithRetries rates one booking like a careful client: first an
// invalid body now and then (must be refused), then the real one with an Idempotency-Key,
// retried with the same key on timeouts, 5xx (backing off a little when
// told Retry-After) and 409 in-flight. Some
// attempts give up after a few milliseconds, as a client with a short
// timeout would, leaving the outcome unknown to the client.
func submitWithRetries(t *testing.T, h *wiretest.Server, rng *rand.Rand, owner string, id int64) submissionResult {
	path := fmt.Sprintf("/api/co/rating/rate/%d", id)
	if rng.IntN(4) == 0 {
		if a, err := post(h, path, owner, "", `{"service_rating":9,"private_service_rating":true}`, 10*time.Second); err != nil || a.Status != 400 {
			t.Errorf("invalid rating of %d = %v %v, want 400", id, a.Status, err)
		}
	}
	r := submissionResult{owner: owner, bookingID: id, stars: 1 + rng.IntN(5), message: fmt.Sprintf("vurdering %s/%d", owner, id)}
	body := fmt.Sprintf(`{"service_rating":%d,"service_rating_message":%q,"private_service_rating":false}`, r.stars, r.message)
	key := fmt.Sprintf("%s-%d", owner, id)
	unknown := false
	for attempt := 0; attempt < 50; attempt++ {
		timeout := 10 * time.Second
		if rng.IntN(10) == 0 {
			timeout = time.Duration(1+rng.IntN(3)) * time.Millisecond
		}
		a, err := post(h, path, owner, key, body, timeout)
		switch {
		case err != nil:
			unknown = true
			r.timeouts++
		case a.Status == 200:
			r.acked = true
			return r
		case a.Status == 409 && strings.Contains(string(a.Body), contracts.CodeAlreadyRated):
			r.acked = unknown
			return r
		case a.Status >= 500:
			r.serverErrors++
			if a.Header.Get("Retry-After") != "" {
				// A careful client backs off when told to (an open
				// breaker), here for a fraction of the time it is told,
				// so that a burst of faults on a loaded machine does not
				// use up its attempts.
				time.Sleep(time.Duration(50+rng.IntN(50)) * time.Millisecond)
			}
		case a.Status == 409 && strings.Contains(string(a.Body), contracts.CodeIdempotencyInFlight):
			r.inFlight++
		default:
			return r
		}
		time.Sleep(time.Duration(1+rng.IntN(20)) * time.Millisecond)
	}
	t.Errorf("booking %d: no definitive answer after 50 attempts (%d client timeouts, %d 5xx, %d in flight)", id, r.timeouts, r.serverErrors, r.inFlight)
	return r
}

func post(h *wiretest.Server, path, owner, key, body string, timeout time.Duration) (wiretest.Answer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", h.URL+path, strings.NewReader(body))
	if err != nil {
		return wiretest.Answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+owner)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		return wiretest.Answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return wiretest.Answer{}, err
	}
	return wiretest.Answer{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func getJSON(t *testing.T, h *wiretest.Server, path, owner string, into any) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		a := h.Do(wiretest.Get(path, wiretest.Bearer(owner)))
		if a.Status == 200 {
			if err := json.Unmarshal(a.Body, into); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			return
		}
		if attempt == 50 {
			t.Fatalf("GET %s kept failing: %d %s", path, a.Status, a.Body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
