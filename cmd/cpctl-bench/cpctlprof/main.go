// Command cpctlprof is cpctl with profiling hooks, built by cpctl-bench
// -profile so a bulk run's CPU and allocation profiles can be read with
// pprof. It behaves exactly like cmd/cpctl otherwise.
//
// CPCTL_BENCH_CPUPROFILE=FILE writes a CPU profile of the whole run;
// CPCTL_BENCH_ALLOCPROFILE=FILE writes the allocation profile at exit;
// CPCTL_BENCH_TRACE=FILE writes an execution trace (go tool trace FILE);
// CPCTL_BENCH_PEAKHEAP=FILE writes the heap profile at the largest heap of
// the run, and FILE.txt the peaks of the heap, the memory the runtime holds
// and the goroutines, sampled every 10 ms.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/cpctl/cpctl/pkg/cmd/root"
	versioncmd "github.com/cpctl/cpctl/pkg/cmd/version"
)

func main() {
	os.Exit(run())
}

func run() int {
	stops := []func(){}
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	for _, p := range []struct {
		env   string
		start func(io.Writer) error
		stop  func()
	}{
		{"CPCTL_BENCH_CPUPROFILE", pprof.StartCPUProfile, pprof.StopCPUProfile},
		{"CPCTL_BENCH_TRACE", trace.Start, trace.Stop},
	} {
		path := os.Getenv(p.env)
		if path == "" {
			continue
		}
		f, err := os.Create(path)
		if err == nil {
			if err = p.start(f); err != nil {
				f.Close()
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpctlprof:", err)
			return 2
		}
		stops = append(stops, func() { p.stop(); f.Close() })
	}
	if path := os.Getenv("CPCTL_BENCH_PEAKHEAP"); path != "" {
		// Every 64 KB allocated, not every 512 KB: a heap of many small
		// connections is otherwise sampled too sparsely to read.
		runtime.MemProfileRate = 64 << 10
		stop := watchPeaks(path)
		stops = append(stops, stop)
	}
	code := root.Main(context.Background(), versioncmd.Info{Version: "bench", Commit: "none", Date: "unknown"})
	if path := os.Getenv("CPCTL_BENCH_ALLOCPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			_ = f.Close()
		}
	}
	return code
}

// watchPeaks samples the runtime's metrics until the returned stop is
// called, rewriting path with a heap profile whenever the live heap grows
// 5 % past its largest size so far, and path.goroutines with the
// goroutines whenever they are 10 % more than ever; at the end it writes
// path.txt, the breakdown of the runtime's memory at its largest.
func watchPeaks(path string) (stop func()) {
	names := []string{
		"/memory/classes/total:bytes",
		"/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/unused:bytes",
		"/memory/classes/heap/free:bytes",
		"/memory/classes/heap/released:bytes",
		"/memory/classes/heap/stacks:bytes",
		"/memory/classes/os-stacks:bytes",
		"/memory/classes/metadata/other:bytes",
		"/gc/heap/goal:bytes",
		"/gc/heap/live:bytes",
		"/gc/stack/starting-size:bytes",
		"/sched/goroutines:goroutines",
		"/gc/cycles/total:gc-cycles",
	}
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	atPeak := make([]uint64, len(names))
	var goroutines, written uint64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			if total := samples[0].Value.Uint64(); total > atPeak[0] {
				for i, s := range samples {
					atPeak[i] = s.Value.Uint64()
				}
			}
			if g := samples[11].Value.Uint64(); g > goroutines+goroutines/10 {
				goroutines = g
				if f, err := os.Create(path + ".goroutines"); err == nil {
					_ = pprof.Lookup("goroutine").WriteTo(f, 1)
					_ = f.Close()
				}
			}
			if h := samples[1].Value.Uint64(); h > written+written/20 {
				written = h
				if f, err := os.Create(path); err == nil {
					_ = pprof.Lookup("heap").WriteTo(f, 0)
					_ = f.Close()
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		var b []byte
		b = fmt.Appendf(b, "peak goroutines %d\nat the largest runtime total:\n", goroutines)
		for i, n := range names {
			b = fmt.Appendf(b, "%s %d\n", n, atPeak[i])
		}
		_ = os.WriteFile(path+".txt", b, 0o600)
	}
}
