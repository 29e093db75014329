// Package ftp implements `cpctl ftp passwd`.
package ftp

import (
	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
)

// NewCmd returns the `ftp` noun; runF, when not nil, runs instead of the
// command (tests).
func NewCmd(f *cmdutil.Factory, runF passwd.RunFunc) *cobra.Command {
	return passwd.NewOwnedNounCmd(f, passwd.OwnedNoun{
		Kind:  passwd.FTP,
		Short: "FTP account passwords",
		Use:   "passwd FTPUSER",
		Verb:  "Change an FTP account's password",
		Long: `Change an FTP account's password with cPanel API 2 Ftp::passwd (default) or
UAPI Ftp/passwd (--api uapi). FTPUSER is user or user@domain (the domain
defaults to the account's main domain). Through a WHM profile, --owner names
the cPanel account that owns the FTP account; without it, the owner of
user@domain's domain is looked up (WHM API 1 getdomainowner, once per domain
and run), and a bare user needs --owner. No API proves an FTP password, so
--verify reports "unsupported".`,
		Example: `  cpctl -p prod ftp passwd files@bob.example --generate
  cpctl -p shop ftp passwd uploads --password-stdin < pw.txt`,
	}, runF)
}
