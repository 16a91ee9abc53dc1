package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// The shipped Grafana dashboard and alerting rules are built only from what
// the gateway exports. This file checks them against the /metrics of a
// running gateway: a renamed metric or label breaks this test, not the
// dashboard or the pager.
//
// Prometheus's own code reads everything here: expfmt the /metrics text,
// rulefmt the rule file (what `promtool check rules` runs: strict YAML,
// names, durations, expressions, annotation templates with the real
// template functions) and promql/parser every query. They are test-only
// dependencies, and cheap: built cold (empty GOCACHE and GOMODCACHE, -race,
// on the 2-core machine CI runs on) they add 34 packages, about 9 s of CPU
// to this package's 130 s, and 7.6 MB to its 66 MB of module downloads.
// The pinned v0.316.0 is the first whose promql no longer imports
// k8s.io/client-go (v0.315.1: 133 packages, 29 s). A cold
// `go run .../cmd/promtool@v0.316.0 check rules` costs 520 s of CPU and
// 266 MB, and checks syntax only: the metric names would still need a
// parser here.

const (
	dashboardFile = "../../../configs/grafana/minbil-bff.json"
	alertsFile    = "../../../configs/prometheus/alerts.yaml"
)

// targetLabels are added by Prometheus when it scrapes, so no /metrics
// shows them.
var targetLabels = []string{"job", "instance"}

func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	t.Parallel()
	exported := scrapeEverySeries(t)

	used := map[string]bool{}
	note := func(q query) {
		for _, s := range q.selectors {
			used[family(s.metric)] = true
		}
	}
	exprs := dashboardExprs(t)
	for _, where := range slices.Sorted(maps.Keys(exprs)) {
		q, problems := checkExpr(exprs[where], exported)
		for _, p := range problems {
			t.Errorf("%s: %s", where, p)
		}
		note(q)
	}

	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	rules, problems := checkRules(data, exported)
	for _, p := range problems {
		t.Errorf("%s: %s", alertsFile, p)
	}
	if rules.alerts < 5 {
		t.Errorf("%s: %d alerts, want at least five (breaker, error ratio, contract drift, Redis, latency)", alertsFile, rules.alerts)
	}
	for _, q := range rules.queries {
		note(q)
	}

	// What the dashboard and the alerts were designed to show.
	for _, want := range []string{
		"minbil_bff_requests_total", "minbil_bff_request_duration_seconds", "minbil_bff_breaker_state",
		"minbil_bff_username_cache_total", "minbil_bff_stale_answers_total",
		"minbil_bff_upstream_contract_violations_total", "minbil_bff_store_fallbacks_total",
	} {
		if !used[want] {
			t.Errorf("neither the dashboard nor the alerts use %s", want)
		}
	}
}

// fakeExported stands for a gateway's /metrics in the tests of the check
// itself.
func fakeExported() map[string][]string {
	return map[string][]string{
		"minbil_bff_requests_total":                  {"route", "status"},
		"minbil_bff_request_duration_seconds_bucket": {"route", "le"},
	}
}

// TestPromQLCheckCatchesRenames is the check itself failing where it must.
func TestPromQLCheckCatchesRenames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr  string
		wantProblem string // "" means none
	}{
		{"exported", `sum by (route) (rate(minbil_bff_requests_total{status=~"5..",job=~"$job"}[$__rate_interval]))`, ""},
		{"a quantile", `histogram_quantile(0.99, sum by (le, route) (rate(minbil_bff_request_duration_seconds_bucket[5m]))) > 2`, ""},
		{"a ratio on a label", `sum by (route) (minbil_bff_requests_total) / on (route) group_left sum by (route) (minbil_bff_requests_total)`, ""},
		{"a renamed metric", `rate(minbil_bff_request_total[5m])`, "minbil_bff_request_total"},
		{"a renamed label in a matcher", `minbil_bff_requests_total{code="500"}`, `label "code"`},
		{"a renamed label in by", `sum by (operation) (minbil_bff_requests_total)`, `label "operation"`},
		{"a renamed label in without", `sum without (path) (minbil_bff_requests_total)`, `label "path"`},
		{"a renamed label in on", `minbil_bff_requests_total / on (operation) minbil_bff_requests_total`, `label "operation"`},
		{"a renamed label in group_left", `minbil_bff_requests_total / on (route) group_left (path) minbil_bff_requests_total`, `label "path"`},
	}
	for _, tt := range tests {
		// The expressions are Grafana's: its interval variables stand
		// for a duration.
		_, problems := checkExpr(grafanaQuery(tt.expr), fakeExported())
		got := strings.Join(problems, "; ")
		if (tt.wantProblem == "") != (got == "") || !strings.Contains(got, tt.wantProblem) {
			t.Errorf("%s: checkExpr(%q) = %q, want a problem naming %q", tt.name, tt.expr, got, tt.wantProblem)
		}
	}
	for _, bad := range []string{
		`sum(rate(minbil_bff_requests_total[5m])`, `minbil_bff_requests_total{route="x"`, `rate(minbil_bff_requests_total[5m)`,
		`minbil_bff_requests_total{route=x}`, `nosuchfunction(minbil_bff_requests_total)`, `minbil_bff_requests_total > > 1`, ``,
		`rate(minbil_bff_requests_total[$__rate_interval])`, // a Grafana variable where Prometheus evaluates it
		// Type and arity errors, which Prometheus refuses when it loads the rule.
		`rate(minbil_bff_requests_total)`, `histogram_quantile(0.99)`, `sum(minbil_bff_requests_total[5m])`,
	} {
		if _, err := parsePromQL(bad); err == nil {
			t.Errorf("parsePromQL(%q) = nil error, want a syntax error", bad)
		}
	}
}

