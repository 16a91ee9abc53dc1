package verify

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Outcome is the verdict on one case.
type Outcome string

// The outcomes of a case.
const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip"
)

// Result is the verdict on one case.
type Result struct {
	Operation string `json:"operation"`
	Case      string `json:"case"`
	Kind      Kind   `json:"kind"`
	// Request is "METHOD /concrete/path?query" as sent (without the
	// target's base URL).
	Request    string  `json:"request"`
	WantStatus []int   `json:"want_status,omitempty"`
	Status     int     `json:"status,omitempty"`
	Outcome    Outcome `json:"outcome"`
	SkipReason string  `json:"skip_reason,omitempty"`
	// Violations fail the case.
	Violations []Finding `json:"violations,omitempty"`
	// Warnings are the decisions the answer differs from, at
	// LevelDocumented; they do not fail the case.
	Warnings []Finding `json:"warnings,omitempty"`
	// Seconds is how long the request took.
	Seconds float64 `json:"seconds"`
}

func (r *Result) add(fs ...Finding) { r.Violations = append(r.Violations, fs...) }

// judged sets the outcome from the violations.
func (r Result) judged() Result {
	if len(r.Violations) > 0 {
		r.Outcome = Fail
	} else {
		r.Outcome = Pass
	}
	return r
}

// Lines renders each violation as
// "<METHOD path>: <case>: <where>: <problem> [<check>]".
func (r Result) Lines() []string { return r.lines(r.Violations) }

// WarningLines renders each warning like Lines.
func (r Result) WarningLines() []string { return r.lines(r.Warnings) }

func (r Result) lines(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = r.Operation + ": " + r.Case + ": " + f.String()
	}
	return out
}

// Report is the outcome of a run.
type Report struct {
	Target    string `json:"target"`
	ReadOnly  bool   `json:"read_only"`
	BookingID int64  `json:"booking_id"`
	// Level is the level that ran; LevelReason says why.
	Level       Level  `json:"level"`
	LevelReason string `json:"level_reason"`
	Passed      int    `json:"passed"`
	Failed      int    `json:"failed"`
	Skipped     int    `json:"skipped"`
	// Differ lists the decisions the target differs from without failing
	// (LevelDocumented), each with the cases that show it.
	Differ  []DecisionDiff `json:"decisions_differ,omitempty"`
	Results []Result       `json:"results"`
}

// DecisionDiff is one decision the target differs from.
type DecisionDiff struct {
	Decision
	// Cases is how many cases show it; Example is the first warning line.
	Cases   int    `json:"cases"`
	Example string `json:"example"`
}

func (rep *Report) add(r Result) { rep.Results = append(rep.Results, r) }

func (rep *Report) finish() *Report {
	rep.Passed, rep.Failed, rep.Skipped = 0, 0, 0
	rep.Differ = diffs(rep.Results)
	for _, r := range rep.Results {
		switch r.Outcome {
		case Pass:
			rep.Passed++
		case Fail:
			rep.Failed++
		case Skip:
			rep.Skipped++
		}
	}
	return rep
}

// Err returns a *FailedError when at least one case failed, else nil.
func (rep *Report) Err() error {
	if rep.Failed == 0 {
		return nil
	}
	return &FailedError{Failed: rep.Failed, Total: len(rep.Results)}
}

// ExitCode is ExitViolations when a case failed, else ExitOK.
func (rep *Report) ExitCode() int {
	if rep.Failed > 0 {
		return ExitViolations
	}
	return ExitOK
}

// diffs groups the warnings by decision, in the order of Decisions.
func diffs(results []Result) []DecisionDiff {
	byID := map[DecisionID]*DecisionDiff{}
	for _, r := range results {
		seen := map[DecisionID]bool{}
		for i, w := range r.Warnings {
			d, ok := byID[w.Decision]
			if !ok {
				d = &DecisionDiff{Decision: decisionByID(w.Decision), Example: r.WarningLines()[i]}
				byID[w.Decision] = d
			}
			if !seen[w.Decision] {
				seen[w.Decision] = true
				d.Cases++
			}
		}
	}
	var out []DecisionDiff
	for _, d := range decisions {
		if diff, ok := byID[d.ID]; ok {
			out = append(out, *diff)
		}
	}
	return out
}

// Summary is the one-line summary, "N passed, N failed" (and ", N skipped"
// when cases were skipped, "; N decisions differ" when some do).
func (rep *Report) Summary() string {
	s := fmt.Sprintf("%d passed, %d failed", rep.Passed, rep.Failed)
	if rep.Skipped > 0 {
		s += fmt.Sprintf(", %d skipped", rep.Skipped)
	}
	if n := len(rep.Differ); n > 0 {
		s += fmt.Sprintf("; %d decisions differ", n)
	}
	return s
}

