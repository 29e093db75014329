// Package ftp implements `cpctl ftp passwd`.
package ftp

import (
	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
)

// NewCmd returns the `ftp` noun.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ftp",
		Short: "FTP account passwords",
	}
	o := &passwd.Options{F: f, Kind: passwd.FTP}
	pc := &cobra.Command{
		Use:   "passwd FTPUSER",
		Short: "Change an FTP account's password",
		Long: `Change an FTP account's password with cPanel API 2 Ftp::passwd (default) or
UAPI Ftp/passwd (--api uapi). FTPUSER is user or user@domain (the domain
defaults to the account's main domain). Through a WHM profile, --owner names
the cPanel account that owns the FTP account.`,
		Example: `  cpctl -p prod ftp passwd files@bob.example --owner bob --generate
  cpctl -p shop ftp passwd uploads --password-stdin < pw.txt`,
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
