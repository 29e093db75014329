package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// bulkRun is one measured `cpctl account passwd --from` process.
type bulkRun struct {
	Wall time.Duration
	RSS  int64         // peak resident set, bytes; 0 when the OS does not say
	CPU  time.Duration // user + system time of the cpctl process
	Sim  time.Duration // CPU this process (the simulator) used meanwhile
}

func (r bulkRun) rate(rows int) float64 { return float64(rows) / r.Wall.Seconds() }

// perRow is d spread over rows, in seconds.
func perRow(d time.Duration, rows int) float64 { return d.Seconds() / float64(rows) }

// runBulk rotates the first rows accounts' passwords with the built cpctl,
// exactly as a user would: generated passwords, a durable journal,
// concurrency 8, JSON Lines on stdout (discarded). It checks that the
// process succeeded and that the simulator saw one change per row.
func (b *bench) runBulk(ctx context.Context, e *simEnv, bin string, rows int, tag string, extraEnv ...string) (bulkRun, error) {
	users, err := b.writeUsers(rows)
	if err != nil {
		return bulkRun{}, err
	}
	journal := filepath.Join(e.home, "journal-"+tag)
	defer func() { _ = os.Remove(journal) }() // the bench's own scratch file
	before := e.srv.Sim.Stats().PasswordChanges
	usage := filepath.Join(e.home, "rusage-"+tag)
	defer func() { _ = os.Remove(usage) }()
	cmd := exec.CommandContext(ctx, b.rusage, usage, "--", bin, "--config", e.cfg, "account", "passwd",
		"--from", users, "--generate", "--journal", journal,
		"--concurrency", strconv.Itoa(concurrency), "-o", "json")
	cmd.Env = b.childEnv(e.home, extraEnv...)
	cmd.Dir = e.home
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // stdout: /dev/null
	simBefore := selfCPU()
	err = cmd.Run()
	var run bulkRun
	if data, rerr := os.ReadFile(usage); rerr == nil {
		var rss, wall, cpu int64
		if _, serr := fmt.Sscan(string(data), &rss, &wall, &cpu); serr == nil {
			run = bulkRun{Wall: time.Duration(wall), RSS: rss, CPU: time.Duration(cpu), Sim: selfCPU() - simBefore}
		}
	}
	if err == nil && run.Wall == 0 {
		err = errors.New("the rusage launcher recorded nothing")
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 400 {
			msg = msg[len(msg)-400:]
		}
		return run, fmt.Errorf("bulk %d rows: %w: %s", rows, err, msg)
	}
	if got := e.srv.Sim.Stats().PasswordChanges - before; got != int64(rows) {
		return run, fmt.Errorf("bulk %d rows: the simulator saw %d password changes", rows, got)
	}
	return run, nil
}

