package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/simulator"
)

func TestWantPart(t *testing.T) {
	for _, tc := range []struct {
		only string
		want map[string]bool
	}{
		{"", map[string]bool{"7a": true, "7d": true}},
		{"7", map[string]bool{"7a": true, "7d": true}},
		{"7d", map[string]bool{"7a": false, "7c": false, "7d": true}},
		{"7b,7d", map[string]bool{"7a": false, "7b": true, "7d": true}},
	} {
		args := []string{}
		if tc.only != "" {
			args = []string{"-only", tc.only}
		}
		o, err := parseFlags(args, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		for part, want := range tc.want {
			if got := o.wantPart(part); got != want {
				t.Errorf("-only %q: wantPart(%s) = %v", tc.only, part, got)
			}
		}
	}
}

// TestWritePaceFiles checks 7's cpctl inputs: a profile per server trusting
// the bench's certificate, and every server's rows taken in turn.
func TestWritePaceFiles(t *testing.T) {
	home := t.TempDir()
	j := paceJob{servers: []*paceServer{{url: "https://127.0.0.1:1"}, {url: "https://127.0.0.1:2"}}, rows: 3}
	cfgPath, input, err := writePaceFiles(home, "/ca.pem", j)
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range j.servers {
		p, err := f.Profile(profileName(i))
		if err != nil {
			t.Fatal(err)
		}
		if p.URL != s.url || p.CACert != "/ca.pem" || p.Kind != "whm" {
			t.Errorf("profile %s = %+v", profileName(i), p)
		}
	}
	data, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	want := "user,profile\nu000000,s000\nu000000,s001\nu000001,s000\nu000001,s001\nu000002,s000\nu000002,s001\n"
	if string(data) != want {
		t.Fatalf("rows:\n%s\nwant:\n%s", data, want)
	}
}

// TestPaceServerSees sends three calls at once to a server of one worker:
// the server's view counts each call, the queue (three in the server at
// once), each connection, and latencies that include the wait.
func TestPaceServerSees(t *testing.T) {
	cert, err := newPaceCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const service = 20 * time.Millisecond
	srv, err := startPaceServer(cert, 3, simulator.Capacity{Limit: 1, ServiceTime: service}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close(context.Background())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.pool, MinVersion: tls.VersionTLS12}}}
	defer hc.CloseIdleConnections()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := range 3 {
		wg.Go(func() {
			<-start
			form := url.Values{"user": {accountName(i)}, "password": {"Zq8-vX!pL2#wR7tK"}}
			req, err := http.NewRequest(http.MethodPost, srv.url+"/json-api/passwd?api.version=1", strings.NewReader(form.Encode()))
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Authorization", authHeader())
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := hc.Do(req)
			if err != nil {
				errs <- err
				return
			}
			_ = resp.Body.Close()
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := srv.sim.Stats().PasswordChanges; got != 3 {
		t.Fatalf("%d password changes, want 3", got)
	}
	v := srv.take(began, time.Second)
	if len(v.Lats) != 3 || v.Overloads != 0 || v.Conns != 3 {
		t.Fatalf("view %+v: want 3 latencies, no 503, 3 connections", v)
	}
	if v.FirstCall <= 0 || v.FirstCall > time.Since(began) {
		t.Errorf("first call %s after the start, want within the %s since", v.FirstCall, time.Since(began))
	}
	// The second call waits for the first (its service ends 2 × service
	// after the first call arrived, a little less after its own arrival).
	if m := medianOf(v.Lats); m < service*3/2 {
		t.Errorf("median latency %s: the second call waits for the first, so well over %s", m, service)
	}
	if again := srv.take(time.Now(), time.Second); len(again.Lats) != 0 || again.Conns != 0 || again.Peak != 0 || again.FirstCall != 0 {
		t.Errorf("take did not reset: %+v", again)
	}
}

// TestRunPaceJob runs the built cpctl, as measurement 7 does, over two
// servers with auto pacing: every row must change one password on its own
// server, and the run's figures must be filled in.
func TestRunPaceJob(t *testing.T) {
	dir := t.TempDir()
	b := &bench{o: &options{}, log: &bytes.Buffer{}, dir: dir}
	for _, bin := range []struct {
		pkg string
		dst *string
	}{{"github.com/cpctl/cpctl/cmd/cpctl", &b.cpctl}, {"github.com/cpctl/cpctl/cmd/cpctl-bench/rusage", &b.rusage}} {
		*bin.dst = filepath.Join(dir, filepath.Base(bin.pkg))
		if out, err := exec.Command("go", "build", "-o", *bin.dst, bin.pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", bin.pkg, err, out)
		}
	}
	cert, err := newPaceCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	var srvs []*paceServer
	for range 2 {
		s, err := startPaceServer(cert, 5, simulator.Capacity{Limit: 2, ServiceTime: 5 * time.Millisecond}, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		defer s.close(context.Background())
		srvs = append(srvs, s)
	}
	run, err := b.runPaceJob(context.Background(), cert, paceJob{tag: "test", servers: srvs, rows: 5, concurrency: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Views) != 2 || len(run.latencies()) != 10 || run.Wall <= 0 {
		t.Fatalf("run %+v: want 2 views, 10 latencies", run)
	}
	if _, _, conns, _, _ := run.conns(); conns < 2 {
		t.Fatalf("%d connections for two servers", conns)
	}
	// A second run over the same servers must count only its own changes.
	if _, err := b.runPaceJob(context.Background(), cert, paceJob{tag: "again", servers: srvs, rows: 5, concurrency: "2"}); err != nil {
		t.Fatal(err)
	}
}
