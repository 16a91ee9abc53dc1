package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/minbil/minbil-bff/cmd/internal/wire/wiretest"
	"github.com/minbil/minbil-bff/gateway/config"
)

// The dashboard and the alerting rules of issue 16 are built only from what
// the gateway exports. This file checks them against the /metrics of a
// running gateway: a renamed metric or label breaks this test, not the
// dashboard or the pager.
//
// The rules are checked as `promtool check rules` would, without promtool:
// github.com/prometheus/prometheus (its rulefmt and promql/parser) would add
// over a hundred modules to go.sum, OpenTelemetry and cloud SDKs among
// them, for one test. Instead the file is decoded strictly with yaml.v3,
// every field promtool checks is checked here (names, for, labels,
// annotation templates), and the expressions go through promql below: a
// small tokenizer and parser of the PromQL the files use, which finds the
// metric names, the label matchers and the grouping labels.

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

	exprs := map[string]string{} // where → expression
	for where, e := range dashboardExprs(t) {
		exprs[where] = e
	}
	for where, e := range alertExprs(t) {
		exprs[where] = e
	}
	used := map[string]bool{}
	for _, where := range sortedKeys(exprs) {
		q, err := parsePromQL(exprs[where])
		if err != nil {
			t.Errorf("%s: %v in %q", where, err, exprs[where])
			continue
		}
		for _, problem := range q.check(exported) {
			t.Errorf("%s: %s", where, problem)
		}
		for _, s := range q.selectors {
			used[family(s.metric)] = true
		}
	}
	// What issue 16 asks the dashboard and the alerts to show.
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

