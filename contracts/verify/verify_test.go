package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/minbil/minbil-bff/contracts"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The real mock runs on fasthttp: its process-wide date ticker never
		// stops, and a stopped worker pool's cleaner exits only after its
		// 10s sleep. Neither belongs to the verifier.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

func mustContract(t testing.TB) *contracts.Contract {
	t.Helper()
	c, err := contracts.Load()
	if err != nil {
		t.Fatalf("contracts.Load() = %v", err)
	}
	return c
}

// mustRun runs the verifier and fails the test on a *RunError.
func mustRun(t *testing.T, c *contracts.Contract, cfg Config) *Report {
	t.Helper()
	rep, err := Run(context.Background(), c, cfg)
	if err != nil {
		t.Fatalf("Run(%+v) = %v", cfg, err)
	}
	return rep
}

func allLines(rep *Report) []string {
	var out []string
	for _, r := range rep.Results {
		out = append(out, r.Lines()...)
	}
	return out
}

const (
	opUsername = "GET /api/co/profile/check-username"
	opList     = "GET /api/co/rating"
	opRate     = "POST /api/co/rating/rate/{booking_id}"
)

// TestCasesFromContract checks that the expectations derived from the
// contract are the contract's decisions.
func TestCasesFromContract(t *testing.T) {
	cases, err := Cases(mustContract(t), Config{Target: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatalf("Cases() = %v", err)
	}
	byName := map[string]Case{}
	for _, c := range cases {
		key := c.Operation + ": " + c.Name
		if _, dup := byName[key]; dup {
			t.Errorf("case %q generated twice", key)
		}
		byName[key] = c
	}
	tests := []struct {
		op, name      string
		wantStatus    []int
		wantAfterFlow bool
		wantPath      string
	}{
		{opUsername, "documented request", []int{200}, false, "/api/co/profile/check-username"},
		{opUsername, "username of 2 characters", []int{200}, false, ""},
		{opUsername, "username of 3 characters", []int{200}, false, ""},
		{opUsername, "username of 30 characters", []int{200}, false, ""},
		{opUsername, "username of 31 characters", []int{200}, false, ""},
		{opUsername, "username with allowed character '.'", []int{200}, false, ""},
		{opUsername, "username with forbidden character 'а' (U+0430)", []int{200}, false, ""},
		{opUsername, "no token", []int{401}, false, ""},
		{opUsername, "malformed token", []int{401}, false, ""},
		{opUsername, "missing username", []int{400}, false, ""},
		{opList, "documented request", []int{200}, false, "/api/co/rating"},
		{opList, "no token", []int{200, 401}, false, ""},
		{opList, "malformed token", []int{401}, false, ""},
		{opRate, "request example documentation (breaks the contract)", []int{400}, true, "/api/co/rating/rate/123"},
		{opRate, "request example valid", []int{200, 409}, true, "/api/co/rating/rate/123"},
		{opRate, "rating at minimum 1", []int{404}, false, "/api/co/rating/rate/9000000000000000"},
		{opRate, "rating below minimum 0", []int{400}, false, "/api/co/rating/rate/9000000000000000"},
		{opRate, "rating at maximum 5", []int{404}, false, ""},
		{opRate, "rating above maximum 6", []int{400}, false, ""},
		{opRate, "rating between whole stars 4.5", []int{400}, false, ""},
		{opRate, "message at maximum length 1000", []int{404}, false, ""},
		{opRate, "message at maximum length 1000 in two-byte characters", []int{404}, false, ""},
		{opRate, "message beyond maximum length 1001", []int{400}, false, ""},
		{opRate, "malformed JSON", []int{400}, false, ""},
		{opRate, "service_rating with the wrong type", []int{400}, false, ""},
		{opRate, "private_service_rating with the wrong type", []int{400}, false, ""},
		{opRate, "missing private_service_rating", []int{400}, false, ""},
		{opRate, "unknown field", []int{400}, false, ""},
		{opRate, "body not declared as JSON", []int{415}, false, ""},
		{opRate, "booking_id below minimum 1", []int{400}, false, "/api/co/rating/rate/0"},
		{opRate, "booking_id above maximum", []int{400}, false, "/api/co/rating/rate/9223372036854775808"},
		{opRate, "no token", []int{404, 401}, false, ""},
		{opRate, "malformed token", []int{401}, false, ""},
		{opRate, "unknown booking", []int{404}, false, "/api/co/rating/rate/9000000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.op+": "+tt.name, func(t *testing.T) {
			c, ok := byName[tt.op+": "+tt.name]
			if !ok {
				t.Fatalf("Cases() has no %q", tt.name)
			}
			if !slices.Equal(c.WantStatus, tt.wantStatus) {
				t.Errorf("WantStatus = %v, want %v", c.WantStatus, tt.wantStatus)
			}
			if c.AfterFlow != tt.wantAfterFlow {
				t.Errorf("AfterFlow = %v, want %v", c.AfterFlow, tt.wantAfterFlow)
			}
			if tt.wantPath != "" && c.Request.Path != tt.wantPath {
				t.Errorf("Request.Path = %q, want %q", c.Request.Path, tt.wantPath)
			}
			if wantMutates := c.Request.Method == http.MethodPost; c.Mutates != wantMutates {
				t.Errorf("Mutates = %v, want %v", c.Mutates, wantMutates)
			}
		})
	}
}

