package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

var scriptEntry = regexp.MustCompile(`(?m)^\{"([^"]+)","Bearer ([^"]+)"\},$`)

// scriptTokens returns the distinct tokens of a rotation script.
func scriptTokens(t *testing.T, script string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]bool{}
	for _, m := range scriptEntry.FindAllStringSubmatch(string(b), -1) {
		tokens[m[2]] = true
	}
	return tokens
}

// firstToken returns the token of a rotation script's first entry.
func firstToken(t *testing.T, script string) string {
	t.Helper()
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	m := scriptEntry.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("%s has no entries", script)
	}
	return m[2]
}

func TestVerdict(t *testing.T) {
	tests := []struct {
		name           string
		lo, hi         float64
		higherIsBetter bool
		want           string
	}{
		{name: "throughput lower in every round", lo: 0.90, hi: 0.98, higherIsBetter: true, want: "**worse**"},
		{name: "throughput higher in every round", lo: 1.01, hi: 1.10, higherIsBetter: true, want: "better"},
		{name: "throughput straddles 1", lo: 0.95, hi: 1.03, higherIsBetter: true, want: "within noise"},
		{name: "p99 higher in every round", lo: 1.02, hi: 1.30, higherIsBetter: false, want: "**worse**"},
		{name: "p99 lower in every round", lo: 0.70, hi: 0.99, higherIsBetter: false, want: "better"},
		{name: "p99 straddles 1", lo: 0.80, hi: 1.20, higherIsBetter: false, want: "within noise"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verdict(tt.lo, tt.hi, tt.higherIsBetter); got != tt.want {
				t.Errorf("verdict(%v, %v, %v) = %q, want %q", tt.lo, tt.hi, tt.higherIsBetter, got, tt.want)
			}
		})
	}
}

// TestWithBase checks that every target the minbil-bff binary serves gets
// a twin right after it on the base binary's server, and no other does.
func TestWithBase(t *testing.T) {
	all := targets(credentials{})
	got := withBase(all, options{base: "7cde9b8", ref: "HEAD"})
	twins := 0
	for i, tt := range got {
		orig, isTwin := strings.CutSuffix(tt.id, baseSuffix)
		if !isTwin {
			continue
		}
		twins++
		if i == 0 || got[i-1].id != orig {
			t.Errorf("twin %q at %d does not follow %q", tt.id, i, orig)
		}
		if tt.server != got[i-1].server+baseSuffix {
			t.Errorf("twin %q server = %q, want %q", tt.id, tt.server, got[i-1].server+baseSuffix)
		}
		if !fromGateway(got[i-1].server) {
			t.Errorf("twin %q of a server not run from minbil-bff (%q)", tt.id, got[i-1].server)
		}
	}
	wantTwins := 0
	for _, tt := range all {
		if fromGateway(tt.server) {
			wantTwins++
		}
	}
	if twins != wantTwins || len(got) != len(all)+wantTwins {
		t.Errorf("withBase: %d twins of %d targets, want %d of %d", twins, len(got), wantTwins, len(all)+wantTwins)
	}
	if n := len(withBase(all, options{})); n != len(all) {
		t.Errorf("withBase without -base: %d targets, want %d", n, len(all))
	}
}

// TestBasePorts checks that the twins' ports collide with no other
// server's, no scaling row's, nor with the breaker's dead upstream.
func TestBasePorts(t *testing.T) {
	e := environment{o: options{portBase: 18080}}
	seen := map[string]string{e.addr(deadPortOffset): "dead upstream"}
	for _, c := range scalingCases {
		if other, ok := seen[e.serverAddr(c.id)]; ok {
			t.Errorf("serverAddr(%q) = %s, already %s's", c.id, e.serverAddr(c.id), other)
		}
		seen[e.serverAddr(c.id)] = c.id
	}
	for name := range serverPorts {
		names := []string{name}
		if fromGateway(name) {
			names = append(names, name+baseSuffix)
		}
		for _, n := range names {
			a := e.serverAddr(n)
			if other, ok := seen[a]; ok {
				t.Errorf("serverAddr(%q) = %s, already %s's", n, a, other)
			}
			seen[a] = n
		}
	}
}

func TestNamed(t *testing.T) {
	tests := []struct {
		name, ref, commit, want string
	}{
		{name: "symbolic ref", ref: "HEAD", commit: "a1841cb0d2e3", want: "HEAD (a1841cb0d2e3)"},
		{name: "short hash", ref: "7cde9b8", commit: "7cde9b889e62", want: "7cde9b889e62"},
		{name: "not resolved", ref: "HEAD", want: "HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := named(tt.ref, tt.commit); got != tt.want {
				t.Errorf("named(%q, %q) = %q, want %q", tt.ref, tt.commit, got, tt.want)
			}
		})
	}
}

