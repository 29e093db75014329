package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// bulkState is the sample state plus n accounts owned by root.
func bulkState(n int) *simulator.State {
	st := simulator.SampleState()
	for i := 0; i < n; i++ {
		st.AddAccount(fmt.Sprintf("user%04d", i), "root", fmt.Sprintf("user%04d.example", i), "Old-Pass-2024!xyz")
	}
	return st
}

func writeUsers(t *testing.T, path string, n int, extra ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("user\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "user%04d\n", i)
	}
	for _, x := range extra {
		b.WriteString(x + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkSecretsFile reads a --secrets-out CSV, fails unless it has want
// rows, and checks that each password is the one the server has.
func (e *env) checkSecretsFile(path string, want int) map[string]string {
	e.t.Helper()
	secrets := readSecrets(e.t, path)
	if len(secrets) != want {
		e.t.Fatalf("secrets file has %d rows, want %d", len(secrets), want)
	}
	for target, pw := range secrets {
		if !e.srv.Sim.CheckPassword(target, pw) {
			e.t.Errorf("%s: the secrets file's password is not the server's", target)
		}
	}
	return secrets
}

// readSecrets parses a --secrets-out CSV into target → password.
func readSecrets(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range csvRecords(t, string(data))[1:] {
		m[r[0]] = r[1]
	}
	return m
}

// csvRecords parses CSV that cpctl wrote (a secrets file, an export): a
// generated password may hold a comma or a quote.
func csvRecords(t *testing.T, data string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("not CSV with a header (%v):\n%s", err, data)
	}
	return recs
}

func TestBulkGenerate(t *testing.T) {
	e := newEnv(t, bulkState(50), simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, 50)
	out := filepath.Join(e.dir, "new.csv")
	journal := filepath.Join(e.dir, "run.journal")
	r := e.call("", "account", "passwd", "--from", in, "--generate", "--secrets-out", out, "--journal", journal, "-o", "jsonl", "--concurrency", "8")
	e.wantCode(r, 0)
	// JSON Lines, one object per row, without passwords (they went to the file).
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 50 {
		t.Fatalf("want 50 JSON lines, got %d:\n%s", len(lines), r.stdout)
	}
	for _, l := range lines {
		var row map[string]any
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("not JSON Lines: %q", l)
		}
		if _, ok := row["password"]; ok {
			t.Fatal("password printed although --secrets-out was given")
		}
	}
	secrets := e.checkSecretsFile(out, 50)
	for _, p := range []string{out, journal} {
		st, _ := os.Stat(p)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %04o", p, st.Mode().Perm())
		}
	}
	// journal show prints progress without secrets.
	r = e.call("", "journal", "show", journal)
	e.wantCode(r, 0)
	for _, pw := range secrets {
		if strings.Contains(r.stdout+r.stderr, pw) {
			t.Fatal("journal show printed a password")
		}
	}
	if !strings.Contains(r.stdout, "succeeded: 50") {
		t.Errorf("journal show:\n%s", r.stdout)
	}
}

func TestBulkPartialAndValidation(t *testing.T) {
	e := newEnv(t, bulkState(5), simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, 5, "nobody")
	r := e.call("", "account", "passwd", "--from", in, "--generate", "--journal", filepath.Join(e.dir, "j1"))
	e.wantCode(r, 5)
	if !strings.Contains(r.stdout, "You do not have a user named “nobody”.") {
		t.Errorf("the failed row should carry the server's reason:\n%s", r.stdout)
	}
	// A bad file: every bad row with its line number, nothing sent.
	bad := filepath.Join(e.dir, "bad.csv")
	os.WriteFile(bad, []byte("user,password\nuser0000,\nuser0001,Good-Pass-2024!xyz\nuser0001,Good-Pass-2024!xyz\n"), 0o600)
	before := e.srv.Sim.Stats().Requests
	r = e.call("", "account", "passwd", "--from", bad, "--journal", filepath.Join(e.dir, "j2"))
	e.wantCode(r, 2)
	if !strings.Contains(r.stderr, "line 2") || !strings.Contains(r.stderr, "line 4") {
		t.Errorf("should name lines 2 and 4:\n%s", r.stderr)
	}
	if e.srv.Sim.Stats().Requests != before {
		t.Error("requests were sent for an invalid file")
	}
	if _, err := os.Stat(filepath.Join(e.dir, "j2")); err == nil {
		t.Error("a journal was left for an invalid file")
	}
	r = e.call("", "account", "passwd", "--from", bad, "--validate")
	e.wantCode(r, 2)
	// Every row refused: exit 1.
	none := filepath.Join(e.dir, "none.csv")
	os.WriteFile(none, []byte("user\nghost1\nghost2\n"), 0o600)
	r = e.call("", "account", "passwd", "--from", none, "--generate", "--journal", filepath.Join(e.dir, "j3"))
	e.wantCode(r, 1)
}

