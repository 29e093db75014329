// Command rusage runs a program and records its peak resident set size and
// wall time: `rusage OUT -- PROGRAM ARGS...` writes "MAXRSS_BYTES WALL_NS
// CPU_NS" to OUT (CPU is user plus system time) and exits with the
// program's exit code.
//
// cpctl-bench cannot read a child's peak RSS itself: Go starts children with
// vfork semantics (CLONE_VM), and Linux charges the parent's resident set at
// exec time to the child's ru_maxrss, so every child of the bench, which
// holds a 100,000-account simulator, would appear to use 100 MB. This
// launcher is a few MB, far below what it measures, so the figure it records
// is the program's own.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) < 3 || args[1] != "--" {
		fmt.Fprintln(os.Stderr, "usage: rusage OUT -- PROGRAM [ARGS...]")
		return 2
	}
	out, argv := args[0], args[2:]
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
		if code < 0 {
			code = 128
		}
	case err != nil:
		fmt.Fprintln(os.Stderr, "rusage:", err)
		return 127
	}
	if err := os.WriteFile(out, fmt.Appendf(nil, "%d %d %d\n", peakRSS(cmd.ProcessState), wall.Nanoseconds(),
		(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()).Nanoseconds()), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "rusage:", err)
		return 127
	}
	return code
}
