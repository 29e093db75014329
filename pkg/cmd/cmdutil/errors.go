package cmdutil

import (
	"errors"
	"fmt"

	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/fate"
	"github.com/cpctl/cpctl/pkg/output"
	"github.com/cpctl/cpctl/pkg/secret"
)

// Exit codes, as docs/scripting.md documents them; scripts depend on them.
// Those a row's state maps to are pkg/fate's, defined once there.
const (
	ExitOK        = fate.ExitOK
	ExitRefused   = fate.ExitRefused
	ExitUsage     = fate.ExitUsage
	ExitAuth      = fate.ExitAuth
	ExitTransport = fate.ExitTransport
	ExitPartial   = fate.ExitPartial
	// ExitSecretsNotSaved is a bulk run whose every change succeeded but
	// whose --secrets-out could not be written: the servers have new
	// passwords that only the journal holds now.
	ExitSecretsNotSaved = 6
	// ExitInterrupted is a deliberate Ctrl-C (128 + SIGINT, as shells
	// report it), at a prompt or during a run.
	ExitInterrupted = 130
)

// UsageError is a mistake in how the command was called: bad flags, a
// missing value, an unreadable input file. Exit code 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef builds a UsageError.
func Usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// ExitError carries an exit code for a failure whose explanation has
// already been printed (a failed row in a table, a bulk summary), or a
// message with a specific code.
type ExitError struct {
	Code int
	Err  error // nil when the output already said everything
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode maps an error onto the exit codes of docs/scripting.md.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var exitErr *ExitError
	if errors.As(err, &exitErr) {
		return exitErr.Code
	}
	if errors.Is(err, secret.ErrCanceled) {
		return ExitInterrupted
	}
	var usage *UsageError
	if errors.As(err, &usage) {
		return ExitUsage
	}
	// A missing, unreadable or contradictory password: nothing was sent,
	// the command line must change.
	if secret.IsUsage(err) {
		return ExitUsage
	}
	var apiErr *cpanel.Error
	if errors.As(err, &apiErr) {
		return apiErr.ExitCode()
	}
	// An error nobody classified is not a refusal: it may have come after
	// the request was written, so its outcome is unknown (pkg/fate), and a
	// script must not read it as final.
	return fate.ExitCode(fate.Unknown, false, false)
}

// IsSilent reports whether main should print nothing for err.
func IsSilent(err error) bool {
	var exitErr *ExitError
	return errors.As(err, &exitErr) && exitErr.Err == nil
}

// CredentialsHint adds to an error whose credentials the server refused as
// a whole (cpanel.CredentialsRefused) the command that checks them, for a
// named profile; any other error is returned as it is. The exit code is
// still the error's own (3).
func CredentialsHint(err error, profile string) error {
	if profile == "" || !cpanel.CredentialsRefused(err) {
		return err
	}
	return fmt.Errorf("%w; check the profile's credentials with: cpctl profile test %s", err, output.ShellQuote(profile))
}
