// Package webdisk implements `cpctl webdisk passwd`.
package webdisk

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
)

// NewCmd returns the `webdisk` noun; runF, when not nil, runs instead of
// the command (tests).
func NewCmd(f *cmdutil.Factory, runF passwd.RunFunc) *cobra.Command {
	return passwd.NewOwnedNounCmd(f, passwd.OwnedNoun{
		Kind:     passwd.WebDisk,
		UAPIOnly: true,
		Short:    "Web Disk account passwords",
		Use:      "passwd LOGIN",
		Verb:     "Change a Web Disk account's password",
		Long: `Change a Web Disk account's password with UAPI WebDisk/set_password.
LOGIN is the full user@domain.

The server drops an account's Digest Authentication on every password
change unless told to keep it, and Web Disk clients that connect without
TLS (Windows' among them) need it. So cpctl first reads the account's
setting (cPanel API 2 WebDisk::listwebdisks) and keeps it; --digest or
--no-digest sets it instead, without that read.

Through a WHM profile the change acts for the cPanel account that owns the
domain: --owner names it; without --owner it is looked up once per domain
and run with WHM API 1 getdomainowner. The server checks the new password
against its virtual-user minimum (as for FTP and mail). No API proves a Web
Disk password, so --verify reports "unsupported".`,
		Example: `  cpctl -p prod webdisk passwd dav@bob.example --generate
  cpctl -p shop webdisk passwd photos@shop.example --password-stdin --no-digest`,
		Flags: func(fl *pflag.FlagSet, o *passwd.Options) {
			fl.BoolVar(&o.Digest, "digest", false, "turn Digest Authentication on for the login (default: keep its setting)")
			fl.BoolVar(&o.NoDigest, "no-digest", false, "turn Digest Authentication off for the login (default: keep its setting)")
		},
	}, runF)
}
