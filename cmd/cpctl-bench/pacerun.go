package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/simulator"
)

// Measurement 7 runs what users run: the built cpctl, `account passwd --from
// FILE --generate --concurrency auto` (or a fixed number), a profile per
// server, against simulators with a capacity. The simulators run in the
// bench process, as for measurements 3–6, but each behind a listener of the
// bench's own, which times every API call from its arrival (before the
// simulator's queue) to its reply, and counts the calls in service or
// waiting: the latency and the concurrency a server sees, whatever the
// client believes.

// paceCert is the self-signed certificate every pace server presents, and a
// PEM file of it for the profiles' ca-cert.
type paceCert struct {
	cert   tls.Certificate
	pool   *x509.CertPool
	caFile string
}

// newPaceCert makes a certificate for the pace servers and writes it to
// dir/pace-ca.pem.
func newPaceCert(dir string) (*paceCert, error) {
	cert, pool, der, err := selfSigned()
	if err != nil {
		return nil, fmt.Errorf("pace server: %w", err)
	}
	c := &paceCert{cert: cert, pool: pool, caFile: filepath.Join(dir, "pace-ca.pem")}
	if err := os.WriteFile(c.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("pace server certificate: %w", err)
	}
	return c, nil
}

// paceServer is one simulator with a capacity, served over TLS (HTTP/1.1,
// like cpsrvd) by the bench, which times each API call.
type paceServer struct {
	sim *simulator.Simulator
	url string
	hs  *http.Server
	h   http.Handler

	mu        sync.Mutex
	lats      []time.Duration // API calls answered other than 503
	overloads int             // 503s
	inflight  int             // API calls arrived and not yet answered
	peak      int
	area      time.Duration // ∫ inflight dt, for the mean
	last      time.Time
	first     time.Time // the first API call's arrival since the last take
	conns     int       // connections accepted (each a TLS handshake)
	open      int       // connections open
	peakOpen  int
}

// startPaceServer serves a simulator of rows accounts (u000000 …) with
// capacity c and network latency lat.
func startPaceServer(cert *paceCert, rows int, c simulator.Capacity, lat time.Duration) (*paceServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pace server: %w", err)
	}
	s := &paceServer{sim: simulator.New(benchState(rows), simulator.Options{Capacity: c, Latency: lat}), url: "https://" + ln.Addr().String()}
	s.h = s.sim.Handler(simulator.RoleWHM)
	s.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ConnState: func(_ net.Conn, st http.ConnState) {
			s.mu.Lock()
			defer s.mu.Unlock()
			switch st {
			case http.StateNew:
				s.conns++
				s.open++
				s.peakOpen = max(s.peakOpen, s.open)
			case http.StateClosed, http.StateHijacked:
				s.open--
			}
		},
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert.cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	go func() { _ = s.hs.Serve(tls.NewListener(ln, tlsConf)) }()
	return s, nil
}

// ServeHTTP times an API call from its arrival to its reply.
func (s *paceServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/json-api/") {
		s.h.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = start
	}
	s.step(start, +1)
	s.mu.Unlock()
	sw := &statusRecorder{ResponseWriter: w}
	s.h.ServeHTTP(sw, r)
	end := time.Now()
	s.mu.Lock()
	s.step(end, -1)
	if sw.status == http.StatusServiceUnavailable {
		s.overloads++
	} else {
		s.lats = append(s.lats, end.Sub(start))
	}
	s.mu.Unlock()
}

// step moves the count of calls in the server by d at t; callers hold mu.
func (s *paceServer) step(t time.Time, d int) {
	if !s.last.IsZero() {
		s.area += time.Duration(s.inflight) * t.Sub(s.last)
	}
	s.last = t
	s.inflight += d
	s.peak = max(s.peak, s.inflight)
}

// serverView is what one server saw of a run.
type serverView struct {
	Lats      []time.Duration
	Overloads int
	Peak      int           // most calls in the server at once
	Mean      float64       // mean calls in the server over the run
	FirstCall time.Duration // from the run's start to the first API call's arrival
	Conns     int           // connections the client opened
	PeakOpen  int           // most connections open at once
}

