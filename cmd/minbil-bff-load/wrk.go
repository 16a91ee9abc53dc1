package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// sample is one wrk run against one target.
type sample struct {
	rps      float64
	p50, p99 time.Duration
	requests int64
	non2xx   int64
	errors   int64
}

// wrkRun drives url for d (whole seconds: wrk reads "60s", not Go's
// "1m0s") with conns connections from one wrk thread pinned to cpu,
// sending header ("Name: value") lines, or the requests of a Lua script
// when script is not "".
func wrkRun(ctx context.Context, cpu, url string, conns int, d time.Duration, header []string, script string) (sample, string, error) {
	args := []string{"-c", cpu, "wrk", "-t1", "-c", strconv.Itoa(conns), "-d", strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s", "--latency", "--timeout", "10s"}
	if script != "" {
		args = append(args, "-s", script)
	} else {
		for _, h := range header {
			args = append(args, "-H", h)
		}
	}
	args = append(args, url)
	out, err := exec.CommandContext(ctx, "taskset", args...).CombinedOutput()
	if err != nil {
		return sample{}, string(out), fmt.Errorf("wrk %s: %w", url, err)
	}
	s, err := parseWrk(string(out))
	return s, string(out), err
}

// parseWrk reads requests per second, the 50th and 99th percentile
// latencies, and the error counts from wrk's --latency report.
func parseWrk(out string) (sample, error) {
	var s sample
	var haveRPS, have50, have99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return s, fmt.Errorf("wrk requests/sec %q: %w", f[1], err)
			}
			s.rps, haveRPS = v, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := parseLatency(f[1])
			if err != nil {
				return s, err
			}
			if f[0] == "50%" {
				s.p50, have50 = d, true
			} else {
				s.p99, have99 = d, true
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			s.requests, _ = strconv.ParseInt(f[0], 10, 64)
		case len(f) == 5 && f[0] == "Non-2xx":
			s.non2xx, _ = strconv.ParseInt(f[4], 10, 64)
		case len(f) > 2 && f[0] == "Socket" && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 2; i+1 < len(f); i += 2 {
				n, _ := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				s.errors += n
			}
		}
	}
	if !haveRPS || !have50 || !have99 {
		return s, fmt.Errorf("wrk output without requests/sec or latency distribution")
	}
	return s, nil
}

// parseLatency reads wrk's latency notation: 480.00us, 1.20ms, 1.05s, 2.00m.
func parseLatency(v string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err != nil {
				return 0, fmt.Errorf("wrk latency %q: %w", v, err)
			}
			return time.Duration(f * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("wrk latency %q: unknown unit", v)
}
