//go:build linux || darwin || freebsd

package main

// The output contract end to end: at a real pseudo-terminal of 80 and 120
// columns what the user sees fits and a generated password arrives whole;
// server text reaches the terminal escaped; -o json stays one JSON list.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// runPTY runs cpctl with stdin, stdout and stderr on one pseudo-terminal of
// cols columns, and returns everything it drew, "\r\n" turned into "\n".
func (e *env) runPTY(cols uint16, args ...string) (string, int) {
	e.t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(append([]string{}, e.vars...), "CPCTL_NO_INPUT=1", "TERM=xterm")
	cmd.Dir = e.dir
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: cols, Rows: 50})
	if err != nil {
		e.t.Fatalf("start cpctl in a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	var out bytes.Buffer
	_, _ = io.Copy(&out, ptmx) // ends with EIO when cpctl exits
	code := 0
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			e.t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n"), code
}

// A generated password is printed whole, in the box at 120 columns and
// alone under it at 80, and is the password the server now has; no line
// of the box is wider than the terminal.
func TestTableFitsTerminal(t *testing.T) {
	for _, cols := range []uint16{80, 120} {
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			e := newEnv(t, nil, simulator.Options{})
			e.writeConfig()
			out, code := e.runPTY(cols, "account", "passwd", "bob", "--generate")
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			var pw string
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			for i, l := range lines {
				if n := utf8.RuneCountInString(l); n > int(cols) {
					t.Errorf("line of %d columns at %d: %q", n, cols, l)
				}
				if strings.HasSuffix(l, "(shown only once):") && i+1 < len(lines) {
					pw = lines[i+1]
				}
				if f := strings.Split(l, "│"); len(f) == 8 && strings.TrimSpace(f[2]) == "bob" {
					pw = strings.TrimSpace(f[6])
				}
			}
			if pw == "" || !e.srv.Sim.CheckPassword("bob", pw) {
				t.Fatalf("the password the server has is not printed whole (found %q):\n%s", pw, out)
			}
			golden(t, fmt.Sprintf("pty/account-passwd-generate.w%d.txt", cols), strings.ReplaceAll(out, pw, strings.Repeat("X", len(pw))))
		})
	}
}

// progressRE matches what the progress bar draws and then wipes.
var progressRE = regexp.MustCompile("(?m)^.*\r|\x1b\\[K")

