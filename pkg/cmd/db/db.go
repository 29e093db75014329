// Package db implements `cpctl db passwd`.
package db

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
)

// NewCmd returns the `db` noun; runF, when not nil, runs instead of the
// command (tests).
func NewCmd(f *cmdutil.Factory, runF passwd.RunFunc) *cobra.Command {
	var engine string
	return passwd.NewOwnedNounCmd(f, passwd.OwnedNoun{
		Noun:     "db",
		Kind:     passwd.MySQL,
		UAPIOnly: true,
		Short:    "Database user passwords (MySQL, PostgreSQL)",
		Use:      "passwd USER",
		Verb:     "Change a MySQL or PostgreSQL user's password",
		Long: `Change a database user's password with UAPI Mysql/set_password, or
Postgresql/set_password with --engine postgresql. USER is the full name,
with the account's prefix (bob_wp).

A site that logs in to its database as this user stops working the moment
the password changes, until its configuration holds the new one:
wp-config.php (DB_PASSWORD) for WordPress, configuration.php for Joomla,
.env or settings files for other applications. Update the configuration
right after the change, or plan a short outage.

Through a WHM profile the change acts for the cPanel account that owns the
user: --owner names it; without --owner it is looked up once per run with
WHM API 1 list_database_users (the prefix alone does not say it: prefixes
can be cut short or turned off), which a server answers for root only: a
reseller gives --owner. The server checks the new password against
its mysql or postgres minimum. No API proves a database password, so
--verify reports "unsupported".`,
		Example: `  cpctl -p prod db passwd bob_wp --owner bob --generate
  cpctl -p prod db passwd bob_reports --engine postgresql --password-stdin < pw.txt
  cpctl -p prod db passwd --from db-users.csv --generate --secrets-out new.csv`,
		Flags: func(fl *pflag.FlagSet, o *passwd.Options) {
			fl.StringVar(&engine, "engine", "mysql", "the database server: mysql or postgresql")
		},
		Prepare: func(cmd *cobra.Command, o *passwd.Options) error {
			set := cmd.Flags().Changed("engine")
			if !set && o.Bulk.Resume != "" {
				// A resume finishes the run the journal records, whichever engine.
				if k, err := passwd.JournalKind(o.Bulk.Resume); err == nil && (k == passwd.MySQL || k == passwd.PostgreSQL) {
					o.Kind = k
					return nil
				}
			}
			switch engine {
			case "mysql":
				o.Kind = passwd.MySQL
			case "postgresql":
				o.Kind = passwd.PostgreSQL
			default:
				return cmdutil.Usagef("--engine %q: want mysql or postgresql", engine)
			}
			return nil
		},
	}, runF)
}
