package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// paceSizes are measurement 7's knobs (issue #20).
type paceSizes struct {
	Rows    int           // rows of 7a–7c
	Service time.Duration // service time of 7a–7c
	Servers int           // simulators of 7d
	SrvRows int           // rows per simulator in 7d
	DServ   time.Duration // service time of 7d
	DLat    time.Duration // network latency of 7d
	Reps    int           // runs of each 7d variant, taking turns
}

// pacedVariant is one --concurrency run beside the others.
type pacedVariant struct {
	name        string
	concurrency string // auto or a number
	bin         string // cpctl when empty
}

var pacedVariants = []pacedVariant{{name: "auto", concurrency: "auto"}, {name: "fixed 4", concurrency: "4"}, {name: "fixed 32", concurrency: "32"}}

// compareVariants runs every variant at once, each a cpctl process against
// its own simulator of capacity c: they do not share a server, and the few
// hundred calls per second they make leave the CPUs mostly idle, so running
// them side by side takes a third of the time.
func (b *bench) compareVariants(ctx context.Context, cert *paceCert, id string, vs []pacedVariant, rows int, c simulator.Capacity) ([]paceRun, error) {
	runs := make([]paceRun, len(vs))
	errs := make([]error, len(vs))
	var wg sync.WaitGroup
	for i, v := range vs {
		srv, err := startPaceServer(cert, rows, c, 0)
		if err != nil {
			return nil, err
		}
		defer srv.close(ctx)
		wg.Go(func() {
			runs[i], errs[i] = b.runPaceJob(ctx, cert, paceJob{tag: fmt.Sprintf("%s-%d", id, i),
				servers: []*paceServer{srv}, rows: rows, concurrency: v.concurrency})
		})
	}
	wg.Wait()
	return runs, errors.Join(errs...)
}

