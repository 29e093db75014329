package root

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
)

// A journal that is missing, or a file that is not a journal (an input file
// given by mistake), is named once, in one clause: not "open journal: open
// PATH: ...", "journal: journal ...", or "journal PATH: journal damaged".
func TestJournalErrorsNameTheJournalOnce(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "run.journal")
	notJournal := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(notJournal, []byte("user\nbob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const noHeader = ": no header record: not a cpctl journal, or damaged"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"show, missing", []string{"journal", "show", missing}, "journal " + missing + ": no such file or directory"},
		{"export, missing", []string{"journal", "export", missing, "--secrets-out", filepath.Join(dir, "a.csv")}, "journal " + missing + ": no such file or directory"},
		{"resume, missing", []string{"account", "passwd", "--resume", missing}, "--resume: journal " + missing + ": no such file or directory"},
		{"show, not a journal", []string{"journal", "show", notJournal}, "journal " + notJournal + noHeader},
		{"export, not a journal", []string{"journal", "export", notJournal, "--secrets-out", filepath.Join(dir, "b.csv")}, "journal " + notJournal + noHeader},
		{"resume, not a journal", []string{"account", "passwd", "--resume", notJournal}, "--resume: journal " + notJournal + noHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, "", tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if got := oneLine(err); got != tt.want {
				t.Errorf("error %q, want %q", got, tt.want)
			}
			if code := cmdutil.ExitCode(err); code != cmdutil.ExitUsage {
				t.Errorf("exit %d, want %d", code, cmdutil.ExitUsage)
			}
		})
	}
}

// A bad input file is listed a row per line and counted in rows: a row bad
// in two ways is one line and one row, one row is "1 invalid row", and an
// empty file, which has no rows, is one line that says so.
func TestInvalidInputCountsRows(t *testing.T) {
	const header = "cpctl: line 1: "
	tests := []struct {
		name, input string
		stderr      string
		err         string
	}{
		{"a row bad twice", "user,password\nbob,\n,x\nbob,\n",
			"cpctl: line 2: missing password (give one, or use --generate)\n" +
				"cpctl: line 3: missing user\n" +
				"cpctl: line 4: missing password (give one, or use --generate); duplicate of line 2 (same profile and user)\n",
			"3 invalid rows in the input; nothing was sent"},
		{"one bad row", "user,password\nbob,Pass-2026!xyz-long\nbad user,Pass-2026!xyz-long\n",
			"cpctl: line 3: user \"bad user\" contains a space or control character\n",
			"1 invalid row in the input; nothing was sent"},
		{"empty", "", "",
			"the input is empty: want a header row naming the columns (user, and optionally owner, password, profile); nothing was sent"},
		{"bad header", "usr\nbob\n", header + "header: unknown column \"usr\" (columns: user, and optionally owner, password, profile)\n",
			"1 invalid row in the input; nothing was sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "users.csv")
			if err := os.WriteFile(in, []byte(tt.input), 0o600); err != nil {
				t.Fatal(err)
			}
			_, stderr, err := run(t, "", "account", "passwd", "--from", in, "--validate")
			if err == nil || oneLine(err) != tt.err {
				t.Errorf("error %v, want %q", err, tt.err)
			}
			if stderr != tt.stderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, tt.stderr)
			}
			if code := cmdutil.ExitCode(err); code != cmdutil.ExitUsage {
				t.Errorf("exit %d, want %d", code, cmdutil.ExitUsage)
			}
		})
	}
}
