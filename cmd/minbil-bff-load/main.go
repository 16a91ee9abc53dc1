// Command minbil-bff-load is the gateway's load harness (`make load`). It
// builds the binaries, starts real processes on 127.0.0.1 — a fixed
// fasthttp upstream, NGINX with a keep-alive proxy config, a bare Fiber
// handler and a bare Fiber proxy (all three from ./bare), the gateway in
// each configuration the performance goals name, the standalone mock, the
// gateway with its in-process mock, and Stoplight Prism — pins every server
// to one CPU and wrk to the other, drives them in interleaved rounds, and
// prints one table of req/s, p50, p99, peak RSS and the goal ratios, with
// a scaling table (1 to 10,000 distinct callers and usernames, -scaling),
// the syscalls per proxied request of the gateway and NGINX (-syscalls,
// counted with perf or strace in runs of their own), a CPU profile of the
// gateway under load (-profile) and the time from a fresh clone to the
// first 200 of `make run` (-cold-start, measured first, before any server
// starts). It writes the table, a JSON record and an SVG chart to
// out/perf/ (with -publish also to cmd/minbil-bff-load/results/), and
// stops everything it started.
//
// It installs wrk and nginx with apt-get and Prism with npm when they are
// missing. Run it from anywhere inside the repository:
//
//	go run ./cmd/minbil-bff-load -rounds 5 -duration 5s
//	go run ./cmd/minbil-bff-load -soak 10m   # RSS of the gateway under load over time
//	go run ./cmd/minbil-bff-load -ref HEAD -base 7cde9b8   # before and after, in one run
//	go run ./cmd/minbil-bff-load -profile   # also out/perf/gateway.cpu.pprof
//
// Every path it builds or writes is relative to the repository root (the
// directory holding go.mod above the working directory), never to the
// working directory itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	_ "embed"
)

// Paths relative to the repository root. The baseline servers are built
// from the working tree even with -ref: they are the yardstick, not the
// code under test.
const (
	gatewayPkg = "./cmd/minbil-bff"
	barePkg    = "./cmd/minbil-bff-load/bare"
	resultsDir = "cmd/minbil-bff-load/results"
	outDir     = "out/perf"
	// contractDoc is the OpenAPI document Prism mocks.
	contractDoc = "contracts/openapi.yaml"
	// profileFile is where -profile writes the gateway's CPU profile.
	profileFile = "out/perf/gateway.cpu.pprof"
)

//go:embed nginx.conf.tmpl
var nginxConf string

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// options are the harness's flags.
type options struct {
	rounds     int
	duration   time.Duration
	warmup     time.Duration
	conns      int
	serverCPU  string
	clientCPU  string
	portBase   int
	only       string
	skipPrism  bool
	publish    bool
	soak       time.Duration
	soakSample time.Duration
	keepLogs   bool
	scaling    bool
	coldStart  bool
	profile    bool
	syscalls   string
	ref        string
	base       string
	// refCommit and baseCommit are ref and base resolved once at start,
	// so that what is built and what the report names stay the same
	// commit while others commit to the repository.
	refCommit  string
	baseCommit string
}