// medianOf is the median of ds (0 when empty).
func medianOf(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// describe lists every variant's wall time against the ideal, median
// latency, the concurrency the server saw and any 503s, for a result's raw
// column.
func describe(vs []pacedVariant, runs []paceRun, ideal time.Duration) string {
	parts := make([]string, len(runs))
	for i, r := range runs {
		parts[i] = fmt.Sprintf("%s %s (%.3f of ideal, median %s", vs[i].name,
			unitSeconds.format(r.Wall.Seconds()), ideal.Seconds()/r.Wall.Seconds(), unitSeconds.format(medianOf(r.latencies()).Seconds()))
		if vs[i].concurrency == "auto" {
			_, peak, _, mean := r.concurrency()
			parts[i] += fmt.Sprintf(", in the server: peak %d, mean %.1f, RSS %.1fMB", peak, mean, float64(r.RSS)/(1<<20))
		}
		if n := r.overloads(); n > 0 {
			parts[i] += fmt.Sprintf(", %d × 503", n)
		}
		parts[i] += ")"
	}
	return strings.Join(parts, "; ") + fmt.Sprintf("; ideal %s", unitSeconds.format(ideal.Seconds()))
}

// pacing is measurement 7: cpctl's --concurrency auto against simulators
// with a capacity, with fixed numbers beside it.
func (b *bench) pacing(ctx context.Context) []result {
	sz := b.o.sizes.Pace
	cert, err := newPaceCert(b.dir)
	if err != nil {
		return []result{errResult("7", "adaptive concurrency", err)}
	}
	var rs []result
	for _, c := range []struct {
		id    string
		limit int
	}{{"7a", 8}, {"7b", 2}} {
		if !b.o.wantPart(c.id) {
			continue
		}
		what := fmt.Sprintf("capacity %d, service %s, %d rows", c.limit, sz.Service, sz.Rows)
		runs, err := b.compareVariants(ctx, cert, c.id, pacedVariants, sz.Rows, simulator.Capacity{Limit: c.limit, ServiceTime: sz.Service})
		if err != nil {
			rs = append(rs, errResult(c.id, what, err))
			continue
		}
		ideal := time.Duration(sz.Rows) * sz.Service / time.Duration(c.limit)
		auto := runs[0]
		note := describe(pacedVariants, runs, ideal)
		rs = append(rs,
			result{ID: c.id, What: what + ": auto speed vs ideal", Goal: &goal{Limit: 0.90},
				Ratio: ideal.Seconds() / auto.Wall.Seconds(), Note: note},
			result{ID: c.id + "-lat", What: what + ": auto median latency / service time", Goal: &goal{AtMost: true, Limit: 1.5},
				Ratio: medianOf(auto.latencies()).Seconds() / sz.Service.Seconds(), Note: "see " + c.id})
	}
	if b.o.wantPart("7c") {
		rs = append(rs, b.pacing503(ctx, cert, sz))
	}
	if b.o.wantPart("7d") {
		rs = append(rs, b.pacingMany(ctx, cert, sz)...)
	}
	return rs
}

// pacing503 is 7c: a server that answers 503 with Retry-After: 1 once 4
// calls wait.
func (b *bench) pacing503(ctx context.Context, cert *paceCert, sz paceSizes) result {
	const id, limit, queue = "7c", 8, 4
	what := fmt.Sprintf("capacity %d, queue %d then 503 + Retry-After: 1, %d rows: auto wall / ideal", limit, queue, sz.Rows)
	// Fixed 32 is left out here: every burst of 503s pauses its starts for
	// the Retry-After second, so it takes minutes (docs/benchmarks.md).
	vs := pacedVariants[:2]
	runs, err := b.compareVariants(ctx, cert, id, vs, sz.Rows, simulator.Capacity{Limit: limit, ServiceTime: sz.Service, QueueLimit: queue, RetryAfter: time.Second})
	if err != nil {
		// A row that failed fails cpctl and is reported here.
		return errResult(id, what, err)
	}
	ideal := time.Duration(sz.Rows) * sz.Service / limit
	return result{ID: id, What: what, Goal: &goal{AtMost: true, Limit: 1.2}, Ratio: runs[0].Wall.Seconds() / ideal.Seconds(),
		Note: "no row failed; " + describe(vs, runs, ideal)}
}

// pacingMany is 7d: one cpctl process over many servers, a profile each,
// each paced by its own controller. The servers stay in this process, so
// the cpctl process's peak RSS is the client's alone.
func (b *bench) pacingMany(ctx context.Context, cert *paceCert, sz paceSizes) []result {
	const id, limit = "7d", 4
	what := fmt.Sprintf("%d servers × %d rows, capacity %d, service %s, latency %s", sz.Servers, sz.SrvRows, limit, sz.DServ, sz.DLat)
	fail := func(err error) []result { return []result{errResult(id, what, err)} }
	srvs := make([]*paceServer, 0, sz.Servers)
	defer func() {
		for _, s := range srvs {
			s.close(ctx)
		}
	}()
	for range sz.Servers {
		srv, err := startPaceServer(cert, sz.SrvRows, simulator.Capacity{Limit: limit, ServiceTime: sz.DServ}, sz.DLat)
		if err != nil {
			return fail(err)
		}
		srvs = append(srvs, srv)
	}
	// The yardsticks: a fixed limit of the bandwidth-delay product, the
	// number a user who knew the servers would pick (every worker busy, no
	// queue), and the capacity itself.
	bdp := int((time.Duration(limit)*(sz.DServ+sz.DLat) + sz.DServ - 1) / sz.DServ)
	vs := []pacedVariant{{name: "auto", concurrency: "auto"},
		{name: "fixed " + strconv.Itoa(bdp), concurrency: strconv.Itoa(bdp)}, {name: "fixed " + strconv.Itoa(limit), concurrency: strconv.Itoa(limit)}}
	if len(b.o.pace7d) > 0 {
		vs = vs[:0]
		for _, c := range b.o.pace7d {
			name := "fixed " + c
			if c == "auto" {
				name = c
			}
			vs = append(vs, pacedVariant{name: name, concurrency: c})
		}
	}
	if b.o.paceOld != "" {
		vs = append(vs, pacedVariant{"auto (before)", "auto", b.o.paceOld},
			pacedVariant{"fixed " + strconv.Itoa(bdp) + " (before)", strconv.Itoa(bdp), b.o.paceOld})
	}
	// The variants take turns, Reps times: on a shared machine the load
	// changes from one run to the next, and each variant then sees the
	// same spread of it.
	runs := make([][]paceRun, len(vs))
	var lgs []paceRun // the load generator's runs: wall time and the servers' views
	for rep := range max(sz.Reps, 1) {
		for i, v := range vs {
			r, err := b.runPaceJob(ctx, cert, paceJob{tag: fmt.Sprintf("%s-%d-%d", id, i, rep), servers: srvs, rows: sz.SrvRows, concurrency: v.concurrency, bin: v.bin})
			if err != nil {
				return fail(err)
			}
			runs[i] = append(runs[i], r)
		}
		d, views, err := loadgenMany(ctx, cert, srvs, sz.SrvRows, bdp)
		if err != nil {
			return fail(err)
		}
		lgs = append(lgs, paceRun{Wall: d, Views: views})
	}
	if b.o.profileDir != "" {
		for _, v := range vs {
			if err := b.profilePace(ctx, cert, srvs, sz.SrvRows, v); err != nil {
				b.logf("profile: %v", err)
			}
		}
	}
	// No schedule can beat the server's pace, plus one network delay for
	// the last reply to travel back.
	ideal := time.Duration(sz.SrvRows)*sz.DServ/limit + sz.DLat
	parts := make([]string, len(runs))
	for i, rr := range runs {
		parts[i] = describeMany(vs[i].name, rr, ideal)
	}
	note := strings.Join(parts, "; ") + "; ideal " + unitSeconds.format(ideal.Seconds())
	lgRun := medianRun(lgs)
	lg := lgRun.Wall
	lgMed, lgMax := firstCalls(lgRun.Views)
	note += fmt.Sprintf("; load generator, fixed %d, in the bench's process: %s (%.3f of ideal; first call at a server: median %s, last %s)",
		bdp, unitSeconds.format(lg.Seconds()), ideal.Seconds()/lg.Seconds(), unitSeconds.format(lgMed.Seconds()), unitSeconds.format(lgMax.Seconds()))
	auto := medianRun(runs[0])
	if len(runs) > 1 {
		note += fmt.Sprintf("; %s vs %s (medians): %.3f", vs[0].name, vs[1].name, medianRun(runs[1]).Wall.Seconds()/auto.Wall.Seconds())
	}
	rs := []result{{ID: id, What: what + ": auto speed vs ideal", Goal: &goal{Limit: 0.90}, Ratio: ideal.Seconds() / auto.Wall.Seconds(), Note: note}}
	var rss int64
	for _, r := range runs[0] {
		rss = max(rss, r.RSS)
	}
	if rss == 0 {
		return append(rs, result{ID: id + "-rss", What: "peak RSS", Verdict: skipped, Note: "skipped: this OS reports no peak RSS"})
	}
	return append(rs, result{ID: id + "-rss", What: fmt.Sprintf("%d servers: cpctl peak RSS (MB)", sz.Servers),
		Goal: &goal{AtMost: true, Limit: 100}, Ratio: float64(rss) / (1 << 20),
		Note: fmt.Sprintf("the largest of the %s runs' cpctl processes; the simulators run in the bench", vs[0].name)})
}

// medianRun is the run of median wall time.
func medianRun(rs []paceRun) paceRun {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b paceRun) int { return cmp.Compare(a.Wall, b.Wall) })
	return s[len(s)/2]
}

