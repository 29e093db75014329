package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/secret"
	"github.com/cpctl/cpctl/pkg/simulator"
)

func TestProfileLifecycle(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	url := e.srv.WHMURL
	// No terminal and an untrusted certificate: refused, with the fingerprint and the flag to pass.
	r := e.call(simulator.SampleRootToken+"\n", "profile", "add", "prod", "--url", url, "--kind", "whm", "--token-stdin")
	e.wantCode(r, 4)
	if !strings.Contains(r.stderr, e.srv.Fingerprint) || !strings.Contains(r.stderr, "--tls-fingerprint") {
		t.Fatalf("want fingerprint and flag:\n%s", r.stderr)
	}
	if !strings.HasSuffix(r.stderr, "; nothing was sent; profile prod was not saved\n") {
		t.Errorf("should say the profile was not saved:\n%s", r.stderr)
	}
	if _, err := os.Stat(e.cfg); err == nil {
		t.Error("a failed add saved the profile")
	}
	// With the pin.
	r = e.call(simulator.SampleRootToken+"\n", "profile", "add", "prod", "--url", url, "--kind", "whm", "--token-stdin", "--tls-fingerprint", e.srv.Fingerprint)
	e.wantCode(r, 0)
	e.noSecrets(r)
	st, err := os.Stat(e.cfg)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config not written 0600: %v", err)
	}
	// A bad token is caught at add time and says it was the credentials.
	r = e.call("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "profile", "add", "bad", "--url", url, "--kind", "whm", "--token-stdin", "--tls-fingerprint", e.srv.Fingerprint)
	e.wantCode(r, 3)
	if want := "cpctl: credentials: WHM API 1 version: authentication failed: Access denied (HTTP 403); profile bad was not saved\n"; !strings.HasSuffix(r.stderr, want) {
		t.Errorf("should say the credentials failed and the profile was not saved:\n%s\nwant it to end with %q", r.stderr, want)
	}
	// A second, token-command profile for the reseller.
	r = e.call("", "profile", "add", "res", "--url", url, "--kind", "whm", "--auth-user", "res1",
		"--token-command", "echo "+simulator.SampleResellerToken, "--tls-fingerprint", e.srv.Fingerprint)
	e.wantCode(r, 0)

	r = e.call("", "profile", "list", "-o", "json")
	e.wantCode(r, 0)
	e.noSecrets(r)
	if !strings.Contains(r.stdout, `"name": "prod"`) || !strings.Contains(r.stdout, `"secret": "token-command"`) {
		t.Errorf("profile list:\n%s", r.stdout)
	}
	r = e.call("", "profile", "show", "prod")
	e.wantCode(r, 0)
	e.noSecrets(r)
	if !strings.Contains(r.stdout, "<set>") {
		t.Errorf("show should say the token is set:\n%s", r.stdout)
	}
	r = e.call("", "profile", "test", "res")
	e.wantCode(r, 0)
	// A pin the certificate does not match: the certificate shown once, and
	// a short line whose bound cannot cut the pin.
	wrong := "sha256:" + strings.Repeat("ab", 32)
	r = e.call("", "profile", "test", "res", "--tls-fingerprint", wrong)
	e.wantCode(r, 4)
	if want := "The certificate of " + url + " does not match the pin:\n  subject:     "; !strings.HasPrefix(r.stderr, want) {
		t.Errorf("profile test with a wrong pin: stderr\n%s\nwant it to begin with %q", r.stderr, want)
	}
	if want := "\ncpctl: TLS: the certificate of " + url + " (shown above) does not match the pin " + wrong +
		": the server changed it, or someone is in between; nothing was sent\n"; !strings.HasSuffix(r.stderr, want) {
		t.Errorf("profile test with a wrong pin: stderr\n%s\nwant it to end with %q", r.stderr, want)
	}
	if n := strings.Count(r.stderr, e.srv.Fingerprint); n != 1 {
		t.Errorf("the certificate's fingerprint %d times:\n%s", n, r.stderr)
	}
	r = e.call("", "profile", "use", "res")
	e.wantCode(r, 0)
	cfg, _ := config.Load(e.cfg)
	if cfg.CurrentProfile != "res" {
		t.Errorf("current profile %q", cfg.CurrentProfile)
	}
	r = e.call(newPass+"\n", "account", "passwd", "alice", "--password-stdin")
	e.wantCode(r, 0)
	r = e.call("", "profile", "remove", "res")
	e.wantCode(r, 0)
	r = e.call("", "profile", "show", "res")
	e.wantCode(r, 2)
	// The kind is read without case, as everywhere else: WHM's login is root.
	r = e.call("", "profile", "add", "upper", "--url", url, "--kind", "WHM",
		"--token-command", "echo "+simulator.SampleRootToken, "--tls-fingerprint", e.srv.Fingerprint)
	e.wantCode(r, 0)
	if cfg, _ := config.Load(e.cfg); cfg.Profiles["upper"] == nil || cfg.Profiles["upper"].Kind != "whm" || cfg.Profiles["upper"].User != "root" {
		t.Errorf("profile upper: %+v", cfg.Profiles["upper"])
	}
	// A kind that is neither is refused even unchecked, and nothing is saved.
	r = e.call("", "profile", "add", "odd", "--url", url, "--kind", "plesk", "--skip-check",
		"--token-command", "echo "+simulator.SampleRootToken)
	e.wantCode(r, 2)
	if !strings.Contains(r.stderr, `--kind "plesk" is not whm or cpanel`) {
		t.Errorf("stderr: %s", r.stderr)
	}
	if cfg, _ := config.Load(e.cfg); cfg.Profiles["odd"] != nil {
		t.Error("a profile of an unknown kind was saved")
	}
}

