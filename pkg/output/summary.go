package output

import (
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/cpctl/cpctl/pkg/termsafe"
)

// MaxFailures is how many failed rows a bulk run's summary names; the rest
// are counted, and `journal show` lists them all.
const MaxFailures = 20

// FailedRow is a row of a bulk run that did not succeed, as its summary
// names it.
type FailedRow struct {
	Line    int // where the row starts in the input; 0 when unknown
	Target  string
	Profile string
	Message string
}

// Failures collects the failed rows of a bulk run for its summary: the
// first MaxFailures, and a count of the rest, so memory stays flat however
// many rows fail. The zero value is ready to use; it is not safe for
// concurrent use (a bulk run reports results one at a time).
type Failures struct {
	rows []FailedRow
	more int
}

// Add records a failed row.
func (f *Failures) Add(r FailedRow) {
	if len(f.rows) < MaxFailures {
		f.rows = append(f.rows, r)
		return
	}
	f.more++
}

// Len is the number of rows added.
func (f *Failures) Len() int { return len(f.rows) + f.more }

// SummaryInput is what the end of a bulk run at a terminal says.
type SummaryInput struct {
	Journal                  string
	Total, Succeeded, Failed int
	// Skipped rows finished in an earlier run of the same journal.
	Skipped int
	// Pending rows have no final outcome: resuming sends them again.
	Pending     int
	Interrupted bool
	Failures    *Failures
	// SecretsOut is the file the run writes the new passwords to, if any;
	// without one, the summary says how to export them.
	SecretsOut string
	// Width is the terminal's width: longer failure lines are cut with
	// "…". Commands are never cut. 0 means unknown.
	Width int
}

// Summary writes the end of a bulk run for a person at a terminal: the
// counts, the failed rows (the first MaxFailures, then how many more), the
// journal, and the exact commands that resume the run, list every failure
// and export the new passwords. Every line starts with "cpctl: ", like all
// of cpctl's stderr; untrusted text (messages, targets) is made safe.
func Summary(w io.Writer, in SummaryInput) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d succeeded, %d failed", Count(in.Total, "row"), in.Succeeded, in.Failed)
	if in.Skipped > 0 {
		fmt.Fprintf(&b, " (%d finished in an earlier run)", in.Skipped)
	}
	lines := []string{b.String()}
	journal := ShellQuote(in.Journal)
	if f := in.Failures; f != nil && f.Len() > 0 {
		lines = append(lines, "not changed:")
		lines = append(lines, failureLines(f, in.Width)...)
		if f.more > 0 {
			lines = append(lines, fmt.Sprintf("  ... and %d more: cpctl journal show %s", f.more, journal))
		}
	}
	lines = append(lines, "journal (it holds the new passwords: keep it private): "+journal)
	if in.Pending > 0 {
		// The command that resumes them is the run's last line, its error.
		why := "not settled (no usable reply, or not sent)"
		if in.Interrupted {
			why = "not done (interrupted)"
		}
		lines = append(lines, Count(in.Pending, "row")+" "+why)
	}
	if in.Failures != nil && in.Failures.Len() > 0 && in.Failures.more == 0 {
		lines = append(lines, "every failure: cpctl journal show "+journal)
	}
	if in.SecretsOut == "" && in.Succeeded+in.Skipped > 0 {
		lines = append(lines, "the new passwords, as CSV: cpctl journal export "+journal+" --secrets-out new-passwords.csv")
	}
	if _, err := io.WriteString(w, "cpctl: "+strings.Join(lines, "\ncpctl: ")+"\n"); err != nil {
		return fmt.Errorf("output: summary: %w", err)
	}
	return nil
}

// Count is n and noun, plural unless n is 1: "1 row", "2 rows" (an s
// added, as every noun cpctl counts takes).
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// CountVerb is Count followed by the verb that agrees with it: one for 1,
// many otherwise ("1 row is", "2 rows are").
func CountVerb(n int, noun, one, many string) string {
	if n == 1 {
		return Count(n, noun) + " " + one
	}
	return Count(n, noun) + " " + many
}

// maxTargetColumn bounds the aligned target column of the failure lines, so
// one very long address does not push every message off the screen.
const maxTargetColumn = 32

// failureLines lists failed rows as "  line N  TARGET  [PROFILE]  MESSAGE",
// aligned, each cut to width.
func failureLines(f *Failures, width int) []string {
	type cellsOf struct{ where, target, msg string }
	cs := make([]cellsOf, len(f.rows))
	whereW, targetW := 0, 0
	for i, r := range f.rows {
		where := ""
		if r.Line > 0 {
			where = fmt.Sprintf("line %d", r.Line)
		}
		target := termsafe.Bounded(r.Target, 200)
		if r.Profile != "" {
			target += " (" + termsafe.Bounded(r.Profile, 64) + ")"
		}
		cs[i] = cellsOf{where, ellipsis(target, maxTargetColumn), termsafe.Bounded(r.Message, 1000)}
		whereW = max(whereW, len(where))
		targetW = max(targetW, twwidth.Width(cs[i].target))
	}
	lines := make([]string, len(cs))
	for i, c := range cs {
		l := "  " + c.where + strings.Repeat(" ", whereW-len(c.where)) + "  " +
			c.target + strings.Repeat(" ", targetW-twwidth.Width(c.target)) + "  " + c.msg
		l = strings.TrimRight(l, " ")
		if width > 0 {
			l = ellipsis(l, width-len("cpctl: "))
		}
		lines[i] = l
	}
	return lines
}

// ShellQuote quotes s for a POSIX shell when it needs it, so a printed
// command can be pasted as it is. The result is made safe for a terminal
// (pkg/termsafe), since a path can hold control characters too.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./:@%+=,", r))
	}) < 0 {
		return s
	}
	return termsafe.String("'" + strings.ReplaceAll(s, "'", `'\''`) + "'")
}