func run() error {
	var o options
	flag.IntVar(&o.rounds, "rounds", 5, "interleaved rounds; each target runs once per round")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "wrk duration per target per round")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "wrk warm-up per target before the first round")
	flag.IntVar(&o.conns, "conns", 64, "wrk connections")
	flag.StringVar(&o.serverCPU, "server-cpu", "0", "taskset CPU list of every server")
	flag.StringVar(&o.clientCPU, "client-cpu", "1", "taskset CPU list of wrk")
	flag.IntVar(&o.portBase, "port-base", 18080, "first of the 127.0.0.1 ports the servers use (28: offsets 0–11 the table, 12–17 and 27 the -base twins, 18, 19 and 25 the per-caller rows, 20–24 the scaling rows, 26 the -profile gateway)")
	flag.StringVar(&o.only, "only", "", "comma-separated target ids to run (default all)")
	flag.BoolVar(&o.skipPrism, "skip-prism", false, "do not install or run Prism")
	flag.BoolVar(&o.publish, "publish", false, "also copy the table and chart to "+resultsDir+"/")
	flag.DurationVar(&o.soak, "soak", 0, "instead of the table: drive the gateway (HS256, all features on) for this long and sample its RSS")
	flag.DurationVar(&o.soakSample, "soak-sample", 30*time.Second, "RSS sampling interval of -soak")
	flag.BoolVar(&o.keepLogs, "keep-logs", false, "keep the gateways', mock's and Prism's output in out/perf/run/ (large: one access-log line per request)")
	flag.BoolVar(&o.scaling, "scaling", true, "also measure the gateway with 1, 100 and 10,000 distinct callers and 1 and 10,000 distinct usernames (5 more targets, each its own gateway)")
	flag.BoolVar(&o.coldStart, "cold-start", true, "also measure a fresh clone to the first 200 of make run's command with empty module and build caches (downloads every module; about 100 s on 2 cores)")
	flag.BoolVar(&o.profile, "profile", false, "also write a CPU profile of the gateway (configured as gw-hs256, its own process) under one wrk run to "+profileFile+" and print its top entries")
	flag.StringVar(&o.syscalls, "syscalls", "auto", "count the syscalls per proxied request of the gateway, NGINX and the bare Fiber proxy in runs of their own: auto (perf, else strace), perf, strace or off")
	flag.StringVar(&o.ref, "ref", "", "build minbil-bff from this git ref (git archive) instead of the working tree, e.g. HEAD while others edit the tree")
	flag.StringVar(&o.base, "base", "", "also build minbil-bff from this git ref and measure every target it serves next to the same target of -ref, in the same rounds (before vs after)")
	flag.Parse()
	if o.rounds < 1 || o.duration < time.Second || o.conns < 1 {
		return errors.New("-rounds ≥ 1, -duration ≥ 1s and -conns ≥ 1 are required")
	}
	if o.soak > 0 && (o.base != "" || o.profile) {
		return errors.New("-base and -profile apply to the table, not to -soak")
	}
	switch o.syscalls {
	case "auto", string(toolPerf), string(toolStrace), "off":
	default:
		return fmt.Errorf("-syscalls %q: want auto, perf, strace or off", o.syscalls)
	}

	root, err := repoRoot()
	if err != nil {
		return err
	}
	out := filepath.Join(root, filepath.FromSlash(outDir))
	runDir := filepath.Join(out, "run")
	binDir := filepath.Join(out, "bin")
	for _, d := range []string{runDir, binDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	prismJS := ""
	if !o.skipPrism && o.soak == 0 {
		if prismJS, err = ensurePrism(ctx, out); err != nil {
			return err
		}
	}
	if err := ensureTools(ctx); err != nil {
		return err
	}
	for _, r := range []struct{ ref, commit *string }{{&o.ref, &o.refCommit}, {&o.base, &o.baseCommit}} {
		if *r.ref != "" {
			if *r.commit, err = resolveRef(ctx, root, *r.ref); err != nil {
				return err
			}
		}
	}
	logf("building binaries (minbil-bff from %s)", o.refName())
	if err := build(ctx, root, binDir, o.refCommit, o.baseCommit); err != nil {
		return err
	}
	creds, err := newCredentials()
	if err != nil {
		return err
	}
	jwksFile := filepath.Join(runDir, "jwks.json")
	if err := os.WriteFile(jwksFile, creds.jwks, 0o600); err != nil {
		return err
	}

	env := environment{o: o, root: root, runDir: runDir, binDir: binDir, jwks: jwksFile, prismJS: prismJS, creds: creds}
	if o.soak > 0 {
		return soak(ctx, env)
	}
	return table(ctx, env)
}

// environment is what starting servers needs.
type environment struct {
	o       options
	root    string
	runDir  string
	binDir  string
	jwks    string
	prismJS string
	creds   credentials
}

func (e environment) addr(offset int) string {
	return "127.0.0.1:" + strconv.Itoa(e.o.portBase+offset)
}

// serverAddr is the address of a server by name; a base twin listens
// basePortShift above its original.
func (e environment) serverAddr(name string) string {
	if c, ok := scalingCaseOf(name); ok {
		return e.addr(c.port)
	}
	if orig, ok := strings.CutSuffix(name, baseSuffix); ok {
		return e.addr(serverPorts[orig] + basePortShift)
	}
	return e.addr(serverPorts[name])
}

// refName says where the gateway under test was built from.
func (o options) refName() string {
	if o.ref == "" {
		return "working tree"
	}
	return named(o.ref, o.refCommit)
}

// baseName says where the base gateway was built from.
func (o options) baseName() string { return named(o.base, o.baseCommit) }

// named is "HEAD (1a2b3c4d5e6f)", or the commit alone when ref is one.
func named(ref, commit string) string {
	switch {
	case commit == "":
		return ref
	case strings.HasPrefix(commit, ref), strings.HasPrefix(ref, commit):
		return commit
	}
	return ref + " (" + commit + ")"
}