func TestUsernameBoundariesFollowTheRules(t *testing.T) {
	c := mustContract(t)
	rules := c.UsernameRules()
	cases, err := Cases(c, Config{Target: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatalf("Cases() = %v", err)
	}
	tests := []struct {
		name      string
		wantValid bool
		wantLen   int
	}{
		{"username of 2 characters", false, rules.MinLength - 1},
		{"username of 3 characters", true, rules.MinLength},
		{"username of 30 characters", true, rules.MaxLength},
		{"username of 31 characters", false, rules.MaxLength + 1},
		{"username with allowed character '-'", true, 0},
		{"username with allowed character '_'", true, 0},
		{"username with forbidden character ' ' (U+0020)", false, 0},
		{"username with forbidden character 'ø' (U+00F8)", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := slices.IndexFunc(cases, func(c Case) bool { return c.Operation == opUsername && c.Name == tt.name })
			if i < 0 {
				t.Fatalf("no case %q", tt.name)
			}
			name := cases[i].Request.Query.Get("username")
			if ok, _ := rules.Check(name); ok != tt.wantValid {
				t.Errorf("Check(%q) = %v, want %v", name, ok, tt.wantValid)
			}
			if n := len([]rune(name)); tt.wantLen > 0 && n != tt.wantLen {
				t.Errorf("len(%q) = %d, want %d", name, n, tt.wantLen)
			}
		})
	}
}

