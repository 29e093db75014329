package output

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

func failuresOf(n int) *Failures {
	f := &Failures{}
	for i := range n {
		f.Add(FailedRow{Line: 2 + i*7, Target: fmt.Sprintf("user%04d", i*7), Message: failed.Message})
	}
	return f
}

func TestSummaryGolden(t *testing.T) {
	two := &Failures{}
	two.Add(FailedRow{Line: 4, Target: "carol", Message: suspended.Message})
	two.Add(FailedRow{Line: 9, Target: "nosuch@shop.example", Profile: "shop", Message: "User “nosuch” does not exist."})
	hostile := &Failures{}
	hostile.Add(FailedRow{Line: 3, Target: "eve\x1b]0;pwned\x07", Message: "bad\x1b[2J\u202edrow"})
	for _, tc := range []struct {
		name string
		in   SummaryInput
	}{
		{"all-ok", SummaryInput{Journal: "run.journal", Total: 50, Succeeded: 50, SecretsOut: "new.csv", Width: 80}},
		{"two-failed", SummaryInput{Journal: "cpctl-account-20261129T210928Z.journal", Total: 2000, Succeeded: 1998, Failed: 2, Failures: two, Width: 80}},
		{"many-failed", SummaryInput{Journal: "ftp.journal", Total: 100, Succeeded: 75, Failed: 25, Failures: failuresOf(25), SecretsOut: "f.csv", Width: 120}},
		{"interrupted", SummaryInput{Journal: "my runs/it's.journal", Total: 40, Succeeded: 15, Skipped: 5, Pending: 20, Interrupted: true, Width: 80}},
		{"hostile", SummaryInput{Journal: "j", Total: 1, Failed: 1, Failures: hostile, Width: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Summary(&buf, tc.in); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			checkNoEscapes(t, buf.Bytes())
			if strings.ContainsRune(out, '\u202e') || strings.ContainsRune(out, '\a') {
				t.Errorf("control characters reached the terminal: %q", out)
			}
			for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if !strings.HasPrefix(l, "cpctl: ") {
					t.Errorf("line without the cpctl: prefix: %q", l)
				}
				if tc.in.Width > 0 && twwidth.Width(l) > tc.in.Width && !strings.Contains(l, ShellQuote(tc.in.Journal)) {
					t.Errorf("line wider than %d: %q", tc.in.Width, l)
				}
			}
			golden(t, "summary/"+tc.name+".txt", buf.Bytes())
		})
	}
}

func TestSummaryNamesFailures(t *testing.T) {
	for _, n := range []int{1, MaxFailures, MaxFailures + 1, 2000} {
		f := failuresOf(n)
		if f.Len() != n || len(f.rows) != min(n, MaxFailures) {
			t.Fatalf("%d failures: Len %d, kept %d", n, f.Len(), len(f.rows))
		}
		var buf bytes.Buffer
		if err := Summary(&buf, SummaryInput{Journal: "j", Total: n, Failed: n, Failures: f}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for i := range min(n, MaxFailures) {
			if !strings.Contains(out, fmt.Sprintf("line %d ", 2+i*7)) {
				t.Errorf("%d failures: row %d not named", n, i)
			}
		}
		more := fmt.Sprintf("... and %d more: cpctl journal show j", n-MaxFailures)
		if n > MaxFailures && !strings.Contains(out, more) {
			t.Errorf("%d failures: no %q:\n%s", n, more, out)
		}
		if n <= MaxFailures && strings.Contains(out, "more") {
			t.Errorf("%d failures: counts more than there are:\n%s", n, out)
		}
		if strings.Contains(out, fmt.Sprintf("line %d ", 2+MaxFailures*7)) {
			t.Errorf("%d failures: more than %d named", n, MaxFailures)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"run.journal":        "run.journal",
		"/tmp/a-b_c.journal": "/tmp/a-b_c.journal",
		"my run.journal":     "'my run.journal'",
		"it's":               `'it'\''s'`,
		"":                   "''",
		"x$(rm -rf ~)":       "'x$(rm -rf ~)'",
		"esc\x1b[2J.journal": `'esc\x1b[2J.journal'`,
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n         int
		noun      string
		count     string
		countVerb string // with "is", "are"
	}{
		{0, "row", "0 rows", "0 rows are"},
		{1, "row", "1 row", "1 row is"},
		{2, "changed row", "2 changed rows", "2 changed rows are"},
	} {
		if got := Count(tc.n, tc.noun); got != tc.count {
			t.Errorf("Count(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.count)
		}
		if got := CountVerb(tc.n, tc.noun, "is", "are"); got != tc.countVerb {
			t.Errorf("CountVerb(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.countVerb)
		}
	}
}