// TestBulkCrashResume kills the cpctl binary with SIGKILL at random moments
// of a bulk rotation and resumes it each time, then checks that every
// account has the password the journal records and that no row was ever
// sent with two different passwords.
func TestBulkCrashResume(t *testing.T) {
	rows, kills := 500, 20
	if testing.Short() {
		rows, kills = 120, 3
	}
	crashResume(t, rows, kills, 15*time.Millisecond, 15, 60)
}

// TestBulkCrashResumeFullSpeed is the same with no server latency, so the
// kills land while the group-committed journal is busiest.
func TestBulkCrashResumeFullSpeed(t *testing.T) {
	rows, kills := 20000, 20
	if testing.Short() {
		rows, kills = 3000, 3
	}
	crashResume(t, rows, kills, 0, 10, 40)
}

// crashResume runs on real time on purpose: what it tests is a real
// process killed with SIGKILL at random moments of its run, so the
// moments are real time, and the sleeps below choose them.
func crashResume(t *testing.T, rows, kills int, latency time.Duration, minMS, spreadMS int) {
	e := newEnv(t, bulkState(rows), simulator.Options{Latency: latency})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, rows)
	journal := filepath.Join(e.dir, "crash.journal")
	out := filepath.Join(e.dir, "final.csv")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))

	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command(binPath, args...)
		cmd.Env = e.vars
		cmd.Dir = e.dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := true
	killed, early := 0, 0
	for killed < kills {
		var cmd *exec.Cmd
		if first {
			cmd = start("account", "passwd", "--from", in, "--generate", "--journal", journal, "--concurrency", "8", "--secrets-out", out, "-o", "jsonl")
			if early >= 3 {
				// Kills keep landing while the input is read (a slow
				// machine): let this run get its journal first. The
				// journal is another process's file: nothing signals
				// its creation, so look for it every few milliseconds.
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
					if _, err := os.Stat(journal); err == nil {
						break
					}
				}
			}
		} else {
			cmd = start("account", "passwd", "--resume", journal, "--concurrency", "8", "-o", "jsonl")
		}
		time.Sleep(time.Duration(minMS+rng.IntN(spreadMS)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if first {
			if _, serr := os.Stat(journal); serr != nil {
				early++
				continue // killed before the journal existed: start again
			}
			first = false
		}
		if err == nil {
			break // finished before the kill
		}
		killed++
	}
	if first {
		t.Fatal("the run never created its journal")
	}
	r := e.run("", "account", "passwd", "--resume", journal, "-o", "jsonl")
	e.wantCode(r, 0)
	t.Logf("%d kills", killed)

	// Every row's intents carry one password, and the server has it.
	fh, err := os.Open(journal)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	intents := map[float64]string{}
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("journal line is not JSON: %v", err)
		}
		seq, _ := rec["seq"].(float64)
		pw, hasPW := rec["password"].(string)
		if !hasPW || rec["t"] != "intent" {
			continue
		}
		if prev, ok := intents[seq]; ok && prev != pw {
			t.Fatalf("row %v was sent with two different passwords", seq)
		}
		intents[seq] = pw
	}
	if len(intents) != rows {
		t.Fatalf("journal has intents for %d rows, want %d", len(intents), rows)
	}
	e.checkSecretsFile(out, rows)
}