// TestAlertRuleCheckCatchesBadRules is the rule-file check failing where it
// must: each case is a whole rule file, checked as alerts.yaml is.
func TestAlertRuleCheckCatchesBadRules(t *testing.T) {
	t.Parallel()
	const good = `
      - alert: MinbilBffErrors
        expr: sum by (job, route) (rate(minbil_bff_requests_total{status=~"5.."}[5m])) > 0
        for: 5m
        labels: {severity: page}
        annotations:
          summary: "{{ $labels.route }} answers {{ $value | humanizePercentage }} 5xx"
          description: "5xx answers"`
	// file is a rule file of the groups, each a name and its rules.
	file := func(groups ...[2]string) []byte {
		var b strings.Builder
		b.WriteString("groups:\n")
		for _, g := range groups {
			fmt.Fprintf(&b, "  - name: %s\n    rules:%s\n", g[0], g[1])
		}
		return []byte(b.String())
	}
	one := func(rules string) []byte { return file([2]string{"g", rules}) }
	tests := []struct {
		name        string
		file        []byte
		wantProblem string // "" means none
	}{
		{"a good rule", one(good), ""},
		{"a metric the gateway does not export", one(strings.Replace(good, "minbil_bff_requests_total", "minbil_bff_request_total", 1)), "metric minbil_bff_request_total is not on /metrics"},
		{"a label the metric lacks", one(strings.Replace(good, "by (job, route)", "by (job, operation)", 1)), `label "operation"`},
		{"a malformed expression", one(strings.Replace(good, "[5m]))", "[5m])", 1)), "could not parse expression"},
		{"an unknown function", one(strings.Replace(good, "rate(", "rates(", 1)), "could not parse expression"},
		{"a rate of an instant vector", one(strings.Replace(good, "[5m]", "", 1)), "could not parse expression"},
		{"a Grafana variable", one(strings.Replace(good, "[5m]", "[$__rate_interval]", 1)), "could not parse expression"},
		{"no expr", one(strings.Replace(good, "expr:", "# expr:", 1)), "field 'expr' must be set"},
		{"a misspelt field", one(strings.Replace(good, "for:", "fro:", 1)), "field fro not found"},
		{"for that is no duration", one(strings.Replace(good, "for: 5m", "for: 5 minutes", 1)), `"5 minutes"`},
		{"a bad annotation template", one(strings.Replace(good, "$value | humanizePercentage", "$value | percent", 1)), `function "percent" not defined`},
		{"an alert name that is no metric name", one(strings.Replace(good, "MinbilBffErrors", "minbil-bff errors", 1)), "alert name"},
		{"no severity", one(strings.Replace(good, "severity: page", "team: web", 1)), "want a severity label"},
		{"no description", one(strings.Replace(good, `description: "5xx answers"`, `runbook: "5xx"`, 1)), "want a description annotation"},
		{"both alert and record", one(strings.Replace(good, "- alert: MinbilBffErrors", "- alert: MinbilBffErrors\n        record: minbil:errors", 1)), "only one of 'record' and 'alert'"},
		{"a label name that is no label name", one(strings.Replace(good, "{severity: page}", "{severity: page, team-name: web}", 1)), "invalid label name"},
		{"no rules", one(" []"), "no rules"},
		{"a repeated group", file([2]string{"g", good}, [2]string{"g", good}), "repeated"},
		{"not YAML", []byte("groups: [\n"), "yaml"},
	}
	for _, tt := range tests {
		_, problems := checkRules(tt.file, fakeExported())
		got := strings.Join(problems, "; ")
		if (tt.wantProblem == "") != (got == "") || !strings.Contains(got, tt.wantProblem) {
			t.Errorf("%s: checkRules = %q, want a problem naming %q", tt.name, got, tt.wantProblem)
		}
	}
}

