// Package credentials runs the user's own commands: those cpctl fetches
// the secrets it logs in with from (token-command, password-command,
// totp-command), keeping a two-factor code for as long as it is valid, and
// the secrets-command new passwords are delivered to (Child: every user
// command goes through it).
package credentials

import (
	"bytes"
	"context"
	"fmt"
	"io"
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

// ReadSecret runs a command that prints a secret (token-command and friends)
// and returns the first line of its output (all of it, line breaks
// removed, for an access hash). The command line comes from the user's own
// config and holds no secret; the secret travels back on the child's
// stdout, never through argv or the environment. At the time limit the
// command and every process it started are killed.
func (c *Child) ReadSecret(ctx context.Context) (string, error) {
	res, err := c.Run(ctx)
	if err != nil {
		return "", err
	}
	out := strings.TrimSpace(firstLine(res.Stdout))
	if c.What == AccessHashCommand {
		// A WHM access hash spans many lines; the server ignores the line
		// breaks, so all of the output is the secret.
		out = strings.TrimSpace(strings.NewReplacer("\r", "", "\n", "").Replace(res.Stdout))
	}
	if out == "" {
		return "", fmt.Errorf("%s %q printed nothing", c.What, c.Cmdline)
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
	secret string // replaced in each line, when set
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
	line := strings.TrimSuffix(string(s.line), "\r")
	if s.secret != "" {
		line = strings.ReplaceAll(line, s.secret, redactedMark)
	}
	fmt.Fprintln(s.w, s.prefix+termsafe.String(line))
	s.line = s.line[:0]
}