// ptyRun runs cpctl on a pseudo-terminal and answers prompts: each step
// waits for text and then types a line. A terminal needs a real process;
// the answers follow the process's output, never a clock (the one time
// limit only stops a run that hangs).
//
// When an answer may be typed is survey's business: typed before the
// prompt turns echo off, it would be echoed; typed after the answer to
// survey's cursor-position query, it can be read along with that answer
// and dropped. survey keeps whatever precedes the position report,
// though, so an answer goes just in front of the report to the first
// query made once echo is off. An answer must not contain 'R', which survey
// would take for the end of the report.
func ptyRun(t *testing.T, e *env, steps [][2]string, args ...string) (string, int) {
	t.Helper()
	for _, st := range steps {
		if strings.Contains(st[1], "R") {
			t.Fatalf("answer %q contains R", st[1])
		}
	}
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(append([]string{}, e.vars...), "TERM=xterm")
	cmd.Dir = e.dir
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	slave := cmd.Stdin.(*os.File).Name()
	var out bytes.Buffer
	// step is the next answer; its prompt is looked for after from, and
	// queries after answered are still to be answered.
	step, from, answered := 0, 0, 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			out.Write(buf[:n])
			for {
				s := out.String()
				i := strings.Index(s[answered:], cursorQuery)
				if i < 0 {
					break
				}
				q := answered + i
				answered = q + len(cursorQuery)
				report := "\x1b[1;1R"
				if step < len(steps) && strings.Contains(s[from:q], steps[step][0]) && ptyEchoOff(slave) {
					report = steps[step][1] + "\r" + report
					step, from = step+1, answered
				}
				f.Write([]byte(report))
			}
			if err != nil {
				return
			}
		}
	}()
	// A command still waiting for input is a failure, not a hang of the
	// whole test binary.
	kill := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer kill.Stop()
	err = cmd.Wait()
	<-done
	if step < len(steps) {
		t.Fatalf("no %q on the terminal:\n%s", steps[step][0], out.String())
	}
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	return out.String(), code
}

// cursorQuery is the escape sequence asking a terminal where the cursor is.
const cursorQuery = "\x1b[6n"

func TestPromptAtTerminal(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	out, code := ptyRun(t, e, [][2]string{{"New password for bob", newPass}, {"Retype", newPass}}, "account", "passwd", "bob")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if strings.Contains(out, newPass) {
		t.Error("the typed password was echoed")
	}
	if !e.srv.Sim.CheckPassword("bob", newPass) {
		t.Error("password not changed")
	}
	// Entries that differ are asked again, secret.ConfirmTries times in
	// all, then the run stops with a usage error.
	var steps [][2]string
	for range secret.ConfirmTries {
		steps = append(steps, [2]string{"New password for bob", newPass + "1"}, [2]string{"Retype", newPass + "2"})
	}
	out, code = ptyRun(t, e, steps, "account", "passwd", "bob")
	if code != 2 || !strings.Contains(out, fmt.Sprintf("(%d tries)", secret.ConfirmTries)) {
		t.Fatalf("entries that differ %d times should exit 2, got %d:\n%s", secret.ConfirmTries, code, out)
	}
	// --no-input never prompts, even at a terminal.
	out, code = ptyRun(t, e, nil, "--no-input", "account", "passwd", "bob")
	if code != 2 || strings.Contains(out, "? ") {
		t.Fatalf("--no-input prompted or exited %d:\n%s", code, out)
	}
}

func TestPinAtTerminal(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	out, code := ptyRun(t, e, [][2]string{{"Pin this certificate", "y"}},
		"profile", "add", "new", "--url", e.srv.WHMURL, "--kind", "whm", "--token-command", "echo "+simulator.SampleRootToken)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, e.srv.Fingerprint) {
		t.Errorf("the fingerprint should be shown:\n%s", out)
	}
	cfg, err := config.Load(e.cfg)
	if err != nil || cfg.Profiles["new"] == nil || cfg.Profiles["new"].TLSFingerprint != e.srv.Fingerprint {
		t.Fatalf("the pin was not saved: %v %+v", err, cfg)
	}
}

// A legacy access hash spans many lines, from standard input or a command.
func TestAccessHashMultiLine(t *testing.T) {
	st := simulator.SampleState()
	hash := strings.Repeat("0123456789abcdef", 8)
	st.Root.AccessHash = hash
	e := newEnv(t, st, simulator.Options{})
	lines := hash[:40] + "\n" + hash[40:80] + "\r\n" + hash[80:] + "\n"
	r := e.call(lines, "profile", "add", "legacy", "--url", e.srv.WHMURL, "--kind", "whm", "--auth", "accesshash", "--token-stdin", "--tls-fingerprint", e.srv.Fingerprint)
	e.wantCode(r, 0)
	e.noSecrets(r, hash)
	hashFile := filepath.Join(e.dir, "hash.txt")
	os.WriteFile(hashFile, []byte(lines), 0o600)
	r = e.call("", "profile", "add", "legacy2", "--url", e.srv.WHMURL, "--kind", "whm", "--auth", "accesshash", "--token-command", "cat "+hashFile, "--tls-fingerprint", e.srv.Fingerprint)
	e.wantCode(r, 0)
	r = e.call(newPass+"\n", "-p", "legacy2", "account", "passwd", "bob", "--password-stdin")
	e.wantCode(r, 0)
}
