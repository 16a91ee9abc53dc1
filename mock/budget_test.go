package mock

import (
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/minbil/minbil-bff/contracts"
)

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// send is do without the contract check, for floods of requests.
func (h *harness) send(t *testing.T, r request) int {
	t.Helper()
	_, resp := h.roundTrip(t, r)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func putScenario(header []string, name string) request {
	return request{method: http.MethodPut, path: PathScenario,
		header: append([]string{"Content-Type", "application/json"}, header...), body: `{"name": "` + name + `"}`}
}

// flood sends n requests made by req from 4 clients and returns how many
// got each status. Every 1,000 requests it calls check.
func (h *harness) flood(t *testing.T, n int, req func(i int) []request, check func(done int)) map[int]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	const step = 1000
	for from := 0; from < n; from += step {
		jobs := make(chan int)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					for _, r := range req(i) {
						status := h.send(t, r)
						mu.Lock()
						counts[status]++
						mu.Unlock()
					}
				}
			}()
		}
		for i := from; i < min(from+step, n); i++ {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		check(min(from+step, n))
		if t.Failed() {
			t.FailNow()
		}
	}
	return counts
}

// TestR3F5ScenarioFloodStaysInBudget is R3-F5: 20,000 PUT /_mock/scenario
// {"name": "many"}, each with another token, took the mock's heap past a
// gigabyte: every owner kept its 300 generated bookings for ever. Now the
// heap the mock holds stays under Config.MaxBytes (checked every 1,000
// requests), one request in ten also lists (building the owner), and every
// scenario set is kept. The same with a new X-Mock-Session per request.
func TestR3F5ScenarioFloodStaysInBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 27,500 requests")
	}
	const budget = 32 << 20
	tests := []struct {
		name   string
		n      int
		header func(i int) []string
	}{
		{"distinct tokens", 20_000, func(i int) []string { return []string{"Authorization", "Bearer flood-" + strconv.Itoa(i)} }},
		{"distinct sessions", 5_000, func(i int) []string { return []string{HeaderSession, "flood-" + strconv.Itoa(i)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, Config{Seed: 1, MaxBytes: budget}, nil)
			before := liveHeap()
			var most int64
			counts := h.flood(t, tt.n, func(i int) []request {
				reqs := []request{putScenario(tt.header(i), "many")}
				if i%10 == 0 {
					reqs = append(reqs, request{method: http.MethodGet, path: contracts.PathRatings, header: tt.header(i)})
				}
				return reqs
			}, func(done int) {
				grown := liveHeap() - before
				most = max(most, grown)
				if grown > budget {
					t.Errorf("after %d requests the heap grew by %d MiB, more than the budget of %d MiB", done, grown>>20, budget>>20)
				}
			})
			t.Logf("%d requests: the heap grew by at most %d MiB (budget %d MiB)", tt.n+tt.n/10, most>>20, budget>>20)
			if counts[http.StatusNoContent] != tt.n || counts[http.StatusOK] != tt.n/10 {
				t.Errorf("statuses %v, want %d × 204 and %d × 200", counts, tt.n, tt.n/10)
			}
			// The last scenario set is still there (a session may be
			// dropped whole, least recently used: not the last one).
			res := h.do(t, request{method: http.MethodGet, path: PathScenarios, header: tt.header(tt.n - 1)})
			if !strings.Contains(string(res.body), `"current":"many"`) {
				t.Errorf("the last owner's scenario: %s, want many", res.body)
			}
		})
	}
}

// TestR3F5DefaultWorldKeepsEveryScenario: in the default world no scenario
// set is forgotten to make room; the generated owners are what is evicted.
func TestR3F5DefaultWorldKeepsEveryScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 4,400 requests")
	}
	h := start(t, Config{Seed: 1, MaxBytes: 4 << 20}, nil)
	const n = 4000
	token := func(i int) []string { return []string{"Authorization", "Bearer keep-" + strconv.Itoa(i)} }
	h.flood(t, n, func(i int) []request {
		reqs := []request{putScenario(token(i), "every-state")}
		if i%10 == 0 {
			reqs = append(reqs, request{method: http.MethodGet, path: contracts.PathRatings, header: token(i)})
		}
		return reqs
	}, func(int) {})
	for _, i := range []int{0, 1, n / 2, n - 1} {
		if got := h.list(t, token(i)[1][len("Bearer "):]).Total; got != 1 {
			t.Errorf("owner %d lists %d ratings, want the 1 of every-state", i, got)
		}
	}
}

