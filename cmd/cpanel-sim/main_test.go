package main

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// TestBinary builds cpanel-sim, serves the sample state, changes bob's
// password with a hand-written request, and checks the dump after SIGTERM.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "cpanel-sim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dump := filepath.Join(dir, "dump.yaml")
	cmd := exec.Command(bin, "--state", "../../testdata/sim/state.yaml", "--listen", "127.0.0.1:0",
		"--cpanel-listen", "127.0.0.1:0", "--plain", "--dump", dump, "--log")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	info := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for len(info) < 2 && sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			t.Fatalf("unparsable line %q", sc.Text())
		}
		info[k] = v
	}
	whm := info["whm-url"]
	if !strings.HasPrefix(whm, "http://127.0.0.1:") || !strings.HasPrefix(info["cpanel-url"], "http://127.0.0.1:") {
		t.Fatalf("urls: %v", info)
	}

	const pw = "Binary-Test-Pass-7#q"
	req, _ := http.NewRequest(http.MethodPost, whm+"/json-api/passwd?api.version=1",
		strings.NewReader(url.Values{"user": {"bob"}, "password": {pw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "whm root:"+simulator.SampleRootToken)
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"result":1`) {
		t.Fatalf("passwd: %d %s", resp.StatusCode, body)
	}
	// A database password, through WHM as root: the dump must hold it too.
	req, _ = http.NewRequest(http.MethodPost, whm+"/json-api/cpanel?cpanel_jsonapi_apiversion=3&cpanel_jsonapi_user=bob&cpanel_jsonapi_module=Mysql&cpanel_jsonapi_func=set_password",
		strings.NewReader(url.Values{"user": {"bob_wp"}, "password": {pw}}.Encode()))
	req.Header.Set("Authorization", "whm root:"+simulator.SampleRootToken)
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"status":1`) {
		t.Fatalf("Mysql/set_password: %d %s", resp.StatusCode, body)
	}

	// SIGUSR1 dumps and keeps serving. The dump is written by another
	// process, on real time, and nothing tells this one when it is
	// complete: look at it every few milliseconds until it holds the change.
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, err := simulator.LoadState(dump); err == nil && simulator.VerifyHash(st.Accounts["bob"].PasswordHash, pw) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no dump after SIGUSR1")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.Remove(dump); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Get(whm + "/"); err != nil {
		t.Fatalf("not serving after SIGUSR1: %v", err)
	} else {
		r.Body.Close()
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("cpanel-sim did not exit on SIGTERM")
	}

	st, err := simulator.LoadState(dump)
	if err != nil {
		t.Fatal(err)
	}
	if h := st.Accounts["bob"].PasswordHash; !simulator.VerifyHash(h, pw) {
		t.Errorf("dump does not hold bob's new password hash: %q", h)
	}
	if h := st.Accounts["bob"].MySQL[0].PasswordHash; !simulator.VerifyHash(h, pw) {
		t.Errorf("dump does not hold bob_wp's new password hash: %q", h)
	}
	raw, _ := os.ReadFile(dump)
	for _, secret := range []string{pw, simulator.SampleRootPassword, simulator.SampleMySQLPassword, simulator.SamplePostgreSQLPassword, simulator.SampleWebDiskPassword, "password:"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("dump holds a plaintext password (%q)", secret)
		}
	}
	if fi, err := os.Stat(dump); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("dump mode: %v %v", fi.Mode(), err)
	}
	if !strings.Contains(stderr.String(), `POST "/json-api/passwd" 200`) || strings.Contains(stderr.String(), pw) {
		t.Errorf("request log:\n%s", stderr.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--bogus"}, {"extra"}, {"--cert", "x"}, {"--cert-dir", "d", "--plain"}, {"--state", "/nonexistent.yaml"},
		{"--capacity", "-1"}, {"--queue-limit", "4"}, {"--service-time", "50ms"}, {"--capacity", "2", "--service-jitter", "-1ms"}} {
		if code := run(args, io.Discard, io.Discard); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