// At the end of a bulk run at a terminal, stderr names the failed row, the
// journal and the commands to list the failures and export the passwords.
func TestBulkSummaryAtTerminal(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	// carol is suspended in the sample state: her row is refused.
	if err := os.WriteFile(in, []byte("user\nalice\nbob\ncarol\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := e.runPTY(80, "account", "passwd", "--from", in, "--generate", "--journal", "run.journal")
	if code != 5 {
		t.Fatalf("exit %d, want 5:\n%s", code, out)
	}
	// Progress redraws end in "\r"; what stays on screen is after them.
	screen := progressRE.ReplaceAllString(out, "")
	t.Logf("the terminal shows:\n%s", screen)
	for _, want := range []string{
		"cpctl: 3 rows: 2 succeeded, 1 failed\n",
		"cpctl: not changed:\n",
		"cpctl:   line 4  carol  Sorry, the user “carol” is currently suspended.",
		"cpctl: journal (it holds the new passwords: keep it private): run.journal\n",
		"cpctl: every failure: cpctl journal show run.journal\n",
		"cpctl: the new passwords, as CSV: cpctl journal export run.journal --secrets-out new-passwords.csv\n",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("the summary lacks %q:\n%s", want, screen)
		}
	}
	for _, l := range strings.Split(screen, "\n") {
		if n := utf8.RuneCountInString(l); n > 80 && !strings.Contains(l, "run.journal") {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}

	// journal show's failures table fits too, the message whole across
	// its wrapped lines.
	for _, cols := range []uint16{80, 120} {
		out, code = e.runPTY(cols, "journal", "show", "run.journal")
		if code != 0 {
			t.Fatalf("journal show: exit %d:\n%s", code, out)
		}
		var words []string
		for _, l := range strings.Split(out, "\n") {
			if n := utf8.RuneCountInString(l); n > int(cols) {
				t.Errorf("journal show at %d: line of %d columns: %q", cols, n, l)
			}
			if f := strings.Split(l, "│"); len(f) > 2 {
				words = append(words, strings.Fields(f[len(f)-2])...)
			}
		}
		if msg := "Sorry, the user “carol” is currently suspended."; !strings.Contains(strings.Join(words, " "), msg) {
			t.Errorf("journal show at %d: the message is not whole in its cell:\n%s", cols, out)
		}
	}
}

// hostileReason is a refusal whose text would retitle the window and
// reverse the line if it reached a terminal as it is.
const hostileReason = "Sorry \x1b]0;pwned\x07 \x1b[2J \u202eevil\u202c \u009b31m"

// Text from the server reaches stdout's table and stderr escaped; -o json
// carries it exactly.
func TestServerTextEscaped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{
			"command": "passwd", "result": 0, "version": 1, "reason": hostileReason}})
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	e := newEnv(t, nil, simulator.Options{})
	vars := []string{"CPCTL_URL=" + srv.URL, "CPCTL_TOKEN=" + simulator.SampleRootToken, "CPCTL_KIND=whm"}
	for _, format := range []string{"table", "json"} {
		r := e.callEnv(vars, "Some-Strong-Pass-2026!x\n", "account", "passwd", "bob", "--password-stdin", "-o", format)
		if r.code == 0 {
			t.Fatalf("-o %s: a refusal exited 0:\n%s\n%s", format, r.stdout, r.stderr)
		}
		for name, s := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
			if format == "json" && name == "stdout" {
				var rows []struct{ Message string }
				if err := json.Unmarshal([]byte(s), &rows); err != nil || len(rows) != 1 || rows[0].Message != hostileReason {
					t.Errorf("-o json does not carry the exact text: %v\n%s", err, s)
				}
				continue
			}
			if strings.ContainsAny(s, "\x1b\x07\u202e\u009b") {
				t.Errorf("-o %s: control characters reached %s: %q", format, name, s)
			}
			if strings.Contains(s, "Sorry") && !strings.Contains(s, `Sorry \x1b]0;pwned\x07`) {
				t.Errorf("-o %s: %s does not show the text escaped: %q", format, name, s)
			}
		}
	}
}

// A bulk run's -o json is one JSON list even when Ctrl-C cuts it short:
// the list is closed after the rows in flight are printed.
func TestBulkJSONInterrupted(t *testing.T) {
	e := newEnv(t, bulkState(200), simulator.Options{Latency: 20 * time.Millisecond})
	e.writeConfig()
	in := filepath.Join(e.dir, "users.csv")
	writeUsers(t, in, 200)
	cmd := exec.Command(binPath, "account", "passwd", "--from", in, "--generate",
		"--journal", filepath.Join(e.dir, "j"), "--concurrency", "4", "-o", "json")
	cmd.Env, cmd.Dir = e.vars, e.dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once ten rows have been printed: the reads block until
	// they are, so no clock is involved.
	var got bytes.Buffer
	sc := bufio.NewScanner(stdout)
	rows := 0
	for rows < 10 && sc.Scan() {
		got.Write(sc.Bytes())
		got.WriteByte('\n')
		if sc.Text() == "  }" || sc.Text() == "  }," {
			rows++
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		got.Write(sc.Bytes())
		got.WriteByte('\n')
	}
	_ = cmd.Wait()
	var list []map[string]any
	if err := json.Unmarshal(got.Bytes(), &list); err != nil {
		t.Fatalf("interrupted -o json is not one JSON list: %v\n%s\nstderr:\n%s", err, got.String(), stderr.String())
	}
	if len(list) < 10 || len(list) >= 200 {
		t.Errorf("%d rows in the list; want the run cut in the middle", len(list))
	}
}
