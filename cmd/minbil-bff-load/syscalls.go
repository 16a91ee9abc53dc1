package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The syscalls of a proxied request are counted for these targets (and
// their -base twins): the gateway the goals measure, NGINX, and the bare
// Fiber proxy as the floor of a Go proxy.
var syscallIDs = []string{"nginx", "fiber-proxy", "gw-hs256"}

// Each count is taken over its own wrk run of syscallRun, after the
// measured rounds: perf's tracepoint and even more strace's ptrace stops
// slow the server, so neither may run during a round whose throughput is
// reported. attachWait is how long perf or strace is given to attach to
// every thread before the load starts.
const (
	syscallRun = 3 * time.Second
	attachWait = 500 * time.Millisecond
)

// syscallTool is how syscalls are counted.
type syscallTool string

const (
	toolPerf   syscallTool = "perf"
	toolStrace syscallTool = "strace"
)

// describe names the method in the report.
func (t syscallTool) describe() string {
	if t == toolStrace {
		return "`strace -c -f -p <pids>`"
	}
	return "`perf stat -e raw_syscalls:sys_enter -p <pids>`"
}

// syscallReport is the syscalls per proxied request of the targets in
// syscallIDs that ran.
type syscallReport struct {
	// Tool counted, Method is its command line; NotMeasured says why
	// nothing was counted (no tool works, or -syscalls off), and Rows is
	// empty then.
	Tool        syscallTool  `json:"tool,omitempty"`
	Method      string       `json:"method,omitempty"`
	NotMeasured string       `json:"not_measured,omitempty"`
	Run         string       `json:"run"`
	Rows        []syscallRow `json:"rows,omitempty"`
}

// syscallRow is one target's count; Error says why it has none.
type syscallRow struct {
	ID         string  `json:"id"`
	Label      string  `json:"label"`
	Syscalls   int64   `json:"syscalls"`
	Requests   int64   `json:"requests"`
	PerRequest float64 `json:"per_request"`
	Error      string  `json:"error,omitempty"`
}

func (r *syscallReport) row(id string) *syscallRow {
	for i := range r.Rows {
		if r.Rows[i].ID == id {
			return &r.Rows[i]
		}
	}
	return nil
}

// chooseSyscallTool returns the tool -syscalls asks for that works here,
// or why none does, and the function that undoes what it changed to make
// perf work. auto prefers perf, which counts in the kernel without
// stopping the server, and falls back to strace.
func chooseSyscallTool(ctx context.Context, want, dir string) (tool syscallTool, whyNot string, undo func()) {
	undo = func() {}
	var reasons []string
	for _, t := range []syscallTool{toolPerf, toolStrace} {
		if want != "auto" && want != string(t) {
			continue
		}
		if _, err := exec.LookPath(string(t)); err != nil {
			reasons = append(reasons, string(t)+" is not installed")
			continue
		}
		err := probeTool(ctx, t, dir)
		if err == nil {
			return t, "", undo
		}
		if t == toolPerf {
			var did []string
			if did, undo = enablePerf(); len(did) > 0 {
				logf("perf: %s, to count syscall tracepoints (undone after the count)", strings.Join(did, ", "))
				if err = probeTool(ctx, t, dir); err == nil {
					return t, "", undo
				}
				undo()
				undo = func() {}
			}
		}
		reasons = append(reasons, err.Error())
	}
	return "", strings.Join(reasons, "; "), undo
}

// probeTool counts the syscalls of `true` with t.
func probeTool(ctx context.Context, t syscallTool, dir string) error {
	out := filepath.Join(dir, "syscalls-probe.txt")
	var cmd *exec.Cmd
	if t == toolPerf {
		cmd = exec.CommandContext(ctx, "perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-o", out, "--", "true")
	} else {
		cmd = exec.CommandContext(ctx, "strace", "-c", "-f", "-o", out, "--", "true")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w%s", t, err, said(string(b)))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return fmt.Errorf("%s: %w", t, err)
	}
	n, err := parseCount(t, string(b))
	if err == nil && n == 0 {
		err = errors.New("counted no syscalls of true")
	}
	if err != nil {
		return fmt.Errorf("%s: %w", t, err)
	}
	return nil
}

// enablePerf lets an installed perf count syscall tracepoints where only
// root's settings stand in the way: it lowers kernel.perf_event_paranoid
// to -1 and mounts tracefs and debugfs where they are missing. It returns
// what it changed (nothing when not root) and the function that restores
// the setting and unmounts what it mounted.
func enablePerf() (did []string, undo func()) {
	var undos []func()
	undo = func() {
		for i := len(undos) - 1; i >= 0; i-- {
			undos[i]()
		}
	}
	if os.Geteuid() != 0 {
		return nil, undo
	}
	const paranoid = "/proc/sys/kernel/perf_event_paranoid"
	if b, err := os.ReadFile(paranoid); err == nil && strings.TrimSpace(string(b)) != "-1" {
		if os.WriteFile(paranoid, []byte("-1\n"), 0o644) == nil {
			was := strings.TrimSpace(string(b))
			did = append(did, "set kernel.perf_event_paranoid to -1 (was "+was+")")
			undos = append(undos, func() { _ = os.WriteFile(paranoid, []byte(was+"\n"), 0o644) })
		}
	}
	mounts := []struct{ fs, dir, probe string }{
		{"tracefs", "/sys/kernel/tracing", "/sys/kernel/tracing/events"},
		{"debugfs", "/sys/kernel/debug", "/sys/kernel/debug/tracing"},
	}
	for _, m := range mounts {
		if _, err := os.Stat(m.probe); err == nil {
			continue
		}
		if syscall.Mount("nodev", m.dir, m.fs, 0, "") == nil {
			did = append(did, "mounted "+m.fs+" on "+m.dir)
			undos = append(undos, func() { _ = syscall.Unmount(m.dir, 0) })
		}
	}
	return did, undo
}

// countSyscalls counts the syscalls of every process in pids (all their
// threads) with t while load runs, and returns the count and load's
// sample.
func countSyscalls(ctx context.Context, t syscallTool, pids []int, dir string, load func() (sample, error)) (int64, sample, error) {
	out := filepath.Join(dir, "syscalls-"+string(t)+".txt")
	// A tool that fails must not leave the previous target's count to be read.
	if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, sample{}, err
	}
	var p []string
	for _, pid := range pids {
		p = append(p, strconv.Itoa(pid))
	}
	var args []string
	if t == toolPerf {
		args = []string{"stat", "-x,", "-e", "raw_syscalls:sys_enter", "-o", out, "-p", strings.Join(p, ",")}
	} else {
		args = []string{"-c", "-f", "-o", out}
		for _, pid := range p {
			args = append(args, "-p", pid)
		}
	}
	cmd := exec.Command(string(t), args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, sample{}, fmt.Errorf("%s: %w", t, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return 0, sample{}, fmt.Errorf("%s exited before the load: %v%s", t, err, said(stderr.String()))
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return 0, sample{}, ctx.Err()
	case <-time.After(attachWait):
	}
	s, loadErr := load()
	// Both tools print their totals when interrupted.
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return 0, s, fmt.Errorf("%s did not stop within 30 s of SIGINT", t)
	}
	if loadErr != nil {
		return 0, s, loadErr
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return 0, s, fmt.Errorf("%s: %w%s", t, err, said(stderr.String()))
	}
	n, err := parseCount(t, string(b))
	if err != nil {
		return 0, s, fmt.Errorf("%s: %w", t, err)
	}
	return n, s, nil
}