// resolveRef returns the abbreviated commit ref names now.
func resolveRef(ctx context.Context, root, ref string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "--verify", ref+"^{commit}")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git rev-parse %s: %w", ref, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Server names and their port offsets.
const (
	srvUpstream   = "upstream"
	srvNginx      = "nginx"
	srvFiberProxy = "fiber-proxy"
	srvFiber      = "fiber"
	srvGwHS       = "gw-hs256"
	srvGwProfile  = "gw-profile"
	srvGwRS       = "gw-rs256"
	srvGwOff      = "gw-hs256-validate-off"
	srvGwBreaker  = "gw-breaker"
	srvMock       = "mock"
	srvRun        = "gw-run"
	srvPrism      = "prism"
	// The per-caller rows: an upstream answering each caller its own list,
	// the gateway (as gw-hs256) and the bare Fiber proxy in front of it.
	srvUpstreamVary   = "upstream-vary"
	srvGwVary         = "gw-vary"
	srvFiberProxyVary = "fiber-proxy-vary"
)

var serverPorts = map[string]int{
	srvUpstream: 0, srvNginx: 1, srvFiberProxy: 2, srvFiber: 3, srvGwHS: 4, srvGwRS: 5,
	srvGwOff: 6, srvGwBreaker: 7, srvMock: 8, srvRun: 9, srvPrism: 10,
	srvUpstreamVary: 18, srvGwVary: 19, srvFiberProxyVary: 25, srvGwProfile: 26,
}

// upstreamOf is the harness server a server proxies to, which has to be
// started before it; "" for a server that proxies to none of them.
func upstreamOf(name string) string {
	switch strings.TrimSuffix(name, baseSuffix) {
	case srvGwVary, srvFiberProxyVary:
		return srvUpstreamVary
	case srvNginx, srvFiberProxy, srvGwHS, srvGwRS, srvGwOff, srvGwProfile:
		return srvUpstream
	}
	if _, ok := scalingCaseOf(name); ok {
		return srvUpstream
	}
	return ""
}

// deadPortOffset is a port nothing listens on: the breaker gateway's upstream.
const deadPortOffset = 11

// With -base, every server run from the minbil-bff binary has a twin run
// from the base binary, named with baseSuffix and listening basePortShift
// ports above it (12–17, past deadPortOffset; gw-vary's at 27).
const (
	baseSuffix    = "@base"
	basePortShift = 8
)

// fromGateway reports whether a server runs the minbil-bff binary, so
// that -base gives it a twin.
func fromGateway(name string) bool {
	switch name {
	case srvGwHS, srvGwRS, srvGwOff, srvGwBreaker, srvMock, srvRun, srvGwVary:
		return true
	}
	return false
}

// gatewayEnv configures a gateway as production would run it: jwt auth
// with issuer and audience pinned, upstream API key, breaker, request ids,
// access log (JSON lines on stderr, which the harness sends to /dev/null
// unless -keep-logs), metrics and both rate limits, on but set so high
// (rateLimitCeiling per minute) that one load generator is counted by
// them and never throttled. Every key here is understood by the gateway
// before the redesign (7cde9b8) and after it, so -ref compares the two
// with the same settings; a gateway ignores MINBIL_ names it does not know,
// so a key only one side has would silently not apply there.
// rateLimitCeiling is the per-minute rate limit of every gateway: the
// limiters run and keep their counters, and nothing reaches the ceiling.
const rateLimitCeiling = "1000000000"

func (e environment) gatewayEnv(extra ...string) []string {
	return append([]string{
		"MINBIL_AUTH_MODE=jwt",
		"MINBIL_AUTH_JWT_ISSUER=" + loadIssuer,
		"MINBIL_AUTH_JWT_AUDIENCE=" + loadAudience,
		"MINBIL_API_KEY=load-harness-api-key",
		"MINBIL_RATE_LIMIT_PER_IP=" + rateLimitCeiling,
		"MINBIL_RATE_LIMIT_PER_IDENTITY=" + rateLimitCeiling,
		"MINBIL_LOG_FORMAT=json",
		"MINBIL_UPSTREAM_VALIDATE_RESPONSES=log",
	}, extra...)
}

