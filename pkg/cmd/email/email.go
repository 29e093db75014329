// Package email implements `cpctl email passwd`.
package email

import (
	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
)

// NewCmd returns the `ftp` noun.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "email",
		Short: "Mail account passwords",
	}
	o := &passwd.Options{F: f, Kind: passwd.Email}
	pc := &cobra.Command{
		Use:   "passwd ADDRESS",
		Short: "Change a mail account's password",
		Long: `Change a mail account's password with cPanel API 2 Email::passwdpop
(default) or UAPI Email/passwd_pop (--api uapi). ADDRESS is local@domain.
Through a WHM profile, --owner names the cPanel account that owns the domain.
--verify proves the change with UAPI Email/verify_password.`,
		Example: `  cpctl -p prod email passwd info@bob.example --owner bob --generate --verify
  cpctl -p shop email passwd sales@shop.example --password-file pw.txt -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return passwd.Run(cmd, args, o)
		},
	}
	passwd.AddFlags(pc, o)
	passwd.AddOwnerFlag(pc, o)
	pc.Flags().StringVar(&o.API, "api", "", "cpapi2 (default) or uapi")
	_ = pc.RegisterFlagCompletionFunc("api", cobra.FixedCompletions([]string{"cpapi2", "uapi"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.AddCommand(pc)
	return cmd
}