// TestBulkInterrupt sends Ctrl-C (SIGINT) in the middle of a run: no new
// row starts, the rows in flight are recorded, and the message says how to
// resume, which then finishes the run.
func TestBulkInterrupt(t *testing.T) {
	// A signal needs a process, and the process runs on real time: the
	// test waits on the simulator's request log, not on a clock.
	tenDone := &requestCounter{match: `"/json-api/passwd" 200`, n: 10, reached: make(chan struct{})}
	e := newEnv(t, bulkState(200), simulator.Options{Latency: 20 * time.Millisecond, RequestLog: tenDone})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, 200)
	journal := filepath.Join(e.dir, "int.journal")
	cmd := exec.Command(binPath, "account", "passwd", "--from", in, "--generate", "--journal", journal, "--concurrency", "4")
	cmd.Env = e.vars
	cmd.Dir = e.dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once some rows are done, however slow the machine is.
	select {
	case <-tenDone.reached:
	case <-time.After(20 * time.Second):
		t.Log("fewer than 10 rows done after 20s; interrupting anyway")
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("want exit 130 (interrupted), got %v\n%s", err, stderr.String())
	}
	if want := "cpctl: interrupted; resume with: cpctl account passwd --resume " + journal + "\n"; !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("should end with %q:\n%s", want, stderr.String())
	}
	changed := e.srv.Sim.Stats().PasswordChanges
	if changed == 0 || changed >= 200 {
		t.Fatalf("%d rows changed before the interrupt; the test wants a run cut in the middle", changed)
	}
	r := e.run("", "account", "passwd", "--resume", journal, "-o", "jsonl")
	e.wantCode(r, 0)
	if got := e.srv.Sim.Stats().PasswordChanges; got != 200 {
		t.Errorf("%d password changes in all, want exactly 200 (each row once)", got)
	}
}

// Rows with their own weak password are refused before sending, each with
// the score and the minimum; generated rows are sent.
func TestBulkWeakRowsRefusedLocally(t *testing.T) {
	e := newEnv(t, bulkState(3), simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "mixed.csv")
	os.WriteFile(in, []byte("user,password\nuser0000,abcdefgh\nuser0001,\nuser0002,Strong-Enough-2026!x\n"), 0o600)
	r := e.call("", "account", "passwd", "--from", in, "--generate", "--journal", filepath.Join(e.dir, "j"), "-o", "jsonl")
	e.wantCode(r, 5)
	if !strings.Contains(r.stdout, "scores 22, below the server's minimum of 50") {
		t.Errorf("the weak row should be refused locally:\n%s", r.stdout)
	}
	if e.srv.Sim.CheckPassword("user0000", "abcdefgh") {
		t.Error("the weak password was sent")
	}
	if !e.srv.Sim.CheckPassword("user0002", "Strong-Enough-2026!x") {
		t.Error("the strong row was not changed")
	}
}