// describeMany sums up the runs of one 7d variant: their wall times, and
// for the median run the calls and connections each server saw and the
// client's cost; the RSS is the range over the runs.
func describeMany(name string, rs []paceRun, ideal time.Duration) string {
	r := medianRun(rs)
	walls, rss := make([]float64, len(rs)), make([]float64, len(rs))
	for i, x := range rs {
		walls[i], rss[i] = x.Wall.Seconds(), float64(x.RSS)/(1<<20)
	}
	w, m := summarize(walls), summarize(rss)
	peakLo, peakHi, meanLo, meanHi := r.concurrency()
	connLo, connHi, conns, openLo, openHi := r.conns()
	fMed, fMax := firstCalls(r.Views)
	return fmt.Sprintf("%s %s (%.3f of ideal; median latency %s, first call at a server after the start: median %s, last %s; calls in each server: peak %d..%d, mean %.1f..%.1f; connections per server %d..%d, %d in all, at once %d..%d; CPU %s + simulators %s; RSS %s)",
		name, w.String(unitSeconds), ideal.Seconds()/r.Wall.Seconds(), unitSeconds.format(medianOf(r.latencies()).Seconds()),
		unitSeconds.format(fMed.Seconds()), unitSeconds.format(fMax.Seconds()),
		peakLo, peakHi, meanLo, meanHi, connLo, connHi, conns, openLo, openHi,
		unitSeconds.format(r.CPU.Seconds()), unitSeconds.format(r.Sim.Seconds()), m.String(unitMB))
}

