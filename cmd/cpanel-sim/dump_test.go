package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// On SIGTERM the server stops accepting, finishes the calls in flight and
// only then dumps: every change acknowledged to a client is in the dump.
func TestShutdownDumpsEveryAcknowledgedChange(t *testing.T) {
	const n = 24
	st := simulator.SampleState()
	for i := range n {
		st.AddAccount(fmt.Sprintf("u%02d", i), "root", fmt.Sprintf("u%02d.example", i), "Old-Pass-2024!xyz")
	}
	// The latency keeps every call in flight when the signal comes.
	srv, err := simulator.Start(st, simulator.Options{Plain: true, Latency: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "dump.yaml")
	client := &http.Client{Timeout: 20 * time.Second}
	acked := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := url.Values{"user": {fmt.Sprintf("u%02d", i)}, "password": {pwFor(i)}}.Encode()
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.WHMURL+"/json-api/passwd?api.version=1", strings.NewReader(body))
			req.Header.Set("Authorization", "whm root:"+simulator.SampleRootToken)
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			acked[i] = resp.StatusCode == 200 && strings.Contains(string(b), `"result":1`)
		}()
	}
	// Wait, without sleeping, until every call has reached the server.
	deadline := time.Now().Add(15 * time.Second)
	for srv.Sim.Stats().Requests < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d calls arrived", srv.Sim.Stats().Requests, n)
		}
		runtime.Gosched()
	}
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGTERM
	var stderr strings.Builder
	if code := serveUntil(srv, sigs, dump, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	wg.Wait()

	got, err := simulator.LoadState(dump)
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for i := range n {
		if !acked[i] {
			continue
		}
		ok++
		if !simulator.VerifyHash(got.Accounts[fmt.Sprintf("u%02d", i)].PasswordHash, pwFor(i)) {
			t.Errorf("u%02d: change acknowledged but missing from the dump", i)
		}
	}
	if ok != n {
		t.Errorf("%d of %d calls in flight were acknowledged; a graceful stop finishes them all", ok, n)
	}
	// Nothing is accepted any more.
	if resp, err := client.Get(srv.WHMURL + "/"); err == nil {
		resp.Body.Close()
		t.Error("still accepting after shutdown")
	}
}

func pwFor(i int) string { return fmt.Sprintf("New-Pass-%02d!Zq8#x", i) }

// The dump is written through a fresh exclusive temporary file, mode 0600:
// a symlink planted at DUMP.tmp or at DUMP itself is never followed.
func TestDumpNeverFollowsSymlinks(t *testing.T) {
	for _, planted := range []string{".tmp", ""} {
		t.Run("symlink at DUMP"+planted, func(t *testing.T) {
			dir := t.TempDir()
			victim := filepath.Join(dir, "victim")
			if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			dump := filepath.Join(dir, "dump.yaml")
			if err := os.Symlink(victim, dump+planted); err != nil {
				t.Fatal(err)
			}
			if err := writeDump(simulator.New(simulator.SampleState(), simulator.Options{}), dump); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
				t.Errorf("victim overwritten through the symlink: %q", b)
			}
			if fi, err := os.Stat(victim); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("victim mode changed: %v %v", fi.Mode(), err)
			}
			fi, err := os.Lstat(dump)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Errorf("dump is %v, want a regular file with mode 0600", fi.Mode())
			}
			if _, err := simulator.LoadState(dump); err != nil {
				t.Errorf("dump unreadable: %v", err)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary file left behind: %s", e.Name())
				}
			}
		})
	}
}