// TestBrokenUpstreams runs the full verifier against the fake with one
// defect each, at both levels. At LevelStrict every defect must be reported
// at its JSON path and fail the run; at LevelDocumented only the breaks of
// the documentation fail, a defect against a decision is a warning naming
// it. The correct fake must pass at both.
func TestBrokenUpstreams(t *testing.T) {
	c := mustContract(t)
	tests := []struct {
		defect       defect
		level        Level
		wantExit     int
		wantWhere    string     // a violation (or warning) line contains "<case>: <where>: "
		wantIn       string     // ... and this
		wantDecision DecisionID // at ExitOK: this decision differs
	}{
		{correct, LevelStrict, ExitOK, "", "", ""},
		{missingField, LevelStrict, ExitViolations, "flow: list after rating: items[0].workshop_name", "missing", ""},
		{wrongTypeItem, LevelStrict, ExitViolations, "documented request: items[0].service_id", "expected integer, got string", ""},
		{wrongStatus, LevelStrict, ExitViolations, "flow: rate booking 123: status", "expected 200 or 409, got 201", ""},
		{rateWithoutMeta, LevelStrict, ExitViolations, "flow: rate booking 123: meta", "missing", ""},
		{errorWithoutCode, LevelStrict, ExitViolations, "unknown booking: error.code", "missing", ""},
		{duplicateRerate, LevelStrict, ExitViolations, "flow: list after rating again: items[1].booking_id", "booking 123 is listed 2 times, expected once", ""},
		{unparseableDate, LevelStrict, ExitViolations, "documented request: items[0].rated_at", "date-time", ""},
		{noChallenge, LevelStrict, ExitViolations, "no token: header WWW-Authenticate", "missing", ""},

		{correct, LevelDocumented, ExitOK, "", "", ""},
		{missingField, LevelDocumented, ExitViolations, "flow: list after rating: items[0].workshop_name", "missing", ""},
		{wrongTypeItem, LevelDocumented, ExitViolations, "documented request: items[0].service_id", "expected integer, got string", ""},
		{rateWithoutMeta, LevelDocumented, ExitViolations, "flow: rate booking 123: meta", "missing", ""},
		{duplicateRerate, LevelDocumented, ExitViolations, "flow: list after rating again: items[0].service_rating", "unchanged since the first rating", ""},
		// A 201 is read with the documented 200's schema, never the Error one.
		{wrongStatus, LevelDocumented, ExitOK, "flow: rate booking 123: status", "expected 200 or 409, got 201", DecisionSuccess200},
		{errorWithoutCode, LevelDocumented, ExitOK, "unknown booking: error.code", "missing", DecisionErrorBody},
		{unparseableDate, LevelDocumented, ExitOK, "documented request: items[0].rated_at", "date-time", DecisionDateTime},
		{noChallenge, LevelDocumented, ExitOK, "no token: header WWW-Authenticate", "missing", DecisionUnauthorized401},
	}
	for _, tt := range tests {
		name := string(tt.defect)
		if name == "" {
			name = "correct"
		}
		t.Run(string(tt.level)+"/"+name, func(t *testing.T) {
			_, url := startFake(t, c, tt.defect)
			rep := mustRun(t, c, Config{Target: url, Token: DevToken, Level: tt.level})
			lines := allLines(rep)
			if got := rep.ExitCode(); got != tt.wantExit {
				t.Fatalf("ExitCode() = %d, want %d; violations:\n%s", got, tt.wantExit, strings.Join(lines, "\n"))
			}
			if tt.wantExit == ExitOK {
				if rep.Failed != 0 || rep.Skipped != 0 || rep.Passed != len(rep.Results) {
					t.Fatalf("report = %s, want every case passed", rep.Summary())
				}
				assertDiffers(t, rep, tt.wantDecision, tt.wantWhere, tt.wantIn)
				return
			}
			found := slices.ContainsFunc(lines, func(l string) bool {
				return strings.Contains(l, tt.wantWhere+": ") && strings.Contains(l, tt.wantIn)
			})
			if !found {
				t.Fatalf("violations do not report %q with %q:\n%s", tt.wantWhere, tt.wantIn, strings.Join(lines, "\n"))
			}
			var failed *FailedError
			if err := rep.Err(); !errors.As(err, &failed) || failed.ExitCode() != ExitViolations {
				t.Fatalf("Err() = %v, want a *FailedError", err)
			}
		})
	}
}

// assertDiffers checks that the report's warnings name the decision, with a
// line containing "<where>: " and in; no decision when want is "".
func assertDiffers(t *testing.T, rep *Report, want DecisionID, where, in string) {
	t.Helper()
	var ids []DecisionID
	for _, d := range rep.Differ {
		ids = append(ids, d.ID)
	}
	if want == "" {
		if len(ids) > 0 {
			t.Fatalf("decisions differ %v, want none", ids)
		}
		return
	}
	if !slices.Contains(ids, want) {
		t.Fatalf("decisions differ %v, want %s among them", ids, want)
	}
	var warnings []string
	for _, r := range rep.Results {
		warnings = append(warnings, r.WarningLines()...)
	}
	found := slices.ContainsFunc(warnings, func(l string) bool {
		return strings.Contains(l, where+": ") && strings.Contains(l, in) && strings.Contains(l, "decision "+string(want))
	})
	if !found {
		t.Fatalf("warnings do not report %q with %q:\n%s", where, in, strings.Join(warnings, "\n"))
	}
}

func TestViolationLineFormat(t *testing.T) {
	c := mustContract(t)
	_, url := startFake(t, c, wrongTypeItem)
	rep := mustRun(t, c, Config{Target: url})
	want := "GET /api/co/rating: documented request: items[0].service_id: expected integer, got string [response_schema_conformance]"
	if lines := allLines(rep); !slices.Contains(lines, want) {
		t.Fatalf("violations = %q, want the line %q", lines, want)
	}
}

