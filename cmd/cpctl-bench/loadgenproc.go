package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// loadgenEnv marks a child of the bench that runs the load generator in a
// process of its own. The load generator of measurement 3 shares the bench's
// process with the simulator, where a reply wakes a runtime that is already
// awake; cpctl is a second process, and every reply has to wake it. On a
// virtual machine whose idle CPUs wake slowly that difference is a share of
// every round, so the bench measures it rather than guessing.
const loadgenEnv = "CPCTL_BENCH_LOADGEN"

// loadgenJob is what the parent hands its load-generator child, in the
// child's environment (no secrets: the simulator's sample token is public).
type loadgenJob struct {
	URL      string
	CAFile   string
	Calls    int
	Accounts int
	Conc     int
}

func (j loadgenJob) env() []string {
	return []string{
		loadgenEnv + "=1",
		"CPCTL_BENCH_LG_URL=" + j.URL,
		"CPCTL_BENCH_LG_CA=" + j.CAFile,
		"CPCTL_BENCH_LG_CALLS=" + strconv.Itoa(j.Calls),
		"CPCTL_BENCH_LG_ACCOUNTS=" + strconv.Itoa(j.Accounts),
		"CPCTL_BENCH_LG_CONC=" + strconv.Itoa(j.Conc),
	}
}

func loadgenJobFromEnv() (loadgenJob, error) {
	j := loadgenJob{URL: os.Getenv("CPCTL_BENCH_LG_URL"), CAFile: os.Getenv("CPCTL_BENCH_LG_CA")}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"CPCTL_BENCH_LG_CALLS", &j.Calls}, {"CPCTL_BENCH_LG_ACCOUNTS", &j.Accounts}, {"CPCTL_BENCH_LG_CONC", &j.Conc}} {
		n, err := strconv.Atoi(os.Getenv(f.name))
		if err != nil || n <= 0 {
			return j, fmt.Errorf("%s: want a positive number", f.name)
		}
		*f.dst = n
	}
	if j.URL == "" || j.CAFile == "" {
		return j, errors.New("CPCTL_BENCH_LG_URL and CPCTL_BENCH_LG_CA are required")
	}
	return j, nil
}

// loadgenChildMain is the child: it runs the job and prints the load
// generator's own time for the calls (nanoseconds) on stdout.
func loadgenChildMain(stdout, stderr io.Writer) int {
	j, err := loadgenJobFromEnv()
	if err == nil {
		var d time.Duration
		d, err = runLoadgenJob(j)
		if err == nil {
			fmt.Fprintln(stdout, d.Nanoseconds())
			return 0
		}
	}
	fmt.Fprintln(stderr, "cpctl-bench load generator:", err)
	return 2
}

func runLoadgenJob(j loadgenJob) (time.Duration, error) {
	pem, err := os.ReadFile(j.CAFile)
	if err != nil {
		return 0, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return 0, errors.New("CA file is not PEM")
	}
	pws, err := passwordPool(1024)
	if err != nil {
		return 0, err
	}
	l := newLoadgen(j.URL, pool, authHeader(), j.Conc)
	defer l.close()
	return l.run(context.Background(), j.Calls, j.Conc, func(i int) []byte {
		return passwdForm(accountName(i%j.Accounts), pws[i%len(pws)])
	})
}

// loadgenProcess runs the load generator as a child process, through the
// rusage launcher like cpctl, and returns its wall time from fork to exit.
func (b *bench) loadgenProcess(ctx context.Context, e *simEnv, calls, accounts int) (time.Duration, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("find the bench's own binary: %w", err)
	}
	usage, err := os.CreateTemp(e.home, "rusage-lg-")
	if err != nil {
		return 0, fmt.Errorf("load generator process: %w", err)
	}
	_ = usage.Close()
	defer func() { _ = os.Remove(usage.Name()) }() // the bench's own scratch file
	job := loadgenJob{URL: e.passwdURL(), CAFile: e.srv.CAFile, Calls: calls, Accounts: accounts, Conc: concurrency}
	cmd := exec.CommandContext(ctx, b.rusage, usage.Name(), "--", self)
	cmd.Env = b.childEnv(e.home, job.env()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("load generator process: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	data, err := os.ReadFile(usage.Name())
	if err != nil {
		return 0, fmt.Errorf("load generator process: %w", err)
	}
	var rss, wall int64
	if _, err := fmt.Sscan(string(data), &rss, &wall); err != nil || wall <= 0 {
		return 0, errors.New("load generator process: the rusage launcher recorded nothing")
	}
	return time.Duration(wall), nil
}