// profilePace runs one of 7d's variants once more, unmeasured, under
// cpctlprof with CPU, allocation and peak-heap profiles.
func (b *bench) profilePace(ctx context.Context, cert *paceCert, srvs []*paceServer, rows int, v pacedVariant) error {
	dir := b.o.profileDir
	name := "cpctl-7d-" + strings.ReplaceAll(v.name, " ", "")
	r, err := b.runPaceJob(ctx, cert, paceJob{tag: "7d-prof", servers: srvs, rows: rows, concurrency: v.concurrency, bin: b.prof,
		env: []string{
			"CPCTL_BENCH_CPUPROFILE=" + filepath.Join(dir, name+".cpu.pprof"),
			"CPCTL_BENCH_ALLOCPROFILE=" + filepath.Join(dir, name+".allocs.pprof"),
			"CPCTL_BENCH_PEAKHEAP=" + filepath.Join(dir, name+".peakheap.pprof"),
		}})
	if err != nil {
		return err
	}
	_, _, conns, _, _ := r.conns()
	b.logf("profiled 7d %s run: %s, RSS %.1fMB, CPU %s, %d connections → %s", v.name, r.Wall.Round(time.Millisecond),
		float64(r.RSS)/(1<<20), r.CPU.Round(time.Millisecond), conns, dir)
	return nil
}

// loadgenMany is 7d's ceiling on this machine: the bench's own keep-alive
// load generator (no journal, no output, no process of its own) runs rows
// calls on every server at once, conc at a time each, and returns the wall
// time of the whole and what each server saw. What it cannot reach, cpctl
// cannot either.
func loadgenMany(ctx context.Context, cert *paceCert, srvs []*paceServer, rows, conc int) (time.Duration, []serverView, error) {
	pws, err := passwordPool(rows)
	if err != nil {
		return 0, nil, err
	}
	for _, s := range srvs {
		s.waitClosed(2 * time.Second)
		s.take(time.Now(), time.Second) // forget what an earlier run left
	}
	body := func(i int) []byte { return passwdForm(accountName(i), pws[i]) }
	errs := make([]error, len(srvs))
	var wg sync.WaitGroup
	start := time.Now()
	for i, s := range srvs {
		wg.Go(func() {
			l := newLoadgen(s.url+"/json-api/passwd?api.version=1", cert.pool, authHeader(), conc)
			defer l.close()
			_, errs[i] = l.run(ctx, rows, conc, body)
		})
	}
	wg.Wait()
	d := time.Since(start)
	views := make([]serverView, len(srvs))
	for i, s := range srvs {
		views[i] = s.take(start, d)
	}
	if err := errors.Join(errs...); err != nil {
		return d, views, fmt.Errorf("7d load generator: %w", err)
	}
	return d, views, nil
}
