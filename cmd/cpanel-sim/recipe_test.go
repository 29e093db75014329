package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// recipeBlock matches a shell block of docs/simulator.md marked for the
// recipe: <!-- recipe: NAME --> then a ```sh fence.
var recipeBlock = regexp.MustCompile("(?s)<!-- recipe: ([a-z]+) -->\\s*```sh\\n(.*?)```")

// TestRecipe runs docs/simulator.md's recipe as written: build, start and
// wait for the ready file, use cpctl with a pinned profile, stop. Then it
// starts the simulator again and checks that the pinned profile still
// works (the certificate was kept) and that the dump holds the changes.
func TestRecipe(t *testing.T) {
	doc, err := os.ReadFile("../../docs/simulator.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	for _, m := range recipeBlock.FindAllStringSubmatch(string(doc), -1) {
		blocks[m[1]] = m[2]
	}
	for _, name := range []string{"build", "start", "use", "stop"} {
		if blocks[name] == "" {
			t.Fatalf("docs/simulator.md has no recipe block %q", name)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	env := recipeEnv(t, home)

	run := func(script string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", "set -eu\n"+script)
		cmd.Dir, cmd.Env = root, env
		// Whatever happens, no simulator outlives the test.
		cmd.Cancel = func() error { return cmd.Process.Kill() }
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("recipe failed: %v\n--- script\n%s\n--- output\n%s", err, script, out)
		}
		return string(out)
	}
	run(blocks["build"] + blocks["start"] + blocks["use"] + blocks["stop"])

	simDir := filepath.Join(home, ".cache", "cpanel-sim")
	certBefore, err := os.ReadFile(filepath.Join(simDir, "cert", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(simDir, "cert", "key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key.pem: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(simDir, "ready")); !os.IsNotExist(err) {
		t.Errorf("ready file left after exit: %v", err)
	}

	// A restart with the same --cert-dir: the profile pinned to the first
	// certificate still works.
	run(blocks["build"] + blocks["start"] + "cpctl account passwd alice --generate\n" + blocks["stop"])
	certAfter, err := os.ReadFile(filepath.Join(simDir, "cert", "cert.pem"))
	if err != nil || string(certAfter) != string(certBefore) {
		t.Errorf("certificate changed across restarts (%v)", err)
	}
	st, err := simulator.LoadState(filepath.Join(simDir, "state.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Accounts["alice"].PasswordChanges != 1 {
		t.Errorf("alice changed %d times, want 1", st.Accounts["alice"].PasswordChanges)
	}
	if simulator.VerifyHash(st.Accounts["alice"].PasswordHash, simulator.SampleAlicePassword) {
		t.Error("alice still has the sample password")
	}
}

// recipeEnv is the environment of a new user: a fresh HOME (so cpctl's
// configuration and the recipe's files are the test's own) and GOPATH
// under it, sharing only Go's caches so nothing is downloaded or rebuilt.
func recipeEnv(t *testing.T, home string) []string {
	t.Helper()
	goEnv := func(key string) string {
		out, err := exec.Command("go", "env", key).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", key, err)
		}
		return strings.TrimSpace(string(out))
	}
	env := []string{
		"HOME=" + home,
		"GOPATH=" + filepath.Join(home, "go"),
		"GOCACHE=" + goEnv("GOCACHE"),
		"GOMODCACHE=" + goEnv("GOMODCACHE"),
		"GOFLAGS=" + goEnv("GOFLAGS"),
		"GOTOOLCHAIN=local",
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" || k == "GOPROXY" || k == "GONOSUMDB" || k == "GOPRIVATE" || k == "TMPDIR" {
			env = append(env, kv)
		}
	}
	return env
}
