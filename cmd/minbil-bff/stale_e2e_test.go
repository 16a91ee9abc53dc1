package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStaleAnswerThroughMakeRun is stale-if-error as a frontend developer
// meets it: `make run` (serve, the built-in mock in process) forwards the mock's
// Prefer: code=503, and the gateway answers the caller's last good list
// with X-Cache: STALE and Age; MINBIL_CACHE_RATINGS_STALE_IF_ERROR=0 turns
// it off.
func TestStaleAnswerThroughMakeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	on, off := freeAddr(t), freeAddr(t)
	start(t, on, nil, "serve", "--addr", on)
	start(t, off, []string{"MINBIL_CACHE_RATINGS_STALE_IF_ERROR=0"}, "serve", "--addr", off)
	get := func(addr, prefer string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest("GET", "http://"+addr+"/api/co/rating", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer frontend-dev")
		if prefer != "" {
			req.Header.Set("Prefer", prefer)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}

	code, _, good := get(on, "")
	if code != 200 {
		t.Fatalf("the list = %d %s", code, good)
	}
	code, h, body := get(on, "code=503")
	age, err := strconv.Atoi(h.Get("Age"))
	if code != 200 || h.Get("X-Cache") != "STALE" || err != nil || age < 0 || body != good || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("with Prefer: code=503 = %d X-Cache %q Age %q Cache-Control %q %.200s; want 200 STALE, an Age, no-store and the last good list",
			code, h.Get("X-Cache"), h.Get("Age"), h.Get("Cache-Control"), body)
	}
	if code, _, body := get(on, "code=401"); code != 401 {
		t.Errorf("with Prefer: code=401 = %d %.200s, want 401: a 4xx is not masked", code, body)
	}
	_, _, metrics := callPlain(t, "http://"+on+"/metrics")
	if !strings.Contains(metrics, `minbil_bff_stale_answers_total{operation="listRatings"} 1`) {
		t.Errorf("/metrics does not count the stale answer")
	}

	get(off, "")
	if code, h, _ := get(off, "code=503"); code != 503 || h.Get("X-Cache") != "" {
		t.Errorf("stale-if-error off: Prefer: code=503 = %d X-Cache %q, want 503", code, h.Get("X-Cache"))
	}
}

// callPlain is a GET without credentials.
func callPlain(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