func TestReadOnlySendsNoPOST(t *testing.T) {
	c := mustContract(t)
	f, url := startFake(t, c, correct)
	rep := mustRun(t, c, Config{Target: url, ReadOnly: true})
	if got := f.count(http.MethodPost); got != 0 {
		t.Errorf("POST requests = %d, want 0", got)
	}
	if got := f.count(http.MethodGet); got == 0 {
		t.Errorf("GET requests = 0, want some")
	}
	if rep.ExitCode() != ExitOK || rep.Skipped == 0 {
		t.Errorf("report = %s, want no failures and the POST cases skipped", rep.Summary())
	}
	for _, r := range rep.Results {
		if strings.HasPrefix(r.Request, "POST ") && r.Outcome != Skip {
			t.Errorf("%s: %s: outcome %s, want skip", r.Operation, r.Case, r.Outcome)
		}
	}
}

func TestWithoutTokenSkipsWhatNeedsOne(t *testing.T) {
	c := mustContract(t)
	_, url := startFake(t, c, correct)
	rep := mustRun(t, c, Config{Target: url, Token: ""})
	if rep.ExitCode() != ExitOK {
		t.Fatalf("report = %s, want no failures:\n%s", rep.Summary(), strings.Join(allLines(rep), "\n"))
	}
	for _, r := range rep.Results {
		wantSkip := r.Operation == opUsername && r.Kind != KindAuth
		if (r.Outcome == Skip) != wantSkip {
			t.Errorf("%s: %s: outcome %s, want skipped=%v", r.Operation, r.Case, r.Outcome, wantSkip)
		}
	}
}

func TestUnreachableTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	url := "http://" + ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	_, err = Run(context.Background(), mustContract(t), Config{Target: url})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Run() = %v, want ErrUnreachable", err)
	}
	var ec interface{ ExitCode() int }
	if !errors.As(err, &ec) || ec.ExitCode() != ExitUnusable {
		t.Fatalf("Run() = %v, want an error with ExitCode() %d", err, ExitUnusable)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("Error() = %q, want one line", err)
	}
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantMsg string
	}{
		{"no target", Config{}, "--target is required"},
		{"relative target", Config{Target: "127.0.0.1:5050"}, "absolute http or https URL"},
		{"ftp target", Config{Target: "ftp://example.com"}, "absolute http or https URL"},
		{"target with query", Config{Target: "http://example.com/?x=1"}, "query or fragment"},
		{"negative booking", Config{Target: "http://example.com", BookingID: -1}, "--booking-id"},
		{"unknown booking as booking", Config{Target: "http://example.com", BookingID: UnknownBookingID}, "--booking-id"},
		{"negative timeout", Config{Target: "http://example.com", Timeout: -1}, "--timeout"},
		{"token with space", Config{Target: "http://example.com", Token: "a b"}, "--token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), mustContract(t), tt.cfg)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Run() = %v, want ErrConfig mentioning %q", err, tt.wantMsg)
			}
			var ec interface{ ExitCode() int }
			if !errors.As(err, &ec) || ec.ExitCode() != ExitUnusable {
				t.Fatalf("Run() = %v, want ExitCode() %d", err, ExitUnusable)
			}
		})
	}
}

func TestNoRedirectIsFollowed(t *testing.T) {
	c := mustContract(t)
	f, url := startFake(t, c, correct)
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, url+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
	_, redirecting := startHandler(t, redirect)
	rep := mustRun(t, c, Config{Target: redirecting})
	if f.count(http.MethodGet)+f.count(http.MethodPost) != 0 {
		t.Errorf("the redirect target got requests, want none")
	}
	if rep.ExitCode() != ExitViolations || rep.Passed != 0 {
		t.Errorf("report = %s, want every answered case failed", rep.Summary())
	}
}

// reportFromBrokenFake is a report with passes, failures and skips.
func reportFromBrokenFake(t *testing.T) *Report {
	t.Helper()
	c := mustContract(t)
	_, url := startFake(t, c, missingField)
	rep := mustRun(t, c, Config{Target: url, Token: ""})
	if rep.Passed == 0 || rep.Failed == 0 || rep.Skipped == 0 {
		t.Fatalf("report = %s, want passes, failures and skips", rep.Summary())
	}
	return rep
}