// bulkLatency is measurement 3: 1,000 rows against 20 ms of server latency
// at concurrency 8 should take the ideal N × latency / concurrency.
func (b *bench) bulkLatency(ctx context.Context) []result {
	const id = "3"
	rows := b.o.sizes.LatencyRows
	what := fmt.Sprintf("bulk %d rows, 20ms latency, c=8 vs ideal", rows)
	e, err := b.startSim(ctx, "latency", rows, latency)
	if err != nil {
		return []result{errResult(id, what, err)}
	}
	defer e.close(ctx)
	ideal := time.Duration(rows) * latency / concurrency
	pws, err := passwordPool(1024)
	if err != nil {
		return []result{errResult(id, what, err)}
	}
	body := func(i int) []byte { return passwdForm(accountName(i%rows), pws[i%len(pws)]) }
	var walls, lgs, lgps, befores []time.Duration
	for rep := 0; rep < b.o.sizes.LatencyReps; rep++ {
		// The load generator's time for the same calls shows how much of
		// the distance to the ideal is the simulator's own (timer
		// overshoot, TLS, scheduling) rather than cpctl's.
		l := newLoadgen(e.passwdURL(), e.pool, authHeader(), concurrency)
		d, err := l.run(ctx, rows, concurrency, body)
		l.close()
		if err != nil {
			return []result{errResult(id, what, fmt.Errorf("load generator: %w", err))}
		}
		lgs = append(lgs, d)
		d, err = b.loadgenProcess(ctx, e, rows, rows)
		if err != nil {
			return []result{errResult(id, what, err)}
		}
		lgps = append(lgps, d)
		r, err := b.runBulk(ctx, e, b.cpctl, rows, fmt.Sprintf("lat-%d", rep))
		if err != nil {
			return []result{errResult(id, what, err)}
		}
		walls = append(walls, r.Wall)
		if b.o.before != "" {
			r, err := b.runBulk(ctx, e, b.o.before, rows, fmt.Sprintf("lat-before-%d", rep))
			if err != nil {
				return []result{errResult(id, what, fmt.Errorf("-before: %w", err))}
			}
			befores = append(befores, r.Wall)
		}
	}
	if b.o.profileDir != "" {
		// One extra, unmeasured run under cpctlprof: the CPU profile says
		// where the client's time goes, the execution trace when each
		// connection waits between a reply and its next request.
		dir := b.o.profileDir
		r, err := b.runBulk(ctx, e, b.prof, rows, "lat-prof",
			"CPCTL_BENCH_CPUPROFILE="+filepath.Join(dir, "cpctl-latency.cpu.pprof"),
			"CPCTL_BENCH_TRACE="+filepath.Join(dir, "cpctl-latency.trace"))
		if err != nil {
			b.logf("profile: %v", err)
		} else {
			b.logf("profiled latency run of %d rows: %s → %s", rows, r.Wall.Round(time.Millisecond), dir)
		}
	}
	s, lg, lgp := summarize(durations(walls)), summarize(durations(lgs)), summarize(durations(lgps))
	figs := []figure{{"cpctl", s, unitSeconds}, {"loadgen", lg, unitSeconds}, {"loadgen process", lgp, unitSeconds}}
	note := fmt.Sprintf("ideal %s, ratio = ideal/cpctl process wall time; loadgen reaches %.3f of ideal in the bench's process, %.3f in its own (fork to exit)",
		ideal, ideal.Seconds()/lg.Median, ideal.Seconds()/lgp.Median)
	if len(befores) > 0 {
		bs := summarize(durations(befores))
		figs = append(figs, figure{"before", bs, unitSeconds})
		note += fmt.Sprintf("; -before reaches %.3f of ideal", ideal.Seconds()/bs.Median)
	}
	return []result{{
		ID: id, What: what, Goal: &goal{Limit: 0.94}, Ratio: ideal.Seconds() / s.Median,
		Figures: figs, Note: note,
	}}
}

