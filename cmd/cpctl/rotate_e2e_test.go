package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// rotateState is the sample state, carol no longer suspended (so that every
// row of a rotation can succeed), and n more accounts with a login of every
// kind.
func rotateState(n int) *simulator.State {
	st := simulator.SampleState()
	st.Accounts["carol"].Suspended = false
	for i := range n {
		name := fmt.Sprintf("acct%02d", i)
		domain := name + ".example"
		a := st.AddAccount(name, "root", domain, "Old-Acct-Pass-2024!xyz")
		a.FTP = []simulator.FTPUser{{User: "up", Domain: domain, Password: "Old-Ftp-Pass-2024!xyz"}}
		a.Mail = []simulator.MailUser{{Address: "info@" + domain, Password: "Old-Mail-Pass-2024!xyz"}}
		a.MySQL = []simulator.DBUser{{User: name + "_wp", Databases: []string{name + "_wp"}, Password: "Old-Db-Pass-2024!xyz"}}
		a.PostgreSQL = []simulator.DBUser{{User: name + "_pg", Databases: []string{name + "_pg"}, Password: "Old-Pg-Pass-2024!xyz"}}
		a.WebDisk = []simulator.WebDiskUser{{Login: "dav@" + domain, Password: "Old-Dav-Pass-2024!xyz"}}
	}
	return st
}

// TestRotateKill9Resume is the issue's "done when": `cpctl rotate --all
// --secrets-command ...` is killed with SIGKILL at random moments (seeded:
// the seed is logged, and ROTATE_SEED replays it) and resumed each time
// until it finishes. Then every row of the plan has one password in the
// journal, the simulator has exactly that password, and the password store
// received exactly that password for it (at least once, never another).
func TestRotateKill9Resume(t *testing.T) {
	accounts, kills := 12, 8
	if testing.Short() {
		accounts, kills = 4, 3
	}
	rng := seededRand(t)

	e := newEnv(t, rotateState(accounts), simulator.Options{Latency: 8 * time.Millisecond})
	e.writeConfig()
	store, storeFile := e.storeScript("", "")
	journal := filepath.Join(e.dir, "all.journal")
	rows := (3 + accounts) * 6 // alice, bob, carol and the others: six passwords each

	killed := e.killAndResume(rng, kills, journal, "rotate", "--all", "--secrets-command", store)
	t.Logf("%d kills", killed)

	// One password per row in the journal's intents.
	intents := map[int]string{}
	fh, err := os.Open(journal)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct {
			T, Password string
			Seq         int
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("journal line is not JSON: %v", err)
		}
		if rec.T != "intent" {
			continue
		}
		if prev, ok := intents[rec.Seq]; ok && prev != rec.Password {
			t.Fatalf("row %d was sent with two different passwords", rec.Seq)
		}
		intents[rec.Seq] = rec.Password
	}
	if len(intents) != rows {
		t.Fatalf("intents for %d rows, want %d", len(intents), rows)
	}

	// The passwords the journal says the server has, one per row of every
	// kind, are the server's.
	r := e.call("", "journal", "export", journal, "--secrets-out", "-")
	e.wantCode(r, 0)
	recs := csvRecords(t, r.stdout)
	if strings.Join(recs[0], ",") != "kind,target,password,owner" || len(recs)-1 != rows {
		t.Fatalf("export: header %v, %d rows, want %d", recs[0], len(recs)-1, rows)
	}
	exported := map[string]string{}
	kinds := map[string]int{}
	for _, rec := range recs[1:] {
		kind, target, pw := rec[0], rec[1], rec[2]
		exported[kind+" "+target] = pw
		kinds[kind]++
		if !e.srv.Sim.CheckPasswordOf(kind, target, pw) {
			t.Errorf("%s %s: the journal's password is not the server's", kind, target)
		}
	}
	for _, k := range []string{"account", "ftp", "webdisk", "email", "mysql", "postgresql"} {
		if kinds[k] != 3+accounts {
			t.Errorf("%d %s rows, want %d", kinds[k], k, 3+accounts)
		}
	}

	// The store got each row's password, never another one.
	delivered := map[string]string{}
	for _, l := range readStore(t, storeFile) {
		key := l.kind + " " + l.target
		if prev, ok := delivered[key]; ok && prev != l.password {
			t.Errorf("%s was delivered with two different passwords", key)
		}
		delivered[key] = l.password
	}
	for key, pw := range exported {
		if delivered[key] != pw {
			t.Errorf("%s: the store does not have the server's password", key)
		}
	}
	if len(delivered) != rows {
		t.Errorf("the store has %d targets, want %d", len(delivered), rows)
	}
	r = e.call("", "journal", "show", journal, "-o", "json")
	e.wantCode(r, 0)
	var st struct{ Total, Succeeded, Pending, Undelivered int }
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Total != rows || st.Succeeded != rows || st.Pending != 0 || st.Undelivered != 0 {
		t.Errorf("journal show: %+v %v", st, err)
	}
	e.noSecrets(r, mapValues(exported)...)
}

// seededRand is a test's source of random kill moments: its seed is logged,
// and ROTATE_SEED=N replays it.
func seededRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ROTATE_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ROTATE_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d (ROTATE_SEED=%d replays it)", seed, seed)
	return rand.New(rand.NewPCG(seed, 18))
}

// killAndResume runs the bulk command first (which must take --journal
// journal's place: it is added here) and kills it with SIGKILL after a
// random 20–140 ms; once the journal is planned, it runs "--resume journal"
// and kills that the same way, kills times in all (or until a run finishes
// before its kill). A run killed before it wrote its journal planned
// nothing and is started again. Then a last resume, never killed, must
// finish the run with exit 0. It returns how many planned runs were killed.
func (e *env) killAndResume(rng *rand.Rand, kills int, journal string, first ...string) int {
	e.t.Helper()
	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command(binPath, args...)
		cmd.Env, cmd.Dir = e.vars, e.dir
		if err := cmd.Start(); err != nil {
			e.t.Fatal(err)
		}
		return cmd
	}
	command := first[0]
	planned, killed, early := false, 0, 0
	for killed < kills {
		var cmd *exec.Cmd
		if !planned {
			cmd = start(append(first, "--journal", journal, "--concurrency", "4", "-o", "jsonl")...)
			if early >= 3 {
				// A slow machine: let this run plan before it is killed.
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
					if _, err := os.Stat(journal); err == nil {
						break
					}
				}
			}
		} else {
			cmd = start(command, "--resume", journal, "--concurrency", "4", "-o", "jsonl")
		}
		time.Sleep(time.Duration(20+rng.IntN(120)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if !planned {
			if _, serr := os.Stat(journal); serr != nil {
				early++
				continue // killed while listing: nothing was planned, nothing sent
			}
			planned = true
		}
		if err == nil {
			break // it finished before the kill
		}
		killed++
	}
	if !planned {
		e.t.Fatal("the run never planned its journal")
	}
	e.wantCode(e.resumeAfterKill(command, "--resume", journal, "-o", "jsonl"), 0)
	return killed
}

// resumeAfterKill runs a resume (args) in-process right after its run was
// killed, as a supervisor restarting the job would. A child the killed run
// was starting (a secrets command between fork and exec) may hold the
// journal's lock for a moment; the resume itself waits for it (batch's
// lockWait), so no retry here: a refusal is a failure users would see.
func (e *env) resumeAfterKill(args ...string) result {
	e.t.Helper()
	return e.call("", args...)
}
