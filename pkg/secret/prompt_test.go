package secret

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// fakeTerm plays the user at the far end of a pseudo-terminal. Survey asks
// the terminal twice where the cursor is (ESC [ 6 n) before it reads a line,
// for the screen size and for the position, and reads each reply with a
// throw-away bufio.Reader, which would swallow keys sent in the same burst
// after the reply. What comes before the reply survey keeps as typed, so the
// terminal types each scripted line just in front of its reply to the
// line's second query: no waiting on a clock. A line must not contain 'R',
// which survey would take for the end of a reply.
type fakeTerm struct {
	master *os.File
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan struct{}
}

func startTerminal(t *testing.T, master *os.File, lines []string) *fakeTerm {
	t.Helper()
	for _, l := range lines {
		if strings.Contains(l, "R") {
			t.Fatalf("scripted line %q contains R", l)
		}
	}
	term := &fakeTerm{master: master, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 1024)
		var pending []byte
		queries := 0
		for {
			n, err := master.Read(buf)
			if n > 0 {
				term.mu.Lock()
				term.out.Write(buf[:n])
				term.mu.Unlock()
				pending = append(pending, buf[:n]...)
				for {
					i := bytes.Index(pending, []byte("\x1b[6n"))
					if i < 0 {
						break
					}
					pending = pending[i+4:]
					reply := "\x1b[24;80R"
					if queries++; queries%2 == 0 && len(lines) > 0 {
						reply, lines = lines[0]+reply, lines[1:]
					}
					if _, err := master.Write([]byte(reply)); err != nil {
						return
					}
				}
				if len(pending) > 3 { // keep a possible partial query
					pending = pending[len(pending)-3:]
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return term
}

func (term *fakeTerm) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("pty.Open: %v", err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tty.Close()
		master.Close()
	})
	return master, tty
}

func TestSurveyPrompterResolve(t *testing.T) {
	const pw = "Tr0ub4dor&3 x"
	tests := []struct {
		name    string
		keys    []string
		want    string
		wantErr error
	}{
		{name: "typed twice", keys: []string{pw + "\r", pw + "\r"}, want: pw},
		{name: "mismatch three times", keys: []string{pw + "\r", pw + "y\r", pw + "\r", pw + "y\r", pw + "\r", pw + "y\r"}, wantErr: ErrMismatch},
		{name: "mismatch, then a match", keys: []string{pw + "\r", pw + "y\r", pw + "\r", pw + "\r"}, want: pw},
		{name: "ctrl-c", keys: []string{"abc\x03"}, wantErr: ErrCanceled},
		{name: "ctrl-c at confirmation", keys: []string{pw + "\r", "\x03"}, wantErr: ErrCanceled},
		{name: "backspace", keys: []string{pw + "zz\x7f\x7f\r", pw + "\r"}, want: pw},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			master, tty := openPTY(t)
			term := startTerminal(t, master, tc.keys)
			type result struct {
				pw  string
				err error
			}
			done := make(chan result, 1)
			go func() {
				env := Env{CanPrompt: true, Prompter: NewSurveyPrompter(tty, tty, tty)}
				got, _, err := Resolve(Source{}, env, "New password for bob")
				done <- result{got, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("prompt did not return; terminal shows %q", term.output())
			}
			if tc.wantErr != nil {
				if !errors.Is(r.err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", r.err, tc.wantErr)
				}
			} else if r.err != nil || r.pw != tc.want {
				t.Fatalf("got %q, %v; want %q", r.pw, r.err, tc.want)
			}
			out := term.output()
			if strings.Contains(out, pw) || strings.Contains(out, "Tr0ub") {
				t.Errorf("the password was echoed: %q", out)
			}
			if !strings.Contains(out, "New password for bob") {
				t.Errorf("prompt not shown: %q", out)
			}
			if tc.name == "typed twice" && !strings.Contains(out, "Retype new password for bob") {
				t.Errorf("confirmation prompt not shown: %q", out)
			}
		})
	}
}

func TestSurveyPrompterConfirmInput(t *testing.T) {
	master, tty := openPTY(t)
	term := startTerminal(t, master, []string{"y\r", "\r", "server1\r"})
	p := NewSurveyPrompter(tty, tty, io.Discard)
	errc := make(chan error, 1)
	go func() {
		ok, err := p.Confirm("Pin this certificate?", false)
		if err != nil || !ok {
			errc <- errors.New("confirm y: not true")
			return
		}
		ok, err = p.Confirm("Again?", true)
		if err != nil || !ok {
			errc <- errors.New("confirm default: not true")
			return
		}
		v, err := p.Input("Profile name", "prod")
		if err != nil || v != "server1" {
			errc <- errors.New("input: got " + v)
			return
		}
		errc <- nil
	}()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("%v; terminal shows %q", err, term.output())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("prompts did not return; terminal shows %q", term.output())
	}
}
