package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// target is one measured request against one server.
type target struct {
	id     string
	label  string
	server string
	path   string
	header []string
	// status is the answer every request must get: 200, or 503 for the
	// open breaker.
	status int
	// script is a wrk Lua script that makes the requests instead of path
	// and header (which the probe still uses); scaling marks the rows of
	// the scaling table, which are not in the main table or the chart.
	script  string
	scaling bool
	// callers, when not 0, is the number of distinct callers (tokens) a
	// rotation script sends the list with; callerScripts writes it.
	callers int
}

// perCallerCallers is how many callers the per-caller rows rotate
// through: as many as the largest scaling row.
const perCallerCallers = 10000

const (
	pathList     = "/api/co/rating"
	pathUsername = "/api/co/profile/check-username?username=nora.berg"
)

// withBase puts after every target served by the minbil-bff binary its
// twin served by the base binary, so that before and after run next to
// each other in every round; the labels say which is which.
func withBase(ts []target, o options) []target {
	if o.base == "" {
		return ts
	}
	var out []target
	for _, t := range ts {
		if !fromGateway(t.server) {
			out = append(out, t)
			continue
		}
		twin := t
		twin.id, twin.server = t.id+baseSuffix, t.server+baseSuffix
		twin.label = fmt.Sprintf("%s [before: %s]", t.label, o.baseName())
		t.label = fmt.Sprintf("%s [after: %s]", t.label, o.refName())
		out = append(out, t, twin)
	}
	return out
}

// swapTwins puts every base twin before its original where the two are
// neighbours, so that over the rounds before and after each run first
// half the time (a target measured right after another is not in the
// same position: the other's connections are still closing).
func swapTwins(order []target) {
	for i := 1; i < len(order); i++ {
		if order[i].id == order[i-1].id+baseSuffix {
			order[i-1], order[i] = order[i], order[i-1]
			i++
		}
	}
}

// targets lists what is measured, ordered so that the pairs the goals
// compare run close together in every round (load from other processes
// drifts over seconds, so neighbours see the same machine).
func targets(c credentials) []target {
	hs := []string{"Authorization: Bearer " + c.hs256}
	rs := []string{"Authorization: Bearer " + c.rs256}
	return []target{
		{id: "upstream", label: "upstream called directly (fasthttp)", server: srvUpstream, path: pathList, status: 200},
		{id: "fiber-proxy", label: "bare Fiber proxy (proxy.Do)", server: srvFiberProxy, path: pathList, status: 200},
		{id: "nginx", label: "NGINX reverse proxy", server: srvNginx, path: pathList, status: 200},
		{id: "gw-hs256", label: "gateway, JWT HS256, validate=log", server: srvGwHS, path: pathList, header: hs, status: 200},
		{id: "fiber-proxy-vary", label: "bare Fiber proxy (proxy.Do), list varying per caller (10,000 callers)", server: srvFiberProxyVary,
			path: pathList, status: 200, callers: perCallerCallers},
		{id: "gw-vary", label: "gateway, JWT HS256, validate=log, list varying per caller (10,000 callers)", server: srvGwVary,
			path: pathList, status: 200, callers: perCallerCallers},
		{id: "gw-validate-off", label: "gateway, JWT HS256, validate=off", server: srvGwOff, path: pathList, header: hs, status: 200},
		{id: "gw-rs256", label: "gateway, JWT RS256, validate=log", server: srvGwRS, path: pathList, header: rs, status: 200},
		{id: "fiber-username", label: "bare Fiber check-username (same bytes)", server: srvFiber, path: pathUsername, status: 200},
		{id: "gw-cache-hit", label: "gateway check-username, cache hit", server: srvGwHS, path: pathUsername, header: hs, status: 200},
		{id: "gw-breaker-open", label: "gateway, breaker open (503)", server: srvGwBreaker, path: pathList, header: hs, status: 503},
		{id: "gw-run", label: "`make run` (gateway + in-process mock)", server: srvRun, path: pathList, status: 200},
		{id: "mock", label: "built-in mock, standalone", server: srvMock, path: pathList, status: 200},
		{id: "prism", label: "Prism 5 mock", server: srvPrism, path: pathList, status: 200},
	}
}

