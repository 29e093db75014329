package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cpctl/cpctl/pkg/cpanel"
)

// TwoFactorFallback handles a call that the server refused for two-factor
// authentication. When the profile has no code source (totp-secret or
// totp-command) and a prompt is allowed, it asks for a code once and
// returns a client that sends it; the caller retries with that client.
// Otherwise it returns the error to report: the server's own one, or one
// naming the profile keys to set. Errors that are not two-factor refusals
// come back unchanged with a nil client.
func (f *Factory) TwoFactorFallback(ctx context.Context, t *Target, callErr error, prompt bool) (*cpanel.Client, error) {
	var apiErr *cpanel.Error
	if !errors.As(callErr, &apiErr) || !apiErr.TwoFactor {
		return nil, callErr
	}
	if t.Profile.TOTPSecret != "" || t.Profile.TOTPCommand != "" {
		return nil, callErr // a code was sent and refused: the server's words say why
	}
	if !prompt || !f.CanPrompt() {
		return nil, &cpanel.Error{Kind: cpanel.ErrAuth, Op: apiErr.Op, Status: apiErr.Status, TwoFactor: true, Written: apiErr.Written,
			Reason: fmt.Sprintf("two-factor authentication is required for %s: set totp-secret or totp-command in the profile (see 'cpctl profile add --help')", t.Describe())}
	}
	code, err := f.Prompter.Input(fmt.Sprintf("Two-factor code for %s:", t.Describe()), "")
	if err != nil {
		return nil, &ExitError{Code: ExitAuth, Err: fmt.Errorf("two-factor code: %w", err)}
	}
	code = strings.TrimSpace(code)
	cc, err := f.ClientConfig(ctx, t)
	if err != nil {
		return nil, err
	}
	cc.OTP = func(context.Context) (string, error) { return code, nil }
	return NewClient(cc)
}
