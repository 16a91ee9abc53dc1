package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one server the harness started, pinned to a CPU, in its own
// process group so that stopping it stops its children too (NGINX's worker,
// Prism's node).
type proc struct {
	name string
	addr string
	cmd  *exec.Cmd
	log  *os.File
	done chan error
	// stopped is set by the first stopWithin, with the exit error it
	// returned.
	stopped bool
	exit    error
}

// spec says how to start one server.
type spec struct {
	name string
	addr string
	cpu  string
	argv []string
	env  []string
	dir  string
	// ready is the path polled until it answers (any status); "" polls the
	// TCP port only.
	ready string
	// quiet sends the server's output to /dev/null: a gateway's access log
	// at 100k lines a second would fill the disk.
	quiet bool
}

// start runs s under taskset and waits until it answers.
func start(ctx context.Context, s spec, logDir string) (*proc, error) {
	name := filepath.Join(logDir, s.name+".log")
	if s.quiet {
		name = os.DevNull
	}
	logf, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	argv := append([]string{"-c", s.cpu}, s.argv...)
	cmd := exec.Command("taskset", argv...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", s.name, err)
	}
	p := &proc{name: s.name, addr: s.addr, cmd: cmd, log: logf, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	if err := p.waitReady(ctx, s.ready, 60*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s did not come up (see %s; -keep-logs keeps every server's output): %w", s.name, logf.Name(), err)
	}
	return p, nil
}

func (p *proc) waitReady(ctx context.Context, path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if path == "" {
			c, err := net.DialTimeout("tcp", p.addr, time.Second)
			if err == nil {
				c.Close()
				return nil
			}
			continue
		}
		resp, err := client.Get("http://" + p.addr + path)
		if err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return errors.New("timed out")
}

// stop sends SIGTERM to the process group, then SIGKILL after 5 s.
func (p *proc) stop() { _ = p.stopWithin(5 * time.Second) }

// stopWithin sends SIGTERM to the process group and waits up to grace for
// the server to exit by itself, then kills the group. It returns the
// server's exit error, or an error saying it had to be killed; a second
// call returns the same at once and signals nothing.
func (p *proc) stopWithin(grace time.Duration) error {
	if p.stopped {
		return p.exit
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	var err error
	select {
	case err = <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
		err = fmt.Errorf("%s did not exit within %s of SIGTERM and was killed", p.name, grace)
	}
	p.stopped, p.exit = true, err
	// Children that outlived their parent (none expected) go with the group.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	p.log.Close()
	return err
}

// peakRSS returns the summed VmHWM (peak resident set) of the process tree
// under the server, in bytes: taskset execs the server, so the root is the
// server itself; NGINX's worker and Prism's children are its descendants.
func (p *proc) peakRSS() int64 {
	return treeSum(p.cmd.Process.Pid, "VmHWM:")
}

// rss returns the summed current resident set of the process tree.
func (p *proc) rss() int64 {
	return treeSum(p.cmd.Process.Pid, "VmRSS:")
}

func treeSum(root int, field string) int64 {
	var total int64
	for _, pid := range treePIDs(root) {
		total += statusKB(pid, field) * 1024
	}
	return total
}

// treePIDs returns root and every process below it.
func treePIDs(root int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := ppid(pid); pp > 0 {
			children[pp] = append(children[pp], pid)
		}
	}
	var out []int
	stack := []int{root}
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, pid)
		stack = append(stack, children[pid]...)
	}
	return out
}

func ppid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces; fields resume after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

func statusKB(pid int, field string) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
