package main

import (
	"strings"
	"testing"
)

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
// server's nor with the breaker's dead upstream.
func TestBasePorts(t *testing.T) {
	e := environment{o: options{portBase: 18080}}
	seen := map[string]string{e.addr(deadPortOffset): "dead upstream"}
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