// scrapeEverySeries runs a gateway whose every metric has a series (a
// labelled metric shows on /metrics only once it has one) and returns the
// sample names on its /metrics with their label names.
func scrapeEverySeries(t *testing.T) map[string][]string {
	t.Helper()
	drift := wiretest.Reply(200, `{"total":"one","items":[]}`)
	up := wiretest.NewUpstream(t, routeOK)
	h := startGateway(t, up.URL, wiretest.WithConfig(func(c *config.Config) {
		// Redis nowhere: every shared-store operation falls back.
		c.Store.Backend, c.Store.Redis.Addr = "redis", closedPort(t)
		c.RateLimit.PerIdentity = 5
	}))
	check := func(tok string) wiretest.Request {
		return wiretest.Get(checkPath+"?username=monitoring", wiretest.Bearer(tok))
	}
	list := func(tok string) wiretest.Request { return wiretest.Get("/api/co/rating", wiretest.Bearer(tok)) }
	h.Do(check("cache"))
	h.Do(check("cache")) // a hit
	h.Do(wiretest.Post("/api/co/rating/rate/5", wiretest.JSONHeader(wiretest.Bearer("rater")), validRating))
	h.Do(list("stale"))
	up.Set(drift)
	h.Try(list("drift")) // counted and answered as it came (validate_responses: log)
	up.Set(wiretest.Raw(500, "text/plain", "down"))
	for range 3 { // stale answers; the third opens the breaker
		h.Do(list("stale"))
	}
	for range 6 { // the sixth is over the per-caller limit
		h.Try(check("limited"))
	}
	a := metrics(t, h)
	exported, err := exportedSeries(a.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`minbil_bff_breaker_state{operation="listRatings"} 2`, `status="429"`} {
		if !strings.Contains(string(a.Body), want) {
			t.Fatalf("/metrics lacks %s; the scenario above did not make every series", want)
		}
	}
	return exported
}

// exportedSeries reads a /metrics body in the Prometheus text format and
// returns each sample name PromQL can select with its label names: a
// histogram is its _bucket (with le), _sum and _count series, a summary
// its own (with quantile), _sum and _count. Names must be the classic
// ones, which a query can write without quoting.
func exportedSeries(body []byte) (map[string][]string, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: %w", err)
	}
	out := map[string][]string{}
	for name, f := range families {
		var labels []string
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(labels, l.GetName()) {
					labels = append(labels, l.GetName())
				}
			}
		}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			out[name+"_bucket"] = append(slices.Clone(labels), "le")
			out[name+"_sum"], out[name+"_count"] = labels, labels
		case dto.MetricType_SUMMARY:
			out[name] = append(slices.Clone(labels), "quantile")
			out[name+"_sum"], out[name+"_count"] = labels, labels
		default:
			out[name] = labels
		}
	}
	return out, nil
}

// TestExportedSeries is the reading of /metrics: every kind of metric
// becomes the series PromQL selects, and text that is not the exposition
// format is refused.
func TestExportedSeries(t *testing.T) {
	t.Parallel()
	const body = `# HELP minbil_bff_requests_total Answers.
# TYPE minbil_bff_requests_total counter
minbil_bff_requests_total{route="listRatings",status="200"} 3
minbil_bff_requests_total{route="checkUsername",status="503"} 1
# TYPE minbil_bff_breaker_state gauge
minbil_bff_breaker_state{operation="listRatings"} 0
# TYPE minbil_bff_request_duration_seconds histogram
minbil_bff_request_duration_seconds_bucket{route="listRatings",le="0.1"} 1
minbil_bff_request_duration_seconds_bucket{route="listRatings",le="+Inf"} 1
minbil_bff_request_duration_seconds_sum{route="listRatings"} 0.05
minbil_bff_request_duration_seconds_count{route="listRatings"} 1
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0.5"} 0.001
go_gc_duration_seconds_sum 0.002
go_gc_duration_seconds_count 2
# TYPE go_goroutines gauge
go_goroutines 12
`
	got, err := exportedSeries([]byte(body))
	if err != nil {
		t.Fatalf("exportedSeries = %v", err)
	}
	want := map[string][]string{
		"minbil_bff_requests_total":                  {"route", "status"},
		"minbil_bff_breaker_state":                   {"operation"},
		"minbil_bff_request_duration_seconds_bucket": {"route", "le"},
		"minbil_bff_request_duration_seconds_sum":    {"route"},
		"minbil_bff_request_duration_seconds_count":  {"route"},
		"go_gc_duration_seconds":                     {"quantile"},
		"go_gc_duration_seconds_sum":                 nil,
		"go_gc_duration_seconds_count":               nil,
		"go_goroutines":                              nil,
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("exportedSeries = %v, want %v", got, want)
	}
	for _, bad := range []string{
		"minbil_bff_requests_total{route=\"x\" 1\n", // an unclosed label set
		"minbil_bff_requests_total one\n",           // no number
		"# TYPE minbil_bff_requests_total counter\nminbil_bff_requests_total{route=\"x\"} 1\n# TYPE minbil_bff_requests_total gauge\n", // a family twice
		"minbil.bff.requests_total 1\n", // not a classic name
	} {
		if _, err := exportedSeries([]byte(bad)); err == nil {
			t.Errorf("exportedSeries(%q) = nil error, want a parse error", bad)
		}
	}
}

