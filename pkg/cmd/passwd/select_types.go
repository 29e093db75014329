package passwd

import "github.com/cpctl/cpctl/pkg/cpanel"

// Short names for the listing types of pkg/cpanel's client, which the
// selection reads; *cpanel.Client is a lister.
type (
	listAccountsOptions = cpanel.ListAccountsOptions
	accountInfo         = cpanel.AccountInfo
	ftpLogin            = cpanel.FTPLogin
	mailbox             = cpanel.Mailbox
	webDiskLogin        = cpanel.WebDiskLogin
)

var _ lister = (*cpanel.Client)(nil)
