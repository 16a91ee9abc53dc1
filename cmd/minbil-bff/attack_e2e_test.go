package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minbil/minbil-bff/contracts/secret"
)

// e2eKey is the upstream API key of these tests; no 8-byte run of it may
// reach the log.
const e2eKey = "upk-5Rq8Zt2Wv9Lx3Nc7Hb4Jm6"

// e2eToken is a caller's JWT-shaped token; no part of it may reach the log.
const e2eToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2aWN0aW0ifQ.c2lnbmF0dXJlLXBhcnQ"

// TestEchoedSecretsNeverReachTheLog is OA-01 through the real
// binary: an upstream that echoes the API key into a date field and the
// caller's Bearer token into a field name. Whatever validate_responses
// says, no line of the gateway's log holds the key, the token or a part of
// either. Before, the drift watch and the access line's error field
// quoted both.
func TestEchoedSecretsNeverReachTheLog(t *testing.T) {
	for _, mode := range []string{"log", "off", "enforce"} {
		t.Run(mode, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				key, auth := r.Header.Get("X-API-Key"), r.Header.Get("Authorization")
				if strings.HasPrefix(r.URL.Path, "/api/co/profile") {
					fmt.Fprintf(w, `{"username":%q,"available":%q,"message":%q}`, key, auth, key)
					return
				}
				fmt.Fprintf(w, `{"total":1,"items":[{"booking_id":1,"rated_at":%q,"service_start_time":%q,%q:%q}]}`, key, auth, auth, key)
			}))
			defer up.Close()
			addr := freeAddr(t)
			p := startUnmanaged(t, addr, []string{"MINBIL_AUTH_MODE=passthrough", "MINBIL_API_KEY=" + e2eKey,
				"MINBIL_UPSTREAM_URL=" + up.URL, "MINBIL_UPSTREAM_VALIDATE_RESPONSES=" + mode}, "serve", "--addr", addr)
			for _, path := range []string{"/api/co/rating", "/api/co/rating", "/api/co/profile/check-username?username=ola.nordmann"} {
				req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
				req.Header.Set("Authorization", "Bearer "+e2eToken)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			if err := p.wait(20 * time.Second); err != nil {
				t.Fatalf("gateway: %v", err)
			}
			out := p.out.String()
			if secret.Quotes(out, e2eKey, e2eToken) {
				t.Fatalf("the log quotes the API key or the token:\n%s", out)
			}
			if !strings.Contains(out, "upstream_status") {
				t.Fatalf("no access line of an upstream call was logged:\n%s", out)
			}
		})
	}
}

// TestMemoryStaysBoundedWithLargeAnswers is OA-04 through the real
// binary: 0.95 MB lists, a different one for each of 400 callers (the
// outside test took the old gateway from 36 MB to 704 MB, never released).
// The gateway's resident memory must stay under the 128 MiB limit of our
// Kubernetes manifests.
func TestMemoryStaysBoundedWithLargeAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 400 MB through the gateway")
	}
	up := largeListUpstream(t)
	addr := freeAddr(t)
	p := start(t, addr, []string{"MINBIL_AUTH_MODE=passthrough", "MINBIL_API_KEY=" + e2eKey,
		"MINBIL_UPSTREAM_URL=" + up.URL, "MINBIL_RATE_LIMIT_PER_IDENTITY=0", "MINBIL_RATE_LIMIT_PER_IP=0"}, "serve", "--addr", addr)
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				req, _ := http.NewRequest("GET", "http://"+addr+"/api/co/rating", nil)
				req.Header.Set("Authorization", fmt.Sprintf("Bearer caller-%d", i))
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("caller %d: %d", i, res.StatusCode)
				}
			}
		}()
	}
	for i := range 400 {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	rss := procBytes(t, p.cmd.Process.Pid, "VmRSS")
	t.Logf("gateway resident memory after 400 callers: %d MiB", rss>>20)
	if rss > 128<<20 {
		t.Errorf("gateway resident memory %d MiB after 400 callers' 0.95 MB lists, want under 128 MiB", rss>>20)
	}
}

// largeListUpstream answers each caller (by its Authorization) a list of
// 1,000 items of about 0.95 MB in all.
func largeListUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	item := `{"booking_id":1,"workshop_name":"` + strings.Repeat("x", 900) + `"}`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sum := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		const n = 1000
		var b strings.Builder
		b.WriteString(`{"total":` + strconv.Itoa(n) + `,"items":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.Replace(item, `"x`, `"`+hex.EncodeToString(sum[:4]), 1))
		}
		b.WriteString("]}")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, b.String())
	}))
	t.Cleanup(up.Close)
	return up
}

// TestR3F7ConcurrentLargeAnswersStayUnderTheLimit: 48 callers at once
// fetching 0.95 MB lists kept the gateway's peak resident memory at 280 to
// 305 MB (heap 200–250 MB) although the Kubernetes manifest limits the pod
// to 128 MiB (and sets GOMEMLIMIT to it, as here). With the budget on
// upstream answer bytes in flight (upstream.max_inflight_bytes) the peak
// stays under 128 MiB, and a caller over the budget gets 503 with
// Retry-After, never a broken answer.
func TestR3F7ConcurrentLargeAnswersStayUnderTheLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 450 MB through the gateway")
	}
	up := largeListUpstream(t)
	addr := freeAddr(t)
	// The test is about memory, not speed: on a busy machine 48 lists of
	// 0.95 MB at once can take longer than the default upstream.timeout,
	// and a 504 would fail it for the machine's load, not for the budget.
	p := start(t, addr, []string{"MINBIL_AUTH_MODE=passthrough", "MINBIL_API_KEY=" + e2eKey, "GOMEMLIMIT=128MiB",
		"MINBIL_UPSTREAM_URL=" + up.URL, "MINBIL_UPSTREAM_TIMEOUT=2m",
		"MINBIL_RATE_LIMIT_PER_IDENTITY=0", "MINBIL_RATE_LIMIT_PER_IP=0"}, "serve", "--addr", addr)
	var wg sync.WaitGroup
	var ok, refused atomic.Int64
	for c := range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				req, _ := http.NewRequest("GET", "http://"+addr+"/api/co/rating", nil)
				req.Header.Set("Authorization", fmt.Sprintf("Bearer caller-%d-%d", c, i))
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				switch {
				case res.StatusCode == http.StatusOK:
					ok.Add(1)
				case res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "":
					refused.Add(1)
				default:
					t.Errorf("caller %d: %d (Retry-After %q), want 200, or 503 with Retry-After", c, res.StatusCode, res.Header.Get("Retry-After"))
				}
			}
		}()
	}
	wg.Wait()
	peak := procBytes(t, p.cmd.Process.Pid, "VmHWM")
	t.Logf("peak resident memory with 48 concurrent callers of 0.95 MB lists: %d MiB (%d answered, %d refused with Retry-After)", peak>>20, ok.Load(), refused.Load())
	if peak > 128<<20 {
		t.Errorf("peak resident memory %d MiB, want under the manifest's 128 MiB", peak>>20)
	}
	if ok.Load() < 48 {
		t.Errorf("%d of 480 answered, want at least one a caller: the budget must queue, not refuse everything", ok.Load())
	}
}

// procBytes reads a size in kB (VmRSS, VmHWM) of a process from /proc.
func procBytes(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc status", field)
	return 0
}