// TestPromQLCheckCatchesRenames is the check itself failing where it must.
func TestPromQLCheckCatchesRenames(t *testing.T) {
	exported := map[string][]string{
		"minbil_bff_requests_total":                  {"route", "status"},
		"minbil_bff_request_duration_seconds_bucket": {"route", "le"},
	}
	tests := []struct {
		name, expr  string
		wantProblem string // "" means none
	}{
		{"exported", `sum by (route) (rate(minbil_bff_requests_total{status=~"5..",job=~"$job"}[$__rate_interval]))`, ""},
		{"a quantile", `histogram_quantile(0.99, sum by (le, route) (rate(minbil_bff_request_duration_seconds_bucket[5m]))) > 2`, ""},
		{"a renamed metric", `rate(minbil_bff_request_total[5m])`, "minbil_bff_request_total"},
		{"a renamed label in a matcher", `minbil_bff_requests_total{code="500"}`, `label "code"`},
		{"a renamed label in by", `sum by (operation) (minbil_bff_requests_total)`, `label "operation"`},
		{"a renamed label in without", `sum without (path) (minbil_bff_requests_total)`, `label "path"`},
	}
	for _, tt := range tests {
		q, err := parsePromQL(tt.expr)
		if err != nil {
			t.Errorf("%s: parsePromQL(%q) = %v", tt.name, tt.expr, err)
			continue
		}
		problems := strings.Join(q.check(exported), "; ")
		if (tt.wantProblem == "") != (problems == "") || !strings.Contains(problems, tt.wantProblem) {
			t.Errorf("%s: check(%q) = %q, want a problem naming %q", tt.name, tt.expr, problems, tt.wantProblem)
		}
	}
	for _, bad := range []string{
		`sum(rate(minbil_bff_requests_total[5m])`, `minbil_bff_requests_total{route="x"`, `rate(minbil_bff_requests_total[5m)`,
		`minbil_bff_requests_total{route=x}`, `nosuchfunction(minbil_bff_requests_total)`, `minbil_bff_requests_total > > 1`, ``,
	} {
		if _, err := parsePromQL(bad); err == nil {
			t.Errorf("parsePromQL(%q) = nil error, want a syntax error", bad)
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
	exported := parseExposition(string(a.Body))
	for _, want := range []string{`minbil_bff_breaker_state{operation="listRatings"} 2`, `status="429"`} {
		if !strings.Contains(string(a.Body), want) {
			t.Fatalf("/metrics lacks %s; the scenario above did not make every series", want)
		}
	}
	return exported
}

// parseExposition reads the Prometheus text format: sample name → label
// names.
func parseExposition(body string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		if i := strings.IndexByte(name, ' '); i >= 0 {
			name, rest = name[:i], ""
		}
		labels := out[name]
		for _, m := range regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`).FindAllStringSubmatch(strings.SplitN(rest, "}", 2)[0], -1) {
			if !slices.Contains(labels, m[1]) {
				labels = append(labels, m[1])
			}
		}
		out[name] = labels
	}
	return out
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

// dashboardExprs decodes the Grafana dashboard and returns its queries,
// keyed by panel, after checking what Grafana needs to import it.
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
			exprs[where+" query "+tg.RefID] = tg.Expr
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

// alertExprs decodes the rule file strictly, checks each rule as promtool
// check rules does, and returns the expressions keyed by rule.
func alertExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name     string `yaml:"name"`
			Interval string `yaml:"interval"`
			Rules    []struct {
				Record      string            `yaml:"record"`
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	duration := regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)
	name := regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	exprs := map[string]string{}
	groups := map[string]bool{}
	alerts := 0
	for _, g := range file.Groups {
		if g.Name == "" || groups[g.Name] || len(g.Rules) == 0 {
			t.Errorf("%s: group %q: empty, repeated or without rules", alertsFile, g.Name)
		}
		groups[g.Name] = true
		if g.Interval != "" && !duration.MatchString(g.Interval) {
			t.Errorf("%s: group %q: interval %q is not a duration", alertsFile, g.Name, g.Interval)
		}
		for i, r := range g.Rules {
			where := fmt.Sprintf("%s: group %q rule %d (%s%s)", alertsFile, g.Name, i, r.Alert, r.Record)
			switch {
			case (r.Alert == "") == (r.Record == ""):
				t.Errorf("%s: want exactly one of alert and record", where)
			case r.Record != "" && (r.For != "" || len(r.Annotations) > 0):
				t.Errorf("%s: a recording rule has no for or annotations", where)
			case r.Alert != "" && !name.MatchString(r.Alert):
				t.Errorf("%s: the alert name is not a metric name", where)
			case r.For != "" && !duration.MatchString(r.For):
				t.Errorf("%s: for %q is not a duration", where, r.For)
			case strings.TrimSpace(r.Expr) == "":
				t.Errorf("%s: no expr", where)
			}
			if r.Alert != "" {
				alerts++
			}
			for k := range r.Labels {
				if !name.MatchString(k) || k == "__name__" {
					t.Errorf("%s: label %q is not a label name", where, k)
				}
			}
			if r.Alert != "" && (r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "") {
				t.Errorf("%s: want a severity label, a summary and a description", where)
			}
			for k, text := range r.Annotations {
				if err := checkTemplate(text); err != nil {
					t.Errorf("%s: annotation %s: %v", where, k, err)
				}
			}
			exprs[where] = r.Expr
		}
	}
	if alerts < 5 {
		t.Errorf("%s: %d alerts, want at least the five of issue 16", alertsFile, alerts)
	}
	return exprs
}

// checkTemplate parses an annotation as Prometheus does: a Go text
// template with $labels, $value and the humanize functions defined.
func checkTemplate(text string) error {
	funcs := template.FuncMap{}
	for _, f := range []string{"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp",
		"query", "first", "label", "value", "sortByLabel", "title", "toUpper", "toLower", "match", "reReplaceAll",
		"graphLink", "tableLink", "args", "safeHtml", "externalURL", "pathPrefix", "stripPort", "stripDomain", "toTime", "parseDuration"} {
		funcs[f] = func(...any) any { return nil }
	}
	_, err := template.New("annotation").Funcs(funcs).Option("missingkey=zero").
		Parse("{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$value := .Value}}" + text)
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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

// The PromQL the files may use: functions, aggregations and keywords.
var (
	promFunctions = map[string]bool{
		"rate": true, "irate": true, "increase": true, "delta": true, "idelta": true, "deriv": true,
		"histogram_quantile": true, "clamp_min": true, "clamp_max": true, "abs": true, "absent": true,
		"absent_over_time": true, "avg_over_time": true, "max_over_time": true, "min_over_time": true,
		"sum_over_time": true, "count_over_time": true, "changes": true, "resets": true, "time": true,
		"vector": true, "scalar": true, "round": true, "label_replace": true, "timestamp": true,
	}
	promAggregations = map[string]bool{
		"sum": true, "min": true, "max": true, "avg": true, "count": true, "group": true, "stddev": true,
		"stdvar": true, "topk": true, "bottomk": true, "quantile": true, "count_values": true,
	}
	promGrouping = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	promBinary   = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true}
)

type token struct {
	kind string // ident, number, string, var, op, or the punctuation itself
	text string
}

var tokenPattern = regexp.MustCompile(`^(?:` +
	`(?P<space>\s+)|` +
	`(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`" + `)|` +
	`(?P<var>\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?)|` +
	`(?P<number>[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?(?:ms|s|m|h|d|w|y)?(?:[0-9]+(?:ms|s|m|h|d|w|y))*)|` +
	`(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)|` +
	`(?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=])|` +
	`(?P<punct>[(){}\[\],:]))`)

func tokenize(expr string) ([]token, error) {
	var out []token
	names := tokenPattern.SubexpNames()
	for len(expr) > 0 {
		m := tokenPattern.FindStringSubmatchIndex(expr)
		if m == nil {
			return nil, fmt.Errorf("unexpected %q", expr[:min(len(expr), 10)])
		}
		for i := 1; i < len(names); i++ {
			if m[2*i] >= 0 {
				text := expr[m[2*i]:m[2*i+1]]
				switch names[i] {
				case "space":
				case "punct":
					out = append(out, token{text, text})
				default:
					out = append(out, token{names[i], text})
				}
				break
			}
		}
		expr = expr[m[1]:]
	}
	return out, nil
}

// parsePromQL reads expr with a recursive-descent parser of PromQL's
// grammar, enough of it for dashboards and alerts: selectors with
// matchers, ranges, functions, aggregations with by/without, binary
// operators with bool, on/ignoring and group_left/right, numbers and
// parentheses.
func parsePromQL(expr string) (query, error) {
	toks, err := tokenize(expr)
	if err != nil {
		return query{}, err
	}
	p := &promParser{toks: toks}
	if err := p.expr(); err != nil {
		return query{}, err
	}
	if p.pos != len(p.toks) {
		return query{}, fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	return p.q, nil
}

type promParser struct {
	toks []token
	pos  int
	q    query
}

func (p *promParser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{"eof", "end of expression"}
}

func (p *promParser) next() token { t := p.peek(); p.pos++; return t }

func (p *promParser) want(kind string) (token, error) {
	t := p.next()
	if t.kind != kind {
		return t, fmt.Errorf("want %s, got %q", kind, t.text)
	}
	return t, nil
}

// expr is unary (binop modifiers unary)*.
func (p *promParser) expr() error {
	if err := p.unary(); err != nil {
		return err
	}
	for {
		t := p.peek()
		if !(t.kind == "op" && t.text != "=" && t.text != "=~" && t.text != "!~") && !(t.kind == "ident" && (t.text == "and" || t.text == "or" || t.text == "unless")) {
			return nil
		}
		p.next()
		if p.peek().text == "bool" {
			p.next()
		}
		for p.peek().kind == "ident" && promGrouping[p.peek().text] {
			if err := p.grouping(); err != nil {
				return err
			}
		}
		if err := p.unary(); err != nil {
			return err
		}
	}
}

func (p *promParser) unary() error {
	if t := p.peek(); t.kind == "op" && (t.text == "-" || t.text == "+") {
		p.next()
	}
	if err := p.primary(); err != nil {
		return err
	}
	if p.peek().kind == "[" {
		if err := p.rangeSuffix(); err != nil {
			return err
		}
	}
	if p.peek().text == "offset" {
		p.next()
		if _, err := p.want("number"); err != nil {
			return err
		}
	}
	return nil
}

func (p *promParser) primary() error {
	t := p.next()
	switch {
	case t.kind == "number" || t.kind == "string":
		return nil
	case t.kind == "(":
		if err := p.expr(); err != nil {
			return err
		}
		_, err := p.want(")")
		return err
	case t.kind == "ident" && promAggregations[t.text]:
		if promGrouping[p.peek().text] {
			if err := p.grouping(); err != nil {
				return err
			}
		}
		if err := p.args(); err != nil {
			return err
		}
		if promGrouping[p.peek().text] {
			return p.grouping()
		}
		return nil
	case t.kind == "ident" && p.peek().kind == "(":
		if !promFunctions[t.text] {
			return fmt.Errorf("unknown function %s", t.text)
		}
		return p.args()
	case t.kind == "ident" && !promBinary[t.text] && !promGrouping[t.text]:
		s := selector{metric: t.text}
		if p.peek().kind == "{" {
			labels, err := p.matchers()
			if err != nil {
				return err
			}
			s.labels = labels
		}
		p.q.selectors = append(p.q.selectors, s)
		return nil
	}
	return fmt.Errorf("unexpected %q", t.text)
}

// args is "(" expr ("," expr)* ")".
func (p *promParser) args() error {
	if _, err := p.want("("); err != nil {
		return err
	}
	for {
		if err := p.expr(); err != nil {
			return err
		}
		if t := p.next(); t.kind == ")" {
			return nil
		} else if t.kind != "," {
			return fmt.Errorf("want , or ), got %q", t.text)
		}
	}
}

// grouping is by|without|on|ignoring|group_left|group_right "(" labels ")";
// group_left and group_right may stand without a list.
func (p *promParser) grouping() error {
	kw := p.next()
	if p.peek().kind != "(" && (kw.text == "group_left" || kw.text == "group_right") {
		return nil
	}
	if _, err := p.want("("); err != nil {
		return err
	}
	for p.peek().kind != ")" {
		l, err := p.want("ident")
		if err != nil {
			return err
		}
		p.q.grouping = append(p.q.grouping, l.text)
		if p.peek().kind == "," {
			p.next()
		}
	}
	p.next()
	return nil
}

// matchers is "{" label op string ("," label op string)* "}".
func (p *promParser) matchers() ([]string, error) {
	p.next()
	var labels []string
	for p.peek().kind != "}" {
		l, err := p.want("ident")
		if err != nil {
			return nil, err
		}
		if op := p.next(); op.kind != "op" || !slices.Contains([]string{"=", "!=", "=~", "!~"}, op.text) {
			return nil, fmt.Errorf("want a matcher operator after %s, got %q", l.text, op.text)
		}
		if _, err := p.want("string"); err != nil {
			return nil, err
		}
		labels = append(labels, l.text)
		if p.peek().kind == "," {
			p.next()
		}
	}
	p.next()
	return labels, nil
}

// rangeSuffix is "[" duration (":" duration?)? "]"; a Grafana variable
// ($__rate_interval) stands for a duration.
func (p *promParser) rangeSuffix() error {
	p.next()
	duration := func() error {
		if t := p.next(); t.kind != "number" && t.kind != "var" {
			return fmt.Errorf("want a duration, got %q", t.text)
		}
		return nil
	}
	if err := duration(); err != nil {
		return err
	}
	if p.peek().kind == ":" {
		p.next()
		if p.peek().kind != "]" {
			if err := duration(); err != nil {
				return err
			}
		}
	}
	_, err := p.want("]")
	return err
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
