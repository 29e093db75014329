//go:build unix

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
	"go.yaml.in/yaml/v3"
)

// simProc is a cpanel-sim process this test started: its ready file's
// values, its dump file and its request log.
type simProc struct {
	t          *testing.T
	cmd        *exec.Cmd
	exited     chan error
	ready      map[string]string
	dump, cert string
	log        *syncBuffer
}

// syncBuffer is the process's stderr: exec copies into it from a goroutine
// while the test may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startSimBinary builds cmd/cpanel-sim and runs it as an operator would:
// a state file, a certificate kept in --cert-dir, every request logged,
// --dump for SIGUSR1 and exit, and the ready file waited for.
func startSimBinary(t *testing.T, dir string, state *simulator.State, latency time.Duration) *simProc {
	t.Helper()
	bin := filepath.Join(dir, "cpanel-sim")
	if out, err := exec.Command("go", "build", "-o", bin, "../cpanel-sim").CombinedOutput(); err != nil {
		t.Fatalf("build cpanel-sim: %v\n%s", err, out)
	}
	// The state file holds the old passwords in plaintext, as an
	// operator's would: the simulator hashes them on load.
	data, err := yaml.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(dir, "state.yaml")
	if err := os.WriteFile(statePath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &simProc{t: t, exited: make(chan error, 1), dump: filepath.Join(dir, "dump.yaml"), cert: filepath.Join(dir, "certs"), log: &syncBuffer{}}
	readyFile := filepath.Join(dir, "ready")
	p.cmd = exec.Command(bin, "--state", statePath, "--listen", "127.0.0.1:0", "--cpanel-listen", "127.0.0.1:0",
		"--cert-dir", p.cert, "--ready-file", readyFile, "--dump", p.dump, "--latency", latency.String(), "--log")
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	// The ready file appears, whole, once both listeners are up.
	p.ready = map[string]string{}
	p.waitFor("the ready file", func() bool {
		data, err := os.ReadFile(readyFile)
		if err != nil {
			return false
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			k, v, ok := strings.Cut(line, ": ")
			if !ok {
				t.Fatalf("ready file line %q", line)
			}
			p.ready[k] = v
		}
		return true
	})
	if p.ready["pid"] != strconv.Itoa(p.cmd.Process.Pid) || !strings.HasPrefix(p.ready["whm-url"], "https://127.0.0.1:") ||
		!strings.HasPrefix(p.ready["cpanel-url"], "https://127.0.0.1:") {
		t.Fatalf("ready file: %v", p.ready)
	}
	return p
}

// waitFor polls cond every few milliseconds: the other process tells this
// one nothing when it is done. The process exiting meanwhile fails the test.
func (p *simProc) waitFor(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case err := <-p.exited:
			p.t.Fatalf("cpanel-sim exited (%v) before %s:\n%s", err, what, p.log.String())
		case <-deadline:
			p.t.Fatalf("no %s from cpanel-sim after 15s:\n%s", what, p.log.String())
		case <-tick.C:
		}
	}
}

// snapshot asks the running simulator for a dump (SIGUSR1) and loads it
// into a simulator of its own, whose CheckPasswordOf reads the dumped hashes.
func (p *simProc) snapshot() *simulator.Simulator {
	p.t.Helper()
	if err := os.Remove(p.dump); err != nil && !os.IsNotExist(err) {
		p.t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		p.t.Fatal(err)
	}
	var st *simulator.State
	p.waitFor("a dump after SIGUSR1", func() bool {
		var err error
		st, err = simulator.LoadState(p.dump) // written atomically: all or nothing
		return err == nil
	})
	return simulator.New(st, simulator.Options{})
}

// stop sends SIGTERM, which lets the calls in flight finish and writes the
// final dump, and returns that dump's text and its simulator.
func (p *simProc) stop() (string, *simulator.Simulator) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			p.t.Fatalf("cpanel-sim after SIGTERM: %v\n%s", err, p.log.String())
		}
	case <-time.After(15 * time.Second):
		p.t.Fatal("cpanel-sim did not exit on SIGTERM")
	}
	raw, err := os.ReadFile(p.dump)
	if err != nil {
		p.t.Fatal(err)
	}
	st, err := simulator.ParseState(raw)
	if err != nil {
		p.t.Fatal(err)
	}
	return string(raw), simulator.New(st, simulator.Options{})
}

