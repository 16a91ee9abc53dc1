package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The scaling rows drive the list with 1, 100 and 10,000 distinct callers
// (tokens) and check-username with 1 and 10,000 distinct usernames, each
// against its own gateway process (configured as gw-hs256) so that its peak
// RSS is its own. Every scaling row, the 1-caller and 1-username rows too,
// sends its requests from a wrk Lua script that rotates through prebuilt
// requests, so the rows differ only in how many distinct requests there
// are: a cache or coalescing that helps one caller cannot flatter the
// headline rows unnoticed.
type scalingCase struct {
	id    string
	label string
	// callers is the number of distinct tokens; names the number of
	// distinct usernames (check-username) or 0 (the list).
	callers, names int
	// base is the row of the same request with one distinct value, which
	// the others are divided by; baseline the headline row of another
	// server the row is also compared with.
	base, baseline string
	port           int
}

var scalingCases = []scalingCase{
	{id: "gw-callers-1", label: "list, 1 caller", callers: 1, base: "gw-callers-1", baseline: "nginx", port: 20},
	{id: "gw-callers-100", label: "list, 100 callers", callers: 100, base: "gw-callers-1", baseline: "nginx", port: 21},
	{id: "gw-callers-10000", label: "list, 10,000 callers", callers: 10000, base: "gw-callers-1", baseline: "nginx", port: 22},
	{id: "gw-names-1", label: "check-username, 1 username", callers: 1, names: 1, base: "gw-names-1", baseline: "fiber-username", port: 23},
	{id: "gw-names-10000", label: "check-username, 10,000 usernames", callers: 1, names: 10000, base: "gw-names-1", baseline: "fiber-username", port: 24},
}

func scalingCaseOf(id string) (scalingCase, bool) {
	for _, c := range scalingCases {
		if c.id == id {
			return c, true
		}
	}
	return scalingCase{}, false
}

// scalingTargets writes one wrk script per scaling case into dir and
// returns the targets that use them. Each case is served by its own
// server, named as the case.
func scalingTargets(c credentials, dir string) ([]target, error) {
	var out []target
	for _, sc := range scalingCases {
		tokens, err := callerTokens(c.secret, sc.callers)
		if err != nil {
			return nil, err
		}
		var paths []string
		if sc.names == 0 {
			paths = []string{pathList}
		} else {
			for i := range sc.names {
				paths = append(paths, fmt.Sprintf("/api/co/profile/check-username?username=load.user.%d", i))
			}
		}
		script := filepath.Join(dir, sc.id+".lua")
		if err := os.WriteFile(script, []byte(rotationScript(paths, tokens)), 0o600); err != nil {
			return nil, err
		}
		out = append(out, target{
			id: sc.id, label: "gateway, " + sc.label, server: sc.id, path: paths[0],
			header: []string{"Authorization: Bearer " + tokens[0]}, status: 200, script: script, scaling: true,
		})
	}
	return out, nil
}

// rotationScript is a wrk Lua script that sends, in turn, one request
// per entry: the i-th path with the i-th token, both lists repeated to the
// longer one's length.
func rotationScript(paths, tokens []string) string {
	n := max(len(tokens), len(paths))
	var lua strings.Builder
	lua.WriteString("-- Written by minbil-bff-load: rotates through distinct requests.\nlocal entries = {\n")
	for i := range n {
		fmt.Fprintf(&lua, "{%s,%s},\n", strconv.Quote(paths[i%len(paths)]), strconv.Quote("Bearer "+tokens[i%len(tokens)]))
	}
	lua.WriteString(`}
local reqs, n = {}, 0
function init(args)
  for k, e in ipairs(entries) do
    reqs[k] = wrk.format("GET", e[1], { ["Authorization"] = e[2] })
  end
end
function request()
  n = n % #reqs + 1
  return reqs[n]
end
`)
	return lua.String()
}

// callerTokens signs n HS256 tokens, each for its own subject.
func callerTokens(secret string, n int) ([]string, error) {
	now := time.Now()
	out := make([]string, n)
	for i := range n {
		claims := jwt.MapClaims{
			"iss": loadIssuer, "aud": loadAudience, "sub": fmt.Sprintf("load-user-%d", i),
			"iat": now.Unix(), "exp": now.Add(6 * time.Hour).Unix(),
		}
		var err error
		if out[i], err = jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret)); err != nil {
			return nil, fmt.Errorf("sign caller token: %w", err)
		}
	}
	return out, nil
}

// scalingRow is one scaling case as measured.
type scalingRow struct {
	ID        string        `json:"id"`
	Label     string        `json:"label"`
	RPS       float64       `json:"rps_median"`
	P99       time.Duration `json:"p99_median_ns"`
	PeakRSS   int64         `json:"peak_rss_bytes"`
	RPSSpread float64       `json:"rps_spread"`
	// VsOne is the median of per-round req/s ratios to the case with one
	// distinct value (1 caller, 1 username), with its smallest and largest
	// round; VsBaseline the same against NGINX (list) or the bare Fiber
	// handler (check-username).
	VsOne, VsOneMin, VsOneMax                float64
	VsBaseline, VsBaselineMin, VsBaselineMax float64
	Baseline                                 string `json:"baseline"`
}

func scalingRows(res map[string]*result, rounds int) []scalingRow {
	var out []scalingRow
	for _, sc := range scalingCases {
		r := res[sc.id]
		if r == nil {
			continue
		}
		row := scalingRow{ID: sc.id, Label: sc.label, RPS: r.RPS, P99: r.P99, PeakRSS: r.PeakRSS, RPSSpread: r.RPSSpread, Baseline: sc.baseline}
		if v := ratios(res, sc.id, sc.base, rounds, rpsRatio); len(v) > 0 {
			row.VsOne, row.VsOneMin, row.VsOneMax = median(v), slices.Min(v), slices.Max(v)
		}
		if v := ratios(res, sc.id, sc.baseline, rounds, rpsRatio); len(v) > 0 {
			row.VsBaseline, row.VsBaselineMin, row.VsBaselineMax = median(v), slices.Min(v), slices.Max(v)
		}
		out = append(out, row)
	}
	return out
}
