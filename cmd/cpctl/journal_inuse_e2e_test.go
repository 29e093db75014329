package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// TestJournalShowDuringRun runs journal show and export while a slow bulk
// run holds its journal: they say the run is still going, count what is
// done so far (in_use in -o json) and never advise a resume, which the
// run's lock would refuse. Once the run ends, show prints the final counts
// with nothing on stderr.
//
// The run is a process of its own on real time, against a simulator whose
// every call takes a second: its four rows, one at a time, last four
// seconds, and the test looks at the journal once the first row's outcome
// is in it, with three rows still to go.
func TestJournalShowDuringRun(t *testing.T) {
	const rows = 4
	e := newEnv(t, bulkState(rows), simulator.Options{Latency: time.Second})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, rows)
	journal := filepath.Join(e.dir, "run.journal")
	out := filepath.Join(e.dir, "new.csv")
	cmd := exec.Command(binPath, "account", "passwd", "--from", in, "--generate", "--journal", journal, "--concurrency", "1", "--secrets-out", out)
	cmd.Env = e.vars
	cmd.Dir = e.dir
	var runErr strings.Builder
	cmd.Stderr = &runErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	// The journal is another process's file: nothing signals its records,
	// so look for the first outcome every few milliseconds.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if data, _ := os.ReadFile(journal); bytes.Contains(data, []byte(`{"t":"outcome"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no row was done after 30s; the run said:\n%s", runErr.String())
		}
	}

	const stillGoing = "cpctl: the run is still going (its journal is locked): run journal show again when it ends\n"
	show := e.run("", "journal", "show", journal)
	e.wantCode(show, 0)
	for _, want := range []string{"rows:      4\n", " so far\n", "pending:   "} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("journal show during the run lacks %q:\n%s", want, show.stdout)
		}
	}
	if show.stderr != stillGoing {
		t.Errorf("journal show during the run: stderr %q, want %q", show.stderr, stillGoing)
	}
	asJSON := e.run("", "journal", "show", journal, "-o", "json")
	e.wantCode(asJSON, 0)
	type status struct {
		InUse   *bool `json:"in_use"`
		Pending int   `json:"pending"`
	}
	var st status
	if err := json.Unmarshal([]byte(asJSON.stdout), &st); err != nil || st.InUse == nil || !*st.InUse || st.Pending == 0 {
		t.Errorf("journal show -o json during the run (%v): want in_use true and rows pending:\n%s", err, asJSON.stdout)
	}
	export := e.run("", "journal", "export", journal, "--secrets-out", "-")
	e.wantCode(export, 5)
	if want := "; the run is still going (its journal is locked): export again when it ends\n"; !strings.HasPrefix(export.stderr, "cpctl: partial export: journal "+journal+": ") || !strings.HasSuffix(export.stderr, want) {
		t.Errorf("journal export during the run: stderr %q, want a partial export that ends %q", export.stderr, want)
	}
	during := []result{show, asJSON, export}
	for _, r := range during {
		if strings.Contains(r.stdout+r.stderr, "--resume") {
			t.Errorf("advised a resume while the run holds the journal:\n%s%s", r.stdout, r.stderr)
		}
	}

	waited = true
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the run: %v\n%s", err, runErr.String())
	}
	show = e.run("", "journal", "show", journal)
	e.wantCode(show, 0)
	if strings.Contains(show.stdout, "so far") || !strings.Contains(show.stdout, "succeeded: 4\n") || !strings.Contains(show.stdout, "pending:   0\n") || show.stderr != "" {
		t.Errorf("journal show after the run: stderr %q, stdout:\n%s", show.stderr, show.stdout)
	}
	asJSON = e.run("", "journal", "show", journal, "-o", "json")
	e.wantCode(asJSON, 0)
	st = status{}
	if err := json.Unmarshal([]byte(asJSON.stdout), &st); err != nil || st.InUse == nil || *st.InUse {
		t.Errorf("journal show -o json after the run (%v): want in_use false:\n%s", err, asJSON.stdout)
	}
	// No password in anything shown, during the run or after it; the
	// partial export holds the rows done then, with their final passwords.
	secrets := e.checkSecretsFile(out, rows)
	var passwords []string
	for _, pw := range secrets {
		passwords = append(passwords, pw)
	}
	for _, r := range []result{during[0], during[1], show, asJSON} {
		e.noSecrets(r, passwords...)
	}
	exported := csvRecords(t, during[2].stdout)[1:]
	if len(exported) == 0 || len(exported) == rows {
		t.Errorf("the export during the run has %d rows, want those done then", len(exported))
	}
	for _, rec := range exported {
		if secrets[rec[0]] != rec[1] {
			t.Errorf("the export during the run gave %s a password that is not its final one", rec[0])
		}
	}
}