// Header is the first line of the text report: the target, the level that
// ran and why, the flow's booking.
func (rep *Report) Header() string {
	mode := ""
	if rep.ReadOnly {
		mode = ", read-only"
	}
	return fmt.Sprintf("verify %s at level %s (%s; booking %d%s)", rep.Target, rep.Level, rep.LevelReason, rep.BookingID, mode)
}

// WriteText writes the readable table: one row per case, then every
// violation on its own line, then the summary.
func (rep *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s\n\n", rep.Header())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tOPERATION\tCASE\tSTATUS")
	for _, r := range rep.Results {
		var verdict, status string
		switch r.Outcome {
		case Pass:
			verdict, status = "ok", strconv.Itoa(r.Status)
			if len(r.Warnings) > 0 {
				verdict = "warn"
			}
		case Fail:
			verdict = "FAIL"
			status = "no answer"
			if r.Status != 0 {
				status = strconv.Itoa(r.Status)
			}
			status += ", want " + statusList(r.WantStatus)
		case Skip:
			verdict, status = "skip", r.SkipReason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", verdict, r.Operation, r.Case, status)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if rep.Failed > 0 {
		fmt.Fprintln(w, "\nViolations:")
		for _, r := range rep.Results {
			for _, line := range r.Lines() {
				fmt.Fprintln(w, "  "+line)
			}
		}
	}
	rep.writeDiffs(w)
	if _, err := fmt.Fprintln(w, "\n"+rep.Summary()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// writeDiffs lists the decisions that differ, each with its x-assumption
// and an example.
func (rep *Report) writeDiffs(w io.Writer) {
	if len(rep.Differ) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%d decisions differ (warnings: our contract decided where the documentation is silent; --level strict fails on them):\n", len(rep.Differ))
	for _, d := range rep.Differ {
		fmt.Fprintf(w, "  %s: %s (x-assumption at %s), %d cases, e.g.\n      %s\n",
			d.ID, d.Summary, strings.Join(d.Where, ", "), d.Cases, d.Example)
	}
}

// WriteJSON writes the report as one indented JSON document.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// JUnit XML, as CI systems read it: one testsuite per operation, one
// testcase per case, a failure with every violation line, skipped cases
// marked skipped.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name     string      `xml:"name,attr"`
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Errors   int         `xml:"errors,attr"`
		Skipped  int         `xml:"skipped,attr"`
		Time     string      `xml:"time,attr"`
		Cases    []junitCase `xml:"testcase"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitFailure `xml:"failure,omitempty"`
		Skipped   *junitSkipped `xml:"skipped,omitempty"`
		// SystemOut carries the warnings: CI systems show it without
		// failing the case.
		SystemOut string `xml:"system-out,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
)

// WriteJUnit writes the report as JUnit XML.
func (rep *Report) WriteJUnit(w io.Writer) error {
	root := junitSuites{Name: fmt.Sprintf("minbil-bff verify %s (level %s)", rep.Target, rep.Level)}
	index := map[string]int{}
	var total float64
	suiteTime := map[string]float64{}
	for _, r := range rep.Results {
		i, ok := index[r.Operation]
		if !ok {
			i = len(root.Suites)
			index[r.Operation] = i
			root.Suites = append(root.Suites, junitSuite{Name: r.Operation})
		}
		s := &root.Suites[i]
		c := junitCase{Name: r.Case, Classname: r.Operation, Time: seconds(r.Seconds)}
		for _, line := range r.WarningLines() {
			c.SystemOut += "warning (decision, not a failure): " + line + "\n"
		}
		switch r.Outcome {
		case Fail:
			lines := r.Lines()
			c.Failure = &junitFailure{Message: lines[0], Type: "ContractViolation", Text: strings.Join(lines, "\n")}
			s.Failures++
			root.Failures++
		case Skip:
			c.Skipped = &junitSkipped{Message: r.SkipReason}
			s.Skipped++
			root.Skipped++
		case Pass:
		}
		s.Tests++
		root.Tests++
		s.Cases = append(s.Cases, c)
		suiteTime[r.Operation] += r.Seconds
		total += r.Seconds
	}
	for i := range root.Suites {
		root.Suites[i].Time = seconds(suiteTime[root.Suites[i].Name])
	}
	root.Time = seconds(total)
	out, err := xml.MarshalIndent(root, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JUnit report: %w", err)
	}
	if _, err := io.WriteString(w, xml.Header+string(out)+"\n"); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	return nil
}

func seconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }
