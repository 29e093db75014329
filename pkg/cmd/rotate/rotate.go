// Package rotate implements `cpctl rotate`: every password of the selected
// accounts, of every kind, in one bulk run and one journal.
package rotate

import (
	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
)

// NewCmd returns the `rotate` command; runF, when not nil, runs instead of
// the command (tests).
func NewCmd(f *cmdutil.Factory, runF passwd.RunFunc) *cobra.Command {
	o := &passwd.Options{Kind: passwd.Mixed}
	var kinds string
	cmd := &cobra.Command{
		Use:   "rotate (--owner USER | --all | --reseller NAME | --domain DOMAIN)",
		Short: "Rotate every password of the selected accounts: account, FTP, Web Disk, mail, databases",
		Long: `Give every password of the selected accounts a new, generated one, in one
bulk run with one journal: the cPanel account's own password, its FTP logins,
Web Disk logins, mailboxes, and MySQL and PostgreSQL users (--kinds chooses).

The targets are listed on the server once (WHM API 1 listaccts and
getdomainowner, UAPI Ftp/list_ftp, API 2 WebDisk::listwebdisks, UAPI Email/list_pops,
Mysql/list_users and Postgresql/list_users, through WHM), shown by --validate
or --dry-run with where each came from, and frozen into the journal: a
resume (--resume JOURNAL) finishes exactly those rows, whatever the server's
lists say by then. Root sees every account, a reseller only its own: the
server decides. Logins the server lists that have no password of their own
(anonymous FTP) or share the account's (its main FTP login, its default
mailbox) are left out with a note; --match NAME takes one by its exact name.

The account passwords go first: every account row of the run is sent (on a
resume too) before any other row, so that no other password is changed while
someone may still hold the account's, with which any of them can be set again
from cPanel. Then FTP and Web Disk, mail, and the databases last.

A database user's new password breaks the site that uses it (a WordPress
wp-config.php, an application's .env) until its configuration is updated:
leave databases out with --kinds, or update the configurations from the
delivered passwords at once.

Through a cPanel profile, the profile's own account is rotated, without its
account password (that needs the old one, and would end the profile's login):
change it last with 'cpctl account passwd'.`,
		Example: `  # after a compromise of account bob: see what would change, then change it
  cpctl -p prod rotate --owner bob --dry-run
  cpctl -p prod rotate --owner bob --secrets-out bob-new.csv --verify

  # every FTP and mail password of reseller res1's customers
  cpctl -p prod rotate --reseller res1 --kinds ftp,email --secrets-out res1.csv

  # everything on the server but the databases; finish after a crash
  cpctl -p prod rotate --all --kinds account,ftp,webdisk,email --journal all.journal
  cpctl rotate --resume all.journal`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("kinds") {
				ks, err := passwd.ParseKinds(kinds)
				if err != nil {
					return err
				}
				o.Select.Kinds, o.Select.KindsGiven = ks, true
			}
			if !o.Password.Generate {
				return cmdutil.Usagef("a rotation generates every password: --generate=false does not apply")
			}
			return passwd.Run(cmd, args, f, o, runF)
		},
	}
	f.FlagsFor(cmd, func() {
		passwd.AddRotateFlags(cmd, o)
		cmd.Flags().StringVar(&kinds, "kinds", "all", "the kinds of password to rotate, comma-separated: account, ftp, webdisk, email, mysql, postgresql, or all")
		_ = cmd.RegisterFlagCompletionFunc("kinds", cobra.FixedCompletions([]string{"all", "account", "ftp", "webdisk", "email", "mysql", "postgresql"}, cobra.ShellCompDirectiveNoFileComp))
	})
	return cmd
}
