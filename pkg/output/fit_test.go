package output

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

var (
	suspended = PasswdResult{
		Profile: "prod", Server: "https://server1.example.com:2087", Kind: "account", Target: "carol",
		Owner: "root", API: "whmapi1", OK: false, Services: []string{},
		// The message of WHM API 1 passwd for a suspended account (docs/protocol.md).
		Message: "Sorry, the user “carol” is currently suspended. Changing the user’s password would unsuspend the account.",
	}
	longPassword = PasswdResult{
		Profile: "prod", Server: "https://server1.example.com:2087", Kind: "account", Target: "erin",
		Owner: "root", API: "whmapi1", OK: true, Services: []string{"system", "ftp", "mail", "MySQL"},
		Message:  "Password changed for user “erin”.",
		Password: strings.Repeat("Zq8$", 25), // --length 100
	}
)

var fitCases = []struct {
	name string
	rows []PasswdResult
}{
	{"one", []PasswdResult{okBob}},
	{"generated", []PasswdResult{generated, okBob}},
	{"suspended", []PasswdResult{okBob, suspended, failed}},
	{"verified", []PasswdResult{verifiedYes, verifiedNo, verifyUnsupported}},
	{"longpassword", []PasswdResult{longPassword}},
}

// checkFits asserts what fitting promises at a terminal of width columns:
// no line is wider, unless it is a password alone on its line; every
// password is printed whole on one line; every word of every message is
// printed.
func checkFits(t *testing.T, out string, width int, rows []PasswdResult) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	pws := map[string]bool{}
	for _, r := range rows {
		if r.Password != "" {
			pws[r.Password] = true
		}
	}
	for _, l := range lines {
		if w := twwidth.Width(l); w > width && !pws[l] {
			t.Errorf("line of %d columns at width %d: %q", w, width, l)
		}
	}
	for pw := range pws {
		found := false
		for _, l := range lines {
			found = found || strings.Contains(l, pw)
		}
		if !found {
			t.Errorf("password %q not whole on one line:\n%s", pw, out)
		}
	}
	for _, r := range rows {
		for _, word := range strings.Fields(r.Message) {
			if !strings.Contains(out, word) {
				t.Errorf("word %q of the message is missing:\n%s", word, out)
			}
		}
	}
}

func TestResultsFitWidth(t *testing.T) {
	for _, tc := range fitCases {
		for _, width := range []int{40, 80, 120} {
			name := fmt.Sprintf("%s.w%d.txt", tc.name, width)
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := New(Table, &buf, true, WithWidth(width)).Results(tc.rows); err != nil {
					t.Fatal(err)
				}
				checkFits(t, buf.String(), width, tc.rows)
				golden(t, "fit/"+name, buf.Bytes())
			})
		}
	}
}

// A streamed table cuts long cells with "…" instead of wrapping (a row is
// one line), never cuts a password, and goes vertical when even cut cells
// cannot fit.
func TestStreamFitsWidth(t *testing.T) {
	for _, tc := range fitCases {
		for _, width := range []int{40, 80, 120} {
			name := fmt.Sprintf("%s.w%d.txt", tc.name, width)
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				s := New(Table, &buf, true, WithWidth(width)).Stream()
				for _, r := range tc.rows {
					if err := s.Write(r); err != nil {
						t.Fatal(err)
					}
				}
				out := buf.String()
				lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
				for _, l := range lines {
					if w := twwidth.Width(l); w > width && !strings.Contains(out, l+"\n") {
						t.Errorf("line of %d columns: %q", w, l)
					}
				}
				for _, r := range tc.rows {
					if r.Password != "" && !strings.Contains(out, r.Password) {
						t.Errorf("password cut:\n%s", out)
					}
				}
				golden(t, "fit/stream-"+name, buf.Bytes())
			})
		}
	}
}

func TestGenericTableFitsWidth(t *testing.T) {
	// The failures table of `journal show`.
	headers := []string{"LINE", "TARGET", "OWNER", "PROFILE", "CLASS", "MESSAGE"}
	rows := [][]string{
		{"4", "carol", "", "prod", "refused", suspended.Message},
		{"9", "nosuch", "", "prod", "refused", "User “nosuch” does not exist."},
	}
	for _, width := range []int{40, 80, 120} {
		name := fmt.Sprintf("journal-failures.w%d.txt", width)
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := New(Table, &buf, true, WithWidth(width)).Table(headers, rows); err != nil {
				t.Fatal(err)
			}
			checkFits(t, buf.String(), width, []PasswdResult{suspended})
			golden(t, "fit/"+name, buf.Bytes())
		})
	}
}

// Piped output ignores the width: one tab-separated line per row.
func TestPipeIgnoresWidth(t *testing.T) {
	var buf bytes.Buffer
	if err := New(Table, &buf, false, WithWidth(40)).Results([]PasswdResult{suspended, longPassword}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], suspended.Message) || !strings.HasSuffix(lines[2], "\t"+longPassword.Password) {
		t.Errorf("piped output changed by the width:\n%s", buf.String())
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  []string
	}{
		{"", 5, []string{""}},
		{"short", 10, []string{"short"}},
		{"two words", 5, []string{"two", "words"}},
		{"a verylongword b", 5, []string{"a", "veryl", "ongwo", "rd b"}},
		{"“curly” quotes", 7, []string{"“curly”", "quotes"}},
		{"日本語テキスト", 5, []string{"日本", "語テ", "キス", "ト"}},
	} {
		got := wrap(tc.in, tc.width)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
		for _, l := range got {
			if twwidth.Width(l) > tc.width {
				t.Errorf("wrap(%q, %d): line %q too wide", tc.in, tc.width, l)
			}
		}
	}
}

func TestEllipsis(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a longer message", 10, "a longer …"},
		{"日本語テキスト", 5, "日本…"},
		{"x", 0, ""},
	} {
		if got := ellipsis(tc.in, tc.width); got != tc.want {
			t.Errorf("ellipsis(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}
