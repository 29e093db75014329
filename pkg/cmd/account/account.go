// Package account implements `cpctl account passwd`.
package account

import (
	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
)

// NewCmd returns the `account` noun; runF, when not nil, runs instead of
// the command (tests).
func NewCmd(f *cmdutil.Factory, runF passwd.RunFunc) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "cPanel account passwords",
	}
	cmd.AddCommand(newCmdPasswd(f, runF))
	return cmd
}

func newCmdPasswd(f *cmdutil.Factory, runF passwd.RunFunc) *cobra.Command {
	o := &passwd.Options{Kind: passwd.Account}
	cmd := &cobra.Command{
		Use:   "passwd [USER]",
		Short: "Change a cPanel account's password",
		Long: `Change a cPanel account's password.

Through a WHM profile this is WHM API 1 passwd (or the legacy API 0 with
--api whmapi0), run as root or as the reseller that owns the account.
Through a cPanel profile it is cPanel API 2 Passwd::change_password: the
account changes its own password and the old one is needed (the profile's
login password, --old-password-file, or a prompt).

The new password comes from --password-stdin, --password-file, --generate,
or a prompt with confirmation at a terminal.`,
		Example: `  # at a terminal: prompts twice for the new password
  cpctl -p prod account passwd bob

  # from a script or cron: the password on standard input
  printf '%s\n' "$NEWPASS" | cpctl -p prod account passwd bob --password-stdin -o json

  # generate one and keep it in a private file
  cpctl -p prod account passwd bob --generate --secrets-out bob.csv

  # rotate many: CSV with a user column (see 'cpctl help account passwd' bulk flags)
  cpctl -p prod account passwd --from users.csv --generate --secrets-out new.csv`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return passwd.Run(cmd, args, f, o, runF)
		},
	}
	f.FlagsFor(cmd, func() { addFlags(cmd, o) })
	return cmd
}

// addFlags declares account passwd's flags: the shared ones and its own.
func addFlags(cmd *cobra.Command, o *passwd.Options) {
	passwd.AddFlags(cmd, o)
	fl := cmd.Flags()
	fl.StringVar(&o.API, "api", "", "API through WHM: whmapi1 (default) or whmapi0 (legacy)")
	fl.BoolVar(&o.DBPassUpdate, "db-pass-update", false, "also change the MySQL password (the server's default)")
	fl.BoolVar(&o.NoDBPassUpdate, "no-db-pass-update", false, "leave the MySQL password alone")
	fl.BoolVar(&o.Digest, "digest", false, "enable Digest Authentication (unset keeps the current setting)")
	fl.BoolVar(&o.NoDigest, "no-digest", false, "disable Digest Authentication")
	fl.BoolVar(&o.EnableMySQL, "enable-mysql", false, "cPanel profile: also change the MySQL password")
	fl.StringVar(&o.OldPasswordFile, "old-password-file", "", "cPanel profile: read the current password from `FILE`")
	cmd.MarkFlagsMutuallyExclusive("db-pass-update", "no-db-pass-update")
	cmd.MarkFlagsMutuallyExclusive("digest", "no-digest")
	_ = cmd.RegisterFlagCompletionFunc("api", cobra.FixedCompletions([]string{"whmapi1", "whmapi0"}, cobra.ShellCompDirectiveNoFileComp))
}
