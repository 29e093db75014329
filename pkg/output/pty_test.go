//go:build linux || darwin || freebsd

package output

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/creack/pty"
)

// Through a real pseudo-terminal of 80 and 120 columns: the printer learns
// the width from the terminal itself (TerminalWidth), and what the terminal
// receives fits it. The terminal's own newline translation (\r\n) is
// undone before comparing with the golden files.
func TestResultsThroughPTY(t *testing.T) {
	rows := []PasswdResult{generated, suspended}
	for _, cols := range []uint16{80, 120} {
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Fatalf("open a pseudo-terminal: %v", err)
			}
			defer ptmx.Close()
			if err := pty.Setsize(tty, &pty.Winsize{Cols: cols, Rows: 40}); err != nil {
				t.Fatal(err)
			}
			read := make(chan []byte)
			go func() {
				b, _ := io.ReadAll(ptmx) // ends with EIO once tty is closed
				read <- b
			}()
			width := TerminalWidth(tty)
			if width != int(cols) {
				t.Errorf("TerminalWidth = %d, want %d", width, cols)
			}
			p := New(Table, tty, true, WithWidth(width))
			if err := p.Results(rows); err != nil {
				t.Fatal(err)
			}
			s := p.Stream(WithPasswordColumn())
			for _, r := range rows {
				if err := s.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			tty.Close()
			got := bytes.ReplaceAll(<-read, []byte("\r\n"), []byte("\n"))
			checkFits(t, string(got), width, rows)
			golden(t, fmt.Sprintf("pty/results.w%d.txt", cols), got)
		})
	}
	if w := TerminalWidth(nil); w != 0 {
		t.Errorf("TerminalWidth(nil) = %d", w)
	}
	f, err := os.CreateTemp(t.TempDir(), "notatty")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if w := TerminalWidth(f); w != 0 {
		t.Errorf("TerminalWidth(a file) = %d", w)
	}
}
