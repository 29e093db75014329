package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// storeScript writes a secrets command into the env's directory: it reads
// the password from its standard input and appends "TARGET STATE KIND
// PASSWORD" to store.txt, like a password store would keep it. Before it
// stores, it fails while the file named by failIf exists and the target
// matches failFor ("" for every target).
func (e *env) storeScript(failIf, failFor string) (cmd, store string) {
	e.t.Helper()
	store = filepath.Join(e.dir, "store.txt")
	script := filepath.Join(e.dir, "store.sh")
	body := "#!/bin/sh\nIFS= read -r pw || exit 9\n"
	if failIf != "" {
		body += fmt.Sprintf("if [ -e %q ] && { [ -z %q ] || [ \"$CPCTL_ROW_TARGET\" = %q ]; }; then echo \"store: $CPCTL_ROW_TARGET is locked\" >&2; exit 3; fi\n", failIf, failFor, failFor)
	}
	body += fmt.Sprintf("printf '%%s %%s %%s %%s\\n' \"$CPCTL_ROW_TARGET\" \"$CPCTL_ROW_STATE\" \"$CPCTL_ROW_KIND\" \"$pw\" >> %q\n", store)
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		e.t.Fatal(err)
	}
	return script, store
}

// storeLine is one delivery the store received.
type storeLine struct{ target, state, kind, password string }

// readStore reads store.txt in delivery order.
func readStore(t *testing.T, path string) []storeLine {
	t.Helper()
	fh, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []storeLine
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 4)
		if len(f) != 4 {
			t.Fatalf("store line %q", sc.Text())
		}
		out = append(out, storeLine{f[0], f[1], f[2], f[3]})
	}
	return out
}

// checkStore fails unless every one of targets was delivered, as applied,
// with the password the server has now, and returns target → password.
func (e *env) checkStore(path string, targets []string) map[string]string {
	e.t.Helper()
	last := map[string]string{}
	for _, l := range readStore(e.t, path) {
		if l.state == "applied" {
			last[l.target] = l.password
		}
	}
	for _, target := range targets {
		pw, ok := last[target]
		if !ok {
			e.t.Errorf("%s was never delivered as applied", target)
			continue
		}
		if !e.srv.Sim.CheckPassword(target, pw) {
			e.t.Errorf("%s: the store's password is not the server's", target)
		}
	}
	return last
}

func userNames(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("user%04d", i))
	}
	return out
}