func parseCount(t syscallTool, out string) (int64, error) {
	if t == toolPerf {
		return parsePerfStat(out)
	}
	return parseStraceSummary(out)
}

// parsePerfStat reads the count of raw_syscalls:sys_enter from perf stat's
// CSV output (-x,): "12345,,raw_syscalls:sys_enter,3001234567,100.00,,".
// A count perf could not take reads "<not counted>" or "<not supported>".
func parsePerfStat(out string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) < 3 || !strings.HasPrefix(f[2], "raw_syscalls:sys_enter") {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("raw_syscalls:sys_enter: %s", f[0])
		}
		return n, nil
	}
	return 0, errors.New("perf stat printed no raw_syscalls:sys_enter count")
}

// parseStraceSummary reads the calls column of the total line of strace
// -c's table; the errors column before the name is empty when no call
// failed, so calls is the fourth field either way:
//
//	100.00    0.531046           2    212345      4567 total
func parseStraceSummary(out string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || f[len(f)-1] != "total" {
			continue
		}
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("strace total line %q: %w", sc.Text(), err)
		}
		return n, nil
	}
	return 0, errors.New("strace -c printed no total line")
}

// perRequest divides the syscalls by wrk's request count.
func perRequest(syscalls, requests int64) (float64, error) {
	if requests <= 0 {
		return 0, errors.New("wrk made no requests")
	}
	return float64(syscalls) / float64(requests), nil
}

