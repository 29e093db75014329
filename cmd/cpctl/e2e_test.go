package main

// End-to-end tests: they build the cpctl binary once and run it as a user
// would, against the simulator over TLS, checking stdout, stderr, exit
// codes and the simulator's state.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/root"
	versioncmd "github.com/cpctl/cpctl/pkg/cmd/version"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/simulator"
	"github.com/cpctl/cpctl/pkg/simulator/simtest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// binPath is the cpctl binary built for this test run.
var binPath string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "cpctl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "cpctl")
	if runtime.GOOS == "windows" {
		binPath += ".exe"
	}
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build cpctl:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one test's world: a simulator, a private config directory and
// the environment the binary runs with.
type env struct {
	t    *testing.T
	srv  *simulator.Server
	dir  string
	cfg  string
	vars []string
}

func newEnv(t *testing.T, state *simulator.State, opts simulator.Options) *env {
	t.Helper()
	if state == nil {
		state = simulator.SampleState()
	}
	srv := simtest.NewServer(t, state, opts)
	e := newBareEnv(t)
	e.srv = srv
	return e
}

// newBareEnv is an env without a simulator of its own, for a test that
// serves one another way (the cpanel-sim binary).
func newBareEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, cfg: filepath.Join(dir, "config", "cpctl", "config.yaml")}
	e.vars = []string{
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
	}
	return e
}

// writeConfig writes profiles straight into the config file: "whm" (root
// token, pinned), "cp" (bob's own token on the cPanel port, pinned) and
// "res" (the reseller), with "whm" current.
func (e *env) writeConfig() {
	e.t.Helper()
	f := &config.File{CurrentProfile: "whm", Profiles: map[string]*config.Profile{
		"whm": {URL: e.srv.WHMURL, Kind: "whm", User: "root", Auth: "token", Token: simulator.SampleRootToken,
			TLSFingerprint: e.srv.Fingerprint, CPanelURL: e.srv.CPanelURL},
		"cp": {URL: e.srv.CPanelURL, Kind: "cpanel", User: "bob", Auth: "token", Token: simulator.SampleBobToken,
			TLSFingerprint: e.srv.Fingerprint},
		"res": {URL: e.srv.WHMURL, Kind: "whm", User: "res1", Auth: "token", Token: simulator.SampleResellerToken,
			TLSFingerprint: e.srv.Fingerprint},
		"whmpw": {URL: e.srv.WHMURL, Kind: "whm", User: "root", Auth: "password", Password: simulator.SampleRootPassword,
			CACert: e.srv.CAFile},
	}}
	if err := f.Save(e.cfg); err != nil {
		e.t.Fatal(err)
	}
}

// with returns a copy of the env reporting to a subtest's t.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs cpctl with args and stdin, and no terminal anywhere.
func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	return e.runEnv(nil, stdin, args...)
}

func (e *env) runEnv(extra []string, stdin string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(append([]string{}, e.vars...), extra...)
	cmd.Dir = e.dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			e.t.Fatalf("run cpctl %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	r := result{stdout: out.String(), stderr: errb.String(), code: code}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		e.t.Fatalf("cpctl %v panicked:\n%s", args, r.stderr)
	}
	return r
}

// call runs a cpctl command line in this process, as run does with the
// binary: the same environment (CPCTL_ variables, HOME and XDG
// directories), working directory, standard input that is not a terminal,
// and exit code. Tests that need no process of their own (no signal,
// terminal or real file descriptor) use it: it costs no process start.
func (e *env) call(stdin string, args ...string) result {
	e.t.Helper()
	return e.callEnv(nil, stdin, args...)
}

func (e *env) callEnv(extra []string, stdin string, args ...string) result {
	e.t.Helper()
	vars := append(append([]string{}, e.vars...), extra...)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "CPCTL_") {
			e.t.Setenv(k, "") // restored after the test
			os.Unsetenv(k)
		}
	}
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		e.t.Setenv(k, v)
	}
	wd, err := os.Getwd()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chdir(e.dir); err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = os.Chdir(wd) }()
	ios, in, out, errb := cmdutil.Test()
	in.WriteString(stdin)
	f := cmdutil.NewFactory(ios)
	f.Environ = vars
	code := root.Run(context.Background(), f, versioncmd.Info{Version: version, Commit: commit, Date: date}, args)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func (e *env) wantCode(r result, code int) {
	e.t.Helper()
	if r.code != code {
		e.t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	if code != 0 && code != 5 {
		// One clear line on stderr for a failure (warnings may precede it).
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "cpctl: ") {
			e.t.Errorf("stderr should end with a 'cpctl: ...' line, got:\n%s", r.stderr)
		}
	}
}

// noSecrets fails when any of the sample secrets reaches the output.
func (e *env) noSecrets(r result, extra ...string) {
	e.t.Helper()
	secrets := append([]string{simulator.SampleRootToken, simulator.SampleBobToken, simulator.SampleResellerToken,
		simulator.SampleRootPassword, simulator.SampleBobPassword}, extra...)
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			e.t.Errorf("secret %q leaked:\nstdout:\n%s\nstderr:\n%s", s[:4]+"…", r.stdout, r.stderr)
		}
	}
	if n := e.srv.Sim.Stats().SecretInQuery; n != 0 {
		e.t.Errorf("%d requests carried a secret in the URL query", n)
	}
}

var serverRE = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

// golden compares got with testdata/golden/NAME (the server's random port
// normalised), rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	got = serverRE.ReplaceAllString(got, "127.0.0.1:PORT")
	path := filepath.Join("..", "..", "testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/cpctl -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
