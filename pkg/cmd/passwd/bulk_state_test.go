package passwd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/fate"
)

// TestFailOutcomeState checks how the bulk executor decides a failed row's
// fate: only a server's refusal is final, an unclassified error after
// sending may hide an applied change, and nothing before sending is.
func TestFailOutcomeState(t *testing.T) {
	// As the client reports them: a refusal came in a reply (a status), a
	// lost reply after the request was written, a refused connection before.
	refused := &cpanel.Error{Kind: cpanel.ErrRefused, Status: 200, Written: true, Reason: "weak"}
	auth := &cpanel.Error{Kind: cpanel.ErrAuth, Status: 403, Written: true, Reason: "Access denied"}
	lost := &cpanel.Error{Kind: cpanel.ErrTransport, Written: true, Reason: "connection reset"}
	unsent := &cpanel.Error{Kind: cpanel.ErrTransport, Reason: "connection refused"}
	tests := []struct {
		name  string
		err   error
		sent  bool
		state fate.State
		exit  int
	}{
		{"refused", refused, true, fate.Refused, 1},
		{"refused, wrapped", fmt.Errorf("row: %w", refused), true, fate.Refused, 1},
		{"auth refused", auth, true, fate.Refused, 3},
		{"reply lost", lost, true, fate.Unknown, 4},
		{"unclassified after sending", errors.New("something odd"), true, fate.Unknown, 4},
		{"usage error while sending", cmdutil.Usagef("bad option"), true, fate.NotSent, 2},
		{"profile unusable", cmdutil.Usagef("no such profile"), false, fate.NotSent, 2},
		{"unclassified before sending", errors.New("something odd"), false, fate.NotSent, 4},
		{"login failed on the network", lost, false, fate.NotSent, 4},
		{"login refused", auth, false, fate.NotSent, 3},
		{"connection refused while sending", unsent, true, fate.NotSent, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := failOutcome(tt.err, tt.sent)
			if o.State != tt.state || o.ExitCode() != tt.exit {
				t.Errorf("state %s exit %d, want %s %d", o.State, o.ExitCode(), tt.state, tt.exit)
			}
		})
	}
}

// errWriter fails every write, as standard output on a full disk does.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A run that fails and whose results could not be printed exits with the
// run's own code, and still says that the printed results were lost.
func TestBulkWriteErrorWithFailedRows(t *testing.T) {
	e, _, err := runBulkToFailingStdout(t, "table", "user\nbob\nghost\n")
	if cmdutil.ExitCode(err) != cmdutil.ExitPartial {
		t.Fatalf("exit %d (%v), want 5: one row applied, one refused", cmdutil.ExitCode(err), err)
	}
	if !strings.Contains(e.err.String(), "cpctl: warning: writing the results to standard output: no space left on device") {
		t.Errorf("the lost results are not reported:\n%s", e.err)
	}
}

// A run refused before any row (an invalid input: nothing sent, no journal)
// lost no result on a failing standard output: its own error is all it
// says, not a pointer to a journal that does not exist.
func TestBulkWriteErrorWithInvalidInput(t *testing.T) {
	// JSON: the list's brackets are written even with no row.
	e, o, err := runBulkToFailingStdout(t, "json", "user\n\"bob\n")
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Fatalf("exit %d (%v), want 2: the input is invalid", cmdutil.ExitCode(err), err)
	}
	if _, serr := os.Stat(o.Bulk.Journal); !os.IsNotExist(serr) {
		t.Fatalf("a journal was left: %v", serr)
	}
	if strings.Contains(e.err.String(), "writing the results") {
		t.Errorf("a refused input reports lost results and points at a journal that does not exist:\n%s", e.err)
	}
}

// runBulkToFailingStdout runs a bulk account change of input, with
// generated passwords, printing its results in format to a standard output
// whose every write fails.
func runBulkToFailingStdout(t *testing.T, format, input string) (*deliverEnv, *Options, error) {
	t.Helper()
	e := newDeliverEnv(t, nil)
	e.f.IO.Out = errWriter{}
	e.f.Viper.Set(cmdutil.KeyOutput, format)
	in := filepath.Join(e.dir, "users.csv")
	if err := os.WriteFile(in, []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	o := e.options(Account, "")
	o.Password.Generate, o.Bulk.From, o.Bulk.Journal = true, in, filepath.Join(e.dir, "run.journal")
	return e, o, runBulk(context.Background(), o)
}

// A run that could not go on names its journal once: batch's errors mostly
// name it already, the others get it added.
func TestRunErrNamesTheJournalOnce(t *testing.T) {
	const j = "/var/lib/rotate/run.journal"
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("journal %s: in use by another process (a run that has not ended): try again once it has", j),
			"bulk run: journal " + j + ": in use by another process (a run that has not ended): try again once it has"},
		{errors.New("write: no space left on device"), "bulk run: write: no space left on device (journal " + j + ")"},
	}
	for _, tt := range tests {
		if got := runErr(tt.err, j).Error(); got != tt.want {
			t.Errorf("runErr(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
