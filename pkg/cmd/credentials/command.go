// Package credentials fetches the secrets cpctl logs in with from the
// user's own commands (token-command, password-command, totp-command) and
// keeps a two-factor code for as long as it is valid.
package credentials

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/cpctl/cpctl/pkg/termsafe"
)

// DefaultTimeout bounds a secret command: long enough to unlock a password
// manager at a prompt, short enough that a cron job never hangs on one.
const DefaultTimeout = time.Minute

// waitDelay is how long Run waits, after the command ended or was killed,
// for whatever else holds its output open (a child it left behind).
const waitDelay = 2 * time.Second

// maxOutput bounds what is kept of a command's stdout and stderr.
const maxOutput = 64 << 10

// AccessHashCommand names a token-command that prints a WHM access hash,
// whose line breaks are not part of the secret.
const AccessHashCommand = "token-command (access hash)"

// Runner runs secret commands through /bin/sh.
type Runner struct {
	// Env is the command's environment; Run drops cpctl's own secret
	// variables from it.
	Env []string
	// Terminal, when not nil, is the user's terminal: the command gets it
	// as standard input (gpg-agent, op and similar tools may need it to
	// unlock) and its stderr is shown on Stderr as it comes, made safe.
	Terminal *os.File
	Stderr   io.Writer
	// Timeout bounds each run; zero means DefaultTimeout.
	Timeout time.Duration
}

// Run runs cmdline and returns the first line of its output (all of it,
// line breaks removed, for an access hash). The command line comes from the
// user's own config and holds no secret; the secret travels back on the
// child's stdout, never through argv or the environment. At the time limit
// the command and every process it started are killed.
func (r *Runner) Run(ctx context.Context, what, cmdline string) (string, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", cmdline)
	stdout := &capped{max: maxOutput}
	stderr := &capped{max: maxOutput}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.Env = childEnv(r.Env)
	cmd.WaitDelay = waitDelay
	var shown *safeLines
	if r.Terminal != nil {
		cmd.Stdin = r.Terminal
		if r.Stderr != nil {
			shown = &safeLines{w: r.Stderr, prefix: "cpctl: " + what + ": "}
			cmd.Stderr = io.MultiWriter(stderr, shown)
		}
	} else {
		// Without a terminal the command runs in a process group of its
		// own, and the time limit kills the group: a script whose child
		// sleeps must not hold cpctl past the limit. (At a terminal a
		// group of its own could not read the terminal; the user can
		// press Ctrl-C there.)
		ownProcessGroup(cmd)
	}
	err := cmd.Run()
	if shown != nil {
		shown.flush()
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("killed after %s", timeout)
		}
		if msg := strings.TrimSpace(firstLine(stderr.String())); msg != "" {
			return "", fmt.Errorf("%s %q failed: %w: %s", what, cmdline, err, termsafe.Bounded(msg, 200))
		}
		return "", fmt.Errorf("%s %q failed: %w", what, cmdline, err)
	}
	out := strings.TrimSpace(firstLine(stdout.String()))
	if what == AccessHashCommand {
		// A WHM access hash spans many lines; the server ignores the line
		// breaks, so all of the output is the secret.
		out = strings.TrimSpace(strings.NewReplacer("\r", "", "\n", "").Replace(stdout.String()))
	}
	if out == "" {
		return "", fmt.Errorf("%s %q printed nothing", what, cmdline)
	}
	return out, nil
}

// childEnv is the environment for a user's command without cpctl's own
// secret variables: a token command has no use for them, and what it
// inherits it may log or pass on.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.HasPrefix(kv, "CPCTL_TOKEN=") || strings.HasPrefix(kv, "CPCTL_PASSWORD=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// capped keeps the first max bytes written to it and drops the rest, so a
// runaway command cannot grow cpctl's memory.
type capped struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// safeLines writes a child's stderr line by line, each made safe for the
// terminal and prefixed, so a command cannot draw on the user's screen.
type safeLines struct {
	w      io.Writer
	prefix string
	line   []byte
}

func (s *safeLines) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			s.flush()
			continue
		}
		if len(s.line) < 4096 {
			s.line = append(s.line, b)
		}
	}
	return len(p), nil
}

func (s *safeLines) flush() {
	if len(s.line) == 0 {
		return
	}
	fmt.Fprintln(s.w, s.prefix+termsafe.String(strings.TrimSuffix(string(s.line), "\r")))
	s.line = s.line[:0]
}
