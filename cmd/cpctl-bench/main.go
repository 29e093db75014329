// Command cpctl-bench measures cpctl against yardsticks taken in the same run
// (issue #9) and prints one table: target, measured ratio, pass or fail, and
// the raw figures (median, min, max).
//
//	go run ./cmd/cpctl-bench            # the full run (a few minutes)
//	go run ./cmd/cpctl-bench -quick     # small sizes, no assertions (CI)
//	go run ./cmd/cpctl-bench -only 1,3  # some measurements
//	go run ./cmd/cpctl-bench -profile DIR  # also write pprof profiles and an init trace
//
// It builds what it measures itself (cpctl, the floor and hello-world
// binaries) into a temporary directory, and runs the simulator inside the
// bench process (see simenv.go for why). The exit code is 1 when a target
// is missed, 2 when a measurement could not be made.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// sizes are the knobs that differ between the full and the quick run.
type sizes struct {
	StartupRounds int // interleaved rounds of every start-up command
	OneShotRounds int // interleaved cpctl/curl one-shot rounds
	LatencyRows   int // rows of measurement 3
	LatencyReps   int
	ThroughRows   int // rows of measurement 4 (and the "10k" of 5)
	ThroughReps   int
	BigRows       int // rows of measurement 5
	BigReps       int
	SimCalls      int // calls per load-generator run in measurement 6
	SimReps       int
	Pace          paceSizes // measurement 7
}

var fullSizes = sizes{
	StartupRounds: 200, OneShotRounds: 40,
	LatencyRows: 1000, LatencyReps: 3,
	ThroughRows: 10000, ThroughReps: 3,
	BigRows: 100000, BigReps: 1,
	SimCalls: 20000, SimReps: 5,
	Pace: paceSizes{Rows: 2000, Service: 50 * time.Millisecond,
		Servers: 200, SrvRows: 50, DServ: 200 * time.Millisecond, DLat: 100 * time.Millisecond, Reps: 3},
}

var quickSizes = sizes{
	StartupRounds: 5, OneShotRounds: 3,
	LatencyRows: 100, LatencyReps: 1,
	ThroughRows: 500, ThroughReps: 1,
	BigRows: 2000, BigReps: 1,
	SimCalls: 2000, SimReps: 2,
	Pace: paceSizes{Rows: 100, Service: 10 * time.Millisecond,
		Servers: 10, SrvRows: 10, DServ: 10 * time.Millisecond, DLat: 10 * time.Millisecond, Reps: 1},
}

const (
	concurrency = 8
	latency     = 20 * time.Millisecond
)

type options struct {
	quick      bool
	only       map[string]bool
	profileDir string
	markdown   bool
	keep       bool
	curl       string
	sizes      sizes
	// Experiments with measurement 7: environment for its cpctl runs
	// (GOGC=100, GODEBUG=...), and 7d's variants instead of auto and
	// the yardsticks.
	paceEnv []string
	pace7d  []string
	paceLog string // directory for measurement 7's cpctl -v logs
	paceOld string // another cpctl whose auto and fixed runs 7d adds (an earlier build)
	// before is another cpctl (an earlier build) that measurements 3 and 4
	// also run, taking turns with cpctl, for a before/after in one run.
	before string
}

func (o *options) want(id string) bool {
	if len(o.only) == 0 || o.only[id] {
		return true
	}
	for k := range o.only {
		if strings.HasPrefix(k, id) {
			return true // a part of it, such as 7d
		}
	}
	return false
}