func TestSwapTwins(t *testing.T) {
	order := []target{{id: "a"}, {id: "a@base"}, {id: "b"}, {id: "c"}, {id: "c@base"}}
	swapTwins(order)
	var got []string
	for _, tt := range order {
		got = append(got, tt.id)
	}
	if want := "a@base a b c@base c"; strings.Join(got, " ") != want {
		t.Errorf("swapTwins = %q, want %q", strings.Join(got, " "), want)
	}
}

// rounds builds results with one sample per round at the given req/s.
func rounds(rps map[string][]float64) map[string]*result {
	res := map[string]*result{}
	for id, v := range rps {
		r := &result{ID: id, byRound: map[int]*sample{}}
		for i, x := range v {
			r.byRound[i] = &sample{rps: x, p99: time.Millisecond}
		}
		res[id] = r
	}
	return res
}

// TestPerCallerGoal checks the goal of what all the features cost: the
// gateway against the bare Fiber proxy, both in front of the upstream
// that answers each caller its own list, as the median of per-round
// ratios with the rounds' range.
func TestPerCallerGoal(t *testing.T) {
	const name = "gateway vs bare Fiber proxy (`proxy.Do`), throughput, upstream body varying per caller (10,000 callers): what all the features cost"
	tests := []struct {
		name         string
		rps          map[string][]float64
		wantGoal     bool
		wantMet      bool
		wantMeasured string
		wantRounds   string
	}{
		{name: "met", rps: map[string][]float64{"gw-vary": {9000, 8600, 8800}, "fiber-proxy-vary": {10000, 10000, 10000}},
			wantGoal: true, wantMet: true, wantMeasured: "0.88×", wantRounds: "0.86× – 0.90×"},
		{name: "missed", rps: map[string][]float64{"gw-vary": {4100, 4000, 4200}, "fiber-proxy-vary": {10000, 10000, 10000}},
			wantGoal: true, wantMeasured: "0.41×", wantRounds: "0.40× – 0.42×"},
		{name: "the fixed-body rows do not stand in", rps: map[string][]float64{"gw-hs256": {9000}, "fiber-proxy": {10000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *goal
			for _, g := range goals(rounds(tt.rps), 3, nil, nil) {
				if g.Name == name {
					got = &g
				}
			}
			if (got != nil) != tt.wantGoal {
				t.Fatalf("goal present = %v, want %v", got != nil, tt.wantGoal)
			}
			if got == nil {
				return
			}
			if got.Met != tt.wantMet || got.Measured != tt.wantMeasured || got.Rounds != tt.wantRounds {
				t.Errorf("goal = met %v, %q, rounds %q; want %v, %q, %q", got.Met, got.Measured, got.Rounds, tt.wantMet, tt.wantMeasured, tt.wantRounds)
			}
		})
	}
}

// TestPerCallerTargets checks that both per-caller rows rotate through
// the same 10,000 distinct callers from one script, in front of the
// upstream that varies its answer, and that the probe sends the script's
// first caller.
func TestPerCallerTargets(t *testing.T) {
	ts := targets(credentials{})
	if err := callerScripts(ts, "load-test-secret", t.TempDir()); err != nil {
		t.Fatalf("callerScripts() error = %v", err)
	}
	var scripts []string
	for _, tt := range ts {
		if tt.callers == 0 {
			if tt.script != "" {
				t.Errorf("%s: script %q, want none", tt.id, tt.script)
			}
			continue
		}
		if up := upstreamOf(tt.server); up != srvUpstreamVary {
			t.Errorf("%s: upstream %q, want %q", tt.id, up, srvUpstreamVary)
		}
		tokens := scriptTokens(t, tt.script)
		if len(tokens) != perCallerCallers {
			t.Errorf("%s: %d distinct tokens, want %d", tt.id, len(tokens), perCallerCallers)
		}
		if want := "Authorization: Bearer " + firstToken(t, tt.script); len(tt.header) != 1 || tt.header[0] != want {
			t.Errorf("%s: probe header %q, want the script's first caller", tt.id, tt.header)
		}
		scripts = append(scripts, tt.script)
	}
	if len(scripts) != 2 || scripts[0] != scripts[1] {
		t.Errorf("per-caller scripts %q, want one script shared by the two rows", scripts)
	}
}
