package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// childEnv is a clean environment for cpctl: its own HOME and XDG
// directories under the work directory, so no real configuration or cache
// of the user running the bench is read or written.
func (b *bench) childEnv(home string, extra ...string) []string {
	env := []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"LANG=C.UTF-8",
	}
	return append(env, extra...)
}

// timeRun runs argv to completion and returns its wall time, from fork to
// reaped exit, which is what a cron job or a shell loop pays.
func timeRun(ctx context.Context, env []string, argv ...string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("%s: %w: %s", filepath.Base(argv[0]), err, strings.TrimSpace(stderr.String()))
	}
	return d, nil
}

type startCmd struct {
	name string
	argv []string
}

func (b *bench) startup(ctx context.Context) []result {
	const what = "start-up"
	home := filepath.Join(b.dir, "startup-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return []result{errResult("1", what, err)}
	}
	env := b.childEnv(home)
	cmds := []startCmd{
		{"cpctl version", []string{b.cpctl, "version"}},
		{"cpctl --help", []string{b.cpctl, "--help"}},
		{"cpctl account passwd --help", []string{b.cpctl, "account", "passwd", "--help"}},
		{"floor", []string{b.floor}},
		{"hello", []string{b.hello}},
	}
	times := make(map[string][]time.Duration, len(cmds))
	// One warm-up run each, so the first measured run does not pay for
	// reading the binary from disk.
	for _, c := range cmds {
		if _, err := timeRun(ctx, env, c.argv...); err != nil {
			return []result{errResult("1", what, err)}
		}
	}
	// Interleaved rounds in a shuffled order: a burst of noise then hits
	// every command alike instead of one command's whole series.
	order := make([]int, len(cmds))
	for i := range order {
		order[i] = i
	}
	for round := 0; round < b.o.sizes.StartupRounds; round++ {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			d, err := timeRun(ctx, env, cmds[i].argv...)
			if err != nil {
				return []result{errResult("1", what, err)}
			}
			times[cmds[i].name] = append(times[cmds[i].name], d)
		}
	}
	sum := func(name string) summary { return summarize(durations(times[name])) }
	floor := sum("floor")
	var rs []result
	for i, c := range cmds[:3] {
		s := sum(c.name)
		rs = append(rs, result{
			ID: "1" + string(rune('a'+i)), What: "start-up `" + c.name + "` vs floor",
			Goal: &goal{AtMost: true, Limit: 1.15}, Ratio: s.Median / floor.Median,
			Figures: []figure{{"cpctl", s, unitSeconds}, {"floor", floor, unitSeconds}},
		})
	}
	hello := sum("hello")
	rs = append(rs, result{
		ID: "1d", What: "floor vs hello-world (issue measured 2.8)", Ratio: floor.Median / hello.Median,
		Figures: []figure{{"floor", floor, unitSeconds}, {"hello", hello, unitSeconds}},
	})
	rs[0].Note = b.versionReadsConfig(ctx, home)
	if n := b.initTraces(ctx, env); n != "" {
		rs = append(rs, result{ID: "1e", What: "package init (GODEBUG=inittrace=1)", Note: n})
	}
	return rs
}

// versionReadsConfig checks that `cpctl version` works with a broken
// configuration file, i.e. that it never reads it (issue #9).
func (b *bench) versionReadsConfig(ctx context.Context, home string) string {
	dir := filepath.Join(home, "badconfig")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "config check: " + err.Error()
	}
	bad := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(bad, []byte("profiles: [this is: not: a config\n"), 0o600); err != nil {
		return "config check: " + err.Error()
	}
	if _, err := timeRun(ctx, b.childEnv(home, "CPCTL_CONFIG="+bad), b.cpctl, "version"); err != nil {
		return "version FAILS with a broken config file: it reads it"
	}
	return "version runs with a broken config file"
}

// initEntry is one line of GODEBUG=inittrace=1 output.
type initEntry struct {
	Pkg    string
	Clock  float64 // ms
	Bytes  int64
	Allocs int64
}

// parseInitTrace reads lines like
// "init net/http @1.2 ms, 0.035 ms clock, 8952 bytes, 96 allocs".
func parseInitTrace(data []byte) []initEntry {
	var out []initEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 11 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		clock, err1 := strconv.ParseFloat(f[4], 64)
		bytes, err2 := strconv.ParseInt(f[7], 10, 64)
		allocs, err3 := strconv.ParseInt(f[9], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		out = append(out, initEntry{Pkg: f[1], Clock: clock, Bytes: bytes, Allocs: allocs})
	}
	return out
}

// initTraces runs cpctl version and the floor with GODEBUG=inittrace=1 a few
// times and reports the init time cpctl spends in packages the floor does
// not have, with the costliest of them.
func (b *bench) initTraces(ctx context.Context, env []string) string {
	const runs = 5
	trace := func(argv ...string) (map[string]initEntry, []byte, error) {
		best := map[string]initEntry{}
		var last []byte
		for i := 0; i < runs; i++ {
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.Env = append(slices.Clone(env), "GODEBUG=inittrace=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", filepath.Base(argv[0]), err)
			}
			last = stderr.Bytes()
			// The least of a few runs: init work is deterministic, the
			// excess is scheduling noise.
			for _, e := range parseInitTrace(last) {
				if old, ok := best[e.Pkg]; !ok || e.Clock < old.Clock {
					best[e.Pkg] = e
				}
			}
		}
		return best, last, nil
	}
	cp, cpRaw, err := trace(b.cpctl, "version")
	if err != nil {
		return err.Error()
	}
	fl, flRaw, err := trace(b.floor)
	if err != nil {
		return err.Error()
	}
	if b.o.profileDir != "" {
		_ = os.WriteFile(filepath.Join(b.o.profileDir, "inittrace-cpctl-version.txt"), cpRaw, 0o644)
		_ = os.WriteFile(filepath.Join(b.o.profileDir, "inittrace-floor.txt"), flRaw, 0o644)
	}
	total := func(m map[string]initEntry) (ms float64, bytes int64) {
		for _, e := range m {
			ms += e.Clock
			bytes += e.Bytes
		}
		return ms, bytes
	}
	var extra []initEntry
	for p, e := range cp {
		if _, ok := fl[p]; !ok {
			extra = append(extra, e)
		}
	}
	slices.SortFunc(extra, func(a, b initEntry) int {
		switch {
		case a.Clock > b.Clock:
			return -1
		case a.Clock < b.Clock:
			return 1
		}
		return strings.Compare(a.Pkg, b.Pkg)
	})
	cms, cb := total(cp)
	fms, fb := total(fl)
	var extraMS float64
	for _, e := range extra {
		extraMS += e.Clock
	}
	var top []string
	for _, e := range extra[:min(4, len(extra))] {
		top = append(top, fmt.Sprintf("%s %.3fms", e.Pkg, e.Clock))
	}
	size := func(path string) int64 {
		if st, err := os.Stat(path); err == nil {
			return st.Size() >> 20
		}
		return 0
	}
	return fmt.Sprintf("binary cpctl %dMB, floor %dMB; init: cpctl %d pkgs %.2fms %dKB, floor %d pkgs %.2fms %dKB; %d pkgs only in cpctl cost %.2fms (top: %s)",
		size(b.cpctl), size(b.floor), len(cp), cms, cb/1024, len(fl), fms, fb/1024, len(extra), extraMS, strings.Join(top, ", "))
}