// wantPart says whether a part of a measurement (7d) runs: it or its
// whole measurement was asked for.
func (o *options) wantPart(id string) bool {
	return len(o.only) == 0 || o.only[id] || o.only[id[:1]]
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("cpctl-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	var quick, short bool
	var only string
	fs.BoolVar(&quick, "quick", false, "small sizes, few repetitions, no pass/fail assertions (CI)")
	fs.BoolVar(&short, "short", false, "same as -quick")
	fs.StringVar(&only, "only", "", "comma-separated measurement ids to run (1-7, or a part of 7: 7a-7d)")
	fs.StringVar(&o.profileDir, "profile", "", "write pprof profiles and a GODEBUG=inittrace log into `DIR`")
	fs.BoolVar(&o.markdown, "markdown", false, "also print the table as Markdown")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory")
	fs.StringVar(&o.curl, "curl", "/usr/bin/curl", "curl binary for measurement 2")
	var paceEnv, pace7d string
	fs.StringVar(&paceEnv, "pace-env", "", "measurement 7: space-separated `VAR=VALUE`s for its cpctl runs (experiments)")
	fs.StringVar(&o.paceLog, "pace-log", "", "measurement 7: run cpctl with -v and keep its stderr in `DIR` (experiments: -v slows cpctl)")
	fs.StringVar(&o.paceOld, "pace-before", "", "measurement 7d: also run --concurrency auto and the first yardstick with this cpctl `BINARY` (an earlier build), taking turns with the others")
	fs.StringVar(&o.before, "before", "", "measurements 3 and 4: also run this cpctl `BINARY` (an earlier build), taking turns with cpctl; shown beside it, not judged")
	fs.StringVar(&pace7d, "pace-7d", "", "measurement 7d: comma-separated --concurrency `values` to run instead of auto and the yardsticks, auto:N with --max-concurrency N (experiments)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.paceEnv = strings.Fields(paceEnv)
	if pace7d != "" {
		o.pace7d = strings.Split(pace7d, ",")
	}
	o.quick = quick || short
	o.sizes = fullSizes
	if o.quick {
		o.sizes = quickSizes
	}
	if only != "" {
		o.only = map[string]bool{}
		for _, id := range strings.Split(only, ",") {
			id = strings.TrimSpace(id)
			part := len(id) == 2 && id[0] == '7' && id[1] >= 'a' && id[1] <= 'd'
			if !part && (id < "1" || id > "7" || len(id) != 1) {
				return nil, fmt.Errorf("-only: %q is not a measurement id (1-7, 7a-7d)", id)
			}
			o.only[id] = true
		}
	}
	return o, nil
}

func main() {
	if os.Getenv(loadgenEnv) != "" {
		os.Exit(loadgenChildMain(os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "cpctl-bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	b, err := newBench(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "cpctl-bench:", err)
		return 2
	}
	defer b.close()

	rs := b.runAll(ctx)
	fmt.Fprintf(stdout, "cpctl-bench %s: %s, %d CPUs (%s), %s, %s/%s\n\n",
		map[bool]string{true: "quick", false: "full"}[o.quick], time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if err := printTable(stdout, rs); err != nil {
		fmt.Fprintln(stderr, "cpctl-bench:", err)
		return 2
	}
	if o.markdown {
		fmt.Fprintln(stdout)
		if err := printMarkdown(stdout, rs); err != nil {
			fmt.Fprintln(stderr, "cpctl-bench:", err)
			return 2
		}
	}
	code := 0
	for _, r := range rs {
		switch r.Verdict {
		case failed:
			code = 2
		case fail:
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// bench holds what every measurement shares: the work directory and the
// binaries built for this run.
type bench struct {
	o      *options
	log    io.Writer
	dir    string
	cpctl  string
	floor  string
	hello  string
	rusage string // launcher that records a child's peak RSS
	prof   string // cpctlprof, only with -profile
	module string
}

func newBench(ctx context.Context, o *options, log io.Writer) (*bench, error) {
	dir, err := os.MkdirTemp("", "cpctl-bench-")
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	b := &bench{o: o, log: log, dir: dir}
	if err := b.build(ctx); err != nil {
		b.close()
		return nil, err
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			b.close()
			return nil, fmt.Errorf("profile directory: %w", err)
		}
	}
	return b, nil
}

func (b *bench) close() {
	if b.o.keep {
		fmt.Fprintln(b.log, "cpctl-bench: work directory kept:", b.dir)
		return
	}
	_ = os.RemoveAll(b.dir)
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "cpctl-bench: "+format+"\n", args...)
}

// build compiles every binary the run measures, the way a user builds cpctl:
// `go build` with the release build settings, no race detector.
func (b *bench) build(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return errors.New("run cpctl-bench inside the cpctl module (go run ./cmd/cpctl-bench)")
	}
	b.module = filepath.Dir(gomod)
	bin := filepath.Join(b.dir, "bin")
	targets := []struct {
		pkg string
		dst *string
	}{
		{"./cmd/cpctl", &b.cpctl},
		{"./cmd/cpctl-bench/floor", &b.floor},
		{"./cmd/cpctl-bench/hello", &b.hello},
		{"./cmd/cpctl-bench/rusage", &b.rusage},
	}
	if b.o.profileDir != "" {
		targets = append(targets, struct {
			pkg string
			dst *string
		}{"./cmd/cpctl-bench/cpctlprof", &b.prof})
	}
	for _, t := range targets {
		*t.dst = filepath.Join(bin, filepath.Base(t.pkg))
		start := time.Now()
		// Built as .goreleaser.yaml builds releases, so the bench measures
		// the binary users get: static (no cgo, so no dynamic loader at
		// start-up), without symbol tables. The yardsticks get the same.
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", *t.dst, t.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Dir = b.module
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", t.pkg, err, out)
		}
		b.logf("built %s in %s", t.pkg, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func (b *bench) runAll(ctx context.Context) []result {
	type step struct {
		id string
		fn func(context.Context) []result
	}
	steps := []step{
		{"1", b.startup},
		{"2", b.oneShot},
		{"3", b.bulkLatency},
		{"4", b.bulkThroughput}, // also yields measurement 5's rows
		{"6", b.simThroughput},
		{"7", b.pacing},
	}
	var rs []result
	for _, s := range steps {
		if ctx.Err() != nil {
			break
		}
		if s.id == "4" && !b.o.want("4") && !b.o.want("5") {
			continue
		}
		if s.id != "4" && !b.o.want(s.id) {
			continue
		}
		start := time.Now()
		for _, r := range s.fn(ctx) {
			r.judge(b.o.quick)
			rs = append(rs, r)
		}
		b.logf("measurement %s took %s", s.id, time.Since(start).Round(time.Millisecond))
	}
	return rs
}

// errResult reports a measurement that could not be made.
func errResult(id, what string, err error) result {
	return result{ID: id, What: what, Verdict: failed, Note: err.Error()}
}

// cpuModel names the processor, for the table's header.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