// bulkThroughput is measurements 4 and 5 on one simulator with enough
// accounts for the largest run: cpctl's rows/s against the load generator's
// calls/s, and the peak memory of the large run.
func (b *bench) bulkThroughput(ctx context.Context) []result {
	sz := b.o.sizes
	what4 := fmt.Sprintf("bulk %d rows, durable journal, c=8 vs load generator", sz.ThroughRows)
	what5 := fmt.Sprintf("bulk %d rows", sz.BigRows)
	fail := func(err error) []result {
		var rs []result
		if b.o.want("4") {
			rs = append(rs, errResult("4", what4, err))
		}
		if b.o.want("5") {
			rs = append(rs, errResult("5", what5, err))
		}
		return rs
	}
	e, err := b.startSim(ctx, "throughput", max(sz.ThroughRows, sz.BigRows), 0)
	if err != nil {
		return fail(err)
	}
	defer e.close(ctx)
	pws, err := passwordPool(1024)
	if err != nil {
		return fail(err)
	}
	body := func(i int) []byte { return passwdForm(accountName(i%sz.ThroughRows), pws[i%len(pws)]) }

	var cp, lg, bf []float64
	var cpCPU, simCPU, lgCPU, bfCPU []float64 // CPU seconds per row
	var small []bulkRun
	for rep := 0; rep < sz.ThroughReps; rep++ {
		if b.o.want("4") {
			l := newLoadgen(e.passwdURL(), e.pool, authHeader(), concurrency)
			cpu0 := selfCPU()
			d, err := l.run(ctx, sz.ThroughRows, concurrency, body)
			lgCPU = append(lgCPU, perRow(selfCPU()-cpu0, sz.ThroughRows))
			l.close()
			if err != nil {
				return fail(fmt.Errorf("load generator: %w", err))
			}
			lg = append(lg, float64(sz.ThroughRows)/d.Seconds())
		}
		r, err := b.runBulk(ctx, e, b.cpctl, sz.ThroughRows, fmt.Sprintf("tp-%d", rep))
		if err != nil {
			return fail(err)
		}
		small = append(small, r)
		cp = append(cp, r.rate(sz.ThroughRows))
		if len(lg) > 0 {
			b.logf("measurement 4, round %d: load generator %.0f/s, cpctl %.0f/s", rep+1, lg[len(lg)-1], cp[len(cp)-1])
		}
		cpCPU = append(cpCPU, perRow(r.CPU, sz.ThroughRows))
		simCPU = append(simCPU, perRow(r.Sim, sz.ThroughRows))
		if b.o.before != "" && b.o.want("4") {
			r, err := b.runBulk(ctx, e, b.o.before, sz.ThroughRows, fmt.Sprintf("tp-before-%d", rep))
			if err != nil {
				return fail(fmt.Errorf("-before: %w", err))
			}
			bf = append(bf, r.rate(sz.ThroughRows))
			bfCPU = append(bfCPU, perRow(r.CPU, sz.ThroughRows))
			b.logf("measurement 4, round %d: -before %.0f/s", rep+1, bf[len(bf)-1])
		}
	}
	if b.o.profileDir != "" {
		if err := b.profileBulk(ctx, e, sz.ThroughRows); err != nil {
			b.logf("profile: %v", err)
		}
	}
	var rs []result
	if b.o.want("4") {
		sc, sl := summarize(cp), summarize(lg)
		figs := []figure{{"cpctl", sc, unitPerSecond}, {"loadgen", sl, unitPerSecond}}
		note := fmt.Sprintf("rows/s over process wall time; CPU per row: cpctl %s + simulator %s, load generator and simulator %s",
			unitSeconds.format(summarize(cpCPU).Median), unitSeconds.format(summarize(simCPU).Median), unitSeconds.format(summarize(lgCPU).Median))
		if len(bf) > 0 {
			sb := summarize(bf)
			figs = append(figs, figure{"before", sb, unitPerSecond})
			note += fmt.Sprintf("; -before: %.3f of the load generator, CPU per row %s", sb.Median/sl.Median, unitSeconds.format(summarize(bfCPU).Median))
		}
		rs = append(rs, result{
			ID: "4", What: what4, Goal: &goal{Limit: 0.4}, Ratio: sc.Median / sl.Median,
			Figures: figs, Note: note,
		})
	}
	if !b.o.want("5") {
		return rs
	}
	var big []bulkRun
	for rep := 0; rep < sz.BigReps; rep++ {
		r, err := b.runBulk(ctx, e, b.cpctl, sz.BigRows, fmt.Sprintf("big-%d", rep))
		if err != nil {
			return append(rs, errResult("5", what5, err))
		}
		big = append(big, r)
	}
	rss := func(rs []bulkRun) summary {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = float64(r.RSS) / (1 << 20)
		}
		return summarize(xs)
	}
	rate := func(rs []bulkRun, rows int) summary {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = r.rate(rows)
		}
		return summarize(xs)
	}
	bigRSS, smallRSS := rss(big), rss(small)
	bigRate, smallRate := rate(big, sz.BigRows), rate(small, sz.ThroughRows)
	if bigRSS.Max == 0 {
		return append(rs, result{ID: "5", What: what5, Verdict: skipped, Note: "skipped: this OS reports no peak RSS"})
	}
	rs = append(rs,
		result{ID: "5a", What: what5 + ": peak RSS (MB)", Goal: &goal{AtMost: true, Limit: 50}, Ratio: bigRSS.Max,
			Figures: []figure{{"peak RSS", bigRSS, unitMB}}, Note: "ratio = MB, largest run"},
		result{ID: "5b", What: fmt.Sprintf("peak RSS %d rows vs %d rows", sz.BigRows, sz.ThroughRows),
			Goal: &goal{AtMost: true, Limit: 1.10}, Ratio: bigRSS.Median / smallRSS.Median,
			Figures: []figure{{"big", bigRSS, unitMB}, {"small", smallRSS, unitMB}}, Note: "memory flat with input size"},
		result{ID: "5c", What: fmt.Sprintf("rows/s %d rows vs %d rows", sz.BigRows, sz.ThroughRows),
			Goal: &goal{Limit: 0.90}, Ratio: bigRate.Median / smallRate.Median,
			Figures: []figure{{"big", bigRate, unitPerSecond}, {"small", smallRate, unitPerSecond}}, Note: "throughput flat with input size"},
	)
	return rs
}

