// Package email implements `cpctl email passwd`.
package email

import (
	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
)

// NewCmd returns the `email` noun; runF, when not nil, runs instead of the
// command (tests).
func NewCmd(f *cmdutil.Factory, runF passwd.RunFunc) *cobra.Command {
	return passwd.NewOwnedNounCmd(f, passwd.OwnedNoun{
		Kind:  passwd.Email,
		Short: "Mail account passwords",
		Use:   "passwd ADDRESS",
		Verb:  "Change a mail account's password",
		Long: `Change a mail account's password with cPanel API 2 Email::passwdpop
(default) or UAPI Email/passwd_pop (--api uapi). ADDRESS is local@domain.
Through a WHM profile, --owner names the cPanel account that owns the domain;
without it, the domain's owner is looked up (WHM API 1 getdomainowner, once
per domain and run). --verify proves the change with UAPI Email/verify_password.`,
		Example: `  cpctl -p prod email passwd info@bob.example --generate --verify
  cpctl -p shop email passwd sales@shop.example --password-file pw.txt -o json`,
	}, runF)
}