// TestSecretsCommandDelivers: a bulk run and a single change hand each new
// password to the command on its standard input, and print none.
func TestSecretsCommandDelivers(t *testing.T) {
	e := newEnv(t, bulkState(20), simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, 20)
	cmd, store := e.storeScript("", "")
	journal := filepath.Join(e.dir, "run.journal")
	r := e.call("", "account", "passwd", "--from", in, "--generate", "--secrets-command", cmd, "--journal", journal, "-o", "jsonl")
	e.wantCode(r, 0)
	delivered := e.checkStore(store, userNames(20))
	e.noSecrets(r, mapValues(delivered)...)
	if !strings.Contains(r.stderr, "cpctl: 20 new passwords delivered by secrets-command in this run; 0 rows not delivered\n") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	r = e.call("", "journal", "show", journal, "-o", "json")
	e.wantCode(r, 0)
	var st struct {
		Delivery               bool
		Delivered, Undelivered int
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || !st.Delivery || st.Delivered != 20 || st.Undelivered != 0 {
		t.Errorf("journal show: %+v, %v\n%s", st, err, r.stdout)
	}

	r = e.call("", "account", "passwd", "bob", "--generate", "--secrets-command", cmd, "-o", "json")
	e.wantCode(r, 0)
	lines := readStore(t, store)
	bob := lines[len(lines)-1]
	if bob.target != "bob" || bob.state != "applied" || bob.kind != "account" || !e.srv.Sim.CheckPassword("bob", bob.password) {
		t.Errorf("the single change delivered %+v", bob)
	}
	e.noSecrets(r, bob.password)
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestSecretsCommandNoSecretInArgvOrEnv: the command's own argv and
// environment, as the kernel holds them (/proc/PID/cmdline and environ of
// the shell cpctl started) and as the shell sees them, carry neither the new
// password nor cpctl's credentials; the password came on standard input.
func TestSecretsCommandNoSecretInArgvOrEnv(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	spy := filepath.Join(e.dir, "spy.txt")
	store := filepath.Join(e.dir, "store.txt")
	cmd := fmt.Sprintf(`{ echo "argv: $0 $*"; env; if [ -r /proc/$$/cmdline ]; then echo "proc:"; tr '\0' '\n' < /proc/$$/cmdline; tr '\0' '\n' < /proc/$$/environ; fi; } >> %q; IFS= read -r pw; printf '%%s\n' "$pw" > %q`, spy, store)
	r := e.callEnv([]string{"CPCTL_PASSWORD=" + simulator.SampleRootPassword}, "", "account", "passwd", "bob", "--generate", "--secrets-command", cmd)
	e.wantCode(r, 0)
	data, err := os.ReadFile(store)
	if err != nil {
		t.Fatal(err)
	}
	pw := strings.TrimSuffix(string(data), "\n")
	if !e.srv.Sim.CheckPassword("bob", pw) {
		t.Fatal("the command did not get the new password on its standard input")
	}
	dump, err := os.ReadFile(spy)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" && !strings.Contains(string(dump), "proc:\n/bin/sh\n-c\n") {
		t.Fatalf("the command's /proc entries were not read:\n%s", dump)
	}
	for _, want := range []string{"CPCTL_ROW_TARGET=bob\n", "CPCTL_ROW_KIND=account\n", "CPCTL_ROW_PROFILE=whm\n", "CPCTL_ROW_STATE=applied\n", "CPCTL_ROW_OWNER=\n", "CPCTL_ROW_SERVER=127.0.0.1:"} {
		if !strings.Contains(string(dump), want) {
			t.Errorf("the command's environment lacks %q:\n%s", want, dump)
		}
	}
	for _, s := range []string{pw, simulator.SampleRootPassword, simulator.SampleRootToken} {
		if strings.Contains(string(dump), s) {
			t.Errorf("a secret (%s…) reached the command's argv or environment", s[:4])
		}
	}
}

// TestSecretsCommandFailsThenResume: rows whose delivery fails leave the
// run at exit 5 with one line naming the resume; journal show and journal
// export --undelivered list them; the resume delivers them, and only them.
func TestSecretsCommandFailsThenResume(t *testing.T) {
	e := newEnv(t, bulkState(8), simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, 8)
	locked := filepath.Join(e.dir, "locked")
	if err := os.WriteFile(locked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, store := e.storeScript(locked, "user0005")
	journal := filepath.Join(e.dir, "run.journal")
	r := e.call("", "account", "passwd", "--from", in, "--generate", "--secrets-command", cmd, "--journal", journal, "-o", "jsonl")
	e.wantCode(r, 5)
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	want := fmt.Sprintf("cpctl: 1 changed row was not delivered by secrets-command (cpctl journal show %s lists them); once it works, deliver them with: cpctl account passwd --resume %s", journal, journal)
	if lines[len(lines)-1] != want {
		t.Errorf("last stderr line\n%s\nwant\n%s", lines[len(lines)-1], want)
	}
	if !strings.Contains(r.stderr, "cpctl: user0005 (line 7) not delivered: secrets-command failed: exit status 3: store: user0005 is locked\n") {
		t.Errorf("stderr does not name the failed row:\n%s", r.stderr)
	}
	if n := len(readStore(t, store)); n != 7 {
		t.Errorf("the store has %d rows, want 7", n)
	}

	r = e.call("", "journal", "show", journal)
	e.wantCode(r, 0)
	if !strings.Contains(r.stdout, "not delivered: 1\n") || !strings.Contains(r.stdout, "store: user0005 is locked") ||
		!strings.Contains(r.stderr, "cpctl: 1 changed row not delivered: deliver them with 'cpctl account passwd --resume "+journal+"'") {
		t.Errorf("journal show:\n%s\n%s", r.stdout, r.stderr)
	}
	r = e.call("", "journal", "export", journal, "--undelivered", "--secrets-out", "-")
	e.wantCode(r, 0)
	recs := csvRecords(t, r.stdout)
	if len(recs) != 2 || strings.Join(recs[0], ",") != "user,password" || recs[1][0] != "user0005" ||
		!e.srv.Sim.CheckPassword("user0005", recs[1][1]) {
		t.Errorf("journal export --undelivered:\n%s", r.stdout)
	}
	r = e.call("", "journal", "export", journal, "--secrets-out", "-")
	e.wantCode(r, 0)
	if !strings.Contains(r.stderr, "cpctl: 1 changed row was not delivered by --secrets-command") {
		t.Errorf("a full export should say rows are not delivered:\n%s", r.stderr)
	}

	if err := os.Remove(locked); err != nil {
		t.Fatal(err)
	}
	before := e.srv.Sim.Stats().PasswordChanges
	r = e.call("", "account", "passwd", "--resume", journal, "-o", "jsonl")
	e.wantCode(r, 0)
	if got := e.srv.Sim.Stats().PasswordChanges; got != before {
		t.Errorf("the resume changed %d passwords; every row was final", got-before)
	}
	all := readStore(t, store)
	if len(all) != 8 || all[7].target != "user0005" {
		t.Errorf("the resume delivered %v, want user0005 only", all[7:])
	}
	e.checkStore(store, userNames(8))
}

// TestSecretsCommandKilledAndResumed kills a delivering bulk run with
// SIGKILL at random moments, resuming it each time, then checks that every
// row was delivered as applied with the password the server has: a crash
// between a change and its delivery only means a delivery on resume.
func TestSecretsCommandKilledAndResumed(t *testing.T) {
	rows, kills := 150, 10
	if testing.Short() {
		rows, kills = 60, 3
	}
	e := newEnv(t, bulkState(rows), simulator.Options{Latency: 10 * time.Millisecond})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, rows)
	cmd, store := e.storeScript("", "")
	journal := filepath.Join(e.dir, "kill.journal")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	killed, finished := 0, false
	for attempt := 0; killed < kills && attempt < 10*kills; attempt++ {
		args := []string{"account", "passwd", "--resume", journal, "-o", "jsonl"}
		if _, err := os.Stat(journal); err != nil {
			args = []string{"account", "passwd", "--from", in, "--generate", "--secrets-command", cmd, "--journal", journal, "--concurrency", "4", "-o", "jsonl"}
		}
		c := exec.Command(binPath, args...)
		c.Env, c.Dir = e.vars, e.dir
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(40+rng.IntN(120)) * time.Millisecond)
		_ = c.Process.Signal(syscall.SIGKILL)
		if err := c.Wait(); err == nil {
			finished = true
			break
		}
		if _, err := os.Stat(journal); err == nil {
			killed++
		}
	}
	r := e.resumeAfterKill("account", "passwd", "--resume", journal, "-o", "jsonl")
	e.wantCode(r, 0)
	t.Logf("%d kills, finished before a kill: %v, %d deliveries for %d rows", killed, finished, len(readStore(t, store)), rows)
	if killed == 0 {
		t.Fatal("no run was killed after its journal existed")
	}
	e.checkStore(store, userNames(rows))
	r = e.call("", "journal", "show", journal, "-o", "json")
	e.wantCode(r, 0)
	if !strings.Contains(r.stdout, `"undelivered": 0`) || !strings.Contains(r.stdout, fmt.Sprintf(`"delivered": %d`, rows)) {
		t.Errorf("journal show after the last resume:\n%s", r.stdout)
	}
}