// profileBulk runs one extra, unmeasured bulk run under cpctlprof with CPU
// and allocation profiles, while profiling the simulator in this process.
func (b *bench) profileBulk(ctx context.Context, e *simEnv, rows int) error {
	dir := b.o.profileDir
	var r bulkRun
	err := profileRound(filepath.Join(dir, "sim-during-bulk.cpu.pprof"), func() error {
		var err error
		r, err = b.runBulk(ctx, e, b.prof, rows, "prof",
			"CPCTL_BENCH_CPUPROFILE="+filepath.Join(dir, "cpctl-bulk.cpu.pprof"),
			"CPCTL_BENCH_ALLOCPROFILE="+filepath.Join(dir, "cpctl-bulk.allocs.pprof"))
		return err
	})
	if err != nil {
		return err
	}
	b.logf("profiled bulk run of %d rows: %s (%.0f rows/s) → %s", rows, r.Wall.Round(time.Millisecond), r.rate(rows), dir)
	return nil
}

// simThroughput is measurement 6: the simulator against a minimal net/http
// TLS handler, both driven by the same load generator.
func (b *bench) simThroughput(ctx context.Context) []result {
	const id, what = "6", "simulator passwd calls/s vs minimal TLS handler"
	const accounts = 1000
	sz := b.o.sizes
	e, err := b.startSim(ctx, "simtp", accounts, 0)
	if err != nil {
		return []result{errResult(id, what, err)}
	}
	defer e.close(ctx)
	m, err := startMinimal(authHeader())
	if err != nil {
		return []result{errResult(id, what, err)}
	}
	defer m.close()
	pws, err := passwordPool(1024)
	if err != nil {
		return []result{errResult(id, what, err)}
	}
	body := func(i int) []byte { return passwdForm(accountName(i%accounts), pws[i%len(pws)]) }
	var sim, mini []float64
	once := func(u string, l *loadgen) (float64, error) {
		defer l.close()
		d, err := l.run(ctx, sz.SimCalls, concurrency, body)
		if err != nil {
			return 0, fmt.Errorf("load generator against %s: %w", u, err)
		}
		return float64(sz.SimCalls) / d.Seconds(), nil
	}
	if b.o.profileDir != "" {
		// An extra, unmeasured round under the CPU profiler.
		if err := profileRound(filepath.Join(b.o.profileDir, "sim-loadgen.cpu.pprof"), func() error {
			_, err := once("simulator", newLoadgen(e.passwdURL(), e.pool, authHeader(), concurrency))
			return err
		}); err != nil {
			b.logf("profile: %v", err)
		}
	}
	for rep := 0; rep < sz.SimReps; rep++ {
		x, err := once("simulator", newLoadgen(e.passwdURL(), e.pool, authHeader(), concurrency))
		if err != nil {
			return []result{errResult(id, what, err)}
		}
		y, err := once("minimal handler", newLoadgen(m.url, m.pool, authHeader(), concurrency))
		if err != nil {
			return []result{errResult(id, what, err)}
		}
		sim, mini = append(sim, x), append(mini, y)
	}
	if want := int64(sz.SimCalls * sz.SimReps); e.srv.Sim.Stats().PasswordChanges < want {
		return []result{errResult(id, what, errors.New("the simulator changed fewer passwords than it was sent"))}
	}
	ss, sm := summarize(sim), summarize(mini)
	return []result{{
		ID: id, What: what, Goal: &goal{Limit: 0.6}, Ratio: ss.Median / sm.Median,
		Figures: []figure{{"simulator", ss, unitPerSecond}, {"minimal", sm, unitPerSecond}},
		Note:    "TLS keep-alive, c=8",
	}}
}

// profileRound runs fn under this process's CPU profiler, writing to path.
func profileRound(path string, fn func() error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	err = fn()
	pprof.StopCPUProfile()
	return err
}
