package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
}

// pacedVariant is one client configuration run beside the others.
type pacedVariant struct {
	name  string
	fixed int // 0: adaptive
}

var pacedVariants = []pacedVariant{{"auto", 0}, {"fixed 4", 4}, {"fixed 32", 32}}

// startCapSim serves a simulator with rows accounts and a capacity.
func startCapSim(rows int, c simulator.Capacity, lat time.Duration) (*simulator.Server, error) {
	srv, err := simulator.Start(benchState(rows), simulator.Options{Capacity: c, Latency: lat})
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	return srv, nil
}

// checkChanges fails unless the simulator saw exactly want password changes.
func checkChanges(srv *simulator.Server, want int) error {
	if got := srv.Sim.Stats().PasswordChanges; got != int64(want) {
		return fmt.Errorf("the simulator saw %d password changes for %d rows", got, want)
	}
	return nil
}

// compareVariants runs every variant at once, each against its own
// simulator of capacity c: they do not share a server, and the few hundred
// calls per second they make leave the CPUs idle, so running them side by
// side takes a third of the time and changes nothing measured.
func compareVariants(ctx context.Context, vs []pacedVariant, rows int, c simulator.Capacity) ([]paceReport, error) {
	reps := make([]paceReport, len(vs))
	errs := make([]error, len(vs))
	var wg sync.WaitGroup
	for i, v := range vs {
		srv, err := startCapSim(rows, c, 0)
		if err != nil {
			return nil, err
		}
		defer func() { _ = srv.Shutdown(context.WithoutCancel(ctx)) }()
		wg.Go(func() {
			reps[i], errs[i] = runPaced(ctx, paceSpec{Targets: []paceTarget{{URL: srv.WHMURL, CAFile: srv.CAFile}}, Rows: rows, Fixed: v.fixed})
			if errs[i] == nil && reps[i].Failures == 0 {
				errs[i] = checkChanges(srv, rows)
			}
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", v.name, errs[i])
			}
		})
	}
	wg.Wait()
	return reps, errors.Join(errs...)
}

// describe lists every variant's wall time against the ideal, median
// latency, limits and overloads, for a result's raw column.
func describe(vs []pacedVariant, reps []paceReport, ideal time.Duration) string {
	parts := make([]string, len(reps))
	for i, r := range reps {
		parts[i] = fmt.Sprintf("%s %s (%.3f of ideal, median %s", vs[i].name,
			unitSeconds.format(r.Wall.Seconds()), ideal.Seconds()/r.Wall.Seconds(), unitSeconds.format(r.medianLatency().Seconds()))
		if vs[i].fixed == 0 {
			parts[i] += fmt.Sprintf(", limit %d at the end, peak %d, %d changes", r.Final[0], r.PeakLimit, r.Changes)
		}
		if r.Overloads > 0 {
			parts[i] += fmt.Sprintf(", %d × 503", r.Overloads)
		}
		if r.Failures > 0 {
			parts[i] += fmt.Sprintf(", %d rows failed", r.Failures)
		}
		parts[i] += ")"
	}
	return strings.Join(parts, "; ") + fmt.Sprintf("; ideal %s", unitSeconds.format(ideal.Seconds()))
}

// pacing is measurement 7: the adaptive controller against simulators with
// a capacity, with fixed 4 and fixed 32 beside it.
func (b *bench) pacing(ctx context.Context) []result {
	sz := b.o.sizes.Pace
	var rs []result
	for _, c := range []struct {
		id    string
		limit int
	}{{"7a", 8}, {"7b", 2}} {
		what := fmt.Sprintf("capacity %d, service %s, %d rows", c.limit, sz.Service, sz.Rows)
		reps, err := compareVariants(ctx, pacedVariants, sz.Rows, simulator.Capacity{Limit: c.limit, ServiceTime: sz.Service})
		if err != nil {
			rs = append(rs, errResult(c.id, what, err))
			continue
		}
		ideal := time.Duration(sz.Rows) * sz.Service / time.Duration(c.limit)
		auto := reps[0]
		note := describe(pacedVariants, reps, ideal)
		rs = append(rs,
			result{ID: c.id, What: what + ": auto speed vs ideal", Goal: &goal{Limit: 0.90},
				Ratio: ideal.Seconds() / auto.Wall.Seconds(), Note: note},
			result{ID: c.id + "-lat", What: what + ": auto median latency / service time", Goal: &goal{AtMost: true, Limit: 1.5},
				Ratio: auto.medianLatency().Seconds() / sz.Service.Seconds(), Note: "see " + c.id})
	}
	rs = append(rs, b.pacing503(ctx, sz))
	return append(rs, b.pacingMany(ctx, sz)...)
}

