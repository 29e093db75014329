// Command cpctlprof is cpctl with profiling hooks, built by cpctl-bench
// -profile so a bulk run's CPU and allocation profiles can be read with
// pprof. It behaves exactly like cmd/cpctl otherwise.
//
// CPCTL_BENCH_CPUPROFILE=FILE writes a CPU profile of the whole run;
// CPCTL_BENCH_ALLOCPROFILE=FILE writes the allocation profile at exit;
// CPCTL_BENCH_TRACE=FILE writes an execution trace (go tool trace FILE).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"

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
