// Command cpanel-sim serves the cPanel & WHM simulator of pkg/simulator on
// two listeners (WHM and cPanel). Once both listen it prints one
// "key: value" line each for whm-url, cpanel-url, whm-port, cpanel-port,
// fingerprint, ca-file and pid (also written to --ready-file, atomically,
// so a script can wait for the file), then serves until SIGINT or
// SIGTERM. The state is written to --dump on SIGUSR1, and on exit once the
// listeners are closed and the calls in flight have finished.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cpanel-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	statePath := fs.String("state", "", "YAML state file (default: the built-in sample state)")
	listen := fs.String("listen", "", "WHM listen address (default 127.0.0.1:2087, or :2086 with --plain)")
	cpListen := fs.String("cpanel-listen", "", "cPanel listen address (default 127.0.0.1:2083, or :2082 with --plain)")
	plain := fs.Bool("plain", false, "serve HTTP instead of HTTPS")
	cert := fs.String("cert", "", "PEM certificate file (default: a generated self-signed one)")
	key := fs.String("key", "", "PEM private key file")
	certDir := fs.String("cert-dir", "", "keep the generated certificate in DIR (cert.pem, key.pem) across restarts")
	readyFile := fs.String("ready-file", "", "write the key: value lines to FILE once listening (removed on exit)")
	latency := fs.Duration("latency", 0, "latency added to every API call")
	var capacity simulator.Capacity
	fs.IntVar(&capacity.Limit, "capacity", 0, "API calls in service at once; the rest queue (0: unlimited)")
	fs.DurationVar(&capacity.ServiceTime, "service-time", 0, "how long one API call is in service (with --capacity)")
	fs.DurationVar(&capacity.ServiceJitter, "service-jitter", 0, "service time varies uniformly by up to this much either way")
	fs.IntVar(&capacity.QueueLimit, "queue-limit", 0, "calls that may wait; beyond it a call gets 503 with Retry-After: 1 (0: no limit)")
	dump := fs.String("dump", "", "write the state here on SIGUSR1 and on exit")
	logReq := fs.Bool("log", false, "log each request to stderr (never secrets)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	for _, check := range []struct {
		bad bool
		msg string
	}{
		{fs.NArg() > 0, fmt.Sprintf("unexpected argument %q", fs.Arg(0))},
		{capacity.Limit < 0 || capacity.QueueLimit < 0 || capacity.ServiceTime < 0 || capacity.ServiceJitter < 0,
			"--capacity, --queue-limit, --service-time and --service-jitter must not be negative"},
		{capacity.Limit == 0 && (capacity.QueueLimit > 0 || capacity.ServiceTime > 0 || capacity.ServiceJitter > 0),
			"--queue-limit, --service-time and --service-jitter need --capacity"},
		{(*cert == "") != (*key == ""), "--cert and --key go together"},
		{*certDir != "" && (*cert != "" || *plain), "--cert-dir goes with neither --cert nor --plain"},
	} {
		if check.bad {
			fmt.Fprintln(stderr, "cpanel-sim: "+check.msg)
			return 2
		}
	}

	state := simulator.SampleState()
	if *statePath != "" {
		st, err := simulator.LoadState(*statePath)
		if err != nil {
			fmt.Fprintf(stderr, "cpanel-sim: %v\n", err)
			return 2
		}
		state = st
	}
	whmAddr, cpAddr := "127.0.0.1:2087", "127.0.0.1:2083"
	if *plain {
		whmAddr, cpAddr = "127.0.0.1:2086", "127.0.0.1:2082"
	}
	opts := simulator.Options{Latency: *latency, Plain: *plain, CertFile: *cert, KeyFile: *key, CertDir: *certDir,
		WHMAddr: cmp.Or(*listen, whmAddr), CPanelAddr: cmp.Or(*cpListen, cpAddr), Capacity: capacity}
	if *logReq {
		opts.RequestLog = stderr
	}

	// Subscribe before serving so that an early signal is not lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, append([]os.Signal{os.Interrupt, syscall.SIGTERM}, dumpSignals...)...)
	defer signal.Stop(sigs)

	// A ready file left by a run that was killed must not pass for this one.
	if *readyFile != "" {
		if err := os.Remove(*readyFile); err != nil && !errors.Is(err, iofs.ErrNotExist) {
			fmt.Fprintf(stderr, "cpanel-sim: %v\n", err)
			return 1
		}
	}
	srv, err := simulator.Start(state, opts)
	if err != nil {
		fmt.Fprintf(stderr, "cpanel-sim: %v\n", err)
		return 1
	}
	info := readyLines(srv)
	fmt.Fprint(stdout, info)
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	if *readyFile != "" {
		if err := writeFileAtomic(*readyFile, []byte(info), 0o644); err != nil {
			fmt.Fprintf(stderr, "cpanel-sim: ready file: %v\n", err)
			_ = srv.Close()
			return 1
		}
		defer func() { _ = os.Remove(*readyFile) }()
	}

	return serveUntil(srv, sigs, *dump, stderr)
}

// shutdownGrace bounds how long a stopping server waits for calls in flight.
const shutdownGrace = 30 * time.Second

// serveUntil dumps on each dump signal and stops at any other signal (or
// when sigs closes). It stops accepting, lets the calls in flight finish,
// and only then writes the final dump, so the dump holds every change the
// server acknowledged.
func serveUntil(srv *simulator.Server, sigs <-chan os.Signal, dump string, stderr io.Writer) int {
	code := 0
	for sig := range sigs {
		if !isDumpSignal(sig) {
			break
		}
		if err := writeDump(srv.Sim, dump); err != nil {
			fmt.Fprintf(stderr, "cpanel-sim: %v\n", err)
			code = 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "cpanel-sim: %v\n", err)
		code = 1
	}
	if err := writeDump(srv.Sim, dump); err != nil {
		fmt.Fprintf(stderr, "cpanel-sim: %v\n", err)
		code = 1
	}
	return code
}

// readyLines are the "key: value" lines printed once both listeners are
// up: the URLs, their ports, and for TLS the fingerprint and CA file.
func readyLines(srv *simulator.Server) string {
	var b strings.Builder
	fmt.Fprintf(&b, "whm-url: %s\ncpanel-url: %s\n", srv.WHMURL, srv.CPanelURL)
	for _, u := range []struct{ key, url string }{{"whm-port", srv.WHMURL}, {"cpanel-port", srv.CPanelURL}} {
		if p, err := url.Parse(u.url); err == nil {
			fmt.Fprintf(&b, "%s: %s\n", u.key, p.Port())
		}
	}
	if srv.Fingerprint != "" {
		fmt.Fprintf(&b, "fingerprint: %s\nca-file: %s\n", srv.Fingerprint, srv.CAFile)
	}
	fmt.Fprintf(&b, "pid: %d\n", os.Getpid())
	return b.String()
}

// writeDump writes the state with writeFileAtomic, mode 0600: it holds
// password hashes.
func writeDump(sim *simulator.Simulator, path string) error {
	if path == "" {
		return nil
	}
	data, err := sim.Dump()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, data, 0o600); err != nil {
		return fmt.Errorf("write dump: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to path so that a reader sees the old file
// or the whole new one: a temporary file of a fresh random name, created
// exclusively (mode 0600) so that no planted file or symlink is written
// through, synced, given mode perm, then renamed over path (which replaces
// a symlink at path rather than following it).
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }() // nothing left to remove after the rename
	_, err = f.Write(data)
	// The file is closed whatever failed before.
	if err = errors.Join(err, f.Chmod(perm), f.Sync(), f.Close()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
