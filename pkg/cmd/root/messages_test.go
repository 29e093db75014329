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
