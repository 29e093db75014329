package credentials

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/cpctl/cpctl/pkg/termsafe"
)

// Child is one run of a user's command line through /bin/sh -c: a
// token-command, a totp-command, a secrets-command. Every user command cpctl
// starts goes through Run, so each gets the same limits: a time limit that
// kills the command and what it started, WaitDelay for pipes held by
// orphans, output kept to 64 KiB per stream, and cpctl's own secret
// variables left out of its environment.
type Child struct {
	// What names the command in messages: "token-command", "secrets-command".
	What    string
	Cmdline string
	// Env is the command's environment; Run drops cpctl's own secret
	// variables from it (CPCTL_TOKEN, CPCTL_PASSWORD).
	Env []string
	// Stdin, when not nil, is the command's standard input: how a secret
	// reaches a command, never through argv or the environment.
	Stdin io.Reader
	// Secret is what Stdin carries, if it is a secret: every copy of it in
	// what the command prints is replaced before any of it is shown,
	// returned or put in an error (a tool may echo its input back).
	Secret string
	// Terminal, when not nil (and Stdin is nil), is the user's terminal:
	// the command gets it as standard input (gpg-agent, op and similar
	// tools may need it to unlock) and its stderr is shown on Stderr as it
	// comes, made safe. Without a terminal the command runs in a process
	// group of its own, which the time limit kills whole.
	Terminal *os.File
	Stderr   io.Writer
	// Timeout bounds the run; zero means DefaultTimeout.
	Timeout time.Duration
	// QuoteStdout lets a failure's error quote the command's stdout when
	// its stderr is empty. Never set it for a command whose stdout is the
	// secret (a token-command's).
	QuoteStdout bool
}

// Output is what a command printed, each stream cut to its first 64 KiB,
// with Child.Secret replaced. It is the command's own text: untrusted, to be
// passed through pkg/termsafe before it reaches a terminal.
type Output struct {
	Stdout, Stderr string
}

// ChildError is a command that failed: it exited non-zero, could not start,
// or was killed at its time limit.
type ChildError struct {
	What, Cmdline string
	Err           error
	// Said is the first line the command printed on stderr (or, with
	// QuoteStdout, on stdout when stderr is empty), made safe and bounded.
	Said string
}

func (e *ChildError) Error() string {
	return fmt.Sprintf("%s %q failed: %s", e.What, e.Cmdline, e.Reason())
}

func (e *ChildError) Unwrap() error { return e.Err }

// Reason is the failure without the command line: the exit status (or
// "killed after 1m0s") and what the command said.
func (e *ChildError) Reason() string {
	if e.Said == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Said
}

// maxSaid bounds the part of a failed command's output quoted in its error.
const maxSaid = 200

// Run runs the command and returns what it printed. An error is a
// *ChildError; the Output is returned with it, for a caller that shows
// more of it (-v).
func (c *Child) Run(ctx context.Context) (Output, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", c.Cmdline)
	stdout := &capped{max: maxOutput}
	stderr := &capped{max: maxOutput}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.Env = childEnv(c.Env)
	cmd.WaitDelay = waitDelay
	var shown *safeLines
	switch {
	case c.Stdin != nil:
		cmd.Stdin = c.Stdin
		ownProcessGroup(cmd)
	case c.Terminal != nil:
		cmd.Stdin = c.Terminal
		if c.Stderr != nil {
			shown = &safeLines{w: c.Stderr, prefix: "cpctl: " + c.What + ": ", secret: c.Secret}
			cmd.Stderr = io.MultiWriter(stderr, shown)
		}
	default:
		// A group of its own, so that the time limit kills whatever the
		// command started too: a script whose child sleeps must not hold
		// cpctl past the limit. (At a terminal a group of its own could
		// not read the terminal; the user can press Ctrl-C there.)
		ownProcessGroup(cmd)
	}
	err := cmd.Run()
	if shown != nil {
		shown.flush()
	}
	out := Output{Stdout: c.redact(stdout.String()), Stderr: c.redact(stderr.String())}
	if err == nil {
		return out, nil
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("killed after %s", timeout)
	}
	said := strings.TrimSpace(firstLine(strings.TrimSpace(out.Stderr)))
	if said == "" && c.QuoteStdout {
		said = strings.TrimSpace(firstLine(strings.TrimSpace(out.Stdout)))
	}
	if said != "" {
		said = termsafe.Bounded(said, maxSaid)
	}
	return out, &ChildError{What: c.What, Cmdline: c.Cmdline, Err: err, Said: said}
}

// redactedMark replaces a secret in a command's output.
const redactedMark = "<redacted>"

func (c *Child) redact(s string) string {
	if c.Secret == "" {
		return s
	}
	return strings.ReplaceAll(s, c.Secret, redactedMark)
}
