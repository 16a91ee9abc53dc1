package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	_ "embed"
)

//go:embed chart.svg.tmpl
var chartTmpl string

func (rep report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s. %s.\n\n", rep.When.Format("2006-01-02 15:04 MST"), rep.Host, rep.Method)
	b.WriteString("| configuration | req/s | × upstream | p50 | p99 | peak RSS | spread req/s, p99 |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "| %s | %.0f | %.3f | %s | %s | %s | %.0f %%, %.0f %% |\n",
			r.Label, r.RPS, r.Ratio, latency(r.P50), latency(r.P99), mb(r.PeakRSS), 100*r.RPSSpread, 100*r.P99Spread)
	}
	b.WriteString("\n| goal | measured | wanted | met | rounds (min – max) |\n|---|---:|---:|:---:|---:|\n")
	extras := false
	for _, g := range rep.Goals {
		if g.Extra && !extras {
			extras = true
			b.WriteString("| *goals of earlier issues* | | | | |\n")
		}
		met := "met"
		switch {
		case g.NotMeasured:
			met = "–"
		case !g.Met:
			met = "**missed**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", g.Name, g.Measured, g.Want, met, g.Rounds)
	}
	if rep.Syscalls != nil {
		b.WriteString(rep.Syscalls.markdown())
	}
	if rep.Profile != nil {
		b.WriteString(rep.Profile.markdown())
	}
	if cs := rep.ColdStart; cs != nil {
		fmt.Fprintf(&b, "\nCold start: `git clone` of %s (%s of the total), then `make run`'s `go run ./cmd/minbil-bff serve` with empty GOMODCACHE and GOCACHE, unpinned; %.1f s to the first 200 of `GET %s`. One run, measured before the servers started.\n",
			cs.Commit, latency(cs.Clone), cs.ToFirst200.Seconds(), pathList)
	}
	if len(rep.Scaling) > 0 {
		b.WriteString("\nScaling: the gateway (as gw-hs256, one process per row) with distinct callers (tokens) and usernames, rotated by a wrk Lua script in every row. × one is the median of per-round req/s ratios to the row with one distinct value, × baseline to NGINX (list) or the bare Fiber handler (check-username), smallest and largest round in brackets.\n\n")
		b.WriteString("| gateway, | req/s | × one | × baseline | p99 | peak RSS | spread req/s |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range rep.Scaling {
			fmt.Fprintf(&b, "| %s | %.0f | %.2f [%.2f–%.2f] | %.2f [%.2f–%.2f] %s | %s | %s | %.0f %% |\n", r.Label, r.RPS,
				r.VsOne, r.VsOneMin, r.VsOneMax, r.VsBaseline, r.VsBaselineMin, r.VsBaselineMax, r.Baseline,
				latency(r.P99), mb(r.PeakRSS), 100*r.RPSSpread)
		}
	}
	if len(rep.Compare) > 0 {
		fmt.Fprintf(&b, "\nAfter (%s) against before (%s), measured next to each other in every round: medians of per-round ratios after/before, with the smallest and largest round in brackets. \"worse\" or \"better\" only when every round agrees.\n\n", rep.Ref, rep.Base)
		b.WriteString("| target | req/s after/before | | p99 after/before | | peak RSS after/before |\n|---|---:|---|---:|---|---:|\n")
		for _, c := range rep.Compare {
			fmt.Fprintf(&b, "| %s | %.3f [%.3f–%.3f] | %s | %.3f [%.3f–%.3f] | %s | %.3f |\n", c.ID,
				c.RPS, c.RPSMin, c.RPSMax, verdict(c.RPSMin, c.RPSMax, true),
				c.P99, c.P99Min, c.P99Max, verdict(c.P99Min, c.P99Max, false), c.RSS)
		}
	}
	fmt.Fprintf(&b, "\nSpread is (max − min) / median over rounds. Peak RSS is the summed VmHWM of the server's process tree over the whole run (NGINX: master and worker; Prism: node). The whole run took %s.\n", rep.Duration)
	return b.String()
}

// markdown is the syscall table, or the sentence saying why there is none.
func (r *syscallReport) markdown() string {
	if r.NotMeasured != "" {
		return "\nSyscalls per proxied GET: not measured: " + r.NotMeasured + ".\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nSyscalls per proxied GET, counted with %s over every process of the server (NGINX: master and worker; the upstream is not counted) during %s, divided by wrk's request count.\n\n", r.Method, r.Run)
	if r.Tool == toolStrace {
		b.WriteString("strace stops the server at every syscall, so it serves more slowly and finds more work per wake-up than under perf: its counts compare with each other, not with perf's.\n\n")
	}
	b.WriteString("| configuration | syscalls per request | syscalls | requests |\n|---|---:|---:|---:|\n")
	for _, row := range r.Rows {
		if row.Error != "" {
			fmt.Fprintf(&b, "| %s | not measured: %s | | |\n", row.Label, firstLine(row.Error))
			continue
		}
		fmt.Fprintf(&b, "| %s | %.2f | %d | %d |\n", row.Label, row.PerRequest, row.Syscalls, row.Requests)
	}
	return b.String()
}