// Mail rows as JSON Lines on standard input, with an owner column and
// --verify: every row is proven and recorded.
func TestBulkEmailStdinVerify(t *testing.T) {
	st := simulator.SampleState()
	bob := st.Accounts["bob"]
	var in strings.Builder
	for i := 0; i < 5; i++ {
		addr := fmt.Sprintf("box%d@bob.example", i)
		bob.Mail = append(bob.Mail, simulator.MailUser{Address: addr, Password: "Old-Mail-2024!xyz"})
		fmt.Fprintf(&in, "{\"address\":%q,\"owner\":\"bob\"}\n", addr)
	}
	e := newEnv(t, st, simulator.Options{})
	e.writeConfig()
	out := filepath.Join(e.dir, "mail.csv")
	r := e.call(in.String(), "email", "passwd", "--from", "-", "--generate", "--verify", "--secrets-out", out, "--journal", filepath.Join(e.dir, "j"), "-o", "jsonl")
	e.wantCode(r, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 5 {
		t.Fatalf("want 5 rows:\n%s", r.stdout)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"verified":true`) {
			t.Errorf("row not verified: %s", l)
		}
	}
	e.checkSecretsFile(out, 5)
	data, _ := os.ReadFile(out)
	if !strings.HasPrefix(string(data), "address,password") {
		t.Errorf("mail secrets need an address column:\n%s", data)
	}
}

// TestBulkFaults: rows that hit a 500, a connection reset after the change
// ran (reply lost), and a timeout fail with their reasons, the run exits 5,
// and a resume retries exactly those rows with the passwords the journal
// fixed, so the server ends with the journal's password everywhere.
func TestBulkFaults(t *testing.T) {
	e := newEnv(t, bulkState(8), simulator.Options{})
	e.writeConfig()
	e.srv.Sim.SetFault("user0001", simulator.Fault{Kind: simulator.Fault500})
	e.srv.Sim.SetFault("user0003", simulator.Fault{Kind: simulator.FaultReset})
	e.srv.Sim.SetFault("user0005", simulator.Fault{Kind: simulator.FaultLatency, Latency: 3 * time.Second})
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, 8)
	journal := filepath.Join(e.dir, "faults.journal")
	out := filepath.Join(e.dir, "new.csv")
	r := e.call("", "--timeout", "700ms", "account", "passwd", "--from", in, "--generate", "--journal", journal, "--secrets-out", out, "-o", "jsonl")
	e.wantCode(r, 5)
	failed := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var row struct {
			Target       string `json:"target"`
			OK           bool   `json:"ok"`
			Message      string `json:"message"`
			MaybeApplied bool   `json:"maybe_applied"`
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("bad JSON line %q", l)
		}
		if !row.OK {
			failed[row.Target] = row.Message
		}
		// A connection reset after the request was written: the server
		// may have the password, and the row says so.
		if row.Target == "user0003" && !row.MaybeApplied {
			t.Errorf("the reset row should be maybe_applied: %s", l)
		}
		if row.OK && row.MaybeApplied {
			t.Errorf("a successful row marked maybe_applied: %s", l)
		}
	}
	if len(failed) != 3 || failed["user0001"] == "" || failed["user0003"] == "" || failed["user0005"] == "" {
		t.Fatalf("want user0001, user0003, user0005 failed, got %v", failed)
	}
	if !strings.Contains(r.stderr, "--resume "+journal) {
		t.Errorf("should say how to finish:\n%s", r.stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the secrets file was written before the run was complete")
	}
	// An export now is partial, says so and exits 5; it holds the 5
	// confirmed rows only.
	r = e.call("", "journal", "export", journal, "--secrets-out", "-")
	e.wantCode(r, 5)
	if !strings.Contains(r.stderr, "partial export") || strings.Count(strings.TrimSpace(r.stdout), "\n") != 5 {
		t.Errorf("partial export:\n%s\n%s", r.stdout, r.stderr)
	}
	for _, u := range []string{"user0001", "user0003", "user0005"} {
		e.srv.Sim.SetFault(u, simulator.Fault{})
	}
	r = e.call("", "account", "passwd", "--resume", journal, "-o", "jsonl")
	e.wantCode(r, 0)
	e.checkSecretsFile(out, 8)
}

// The progress bar appears at a terminal and never in a pipe.
func TestBulkProgressOnlyAtTerminal(t *testing.T) {
	e := newEnv(t, bulkState(20), simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, 20)
	out, code := ptyRun(t, e, nil, "account", "passwd", "--from", in, "--generate", "--journal", filepath.Join(e.dir, "tty.journal"))
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "20/20 100%") || !strings.Contains(out, "rows/s") || !strings.Contains(out, "cpctl: [") {
		t.Errorf("no progress bar at a terminal:\n%s", out)
	}
	// With --concurrency auto (the default) the bar shows the pace found.
	if !strings.Contains(out, "rows/s") || !strings.Contains(out, "concurrency ") {
		t.Errorf("the progress bar should show the server's concurrency:\n%s", out)
	}
	r := e.run("", "account", "passwd", "--from", in, "--generate", "--journal", filepath.Join(e.dir, "pipe.journal"))
	e.wantCode(r, 0)
	if strings.Contains(r.stderr, "rows/s") || strings.Contains(r.stdout, "rows/s") {
		t.Errorf("progress text in a pipe:\n%s%s", r.stdout, r.stderr)
	}
}

// Every change made but --secrets-out unwritable: exit 6, not 1 ("refused"),
// naming the journal to export from; the export then gives every password.
func TestBulkSecretsOutUnwritable(t *testing.T) {
	e := newEnv(t, bulkState(5), simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, 5)
	out := filepath.Join(e.dir, "no-such-dir", "new.csv")
	journal := filepath.Join(e.dir, "run.journal")
	r := e.call("", "account", "passwd", "--from", in, "--generate", "--secrets-out", out, "--journal", journal)
	e.wantCode(r, 6)
	if want := "cpctl journal export " + journal + " --secrets-out FILE"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr should name %q:\n%s", want, r.stderr)
	}
	if got := e.srv.Sim.Stats().PasswordChanges; got != 5 {
		t.Fatalf("%d changes, want 5", got)
	}
	saved := filepath.Join(e.dir, "saved.csv")
	r = e.call("", "journal", "export", journal, "--secrets-out", saved)
	e.wantCode(r, 0)
	e.checkSecretsFile(saved, 5)
}

// A bulk run whose results cannot be written (stdout on a full disk) says
// so and fails, rather than exiting 0 with the rows lost (issue 14).
func TestBulkStdoutWriteError(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("this test needs /dev/full: %v", err)
	}
	defer full.Close()
	e := newEnv(t, bulkState(5), simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, 5)
	journal := filepath.Join(e.dir, "run.journal")
	cmd := exec.Command(binPath, "account", "passwd", "--from", in, "--generate", "--journal", journal)
	cmd.Env = e.vars
	cmd.Dir = e.dir
	cmd.Stdout = full
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	if err == nil {
		t.Fatalf("exit 0 with every result lost:\n%s", stderr.String())
	}
	if want := "writing the results to standard output"; !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "journal show "+journal) {
		t.Errorf("stderr should report the write error and name the journal:\n%s", stderr.String())
	}
	if got := e.srv.Sim.Stats().PasswordChanges; got != 5 {
		t.Errorf("%d changes, want 5", got)
	}
}

// TestBulkAutoConcurrency runs a bulk change against a server that takes
// two calls at once and turns away (503, Retry-After: 1) what does not fit
// in a queue of one: with the default --concurrency auto, every row still
// succeeds, and -v logs the pace the run found.
func TestBulkAutoConcurrency(t *testing.T) {
	const rows = 40
	e := newEnv(t, bulkState(rows), simulator.Options{Capacity: simulator.Capacity{
		Limit: 2, ServiceTime: 20 * time.Millisecond, QueueLimit: 1}})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, rows)
	r := e.call("", "-v", "account", "passwd", "--from", in, "--generate", "--journal", filepath.Join(e.dir, "auto.journal"),
		"--secrets-out", filepath.Join(e.dir, "new.csv"), "-o", "jsonl")
	e.wantCode(r, 0)
	if n := strings.Count(strings.TrimSpace(r.stdout), "\n") + 1; n != rows {
		t.Errorf("%d result rows, want %d", n, rows)
	}
	// The server holds two calls and queues one: whatever the controller
	// starts at, it must have backed off at least once, and said so.
	if !regexp.MustCompile(`concurrency \d+ → \d+`).MatchString(r.stderr) {
		t.Errorf("-v should log the concurrency changes:\n%s", r.stderr)
	}
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.Contains(l, "concurrency") && !strings.HasPrefix(l, "cpctl: ") {
			t.Errorf("a pace log line without the cpctl: prefix: %q", l)
		}
	}
}

func TestBulkConcurrencyFlag(t *testing.T) {
	e := newEnv(t, bulkState(2), simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, 2)
	for _, args := range [][]string{{"--concurrency", "0"}, {"--concurrency", "fast"}, {"--max-concurrency", "0"}} {
		r := e.call("", append([]string{"account", "passwd", "--from", in, "--generate", "--validate"}, args...)...)
		e.wantCode(r, 2)
		if !strings.Contains(r.stderr, "concurrency") {
			t.Errorf("%v: the error should name the flag:\n%s", args, r.stderr)
		}
	}
	r := e.call("", "account", "passwd", "--from", in, "--generate", "--validate", "--concurrency", "3")
	e.wantCode(r, 0)
}

// requestCounter is a simulator request log that closes reached once n
// requests whose log line contains match were answered.
type requestCounter struct {
	match   string
	n       int
	reached chan struct{}

	mu   sync.Mutex
	seen int
}

func (c *requestCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.Contains(string(p), c.match) {
		if c.seen++; c.seen == c.n {
			close(c.reached)
		}
	}
	return len(p), nil
}

// TestBulkStopsOnRefusedCredentials revokes the token under a bulk run: the
// run stops sending after the first refusal instead of trying the bad token
// once per row (a server's brute-force protection counts every one), exits 3
// and names the profile to check; with the token working again, a resume
// finishes every row, the refused ones included.
func TestBulkStopsOnRefusedCredentials(t *testing.T) {
	const rows, conc = 40, 2
	e := newEnv(t, bulkState(rows), simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, rows)
	journal := filepath.Join(e.dir, "denied.journal")
	e.srv.Sim.SetFault("", simulator.Fault{Kind: simulator.FaultTokenDenied})
	// A single change names the command that checks the credentials.
	r := e.call("", "account", "passwd", "user0001", "--generate")
	e.wantCode(r, 3)
	if !strings.Contains(r.stderr, "check the profile's credentials with: cpctl profile test whm") {
		t.Errorf("a single change refused for its credentials should say how to check them:\n%s", r.stderr)
	}
	r = e.call("", "whmapi1", "listaccts")
	e.wantCode(r, 3)
	if !strings.Contains(r.stderr, "check the profile's credentials with: cpctl profile test whm") {
		t.Errorf("an API call refused for its credentials should say how to check them:\n%s", r.stderr)
	}
	before := e.srv.Sim.Stats().Requests
	r = e.call("", "account", "passwd", "--from", in, "--generate", "--journal", journal,
		"--concurrency", strconv.Itoa(conc), "-o", "jsonl")
	e.wantCode(r, 3)
	// The minimum-strength look-up and the rows in flight when the first
	// refusal came back may reach the server; not one request per row.
	if sent := e.srv.Sim.Stats().Requests - before; sent > conc+2 {
		t.Errorf("the server saw %d requests for %d rows with a refused token", sent, rows)
	}
	if got := strings.Count(r.stdout, "\n"); got != rows {
		t.Errorf("%d result lines, want one per row (%d):\n%s", got, rows, r.stdout)
	}
	if !strings.Contains(r.stderr, "profile whm: the server refused its credentials") ||
		!strings.Contains(r.stderr, "cpctl profile test whm") || !strings.Contains(r.stderr, "--resume "+journal) {
		t.Errorf("the end of the run should name the profile, how to check it and how to resume:\n%s", r.stderr)
	}
	e.noSecrets(r)
	r = e.call("", "journal", "show", journal, "-o", "json")
	e.wantCode(r, 0)
	var st struct {
		Failed, Pending int
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Failed != 0 || st.Pending != rows {
		t.Errorf("journal show: %+v (%v), want every row pending", st, err)
	}
	e.srv.Sim.SetFault("", simulator.Fault{})
	changes := e.srv.Sim.Stats().PasswordChanges
	r = e.call("", "account", "passwd", "--resume", journal, "-o", "jsonl")
	e.wantCode(r, 0)
	if got := e.srv.Sim.Stats().PasswordChanges - changes; got != rows {
		t.Errorf("the resume changed %d passwords, want %d", got, rows)
	}
}

// TestBulkStopsOnAWrongPin: a certificate that does not match the pin fails
// every row alike (and may be someone in between), so the run stops
// connecting after the first, exits 4 and names the profile; with the pin
// right again a resume finishes every row.
func TestBulkStopsOnAWrongPin(t *testing.T) {
	const rows = 20
	e := newEnv(t, bulkState(rows), simulator.Options{})
	e.writeConfig()
	wrong := "sha256:" + strings.Repeat("ab", 32)
	r := e.call(simulator.SampleRootToken+"\n", "profile", "add", "pinned", "--url", e.srv.WHMURL, "--kind", "whm",
		"--token-stdin", "--tls-fingerprint", wrong, "--skip-check")
	e.wantCode(r, 0)
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, rows)
	journal := filepath.Join(e.dir, "pin.journal")
	r = e.call("", "-p", "pinned", "account", "passwd", "--from", in, "--generate", "--journal", journal, "--concurrency", "2", "-o", "jsonl")
	e.wantCode(r, 4)
	if !strings.Contains(r.stderr, "cpctl: profile pinned: ") || !strings.Contains(r.stderr, "does not match the pin") ||
		!strings.Contains(r.stderr, "no more of its rows were sent") {
		t.Errorf("the run should say why the profile stopped:\n%s", r.stderr)
	}
	if n := strings.Count(r.stdout, "an earlier row of this profile failed"); n < rows-2 {
		t.Errorf("%d rows recorded as stopped, want at least %d:\n%s", n, rows-2, r.stdout)
	}
	r = e.call(simulator.SampleRootToken+"\n", "profile", "add", "pinned", "--replace", "--url", e.srv.WHMURL, "--kind", "whm",
		"--token-stdin", "--tls-fingerprint", e.srv.Fingerprint)
	e.wantCode(r, 0)
	r = e.call("", "account", "passwd", "--resume", journal, "-o", "jsonl")
	e.wantCode(r, 0)
	if got := strings.Count(r.stdout, `"ok":true`); got != rows {
		t.Errorf("the resume changed %d rows, want %d", got, rows)
	}
}