// measureSyscalls counts, for every chosen target in syscallIDs, the
// syscalls of its server's whole process tree (NGINX's master and worker)
// over one wrk run; the upstream is a process of its own and not counted.
// A target that cannot be counted gets a row saying why, and the run goes
// on.
func measureSyscalls(ctx context.Context, e environment, srv *servers, chosen []target) *syscallReport {
	var ts []target
	for _, t := range chosen {
		for _, id := range syscallIDs {
			if strings.TrimSuffix(t.id, baseSuffix) == id {
				ts = append(ts, t)
			}
		}
	}
	if len(ts) == 0 {
		return nil
	}
	rep := &syscallReport{Run: fmt.Sprintf("one %s wrk run per target after the rounds", syscallRun)}
	if e.o.syscalls == "off" {
		rep.NotMeasured = "-syscalls off"
		return rep
	}
	tool, why, undo := chooseSyscallTool(ctx, e.o.syscalls, e.runDir)
	defer undo()
	if tool == "" {
		rep.NotMeasured = why
		logf("syscalls not measured: %s", why)
		return rep
	}
	rep.Tool, rep.Method = tool, tool.describe()
	for _, t := range ts {
		row := syscallRow{ID: t.id, Label: t.label}
		p := srv.by[t.server]
		n, s, err := countSyscalls(ctx, tool, treePIDs(p.cmd.Process.Pid), e.runDir, func() (sample, error) {
			s, out, err := wrkRun(ctx, e.o.clientCPU, "http://"+p.addr+t.path, e.o.conns, syscallRun, t.header, t.script)
			if err != nil {
				return s, fmt.Errorf("%w\n%s", err, out)
			}
			if bad := badAnswers(t, s); bad != "" {
				return s, errors.New(bad)
			}
			return s, nil
		})
		if err == nil {
			row.PerRequest, err = perRequest(n, s.requests)
		}
		row.Syscalls, row.Requests = n, s.requests
		if err != nil {
			row.Error = err.Error()
			logf("syscalls %-16s not measured: %v", t.id, err)
		} else {
			logf("syscalls %-16s %.2f per request (%d over %d requests, %s)", t.id, row.PerRequest, n, s.requests, tool)
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep
}

// syscallGoal compares the gateway's syscalls per request with NGINX's;
// ok is false when the two did not both run.
func syscallGoal(rep *syscallReport) (goal, bool) {
	g := goal{Name: "syscalls per proxied GET under load: gateway ≤ NGINX", Want: "≤ NGINX's"}
	if rep == nil {
		return g, false
	}
	if rep.NotMeasured != "" {
		g.NotMeasured, g.Measured, g.Rounds = true, "not measured: "+rep.NotMeasured, "–"
		return g, true
	}
	gw, ng := rep.row("gw-hs256"), rep.row("nginx")
	if gw == nil || ng == nil {
		return g, false
	}
	for _, r := range []*syscallRow{gw, ng} {
		if r.Error != "" {
			g.NotMeasured, g.Measured, g.Rounds = true, "not measured: "+r.ID+": "+firstLine(r.Error), "–"
			return g, true
		}
	}
	g.Value = gw.PerRequest / ng.PerRequest
	g.Met = gw.PerRequest <= ng.PerRequest
	g.Measured = fmt.Sprintf("%.2f (NGINX %.2f)", gw.PerRequest, ng.PerRequest)
	g.Rounds = rep.Run + ", " + string(rep.Tool)
	return g, true
}

// said is ": " and the first line of a tool's output, or "" when it
// printed nothing.
func said(out string) string {
	if l := firstLine(out); l != "" {
		return ": " + l
	}
	return ""
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
