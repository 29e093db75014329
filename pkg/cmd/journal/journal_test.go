package journal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/fate"
	"github.com/cpctl/cpctl/pkg/output"
)

// show and export run in-process on options filled by hand: a planned
// journal whose row was never sent is pending, and its export is partial.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	journal := filepath.Join(dir, "run.journal")
	if _, err := batch.Plan(journal, strings.NewReader("user,password\nbob,Pass-2026!xyz-long\n"), batch.KindAccount,
		map[string]string{"kind": "account", "profile": "whm"}, batch.ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	ios, _, out, errOut := cmdutil.Test()
	o := &Options{IO: ios, Verb: "show", Journal: journal,
		OutputFormat: func() (output.Format, error) { return output.Table, nil },
		Printer:      func() (*output.Printer, error) { return output.New(output.Table, out, false), nil }}
	if err := Run(o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kind:      account\n") || !strings.Contains(out.String(), "pending:   1\n") {
		t.Errorf("journal show printed:\n%s", out)
	}
	if want := "cpctl: 1 row not done: finish with 'cpctl account passwd --resume " + journal + "'\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}

	o.Verb, o.SecretsOut = "export", filepath.Join(dir, "secrets.csv")
	err := Run(o)
	if cmdutil.ExitCode(err) != cmdutil.ExitPartial || !strings.Contains(err.Error(), "partial export") {
		t.Fatalf("export of a pending row: %v (exit %d), want a partial export (exit 5)", err, cmdutil.ExitCode(err))
	}
	// Said once, with the command that finishes the run.
	if want := "partial export: journal " + journal + ": 1 row is not final yet; finish the run with: cpctl account passwd --resume " +
		output.ShellQuote(journal) + ", then export again"; err.Error() != want {
		t.Errorf("export of a pending row: %q, want %q", err, want)
	}
	if data, err := os.ReadFile(o.SecretsOut); err != nil || strings.Contains(string(data), "Pass-2026") {
		t.Errorf("the partial export is missing or holds a password never set (%v):\n%s", err, data)
	}
	o.SecretsOut = ""
	if err := Run(o); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("export without --secrets-out: %v, want a usage error", err)
	}
}

// verb runs a journal verb on options filled by hand and returns what it
// printed.
func verb(t *testing.T, journal string, format output.Format, verb string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	o := &Options{IO: ios, Verb: verb, Journal: journal,
		OutputFormat: func() (output.Format, error) { return format, nil },
		Printer:      func() (*output.Printer, error) { return output.New(format, out, false), nil }}
	for _, a := range args {
		switch a {
		case "--undelivered":
			o.Undelivered = true
		default:
			o.SecretsOut = a
		}
	}
	err = Run(o)
	return out.String(), errOut.String(), err
}

// planJournal plans rows for bob and alice into a new journal.
func planJournal(t *testing.T) string {
	t.Helper()
	journal := filepath.Join(t.TempDir(), "run.journal")
	if _, err := batch.Plan(journal, strings.NewReader("user,password\nbob,Pass-2026!bob-long\nalice,Pass-2026!alice-long\n"), batch.KindAccount,
		map[string]string{"kind": "account", "profile": "whm"}, batch.ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	return journal
}

// inUseLine is journal show's last line while a run holds the journal.
const inUseLine = "cpctl: the run is still going (its journal is locked): run journal show again when it ends\n"

// TestRunInUse runs show and export while a run holds the journal (from
// the run's executor, as its first row is being sent): they say the run is
// still going, count what is done so far, and never advise a resume,
// which would be refused. Once the run ends, show prints the plain counts.
func TestRunInUse(t *testing.T) {
	journal := planJournal(t)
	type printed struct {
		stdout, stderr string
		err            error
	}
	var text, json, yaml, export printed
	exec := func(_ context.Context, r batch.Row, _ string) batch.Outcome {
		if r.Seq == 1 {
			text.stdout, text.stderr, text.err = verb(t, journal, output.Table, "show")
			json.stdout, json.stderr, json.err = verb(t, journal, output.JSON, "show")
			yaml.stdout, yaml.stderr, yaml.err = verb(t, journal, output.YAML, "show")
			export.stdout, export.stderr, export.err = verb(t, journal, output.Table, "export", "-")
		}
		return batch.Outcome{State: fate.Applied}
	}
	if _, err := batch.Resume(context.Background(), journal, batch.RunConfig{Exec: exec, Concurrency: 1}); err != nil {
		t.Fatal(err)
	}

	if text.err != nil {
		t.Fatal(text.err)
	}
	for _, want := range []string{"succeeded: 0 so far\n", "failed:    0 so far\n", "pending:   2 so far (", " in flight: sent or queued to be sent, no answer yet)\n"} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("journal show during the run lacks %q:\n%s", want, text.stdout)
		}
	}
	if text.stderr != inUseLine {
		t.Errorf("journal show during the run: stderr %q, want %q", text.stderr, inUseLine)
	}
	if json.err != nil || !strings.Contains(json.stdout, `"in_use": true`) || json.stderr != "" {
		t.Errorf("journal show -o json during the run (%v): stderr %q, stdout:\n%s", json.err, json.stderr, json.stdout)
	}
	if yaml.err != nil || !strings.Contains(yaml.stdout, "\nin_use: true\n") || yaml.stderr != "" {
		t.Errorf("journal show -o yaml during the run (%v): stderr %q, stdout:\n%s", yaml.err, yaml.stderr, yaml.stdout)
	}
	if want := "partial export: journal " + journal + ": 2 rows are not final yet; the run is still going (its journal is locked): export again when it ends"; export.err == nil || export.err.Error() != want {
		t.Errorf("journal export during the run: %v, want %q", export.err, want)
	} else if cmdutil.ExitCode(export.err) != cmdutil.ExitPartial {
		t.Errorf("journal export during the run: exit %d, want %d", cmdutil.ExitCode(export.err), cmdutil.ExitPartial)
	}
	for _, p := range []printed{text, json, yaml, export} {
		if all := p.stdout + p.stderr + fmt.Sprint(p.err); strings.Contains(all, "--resume") {
			t.Errorf("advised a resume during the run:\n%s", all)
		}
	}

	stdout, stderr, err := verb(t, journal, output.Table, "show")
	if err != nil || strings.Contains(stdout, "so far") || !strings.Contains(stdout, "succeeded: 2\n") || !strings.Contains(stdout, "pending:   0\n") || stderr != "" {
		t.Errorf("journal show after the run (%v): stderr %q, stdout:\n%s", err, stderr, stdout)
	}
	if stdout, _, err := verb(t, journal, output.JSON, "show"); err != nil || !strings.Contains(stdout, `"in_use": false`) {
		t.Errorf("journal show -o json after the run (%v):\n%s", err, stdout)
	}
}