// pacing503 is 7c: a server that answers 503 with Retry-After: 1 once 4
// calls wait.
func (b *bench) pacing503(ctx context.Context, sz paceSizes) result {
	const id, limit, queue = "7c", 8, 4
	what := fmt.Sprintf("capacity %d, queue %d then 503 + Retry-After: 1, %d rows: auto wall / ideal", limit, queue, sz.Rows)
	// Fixed 32 is left out here: every burst of 503s pauses its starts for
	// the Retry-After second, so it takes minutes (docs/benchmarks.md).
	vs := pacedVariants[:2]
	reps, err := compareVariants(ctx, vs, sz.Rows, simulator.Capacity{Limit: limit, ServiceTime: sz.Service, QueueLimit: queue, RetryAfter: time.Second})
	if err != nil {
		return errResult(id, what, err)
	}
	ideal := time.Duration(sz.Rows) * sz.Service / limit
	r := result{ID: id, What: what, Goal: &goal{AtMost: true, Limit: 1.2}, Ratio: reps[0].Wall.Seconds() / ideal.Seconds(),
		Note: describe(vs, reps, ideal)}
	if reps[0].Failures > 0 {
		r.Verdict = fail
		r.Note = fmt.Sprintf("%d rows failed (%s); %s", reps[0].Failures, reps[0].FirstErr, r.Note)
	}
	return r
}

