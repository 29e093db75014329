package passwd

// The listing types of pkg/cpanel's client (the shared contract of issue
// 18). Until that client lands they are declared here with the same fields,
// so that the selection is written and tested against fakes; then each
// becomes an alias of pkg/cpanel's type and *cpanel.Client is a lister.

type listAccountsOptions struct{ SearchType, Search string }

type accountInfo struct {
	User, Domain, Owner string
	Suspended           bool
}

type ftpLogin struct{ Login, User, Domain, Type string }

type mailbox struct {
	Address, Local, Domain string
	Main                   bool
}

type dbEngine string

type webDiskLogin struct{ Login, Domain string }