// take returns what the server saw since the last take, over a run that
// started at start and took wall.
func (s *paceServer) take(start time.Time, wall time.Duration) serverView {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := serverView{Lats: s.lats, Overloads: s.overloads, Peak: s.peak, Mean: float64(s.area) / float64(wall), Conns: s.conns, PeakOpen: s.peakOpen}
	if !s.first.IsZero() {
		v.FirstCall = s.first.Sub(start)
	}
	s.lats, s.overloads, s.peak, s.area, s.last, s.conns, s.peakOpen, s.first = nil, 0, 0, 0, time.Time{}, 0, 0, time.Time{}
	return v
}

// waitClosed waits up to d for the server to see every connection closed.
func (s *paceServer) waitClosed(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		open := s.open
		s.mu.Unlock()
		if open == 0 {
			return
		}
	}
}

func (s *paceServer) close(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.hs.Shutdown(sctx); err != nil {
		_ = s.hs.Close()
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// paceJob is one cpctl bulk run over servers.
type paceJob struct {
	tag         string
	servers     []*paceServer
	rows        int    // per server
	concurrency string // --concurrency: auto or a number
	bin         string // cpctl, or cpctlprof with env
	env         []string
}

// paceRun is what one cpctl bulk run took and what its servers saw.
type paceRun struct {
	Wall  time.Duration // the cpctl process, start to exit
	RSS   int64         // its peak resident set, bytes
	CPU   time.Duration // its user + system time
	Views []serverView  // one per server
	Sim   time.Duration // CPU the bench (the simulators) used meanwhile
}

// latencies is every reply latency of the run, over all servers.
func (r paceRun) latencies() []time.Duration {
	var all []time.Duration
	for _, v := range r.Views {
		all = append(all, v.Lats...)
	}
	return all
}

// firstCalls is the median and the largest time from the run's start to
// a server's first API call: what connecting to every server cost before
// any of them got work (TLS handshakes, both ends on the bench's CPUs).
func firstCalls(vs []serverView) (median, largest time.Duration) {
	if len(vs) == 0 {
		return 0, 0
	}
	ds := make([]time.Duration, len(vs))
	for i, v := range vs {
		ds[i] = v.FirstCall
	}
	return medianOf(ds), slices.Max(ds)
}

// overloads counts the 503s of the run.
func (r paceRun) overloads() int {
	n := 0
	for _, v := range r.Views {
		n += v.Overloads
	}
	return n
}

// conns is the range of connections opened per server, their sum, and
// the range of the most open at once.
func (r paceRun) conns() (lo, hi, sum, openLo, openHi int) {
	for i, v := range r.Views {
		if i == 0 {
			lo, hi, openLo, openHi = v.Conns, v.Conns, v.PeakOpen, v.PeakOpen
		}
		lo, hi, sum = min(lo, v.Conns), max(hi, v.Conns), sum+v.Conns
		openLo, openHi = min(openLo, v.PeakOpen), max(openHi, v.PeakOpen)
	}
	return lo, hi, sum, openLo, openHi
}

// concurrency is the range of the servers' peak and mean calls in service
// or waiting.
func (r paceRun) concurrency() (peakLo, peakHi int, meanLo, meanHi float64) {
	for i, v := range r.Views {
		if i == 0 {
			peakLo, peakHi, meanLo, meanHi = v.Peak, v.Peak, v.Mean, v.Mean
			continue
		}
		peakLo, peakHi = min(peakLo, v.Peak), max(peakHi, v.Peak)
		meanLo, meanHi = min(meanLo, v.Mean), max(meanHi, v.Mean)
	}
	return
}

// profileName is the i-th server's profile.
func profileName(i int) string { return fmt.Sprintf("s%03d", i) }

// writePaceFiles writes the job's cpctl configuration (one profile per
// server, trusting the bench's certificate) and its input: rows accounts on
// every server, the servers taken in turn, so that every server has rows
// from the start as in a run over a fleet.
func writePaceFiles(home, caFile string, j paceJob) (cfg, input string, err error) {
	f := &config.File{CurrentProfile: profileName(0), Profiles: map[string]*config.Profile{}}
	for i, s := range j.servers {
		f.Profiles[profileName(i)] = &config.Profile{URL: s.url, Kind: "whm", User: "root", Auth: "token",
			Token: simulator.SampleRootToken, CACert: caFile}
	}
	cfg = filepath.Join(home, "config", "cpctl", "config.yaml")
	if err := f.Save(cfg); err != nil {
		return "", "", fmt.Errorf("write config: %w", err)
	}
	var sb strings.Builder
	sb.WriteString("user,profile\n")
	for r := range j.rows {
		for i := range j.servers {
			sb.WriteString(accountName(r))
			sb.WriteByte(',')
			sb.WriteString(profileName(i))
			sb.WriteByte('\n')
		}
	}
	input = filepath.Join(home, "rows.csv")
	if err := os.WriteFile(input, []byte(sb.String()), 0o600); err != nil {
		return "", "", fmt.Errorf("write rows: %w", err)
	}
	return cfg, input, nil
}

// runPaceJob runs one cpctl bulk run under the rusage launcher and checks
// that it succeeded and that every server changed exactly rows passwords.
func (b *bench) runPaceJob(ctx context.Context, cert *paceCert, j paceJob) (paceRun, error) {
	home := filepath.Join(b.dir, "pace-"+j.tag)
	defer func() {
		if !b.o.keep {
			_ = os.RemoveAll(home) // the bench's own scratch files
		}
	}()
	cfg, input, err := writePaceFiles(home, cert.caFile, j)
	if err != nil {
		return paceRun{}, err
	}
	// The connections of an earlier run are gone with its process, but a
	// server notices only when it next reads them.
	for _, s := range j.servers {
		s.waitClosed(2 * time.Second)
	}
	before := make([]int64, len(j.servers))
	for i, s := range j.servers {
		before[i] = s.sim.Stats().PasswordChanges
		s.take(time.Now(), time.Second) // forget what an earlier run left
	}
	bin := j.bin
	if bin == "" {
		bin = b.cpctl
	}
	usage := filepath.Join(home, "rusage")
	cmd := exec.CommandContext(ctx, b.rusage, usage, "--", bin, "--config", cfg, "account", "passwd",
		"--from", input, "--generate", "--journal", filepath.Join(home, "journal"),
		"--concurrency", j.concurrency, "-o", "json")
	if c, m, ok := strings.Cut(j.concurrency, ":"); ok { // auto:8 is --max-concurrency 8
		cmd.Args = slices.Replace(cmd.Args, len(cmd.Args)-3, len(cmd.Args)-2, c)
		cmd.Args = append(cmd.Args, "--max-concurrency", m)
	}
	if b.o.paceLog != "" {
		cmd.Args = append(cmd.Args, "-v")
	}
	cmd.Env = b.childEnv(home, j.env...)
	cmd.Env = append(cmd.Env, b.o.paceEnv...)
	cmd.Dir = home
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // stdout: /dev/null
	simBefore := selfCPU()
	launched := time.Now()
	err = cmd.Run()
	simCPU := selfCPU() - simBefore
	var run paceRun
	if data, rerr := os.ReadFile(usage); rerr == nil {
		var rss, wall, cpu int64
		if _, serr := fmt.Sscan(string(data), &rss, &wall, &cpu); serr == nil {
			run = paceRun{Wall: time.Duration(wall), RSS: rss, CPU: time.Duration(cpu), Sim: simCPU}
		}
	}
	if err == nil && run.Wall == 0 {
		err = errors.New("the rusage launcher recorded nothing")
	}
	if b.o.paceLog != "" {
		if werr := os.WriteFile(filepath.Join(b.o.paceLog, j.tag+".log"), stderr.Bytes(), 0o600); werr != nil {
			b.logf("pace log: %v", werr)
		}
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 600 {
			msg = msg[len(msg)-600:]
		}
		return run, fmt.Errorf("%s: cpctl --concurrency %s: %w: %s", j.tag, j.concurrency, err, msg)
	}
	for i, s := range j.servers {
		run.Views = append(run.Views, s.take(launched, run.Wall))
		if got := s.sim.Stats().PasswordChanges - before[i]; got != int64(j.rows) {
			return run, fmt.Errorf("%s: server %d saw %d password changes for %d rows", j.tag, i, got, j.rows)
		}
	}
	return run, nil
}