// family is a sample name without the suffix of a histogram's series.
func family(sample string) string {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := strings.CutSuffix(sample, s); ok && strings.HasPrefix(f, "minbil_bff_") && strings.HasSuffix(f, "_seconds") {
			return f
		}
	}
	return sample
}

// grafanaQuery is a dashboard query as Prometheus receives it: Grafana
// puts a duration where its interval variables stand. Any other variable
// outside a string is left for the parser to refuse.
func grafanaQuery(expr string) string {
	return strings.NewReplacer("$__rate_interval", "1m", "$__interval", "15s", "$__range", "1h").Replace(expr)
}

// dashboardExprs decodes the Grafana dashboard and returns its queries as
// Prometheus receives them, keyed by panel, after checking what Grafana
// needs to import it.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource *struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		GridPos *struct{ X, Y, W, H int } `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	}
	var dash struct {
		Title         string  `json:"title"`
		UID           string  `json:"uid"`
		SchemaVersion int     `json:"schemaVersion"`
		Panels        []panel `json:"panels"`
		Templating    struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.Title == "" || dash.UID == "" || dash.SchemaVersion == 0 || len(dash.Panels) == 0 {
		t.Fatalf("%s: title %q, uid %q, schemaVersion %d, %d panels: not a dashboard", dashboardFile, dash.Title, dash.UID, dash.SchemaVersion, len(dash.Panels))
	}
	exprs := map[string]string{}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		where := fmt.Sprintf("%s panel %d %q", dashboardFile, p.ID, p.Title)
		if ids[p.ID] || p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("%s: a repeated id or no grid position", where)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("%s: want the ${datasource} Prometheus data source and a query", where)
		}
		for _, tg := range p.Targets {
			exprs[where+" query "+tg.RefID] = grafanaQuery(tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		// label_values(metric, label) fills a variable.
		if m := regexp.MustCompile(`^label_values\((\w+), *(\w+)\)$`).FindStringSubmatch(v.Definition); m != nil {
			exprs[dashboardFile+" variable "+v.Name] = fmt.Sprintf("count by (%s) (%s)", m[2], m[1])
		}
	}
	return exprs
}

// rules is what checkRules read in a rule file.
type rules struct {
	alerts  int
	queries []query // of every expression that parsed
}