func TestJSONReportParses(t *testing.T) {
	rep := reportFromBrokenFake(t)
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatalf("WriteJSON() = %v", err)
	}
	var got Report
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("json.Unmarshal(WriteJSON()) = %v", err)
	}
	if got.Passed != rep.Passed || got.Failed != rep.Failed || got.Skipped != rep.Skipped || len(got.Results) != len(rep.Results) {
		t.Fatalf("parsed %s with %d results, want %s with %d", got.Summary(), len(got.Results), rep.Summary(), len(rep.Results))
	}
	for i, r := range got.Results {
		if len(r.Violations) != len(rep.Results[i].Violations) {
			t.Errorf("result %d has %d violations, want %d", i, len(r.Violations), len(rep.Results[i].Violations))
		}
	}
}

// The JUnit schema as CI systems read it, declared independently of the
// writer's types.
type (
	xmlSuites struct {
		XMLName  xml.Name   `xml:"testsuites"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Skipped  int        `xml:"skipped,attr"`
		Suites   []xmlSuite `xml:"testsuite"`
	}
	xmlSuite struct {
		Name     string    `xml:"name,attr"`
		Tests    int       `xml:"tests,attr"`
		Failures int       `xml:"failures,attr"`
		Skipped  int       `xml:"skipped,attr"`
		Cases    []xmlCase `xml:"testcase"`
	}
	xmlCase struct {
		Name      string `xml:"name,attr"`
		Classname string `xml:"classname,attr"`
		Time      string `xml:"time,attr"`
		Failure   *struct {
			Message string `xml:"message,attr"`
			Text    string `xml:",chardata"`
		} `xml:"failure"`
		Skipped *struct {
			Message string `xml:"message,attr"`
		} `xml:"skipped"`
	}
)

func TestJUnitParses(t *testing.T) {
	rep := reportFromBrokenFake(t)
	var buf bytes.Buffer
	if err := rep.WriteJUnit(&buf); err != nil {
		t.Fatalf("WriteJUnit() = %v", err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte(xml.Header)) {
		t.Errorf("WriteJUnit() does not start with the XML header")
	}
	var got xmlSuites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("xml.Unmarshal(WriteJUnit()) = %v", err)
	}
	if got.Tests != len(rep.Results) || got.Failures != rep.Failed || got.Skipped != rep.Skipped {
		t.Errorf("testsuites tests=%d failures=%d skipped=%d, want %d %d %d", got.Tests, got.Failures, got.Skipped, len(rep.Results), rep.Failed, rep.Skipped)
	}
	var tests, failures, skipped int
	var failureText string
	for _, s := range got.Suites {
		var st, sf, ss int
		for _, c := range s.Cases {
			st++
			if c.Classname != s.Name || c.Name == "" || c.Time == "" {
				t.Errorf("testcase %+v in suite %q: want classname = suite name, a name and a time", c, s.Name)
			}
			if c.Failure != nil {
				sf++
				failureText += c.Failure.Text + "\n"
			}
			if c.Skipped != nil {
				ss++
			}
		}
		if st != s.Tests || sf != s.Failures || ss != s.Skipped {
			t.Errorf("suite %q says %d/%d/%d, has %d/%d/%d", s.Name, s.Tests, s.Failures, s.Skipped, st, sf, ss)
		}
		tests, failures, skipped = tests+st, failures+sf, skipped+ss
	}
	if tests != got.Tests || failures != got.Failures || skipped != got.Skipped {
		t.Errorf("testcases %d/%d/%d, want the totals %d/%d/%d", tests, failures, skipped, got.Tests, got.Failures, got.Skipped)
	}
	if !strings.Contains(failureText, "items[0].workshop_name") {
		t.Errorf("failures do not name items[0].workshop_name:\n%s", failureText)
	}
}

func TestTextReport(t *testing.T) {
	rep := reportFromBrokenFake(t)
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatalf("WriteText() = %v", err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got, want := lines[len(lines)-1], rep.Summary(); got != want {
		t.Errorf("last line = %q, want %q", got, want)
	}
	for _, want := range []string{"RESULT", "FAIL", "skip", "Violations:", allLines(rep)[0]} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteText() does not contain %q:\n%s", want, out)
		}
	}
}