func (e environment) spec(name string) spec {
	bin := filepath.Join(e.binDir, "minbil-bff")
	bare := filepath.Join(e.binDir, "bare")
	addr := e.serverAddr(name)
	up := "http://" + e.addr(serverPorts[srvUpstream])
	upVary := "http://" + e.addr(serverPorts[srvUpstreamVary])
	s := spec{name: name, addr: addr, cpu: e.o.serverCPU, dir: e.root, quiet: !e.o.keepLogs}
	if orig, ok := strings.CutSuffix(name, baseSuffix); ok {
		// The twin is configured as its original, with the base binary.
		bin = filepath.Join(e.binDir, "minbil-bff-base")
		name = orig
	}
	if _, ok := scalingCaseOf(name); ok {
		// A scaling row: a gateway configured as gw-hs256.
		name = srvGwHS
	}
	switch name {
	case srvUpstream:
		s.quiet = false
		s.argv = []string{bare, "-mode", "upstream", "-addr", addr, "-jwks", e.jwks}
	case srvUpstreamVary:
		s.quiet = false
		s.argv = []string{bare, "-mode", "upstream", "-vary", "-addr", addr}
	case srvFiber:
		s.quiet = false
		s.argv = []string{bare, "-mode", "fiber", "-addr", addr}
	case srvFiberProxy:
		s.quiet = false
		s.argv = []string{bare, "-mode", "proxy", "-addr", addr, "-upstream", e.addr(serverPorts[srvUpstream])}
	case srvFiberProxyVary:
		s.quiet = false
		s.argv = []string{bare, "-mode", "proxy", "-addr", addr, "-upstream", e.addr(serverPorts[srvUpstreamVary])}
	case srvNginx:
		s.quiet = false
		s.argv = []string{"nginx", "-p", e.runDir, "-c", filepath.Join(e.runDir, "nginx.conf")}
	case srvGwHS:
		s.argv = []string{bin, "serve", "--addr", addr, "--upstream", up}
		s.env = e.gatewayEnv("MINBIL_AUTH_JWT_HS256_SECRET=" + e.creds.secret)
		s.ready = "/readyz"
	case srvGwVary:
		s.argv = []string{bin, "serve", "--addr", addr, "--upstream", upVary}
		s.env = e.gatewayEnv("MINBIL_AUTH_JWT_HS256_SECRET=" + e.creds.secret)
		s.ready = "/readyz"
	case srvGwProfile:
		// gw-hs256's configuration, writing a CPU profile on shutdown.
		s.argv = []string{bin, "serve", "--addr", addr, "--upstream", up, "--cpu-profile", filepath.Join(e.root, filepath.FromSlash(profileFile))}
		s.env = e.gatewayEnv("MINBIL_AUTH_JWT_HS256_SECRET=" + e.creds.secret)
		s.ready = "/readyz"
	case srvGwOff:
		s.argv = []string{bin, "serve", "--addr", addr, "--upstream", up}
		s.env = e.gatewayEnv("MINBIL_AUTH_JWT_HS256_SECRET="+e.creds.secret, "MINBIL_UPSTREAM_VALIDATE_RESPONSES=off")
		s.ready = "/readyz"
	case srvGwRS:
		s.argv = []string{bin, "serve", "--addr", addr, "--upstream", up}
		s.env = e.gatewayEnv("MINBIL_AUTH_JWT_JWKS_URL=" + up + "/jwks.json")
		s.ready = "/readyz"
	case srvGwBreaker:
		s.argv = []string{bin, "serve", "--addr", addr, "--upstream", "http://" + e.addr(deadPortOffset)}
		s.env = e.gatewayEnv("MINBIL_AUTH_JWT_HS256_SECRET="+e.creds.secret, "MINBIL_BREAKER_OPEN_TIMEOUT=24h")
		s.ready = "/readyz"
	case srvMock:
		s.argv = []string{bin, "mock", "--addr", addr, "--log-format", "json"}
	case srvRun:
		// `make run`: the gateway with the in-process mock and its defaults
		// (dev auth, console log), rate limits at the ceiling as above.
		s.argv = []string{bin, "serve", "--addr", addr}
		s.env = []string{"MINBIL_RATE_LIMIT_PER_IP=" + rateLimitCeiling, "MINBIL_RATE_LIMIT_PER_IDENTITY=" + rateLimitCeiling}
		s.ready = "/readyz"
	case srvPrism:
		host, port, _ := strings.Cut(addr, ":")
		s.argv = []string{"node", e.prismJS, "mock", "-h", host, "-p", port, filepath.Join(e.root, filepath.FromSlash(contractDoc))}
		s.ready = "/api/co/rating"
	}
	return s
}

// servers starts the named servers, in order; stopAll stops them in reverse.
type servers struct {
	procs []*proc
	by    map[string]*proc
}

func (s *servers) stopAll() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop()
	}
}

func startServers(ctx context.Context, e environment, names []string) (*servers, error) {
	s := &servers{by: map[string]*proc{}}
	for _, n := range names {
		if n == srvNginx {
			if err := writeNginxConf(e); err != nil {
				s.stopAll()
				return nil, err
			}
		}
		logf("starting %s on %s", n, e.serverAddr(n))
		p, err := start(ctx, e.spec(n), e.runDir)
		if err != nil {
			s.stopAll()
			return nil, err
		}
		s.procs = append(s.procs, p)
		s.by[n] = p
	}
	return s, nil
}