// checkRules checks a rule file as `promtool check rules` does (rulefmt:
// strict YAML, group and label names, durations, expressions, annotation
// templates), then what this project asks of every alert (a name that is a
// metric name, a severity, a summary and a description) and every metric
// and label its expressions use against exported. It returns every
// problem it finds.
func checkRules(data []byte, exported map[string][]string) (rules, []string) {
	var problems []string
	groups, errs := rulefmt.Parse(data, false, model.LegacyValidation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	for _, err := range errs {
		problems = append(problems, err.Error())
	}
	if groups == nil { // the YAML did not decode
		return rules{}, problems
	}
	var r rules
	for _, g := range groups.Groups {
		if len(g.Rules) == 0 {
			problems = append(problems, fmt.Sprintf("group %q has no rules", g.Name))
		}
		for i, rule := range g.Rules {
			// Numbered from 1, as rulefmt's own problems are.
			where := fmt.Sprintf("group %q, rule %d, %q", g.Name, i+1, rule.Alert+rule.Record)
			if rule.Alert != "" {
				r.alerts++
				problems = append(problems, alertProblems(where, rule)...)
			}
			if _, err := parsePromQL(rule.Expr); err != nil {
				continue // rulefmt has reported it, with its line
			}
			q, exprProblems := checkExpr(rule.Expr, exported)
			for _, p := range exprProblems {
				problems = append(problems, where+": "+p)
			}
			r.queries = append(r.queries, q)
		}
	}
	return r, problems
}

// alertProblems is what this project asks of an alert beyond what
// Prometheus accepts.
func alertProblems(where string, rule rulefmt.Rule) []string {
	var problems []string
	if !model.LegacyValidation.IsValidMetricName(rule.Alert) {
		problems = append(problems, where+": the alert name is not a metric name")
	}
	for _, missing := range []struct{ what, value string }{
		{"a severity label", rule.Labels["severity"]},
		{"a summary annotation", rule.Annotations["summary"]},
		{"a description annotation", rule.Annotations["description"]},
	} {
		if missing.value == "" {
			problems = append(problems, fmt.Sprintf("%s: want %s", where, missing.what))
		}
	}
	return problems
}

// query is what a PromQL expression refers to.
type query struct {
	selectors []selector
	grouping  []string // labels of by, without, on, ignoring, group_left/right
}

type selector struct {
	metric string
	labels []string // of its matchers
}

// checkExpr parses expr and returns what it refers to, with every syntax
// error or metric and label that exported lacks.
func checkExpr(expr string, exported map[string][]string) (query, []string) {
	q, err := parsePromQL(expr)
	if err != nil {
		return q, []string{fmt.Sprintf("%v in %q", err, expr)}
	}
	return q, q.check(exported)
}

// check returns every metric and label of q that exported lacks.
func (q query) check(exported map[string][]string) []string {
	var problems []string
	known := append([]string{"le"}, targetLabels...)
	for _, s := range q.selectors {
		labels, ok := exported[s.metric]
		if !ok {
			problems = append(problems, fmt.Sprintf("metric %s is not on /metrics", s.metric))
			continue
		}
		known = append(known, labels...)
		for _, l := range s.labels {
			if !slices.Contains(labels, l) && !slices.Contains(targetLabels, l) {
				problems = append(problems, fmt.Sprintf("label %q is not a label of %s", l, s.metric))
			}
		}
	}
	for _, l := range q.grouping {
		if !slices.Contains(known, l) {
			problems = append(problems, fmt.Sprintf("label %q is not a label of any metric the expression uses", l))
		}
	}
	return problems
}

// parsePromQL parses expr with Prometheus's own parser and collects the
// metric names, the label names of their matchers and the labels of every
// by, without, on, ignoring and group_left/right.
func parsePromQL(expr string) (query, error) {
	root, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return query{}, fmt.Errorf("parse promql: %w", err)
	}
	var q query
	parser.Inspect(root, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			s := selector{metric: n.Name}
			for _, m := range n.LabelMatchers {
				if m.Name != model.MetricNameLabel {
					s.labels = append(s.labels, m.Name)
				}
			}
			q.selectors = append(q.selectors, s)
		case *parser.AggregateExpr:
			q.grouping = append(q.grouping, n.Grouping...)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				q.grouping = append(q.grouping, n.VectorMatching.MatchingLabels...)
				q.grouping = append(q.grouping, n.VectorMatching.Include...)
			}
		}
		return nil
	})
	return q, nil
}

// TestR3T4SeriesExistBeforeFirstUse: on a fresh gateway that has answered
// nothing, every series whose labels are known at start-up is exported at
// 0 — the breakers', the username cache's, the store fallbacks', the stale
// answers' and the contract violations' — so the shipped dashboard shows
// 0 rather than "No data" and an alert on them can fire.
func TestR3T4SeriesExistBeforeFirstUse(t *testing.T) {
	h := startGateway(t, closedPortURL(t))
	body := string(metrics(t, h).Body)
	for _, want := range []string{
		`minbil_bff_breaker_state{operation="checkUsername"} 0`,
		`minbil_bff_breaker_state{operation="listRatings"} 0`,
		`minbil_bff_breaker_state{operation="rateBooking"} 0`,
		`minbil_bff_username_cache_total{result="hit"} 0`,
		`minbil_bff_username_cache_total{result="miss"} 0`,
		`minbil_bff_store_fallbacks_total{op="get"} 0`,
		`minbil_bff_store_fallbacks_total{op="hit"} 0`,
		`minbil_bff_stale_answers_total{operation="listRatings"} 0`,
		`minbil_bff_upstream_contract_violations_total{operation="rateBooking"} 0`,
		`minbil_bff_upstream_budget_refusals_total{operation="listRatings"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("a fresh gateway's /metrics lacks %s", want)
		}
	}
}

// closedPortURL is the URL of a 127.0.0.1 port nothing listens on.
func closedPortURL(t *testing.T) string { t.Helper(); return "http://" + closedPort(t) }