// TestR3F5FullBudgetAnswers503: when what the API changed fills its share,
// a change is refused with 503, the contract's error body and Retry-After;
// nothing acknowledged is forgotten, reads still work, and a reset makes
// room.
func TestR3F5FullBudgetAnswers503(t *testing.T) {
	h := start(t, Config{Seed: 1, MaxBytes: MinMaxBytes}, nil)
	token := func(i int) []string { return []string{"Authorization", "Bearer full-" + strconv.Itoa(i)} }
	accepted := 0
	for ; accepted < 20_000; accepted++ {
		if status := h.send(t, putScenario(token(accepted), "empty")); status != http.StatusNoContent {
			break
		}
	}
	if accepted == 20_000 || accepted < 100 {
		t.Fatalf("%d scenarios accepted in a 1 MiB budget, want a refusal after some hundreds", accepted)
	}
	full := h.do(t, putScenario(token(accepted), "empty"))
	if full.status != http.StatusServiceUnavailable || errorCode(t, full) != contracts.CodeUnavailable || full.header.Get("Retry-After") == "" {
		t.Errorf("PUT when full = %d %s (Retry-After %q), want 503 upstream_unavailable with Retry-After", full.status, full.body, full.header.Get("Retry-After"))
	}
	// A rating by a new owner needs room too: 503, which the contract
	// declares for the operation (do checks the answer against it).
	fresh := "full-fresh"
	_, unrated, _ := bookingIDs(h.srv, fresh)
	before := listBody(t, h, fresh)
	if res := h.rate(t, fresh, unrated[0], goodBody); res.status != http.StatusServiceUnavailable {
		t.Errorf("rating when full = %d %s, want 503", res.status, res.body)
	}
	if got := listBody(t, h, fresh); string(got) != string(before) {
		t.Errorf("a refused rating changed the list")
	}
	for _, i := range []int{0, accepted - 1} {
		res := h.do(t, request{method: http.MethodGet, path: PathScenarios, header: token(i)})
		if !strings.Contains(string(res.body), `"current":"empty"`) {
			t.Errorf("owner %d's scenario after the budget filled: %s, want empty", i, res.body)
		}
	}
	if res := h.do(t, request{method: http.MethodPost, path: PathReset, header: []string{"Content-Type", "application/json"}, body: "{}"}); res.status != http.StatusNoContent {
		t.Fatalf("reset = %d", res.status)
	}
	if res := h.do(t, putScenario(token(accepted), "empty")); res.status != http.StatusNoContent {
		t.Errorf("PUT after a reset = %d %s, want 204", res.status, res.body)
	}

	// A session world has a share of its own: when it is full, another
	// session still takes changes.
	inSession := func(id string, i int) []string { return append([]string{HeaderSession, id}, token(i)...) }
	refused := false
	for i := range 20_000 {
		if status := h.send(t, putScenario(inSession("full", i), "empty")); status == http.StatusServiceUnavailable {
			refused = true
			break
		}
	}
	if !refused {
		t.Fatalf("a session world took 20,000 scenarios in a 1 MiB budget, want a refusal")
	}
	if res := h.do(t, putScenario(inSession("other", 0), "empty")); res.status != http.StatusNoContent {
		t.Errorf("PUT in another session when one is full = %d %s, want 204", res.status, res.body)
	}
}

// TestR3F5StateFileGrowsByALine: with a state file, each change appends a
// line; the file is not rewritten per request (it grew to 13 MB in 83
// requests, each rewriting it whole).
func TestR3F5StateFileGrowsByALine(t *testing.T) {
	file := t.TempDir() + "/state.json"
	h := start(t, Config{Seed: 1, StateFile: file}, nil)
	const n = 300
	const maxLine = 512
	if status := h.send(t, putScenario(auth("line-first"), "many")); status != http.StatusNoContent {
		t.Fatalf("PUT = %d", status)
	}
	replaced := 0
	prev := stat(t, file)
	for i := range n {
		if status := h.send(t, putScenario([]string{"Authorization", "Bearer line-" + strconv.Itoa(i)}, "many")); status != http.StatusNoContent {
			t.Fatalf("PUT %d = %d", i, status)
		}
		fi := stat(t, file)
		if grown := fi.size - prev.size; grown > maxLine {
			t.Fatalf("request %d grew the state file by %d bytes, want a line of at most %d", i, grown, maxLine)
		}
		if !fi.same(prev) {
			replaced++
		}
		prev = fi
	}
	if replaced > 0 {
		t.Errorf("the state file was replaced %d times in %d requests, want appended to", replaced, n)
	}
}

// fileStat is what a test sees of a file: its size and identity.
type fileStat struct {
	size int64
	info os.FileInfo
}

func stat(t *testing.T, path string) fileStat {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat state file: %v", err)
	}
	return fileStat{size: fi.Size(), info: fi}
}

// same reports whether both are the same file, not one renamed over it.
func (a fileStat) same(b fileStat) bool { return os.SameFile(a.info, b.info) }
