package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
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