// callerScripts gives every target with callers its rotation script (one
// file per number of callers, in dir) and the first token as its header,
// which the probe sends.
func callerScripts(ts []target, secret, dir string) error {
	type script struct{ path, first string }
	written := map[int]script{}
	for i := range ts {
		n := ts[i].callers
		if n == 0 {
			continue
		}
		sc, ok := written[n]
		if !ok {
			tokens, err := callerTokens(secret, n)
			if err != nil {
				return err
			}
			sc = script{path: filepath.Join(dir, fmt.Sprintf("callers-%d.lua", n)), first: tokens[0]}
			if err := os.WriteFile(sc.path, []byte(rotationScript([]string{ts[i].path}, tokens)), 0o600); err != nil {
				return err
			}
			written[n] = sc
		}
		ts[i].script, ts[i].header = sc.path, []string{"Authorization: Bearer " + sc.first}
	}
	return nil
}

// result is the record of one target over all rounds.
type result struct {
	ID      string        `json:"id"`
	Label   string        `json:"label"`
	Server  string        `json:"server"`
	Samples []sampleJSON  `json:"samples"`
	RPS     float64       `json:"rps_median"`
	P50     time.Duration `json:"p50_median_ns"`
	P99     time.Duration `json:"p99_median_ns"`
	PeakRSS int64         `json:"peak_rss_bytes"`
	Ratio   float64       `json:"ratio_to_upstream"`
	// RPSSpread and P99Spread are (max − min) / median over rounds: how
	// far apart the rounds were, the noise any comparison has to beat.
	RPSSpread float64         `json:"rps_spread"`
	P99Spread float64         `json:"p99_spread"`
	byRound   map[int]*sample `json:"-"`
}

type sampleJSON struct {
	Round  int           `json:"round"`
	RPS    float64       `json:"rps"`
	P50    time.Duration `json:"p50_ns"`
	P99    time.Duration `json:"p99_ns"`
	Non2xx int64         `json:"non_2xx"`
	Errors int64         `json:"socket_errors"`
}