// pacingMany is 7d: many servers at once, each with its own limiter, in a
// child process so that its peak RSS is the client's alone. The simulators
// stay in this process.
func (b *bench) pacingMany(ctx context.Context, sz paceSizes) []result {
	const id, limit = "7d", 4
	what := fmt.Sprintf("%d servers × %d rows, capacity %d, service %s, latency %s", sz.Servers, sz.SrvRows, limit, sz.DServ, sz.DLat)
	fail := func(err error) []result { return []result{errResult(id, what, err)} }
	var spec paceSpec
	spec.Rows = sz.SrvRows
	srvs := make([]*simulator.Server, 0, sz.Servers)
	defer func() {
		for _, s := range srvs {
			_ = s.Shutdown(context.WithoutCancel(ctx))
		}
	}()
	for range sz.Servers {
		srv, err := startCapSim(sz.SrvRows, simulator.Capacity{Limit: limit, ServiceTime: sz.DServ}, sz.DLat)
		if err != nil {
			return fail(err)
		}
		srvs = append(srvs, srv)
		spec.Targets = append(spec.Targets, paceTarget{URL: srv.WHMURL, CAFile: srv.CAFile})
	}
	// The yardstick is a fixed limit of the bandwidth-delay product, the
	// number a user who knew the servers would pick: every worker busy,
	// no queue.
	bdp := int((time.Duration(limit)*(sz.DServ+sz.DLat) + sz.DServ - 1) / sz.DServ)
	var reps [2]paceReport
	var rss int64
	for i, fixed := range []int{0, bdp} {
		spec.Fixed = fixed
		rep, r, err := b.runPaceChild(ctx, spec)
		if err != nil {
			return fail(err)
		}
		for _, s := range srvs {
			if err := checkChanges(s, (i+1)*sz.SrvRows); err != nil {
				return fail(err)
			}
		}
		reps[i] = rep
		if fixed == 0 {
			rss = r
		}
	}
	auto := reps[0]
	// No schedule can beat the server's pace, plus one network delay for
	// the last reply to travel back.
	ideal := time.Duration(sz.SrvRows)*sz.DServ/limit + sz.DLat
	lo, hi := auto.Final[0], auto.Final[0]
	for _, f := range auto.Final {
		lo, hi = min(lo, f), max(hi, f)
	}
	note := fmt.Sprintf("auto %s, median latency %s, final limits %d..%d, peak %d, %d changes; fixed %d (cap × (service+latency)/service) %s (%.3f of ideal), median latency %s; ideal %s",
		unitSeconds.format(auto.Wall.Seconds()), unitSeconds.format(auto.medianLatency().Seconds()), lo, hi, auto.PeakLimit, auto.Changes,
		bdp, unitSeconds.format(reps[1].Wall.Seconds()), ideal.Seconds()/reps[1].Wall.Seconds(), unitSeconds.format(reps[1].medianLatency().Seconds()),
		unitSeconds.format(ideal.Seconds()))
	rs := []result{{ID: id, What: what + ": auto speed vs ideal", Goal: &goal{Limit: 0.90}, Ratio: ideal.Seconds() / auto.Wall.Seconds(), Note: note}}
	if rss == 0 {
		return append(rs, result{ID: id + "-rss", What: "peak RSS", Verdict: skipped, Note: "skipped: this OS reports no peak RSS"})
	}
	return append(rs, result{ID: id + "-rss", What: fmt.Sprintf("%d servers: client peak RSS (MB)", sz.Servers),
		Goal: &goal{AtMost: true, Limit: 100}, Ratio: float64(rss) / (1 << 20),
		Note: "the auto client process alone (controllers, clients, connections); the simulators run in the bench"})
}

// paceChildFlag makes cpctl-bench run one paced client from a spec file and
// print its report as JSON (7d's child process).
const paceChildFlag = "-pace-child"

// runPaceChild runs spec in a child cpctl-bench under the rusage launcher
// and returns its report and peak RSS.
func (b *bench) runPaceChild(ctx context.Context, spec paceSpec) (paceReport, int64, error) {
	self, err := os.Executable()
	if err != nil {
		return paceReport{}, 0, fmt.Errorf("find cpctl-bench: %w", err)
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return paceReport{}, 0, fmt.Errorf("pace spec: %w", err)
	}
	specFile, usage := filepath.Join(b.dir, "pace-spec.json"), filepath.Join(b.dir, "pace-rusage")
	defer func() { _ = os.Remove(usage) }()
	if err := os.WriteFile(specFile, data, 0o600); err != nil {
		return paceReport{}, 0, fmt.Errorf("pace spec: %w", err)
	}
	cmd := exec.CommandContext(ctx, b.rusage, usage, "--", self, paceChildFlag, specFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return paceReport{}, 0, fmt.Errorf("paced client: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var rep paceReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return paceReport{}, 0, fmt.Errorf("paced client report: %w", err)
	}
	if rep.Failures > 0 {
		return rep, 0, fmt.Errorf("paced client: %d rows failed, first: %s", rep.Failures, rep.FirstErr)
	}
	var rss, wall, cpu int64
	if raw, err := os.ReadFile(usage); err == nil {
		_, _ = fmt.Sscan(string(raw), &rss, &wall, &cpu)
	}
	return rep, rss, nil
}

// paceChild is the child side of runPaceChild.
func paceChild(ctx context.Context, specFile string, stdout io.Writer) error {
	data, err := os.ReadFile(specFile)
	if err != nil {
		return fmt.Errorf("pace spec: %w", err)
	}
	var spec paceSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("pace spec: %w", err)
	}
	rep, err := runPaced(ctx, spec)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(stdout).Encode(rep); err != nil {
		return fmt.Errorf("pace report: %w", err)
	}
	return nil
}