// targets lists every login of the state a rotation covers, "kind target":
// each account, and its FTP sub-accounts, mailboxes, database users and
// Web Disk logins (not root or the resellers).
func targets(st *simulator.State) []string {
	var out []string
	for name, a := range st.Accounts {
		out = append(out, simulator.KindAccount+" "+name)
		for _, f := range a.FTP {
			out = append(out, simulator.KindFTP+" "+f.User+"@"+f.Domain)
		}
		for _, m := range a.Mail {
			out = append(out, simulator.KindEmail+" "+m.Address)
		}
		for _, u := range a.MySQL {
			out = append(out, simulator.KindMySQL+" "+u.User)
		}
		for _, u := range a.PostgreSQL {
			out = append(out, simulator.KindPostgreSQL+" "+u.User)
		}
		for _, w := range a.WebDisk {
			out = append(out, simulator.KindWebDisk+" "+w.Login)
		}
	}
	return out
}

// TestSimBinaryEndToEnd is the "done when" against the cpanel-sim
// binary rather than the in-process simulator: a profile pinned to the
// fingerprint of the ready file; db, webdisk, email and ftp passwd with
// the owner found; then `rotate --all --secrets-command` killed with SIGKILL at
// random moments (ROTATE_SEED replays them) and resumed until done. After
// SIGTERM the simulator's dump holds, for every login, the password last
// delivered for it, and no password in plaintext.
func TestSimBinaryEndToEnd(t *testing.T) {
	accounts, kills := 6, 6
	if testing.Short() {
		accounts, kills = 2, 2
	}
	rng := seededRand(t)
	state := rotateState(accounts)
	e := newBareEnv(t)
	sim := startSimBinary(t, t.TempDir(), state, 8*time.Millisecond)

	// The fingerprint of the ready file is the certificate's in --cert-dir.
	certPEM, err := os.ReadFile(filepath.Join(sim.cert, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("cert.pem holds no PEM block")
	}
	sum := sha256.Sum256(block.Bytes)
	if fp := sim.ready["fingerprint"]; !strings.EqualFold(strings.ReplaceAll(strings.TrimPrefix(fp, "sha256:"), ":", ""), hex.EncodeToString(sum[:])) {
		t.Fatalf("ready file fingerprint %q is not cert.pem's", fp)
	}

	r := e.run(simulator.SampleRootToken+"\n", "profile", "add", "sim", "--url", sim.ready["whm-url"], "--kind", "whm",
		"--cpanel-url", sim.ready["cpanel-url"], "--tls-fingerprint", sim.ready["fingerprint"], "--token-stdin", "--use")
	e.wantCode(r, 0)

	store, storeFile := e.storeScript("", "")

	// One change of each new kind through WHM, no --owner: the owner is found.
	singles := []struct {
		args       []string
		kind, want string
	}{
		{[]string{"db", "passwd", "bob_wp"}, simulator.KindMySQL, "bob_wp"},
		{[]string{"db", "passwd", "bob_app", "--engine", "postgresql"}, simulator.KindPostgreSQL, "bob_app"},
		{[]string{"webdisk", "passwd", "dav@bob.example"}, simulator.KindWebDisk, "dav@bob.example"},
		{[]string{"email", "passwd", "info@bob.example"}, simulator.KindEmail, "info@bob.example"},
		{[]string{"ftp", "passwd", "files@bob.example"}, simulator.KindFTP, "files@bob.example"},
	}
	outputs := make([]string, len(singles))
	for i, s := range singles {
		r := e.run("", append(s.args, "--generate", "--secrets-command", store, "-o", "json")...)
		e.wantCode(r, 0)
		rows := jsonRows(t, r.stdout)
		if len(rows) != 1 || !rows[0].OK || rows[0].Kind != s.kind || rows[0].Target != s.want || rows[0].Owner != "bob" {
			t.Fatalf("%v: rows %+v", s.args, rows)
		}
		outputs[i] = r.stdout + r.stderr
	}
	lines := readStore(t, storeFile)
	if len(lines) != len(singles) {
		t.Fatalf("the store has %d deliveries, want %d", len(lines), len(singles))
	}
	mid := sim.snapshot()
	for i, s := range singles {
		l := lines[i]
		if l.kind != s.kind || l.target != s.want || l.state != "applied" || !mid.CheckPasswordOf(s.kind, s.want, l.password) {
			t.Errorf("%v: delivered %s %s (%s), and the dump has another password", s.args, l.kind, l.target, l.state)
		}
		if strings.Contains(outputs[i], l.password) {
			t.Errorf("%v printed its password", s.args)
		}
	}
	if !mid.CheckPasswordOf(simulator.KindMySQL, "alice_shop", simulator.SampleMySQLPassword) ||
		!mid.CheckPasswordOf(simulator.KindAccount, "bob", simulator.SampleBobPassword) {
		t.Error("a login nobody changed has a new password")
	}

	begin := time.Now()
	journal := filepath.Join(e.dir, "all.journal")
	killed := e.killAndResume(rng, kills, journal, "rotate", "--all", "--secrets-command", store)
	t.Logf("rotate --all: %d kills, done in %v", killed, time.Since(begin).Round(time.Millisecond))

	raw, final := sim.stop()

	// Each login's last delivery (at least once: a resume may deliver a
	// row again, but always with the password of the row's one intent).
	last := map[string]string{}
	rotated := map[string]string{}
	for i, l := range readStore(t, storeFile) {
		key := l.kind + " " + l.target
		if l.state != "applied" {
			t.Errorf("%s delivered as %s", key, l.state)
		}
		if i >= len(singles) {
			if prev, ok := rotated[key]; ok && prev != l.password {
				t.Errorf("the rotation delivered two passwords for %s", key)
			}
			rotated[key] = l.password
		}
		last[key] = l.password
	}
	dumped, err := simulator.ParseState([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	all := targets(dumped)
	if want := (3 + accounts) * 6; len(all) != want || len(rotated) != want || len(last) != want {
		t.Errorf("%d logins on the simulator, %d rotated, %d delivered; want %d", len(all), len(rotated), len(last), want)
	}
	for _, key := range all {
		kind, target, _ := strings.Cut(key, " ")
		pw, ok := last[key]
		switch {
		case !ok:
			t.Errorf("%s: never delivered", key)
		case !final.CheckPasswordOf(kind, target, pw):
			t.Errorf("%s: the simulator's password is not the one last delivered", key)
		}
	}

	// No password in plaintext, old or new, in the dump or the request log.
	plain := []string{simulator.SampleRootPassword, simulator.SampleBobPassword, simulator.SampleMySQLPassword, simulator.SampleWebDiskPassword,
		"Old-Acct-Pass-2024!xyz", "Old-Db-Pass-2024!xyz", "Old-Dav-Pass-2024!xyz"}
	for _, l := range readStore(t, storeFile) {
		plain = append(plain, l.password)
	}
	log := sim.log.String()
	for _, pw := range plain {
		if strings.Contains(raw, pw) || strings.Contains(log, pw) {
			t.Errorf("a password (%s…) is in plaintext in the dump or the request log", pw[:4])
		}
	}
	if strings.Contains(raw, "password:") || !strings.Contains(raw, "password-hash:") {
		t.Error("the dump does not hold hashes only")
	}
	// The owners were found by the server's functions: getdomainowner for
	// the Web Disk, mail and FTP logins, list_database_users for the
	// database users, once each.
	for fn, want := range map[string]int{"getdomainowner": 3, "list_database_users": 2} {
		if n := strings.Count(log, `POST "/json-api/`+fn+`" 200`); n != want {
			t.Errorf("%s called %d times, want %d", fn, n, want)
		}
	}
	if n := strings.Count(log, `POST "/json-api/passwd" 200`); n < 3+accounts {
		t.Errorf("%d account password changes for %d accounts", n, 3+accounts)
	}
}