func writeNginxConf(e environment) error {
	t, err := template.New("nginx").Parse(nginxConf)
	if err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(e.runDir, "nginx.conf"))
	if err != nil {
		return err
	}
	defer f.Close()
	return t.Execute(f, map[string]string{
		"Dir": e.runDir, "Listen": e.addr(serverPorts[srvNginx]), "Upstream": e.addr(serverPorts[srvUpstream]),
	})
}

// tripBreaker sends failing requests through the breaker gateway until its
// listRatings breaker answers 503 at once.
func tripBreaker(ctx context.Context, addr, token string) error {
	client := &http.Client{Timeout: 10 * time.Second}
	for range 20 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/co/rating", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
			return nil
		}
	}
	return errors.New("the breaker did not open")
}

// probe checks that a target answers its expected status before it is
// measured, so a misconfigured server fails loudly instead of measuring
// error answers.
func probe(ctx context.Context, t target, addr string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+t.path, nil)
	for _, h := range t.header {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", t.id, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != t.status {
		return fmt.Errorf("probe %s: status %d, want %d: %.200s", t.id, resp.StatusCode, t.status, body)
	}
	return nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run inside the repository (no go.mod found)")
		}
		dir = parent
	}
}

// build compiles the gateway (from ref when set), the base gateway (from
// base, when set) and the baseline servers (always from the working tree).
// Only ./cmd/minbil-bff is built from a ref, so a ref older than this
// harness (7cde9b8 kept it under gateway/perf) builds too.
func build(ctx context.Context, root, binDir, ref, base string) error {
	src := root
	if ref != "" {
		var err error
		if src, err = exportRef(ctx, root, ref, "src"); err != nil {
			return err
		}
	}
	type job struct{ out, pkg, dir string }
	jobs := []job{{"minbil-bff", gatewayPkg, src}, {"bare", barePkg, root}}
	if base != "" {
		dir, err := exportRef(ctx, root, base, "src-base")
		if err != nil {
			return err
		}
		jobs = append(jobs, job{"minbil-bff-base", gatewayPkg, dir})
	}
	for _, b := range jobs {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(binDir, b.out), b.pkg)
		cmd.Dir = b.dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
		}
	}
	return nil
}

// exportRef writes the tree of ref to out/perf/<name> with git archive,
// leaving the repository and its index untouched.
func exportRef(ctx context.Context, root, ref, name string) (string, error) {
	dir := filepath.Join(root, filepath.FromSlash(outDir), name)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	archive := exec.CommandContext(ctx, "git", "archive", "--format=tar", ref)
	archive.Dir = root
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return "", err
	}
	var stderr strings.Builder
	archive.Stderr = &stderr
	untar.Stdin = pipe
	if err := untar.Start(); err != nil {
		return "", err
	}
	if err := archive.Run(); err != nil {
		return "", fmt.Errorf("git archive %s: %w\n%s", ref, err, stderr.String())
	}
	if err := untar.Wait(); err != nil {
		return "", fmt.Errorf("untar %s: %w", ref, err)
	}
	return dir, nil
}

// ensureTools installs wrk and nginx with apt-get when either is missing.
func ensureTools(ctx context.Context) error {
	var missing []string
	for _, t := range []string{"wrk", "nginx", "taskset"} {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	pkgs := []string{}
	for _, m := range missing {
		if m == "taskset" {
			m = "util-linux"
		}
		pkgs = append(pkgs, m)
	}
	logf("installing %s with apt-get", strings.Join(pkgs, ", "))
	if out, err := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %w\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install: %w\n%s", err, out)
	}
	return nil
}

// prismVersion is the Prism release the harness installs.
const prismVersion = "5.14.2"

// ensurePrism installs Prism under out/perf/prism with npm when it is not
// there yet and returns its entry script.
func ensurePrism(ctx context.Context, out string) (string, error) {
	dir := filepath.Join(out, "prism")
	js := filepath.Join(dir, "node_modules", "@stoplight", "prism-cli", "dist", "index.js")
	if _, err := os.Stat(js); err == nil {
		return js, nil
	}
	for _, t := range []string{"node", "npm"} {
		if _, err := exec.LookPath(t); err != nil {
			return "", fmt.Errorf("prism needs %s (or pass -skip-prism): %w", t, err)
		}
	}
	logf("installing @stoplight/prism-cli@%s with npm", prismVersion)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "@stoplight/prism-cli@"+prismVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install prism: %w\n%s", err, out)
	}
	return js, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
}