// markdown is the top of the profile, or why there is none.
func (p *cpuProfile) markdown() string {
	if p.Error != "" {
		return "\nCPU profile (-profile): failed: " + firstLine(p.Error) + "\n"
	}
	return fmt.Sprintf("\nCPU profile of the gateway (configured as gw-hs256, a process of its own, %s): `%s`, read with `%s`. Its top %d functions by own samples:\n\n```\n%s\n```\n",
		p.Run, p.Path, p.Command, profileTop, p.Top)
}

func latency(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

type chartRow struct {
	Label, RPS, P99, Color                           string
	Y, TextY, RPSWidth, RPSTextX, P99Width, P99TextX float64
}

// svg draws req/s (linear) and p99 (log scale, so Prism's second and the
// gateways' milliseconds fit one axis) per configuration.
func (rep report) svg() ([]byte, error) {
	const (
		labelW, barW, gap, rowH, barH, top = 300.0, 330.0, 90.0, 24.0, 16.0, 56.0
	)
	maxRPS := 1.0
	minP99, maxP99 := math.Inf(1), 0.0
	for _, r := range rep.Results {
		maxRPS = max(maxRPS, r.RPS)
		if r.P99 > 0 {
			minP99 = min(minP99, float64(r.P99))
			maxP99 = max(maxP99, float64(r.P99))
		}
	}
	// The p99 axis starts a decade below the fastest answer.
	lo := math.Log10(minP99) - 1
	span := math.Max(math.Log10(maxP99)-lo, 1)
	data := struct {
		Width, Height, LabelX, LeftX, RightX, BarH, FootY float64
		When, Method                                      string
		Rows                                              []chartRow
	}{
		Width: labelW + 2*(barW+gap) + 20, LabelX: labelW - 8, LeftX: labelW, RightX: labelW + barW + gap, BarH: barH,
		When: rep.When.Format("2006-01-02"), Method: shorten(rep.Method, 150),
	}
	for i, r := range rep.Results {
		y := top + float64(i)*rowH
		row := chartRow{Label: strings.ReplaceAll(r.Label, "`", ""), Y: y, TextY: y + barH - 3,
			RPS: fmt.Sprintf("%.0f", r.RPS), P99: latency(r.P99), Color: color(strings.TrimSuffix(r.ID, baseSuffix))}
		row.RPSWidth = math.Max(1, barW*r.RPS/maxRPS)
		row.RPSTextX = data.LeftX + row.RPSWidth + 4
		if r.P99 > 0 {
			row.P99Width = math.Max(1, barW*(math.Log10(float64(r.P99))-lo)/span)
		}
		row.P99TextX = data.RightX + row.P99Width + 4
		data.Rows = append(data.Rows, row)
	}
	data.FootY = top + float64(len(rep.Results))*rowH + 16
	data.Height = data.FootY + 12
	t, err := template.New("chart").Parse(chartTmpl)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func color(id string) string {
	switch {
	case strings.HasPrefix(id, "gw-"):
		return "#2b6cb0"
	case id == "prism":
		return "#c05621"
	case id == "mock":
		return "#2f855a"
	}
	return "#718096"
}

// soak drives the HS256 gateway (every feature on) for e.o.soak and
// samples its resident set, to show whether memory stays flat.
func soak(ctx context.Context, e environment) error {
	srv, err := startServers(ctx, e, []string{srvUpstream, srvGwHS})
	if err != nil {
		return err
	}
	defer srv.stopAll()
	gw := srv.by[srvGwHS]
	header := []string{"Authorization: Bearer " + e.creds.hs256}
	var b strings.Builder
	fmt.Fprintf(&b, "Soak: gateway (JWT HS256, validate=log; built from %s) under wrk -t1 -c%d for %s, RSS sampled every %s.\n\n| elapsed | req/s | p99 | RSS | peak RSS |\n|---:|---:|---:|---:|---:|\n",
		e.o.refName(), e.o.conns, e.o.soak, e.o.soakSample)
	var first, last int64
	for elapsed := time.Duration(0); elapsed < e.o.soak; elapsed += e.o.soakSample {
		s, out, err := wrkRun(ctx, e.o.clientCPU, "http://"+gw.addr+pathList, e.o.conns, e.o.soakSample, header, "")
		if err != nil {
			return fmt.Errorf("%w\n%s", err, out)
		}
		rss := gw.rss()
		if first == 0 {
			first = rss
		}
		last = rss
		line := fmt.Sprintf("| %s | %.0f | %s | %s | %s |\n", elapsed+e.o.soakSample, s.rps, latency(s.p99), mb(rss), mb(gw.peakRSS()))
		b.WriteString(line)
		logf("soak %s", strings.TrimSpace(line))
	}
	fmt.Fprintf(&b, "\nRSS after the first interval %s, at the end %s (%+.1f %%).\n", mb(first), mb(last), 100*float64(last-first)/float64(first))
	fmt.Print(b.String())
	files := []string{filepath.Join(e.root, filepath.FromSlash(outDir), "soak.md")}
	if e.o.publish {
		files = append(files, filepath.Join(e.root, filepath.FromSlash(resultsDir), "soak.md"))
	}
	for _, f := range files {
		if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