// TestRunInUseDelivering runs show and export while a resume delivers rows
// an earlier run changed: every row is final, so the export is whole, but
// show counts the deliveries so far, and neither advises a resume.
func TestRunInUseDelivering(t *testing.T) {
	journal := planJournal(t)
	applied := func(context.Context, batch.Row, string) batch.Outcome { return batch.Outcome{State: fate.Applied} }
	if _, err := batch.Resume(context.Background(), journal, batch.RunConfig{Exec: applied}); err != nil {
		t.Fatal(err)
	}
	type printed struct {
		stdout, stderr string
		err            error
	}
	var show, export, undelivered printed
	calls := 0
	deliver := func(context.Context, batch.Delivery) error {
		if calls++; calls == 1 {
			show.stdout, show.stderr, show.err = verb(t, journal, output.Table, "show")
			export.stdout, export.stderr, export.err = verb(t, journal, output.Table, "export", "-")
			undelivered.stdout, undelivered.stderr, undelivered.err = verb(t, journal, output.Table, "export", "-", "--undelivered")
		}
		return nil
	}
	if _, err := batch.Resume(context.Background(), journal, batch.RunConfig{Exec: applied, Deliver: deliver}); err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("%d deliveries, want 2", calls)
	}
	if show.err != nil || !strings.Contains(show.stdout, "succeeded: 2 so far\n") || !strings.Contains(show.stdout, "not delivered: 2 so far\n") || show.stderr != inUseLine {
		t.Errorf("journal show while delivering (%v): stderr %q, stdout:\n%s", show.err, show.stderr, show.stdout)
	}
	if export.err != nil || export.stderr != "" || len(csvLines(export.stdout)) != 3 {
		t.Errorf("journal export while delivering (%v): stderr %q, stdout:\n%s", export.err, export.stderr, export.stdout)
	}
	if want := "cpctl: the run is still going (its journal is locked): it may still deliver some of these rows; export again when it ends\n"; undelivered.err != nil || undelivered.stderr != want {
		t.Errorf("journal export --undelivered while delivering (%v): stderr %q, want %q", undelivered.err, undelivered.stderr, want)
	}
	for _, p := range []printed{show, export, undelivered} {
		if all := p.stdout + p.stderr + fmt.Sprint(p.err); strings.Contains(all, "--resume") {
			t.Errorf("advised a resume during the run:\n%s", all)
		}
	}
	// Once the run has ended, all is delivered and nothing is said.
	if stdout, stderr, err := verb(t, journal, output.Table, "show"); err != nil || !strings.Contains(stdout, "not delivered: 0\n") || stderr != "" {
		t.Errorf("journal show after the run (%v): stderr %q, stdout:\n%s", err, stderr, stdout)
	}
}

func csvLines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
