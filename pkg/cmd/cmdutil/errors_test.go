package cmdutil

import (
	"errors"
	"testing"

	"github.com/cpctl/cpctl/pkg/cpanel"
)

func TestCredentialsHint(t *testing.T) {
	denied := &cpanel.Error{Kind: cpanel.ErrAuth, Status: 403, Reason: "Access denied"}
	oneAccount := &cpanel.Error{Kind: cpanel.ErrAuth, Status: 200, Reason: "Access Denied to bob"}
	tests := []struct {
		name    string
		err     error
		profile string
		want    string
	}{
		{"refused credentials", denied, "prod", denied.Error() + "; check the profile's credentials with: cpctl profile test prod"},
		{"a name that needs quoting", denied, "my prod", denied.Error() + "; check the profile's credentials with: cpctl profile test 'my prod'"},
		{"no profile", denied, "", denied.Error()},
		{"one account refused", oneAccount, "prod", oneAccount.Error()},
		{"other error", errors.New("boom"), "prod", "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CredentialsHint(tt.err, tt.profile)
			if got.Error() != tt.want {
				t.Errorf("got %q\nwant %q", got.Error(), tt.want)
			}
			if ExitCode(got) != ExitCode(tt.err) {
				t.Errorf("exit code %d, want the error's own %d", ExitCode(got), ExitCode(tt.err))
			}
		})
	}
}