// table runs every target in interleaved rounds and reports.
func table(ctx context.Context, e environment) error {
	var cold *coldStart
	if e.o.coldStart {
		// First, while none of the harness's servers runs: the goal is for
		// a developer's two cores, not for what is left of them.
		logf("cold start: cloning, then `make run` with empty module and build caches")
		cs, err := measureColdStart(ctx, e.root, e.runDir)
		if err != nil {
			return fmt.Errorf("cold start (-cold-start=false skips it): %w", err)
		}
		logf("cold start: first 200 after %s (clone %s)", cs.ToFirst200.Round(100*time.Millisecond), cs.Clone.Round(time.Millisecond))
		cold = &cs
	}
	all := withBase(targets(e.creds), e.o)
	if e.o.scaling {
		st, err := scalingTargets(e.creds, e.runDir)
		if err != nil {
			return err
		}
		all = append(all, st...)
	}
	var chosen []target
	want := map[string]bool{}
	for _, id := range strings.Split(e.o.only, ",") {
		if id != "" {
			want[id] = true
		}
	}
	for _, t := range all {
		if t.server == srvPrism && e.o.skipPrism {
			continue
		}
		if len(want) == 0 || want[strings.TrimSuffix(t.id, baseSuffix)] {
			chosen = append(chosen, t)
		}
	}
	if err := callerScripts(chosen, e.creds.secret, e.runDir); err != nil {
		return err
	}
	names := []string{srvUpstream}
	for _, t := range chosen {
		for _, n := range []string{upstreamOf(t.server), t.server} {
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	srv, err := startServers(ctx, e, names)
	if err != nil {
		return err
	}
	defer srv.stopAll()
	for _, b := range []string{srvGwBreaker, srvGwBreaker + baseSuffix} {
		if p, ok := srv.by[b]; ok {
			if err := tripBreaker(ctx, p.addr, e.creds.hs256); err != nil {
				return fmt.Errorf("%s: %w", b, err)
			}
		}
	}
	results := map[string]*result{}
	for _, t := range chosen {
		if err := probe(ctx, t, srv.by[t.server].addr); err != nil {
			return err
		}
		results[t.id] = &result{ID: t.id, Label: t.label, Server: t.server, byRound: map[int]*sample{}}
	}
	logf("warming up %d targets for %s each", len(chosen), e.o.warmup)
	for _, t := range chosen {
		if _, out, err := wrkRun(ctx, e.o.clientCPU, "http://"+srv.by[t.server].addr+t.path, e.o.conns, e.o.warmup, t.header, t.script); err != nil {
			return fmt.Errorf("%w\n%s", err, out)
		}
	}
	started := time.Now()
	for r := range e.o.rounds {
		// Rotate the order so no target always runs right after the same one.
		order := make([]target, len(chosen))
		for i := range chosen {
			order[i] = chosen[(i+r)%len(chosen)]
		}
		if r%2 == 1 {
			swapTwins(order)
		}
		for _, t := range order {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s, out, err := wrkRun(ctx, e.o.clientCPU, "http://"+srv.by[t.server].addr+t.path, e.o.conns, e.o.duration, t.header, t.script)
			if err != nil {
				return fmt.Errorf("%w\n%s", err, out)
			}
			if bad := badAnswers(t, s); bad != "" {
				return fmt.Errorf("round %d, %s: %s\n%s", r+1, t.id, bad, out)
			}
			results[t.id].byRound[r] = &s
			logf("round %d/%d %-16s %9.0f req/s  p50 %-9s p99 %s", r+1, e.o.rounds, t.id, s.rps, s.p50, s.p99)
		}
	}
	sys := measureSyscalls(ctx, e, srv, chosen)
	for _, t := range chosen {
		results[t.id].PeakRSS = srv.by[t.server].peakRSS()
	}
	var prof *cpuProfile
	var profErr error
	if e.o.profile {
		prof, profErr = profileGateway(ctx, e)
		if profErr != nil {
			prof = &cpuProfile{Error: profErr.Error()}
			logf("-profile: %v", profErr)
		}
	}
	rep := summarise(chosen, results, e.o, time.Since(started), cold, sys)
	rep.Profile = prof
	if err := rep.write(e); err != nil {
		return err
	}
	if profErr != nil {
		return fmt.Errorf("the table is written, the profile is not: %w", profErr)
	}
	return nil
}

// badAnswers says what is wrong with a run: socket errors, or answers with
// another status than the target's.
func badAnswers(t target, s sample) string {
	switch {
	case s.errors > 0:
		return fmt.Sprintf("%d socket errors", s.errors)
	case t.status == 200 && s.non2xx > 0:
		return fmt.Sprintf("%d non-2xx answers", s.non2xx)
	case t.status != 200 && s.non2xx != s.requests:
		return fmt.Sprintf("%d of %d answers were 2xx, want every one %d", s.requests-s.non2xx, s.requests, t.status)
	}
	return ""
}

func median[T float64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is (max − min) / median of v, 0 for fewer than two values.
func spread[T float64 | time.Duration](v []T) float64 {
	if len(v) < 2 || median(v) == 0 {
		return 0
	}
	return float64(slices.Max(v)-slices.Min(v)) / float64(median(v))
}

// ratio is the median over rounds of f(a's sample, b's sample) in the same
// round; ok is false when either target did not run.
func ratio(res map[string]*result, a, b string, rounds int, f func(a, b *sample) float64) (float64, bool) {
	v := ratios(res, a, b, rounds, f)
	if len(v) == 0 {
		return 0, false
	}
	return median(v), true
}

// ratios is f(a's sample, b's sample) for every round both ran.
func ratios(res map[string]*result, a, b string, rounds int, f func(a, b *sample) float64) []float64 {
	ra, rb := res[a], res[b]
	if ra == nil || rb == nil {
		return nil
	}
	var v []float64
	for r := range rounds {
		if sa, sb := ra.byRound[r], rb.byRound[r]; sa != nil && sb != nil {
			v = append(v, f(sa, sb))
		}
	}
	return v
}

// comparison is one target after (-ref) against before (-base), measured
// next to each other in every round.
type comparison struct {
	ID string `json:"id"`
	// RPS and P99 are medians of the per-round ratios after/before; the
	// ranges are their smallest and largest per-round values.
	RPS    float64 `json:"rps_ratio"`
	RPSMin float64 `json:"rps_ratio_min"`
	RPSMax float64 `json:"rps_ratio_max"`
	P99    float64 `json:"p99_ratio"`
	P99Min float64 `json:"p99_ratio_min"`
	P99Max float64 `json:"p99_ratio_max"`
	RSS    float64 `json:"peak_rss_ratio"`
}

// verdict says "worse" or "better" only when every round agreed, and
// "within noise" when the per-round ratios straddle 1. higherIsBetter is
// true for throughput, false for latency.
func verdict(lo, hi float64, higherIsBetter bool) string {
	switch {
	case hi < 1 && higherIsBetter, lo > 1 && !higherIsBetter:
		return "**worse**"
	case lo > 1 && higherIsBetter, hi < 1 && !higherIsBetter:
		return "better"
	}
	return "within noise"
}

func rpsRatio(a, b *sample) float64 { return a.rps / b.rps }
func p99Ratio(a, b *sample) float64 { return float64(a.p99) / float64(b.p99) }

// goal is one of the performance goals, as measured.
type goal struct {
	Name     string  `json:"name"`
	Measured string  `json:"measured"`
	Want     string  `json:"want"`
	Met      bool    `json:"met"`
	Value    float64 `json:"value"`
	// Rounds is the round-to-round spread of a ratio: its smallest and
	// largest per-round value, or how the number was taken when it is not
	// a ratio of rounds.
	Rounds string `json:"rounds"`
	// Extra marks a goal of an earlier issue, printed below the issue's.
	Extra bool `json:"extra,omitempty"`
	// NotMeasured marks a goal the run could not measure; Measured says
	// why, and Met is false.
	NotMeasured bool `json:"not_measured,omitempty"`
}

// report is everything one run produced.
type report struct {
	When    time.Time `json:"when"`
	Host    string    `json:"host"`
	Method  string    `json:"method"`
	Results []*result `json:"results"`
	Goals   []goal    `json:"goals"`
	// Scaling holds the scaling rows (empty with -scaling=false), ColdStart
	// the fresh-clone measurement (nil with -cold-start=false).
	Scaling   []scalingRow `json:"scaling,omitempty"`
	ColdStart *coldStart   `json:"cold_start,omitempty"`
	// Base and Ref name the two builds of a -base run; Compare is empty
	// without -base.
	Base     string       `json:"base,omitempty"`
	Ref      string       `json:"ref,omitempty"`
	Compare  []comparison `json:"compare,omitempty"`
	Duration string       `json:"duration"`
	// Syscalls is nil when none of syscallIDs ran; Profile is nil without
	// -profile.
	Syscalls *syscallReport `json:"syscalls,omitempty"`
	Profile  *cpuProfile    `json:"cpu_profile,omitempty"`
}

func summarise(chosen []target, res map[string]*result, o options, took time.Duration, cold *coldStart, sys *syscallReport) report {
	rep := report{When: time.Now().UTC().Truncate(time.Second), Duration: took.Round(time.Second).String(), ColdStart: cold, Syscalls: sys}
	rep.Host, _ = os.Hostname()
	rep.Method = fmt.Sprintf("%d interleaved rounds of %s per target (after a %s warm-up), wrk -t1 -c%d pinned to CPU %s, every server pinned to CPU %s; medians over rounds, ratios are medians of per-round ratios",
		o.rounds, o.duration, o.warmup, o.conns, o.clientCPU, o.serverCPU)
	rep.Method += "; minbil-bff built from " + o.refName()
	if o.base != "" {
		rep.Method += ", its twins from " + o.baseName()
	}
	for _, t := range chosen {
		r := res[t.id]
		var rps []float64
		var p50, p99 []time.Duration
		for round := range o.rounds {
			s := r.byRound[round]
			if s == nil {
				continue
			}
			rps, p50, p99 = append(rps, s.rps), append(p50, s.p50), append(p99, s.p99)
			r.Samples = append(r.Samples, sampleJSON{Round: round + 1, RPS: s.rps, P50: s.p50, P99: s.p99, Non2xx: s.non2xx, Errors: s.errors})
		}
		r.RPS, r.P50, r.P99 = median(rps), median(p50), median(p99)
		r.RPSSpread, r.P99Spread = spread(rps), spread(p99)
		if v, ok := ratio(res, t.id, "upstream", o.rounds, rpsRatio); ok {
			r.Ratio = v
		}
		if !t.scaling {
			rep.Results = append(rep.Results, r)
		}
	}
	rep.Scaling = scalingRows(res, o.rounds)
	rep.Goals = goals(res, o.rounds, cold, sys)
	if o.base != "" {
		rep.Base, rep.Ref = o.baseName(), o.refName()
		for _, t := range chosen {
			before := res[t.id+baseSuffix]
			if before == nil {
				continue
			}
			rr := ratios(res, t.id, t.id+baseSuffix, o.rounds, rpsRatio)
			pr := ratios(res, t.id, t.id+baseSuffix, o.rounds, p99Ratio)
			c := comparison{ID: t.id, RPS: median(rr), RPSMin: slices.Min(rr), RPSMax: slices.Max(rr),
				P99: median(pr), P99Min: slices.Min(pr), P99Max: slices.Max(pr)}
			if before.PeakRSS > 0 {
				c.RSS = float64(res[t.id].PeakRSS) / float64(before.PeakRSS)
			}
			rep.Compare = append(rep.Compare, c)
		}
	}
	return rep
}

// rssGateways are the gateway rows whose peak RSS the RSS goal takes the
// largest of: every gateway with a real upstream (not `make run`, which
// holds the mock too), the scaling rows included.
var rssGateways = []string{"gw-hs256", "gw-vary", "gw-rs256", "gw-validate-off", "gw-breaker-open", "gw-cache-hit",
	"gw-callers-1", "gw-callers-100", "gw-callers-10000", "gw-names-1", "gw-names-10000"}

// goals measures the goals, in the order, then the goals
// of earlier issues the table still checks. A goal whose targets did not
// run is left out; the syscall goal says "not measured" when its targets
// ran but no tool could count.
func goals(res map[string]*result, rounds int, cold *coldStart, sys *syscallReport) []goal {
	var out []goal
	ratioGoal := func(name, want, a, b string, f func(a, b *sample) float64, met func(float64) bool, format string, extra bool) {
		v := ratios(res, a, b, rounds, f)
		if len(v) == 0 {
			return
		}
		m := median(v)
		out = append(out, goal{Name: name, Want: want, Value: m, Met: met(m), Extra: extra,
			Measured: fmt.Sprintf(format, m),
			Rounds:   fmt.Sprintf(format+" – "+format, slices.Min(v), slices.Max(v))})
	}
	atLeast := func(x float64) func(float64) bool { return func(v float64) bool { return v >= x } }
	atMost := func(x float64) func(float64) bool { return func(v float64) bool { return v <= x } }

	ratioGoal("gateway (JWT HS256, breaker, request ids, access log, metrics, rate limits) vs NGINX proxy, throughput", "≥ 1.00×",
		"gw-hs256", "nginx", rpsRatio, atLeast(1), "%.2f×", false)
	ratioGoal("same, p99", "≤ 1.00×", "gw-hs256", "nginx", p99Ratio, atMost(1), "%.2f×", false)
	ratioGoal("gateway vs bare Fiber proxy (`proxy.Do`), throughput, upstream body varying per caller (10,000 callers): what all the features cost", "≥ 0.85×",
		"gw-vary", "fiber-proxy-vary", rpsRatio, atLeast(0.85), "%.2f×", false)
	ratioGoal("cached check-username vs a bare Fiber handler writing the same bytes", "≥ 0.80×",
		"gw-cache-hit", "fiber-username", rpsRatio, atLeast(0.8), "%.2f×", false)
	ratioGoal("open breaker vs cache hit (throughput)", "≥ 1.00×", "gw-breaker-open", "gw-cache-hit", rpsRatio, atLeast(1), "%.2f×", false)
	if g, ok := syscallGoal(sys); ok {
		out = append(out, g)
	}
	ratioGoal("`make run` vs standalone mock (throughput)", "≥ 0.50×", "gw-run", "mock", rpsRatio, atLeast(0.5), "%.2f×", false)
	var peak int64
	var peakID string
	for _, id := range rssGateways {
		if r := res[id]; r != nil && r.PeakRSS > peak {
			peak, peakID = r.PeakRSS, id
		}
	}
	if peak > 0 {
		out = append(out, goal{Name: "gateway peak RSS under load", Measured: mb(peak), Want: "≤ 30 MB",
			Met: peak <= 30<<20, Value: float64(peak), Rounds: "peak over the run (" + peakID + ")"})
	}
	if cold != nil {
		s := cold.ToFirst200.Seconds()
		out = append(out, goal{Name: "fresh clone to the first `200` from `make run`, empty module and build caches, 2 cores",
			Measured: fmt.Sprintf("%.0f s", s), Want: "≤ 60 s", Met: s <= 60, Value: s, Rounds: "one run"})
	}

	ratioGoal("gateway, JWT RS256, vs NGINX, throughput", "≥ 1.00×", "gw-rs256", "nginx", rpsRatio, atLeast(1), "%.2f×", true)
	ratioGoal("same, p99", "≤ 1.00×", "gw-rs256", "nginx", p99Ratio, atMost(1), "%.2f×", true)
	ratioGoal("mock vs Prism (throughput)", "≥ 30×", "mock", "prism", rpsRatio, atLeast(30), "%.0f×", true)
	ratioGoal("mock vs Prism (p99)", "< 0.01×", "mock", "prism", p99Ratio, func(v float64) bool { return v < 0.01 }, "%.4f×", true)
	ratioGoal("cost of validate=log vs off", "≤ 15 %", "gw-validate-off", "gw-hs256",
		func(off, log *sample) float64 { return 100 * (1 - log.rps/off.rps) }, atMost(15), "%.1f %%", true)
	return out
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func (rep report) write(e environment) error {
	md := rep.markdown()
	svg, err := rep.svg()
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	out := filepath.Join(e.root, filepath.FromSlash(outDir))
	files := map[string][]byte{"latest.md": []byte(md), "latest.svg": svg, "latest.json": js}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			return err
		}
	}
	if e.o.publish {
		dir := filepath.Join(e.root, filepath.FromSlash(resultsDir))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return err
			}
		}
	}
	fmt.Print(md)
	logf("wrote %s/latest.{md,svg,json}", out)
	return nil
}
