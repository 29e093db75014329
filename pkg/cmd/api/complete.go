package api

import (
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cpanel"
)

// fn is a function offered by completion: its description and the
// parameters it takes. The lists are suggestions: any name may be called.
type fn struct {
	desc   string
	params []string
}

// whmapi1Funcs are the password-related and common WHM API 1 functions.
func whmapi1Funcs() map[string]fn {
	return map[string]fn{
		"passwd":                      {"change a cPanel account's password", []string{"user", "password", "db_pass_update", "digestauth"}},
		"forcepasswordchange":         {"make users change their password at next login", []string{"users_json", "stop_on_failure"}},
		"getminimumpasswordstrengths": {"read the minimum password strengths", []string{"name"}},
		"setminimumpasswordstrengths": {"set the minimum password strengths", []string{"default", "passwd", "ftp", "pop", "webdisk", "mysql", "postgres", "createacct", "sshkey"}},
		"set_digest_auth":             {"turn Digest Authentication on or off for an account", []string{"user", "password", "enabledigest"}},
		"has_digest_auth":             {"whether an account has Digest Authentication", []string{"user"}},
		"version":                     {"the server's cPanel & WHM version", nil},
		"gethostname":                 {"the server's hostname", nil},
		"listaccts":                   {"list accounts", []string{"search", "searchtype", "searchmethod", "want"}},
		"accountsummary":              {"one account's summary", []string{"user", "domain"}},
		"createacct":                  {"create an account", []string{"username", "domain", "password", "plan", "contactemail"}},
		"removeacct":                  {"terminate an account", []string{"user", "keepdns"}},
		"suspendacct":                 {"suspend an account", []string{"user", "reason"}},
		"unsuspendacct":               {"unsuspend an account", []string{"user"}},
		"listsuspended":               {"list suspended accounts", nil},
		"listresellers":               {"list resellers", nil},
		"listpkgs":                    {"list hosting packages", nil},
		"applist":                     {"the functions this login may call", nil},
		"create_user_session":         {"a single sign-on session URL", []string{"user", "service"}},
		"api_token_create":            {"create a WHM API token", []string{"token_name", "acl"}},
		"api_token_list":              {"list WHM API tokens", nil},
		"api_token_revoke":            {"revoke WHM API tokens", []string{"token_name"}},
		"uapi_cpanel":                 {"call a UAPI function as an account", []string{"cpanel.user", "cpanel.module", "cpanel.function"}},
	}
}

// cpapi2Funcs are cPanel API 2 modules and their functions.
func cpapi2Funcs() map[string]map[string]fn {
	return map[string]map[string]fn{
		"Passwd": {
			"change_password": {"change the account's own password", []string{"oldpass", "newpass", "enablemysql", "enabledigest"}},
		},
		"Ftp": {
			"passwd":          {"change an FTP account's password", []string{"user", "pass", "domain"}},
			"listftp":         {"list FTP accounts", []string{"include_acct_types", "skip_acct_types"}},
			"listftpwithdisk": {"list FTP accounts with disk use", nil},
			"addftp":          {"create an FTP account", []string{"user", "pass", "quota", "homedir"}},
			"delftp":          {"delete an FTP account", []string{"user", "destroy"}},
		},
		"Email": {
			"passwdpop":        {"change a mail account's password", []string{"domain", "email", "password"}},
			"listpops":         {"list mail accounts", []string{"regex"}},
			"listpopswithdisk": {"list mail accounts with disk use", []string{"domain", "regex"}},
			"addpop":           {"create a mail account", []string{"domain", "email", "password", "quota"}},
			"delpop":           {"delete a mail account", []string{"domain", "email"}},
		},
		"DomainLookup": {
			"getmaindomain":  {"the account's main domain", nil},
			"getbasedomains": {"the account's domains", nil},
		},
	}
}

// uapiFuncs are UAPI modules and their functions.
func uapiFuncs() map[string]map[string]fn {
	return map[string]map[string]fn{
		"Ftp": {
			"passwd":             {"change an FTP account's password", []string{"user", "pass", "domain"}},
			"list_ftp":           {"list FTP accounts", nil},
			"list_ftp_with_disk": {"list FTP accounts with disk use", nil},
			"add_ftp":            {"create an FTP account", []string{"user", "pass", "domain", "quota", "homedir"}},
			"delete_ftp":         {"delete an FTP account", []string{"user", "domain", "destroy"}},
		},
		"Email": {
			"passwd_pop":          {"change a mail account's password", []string{"email", "password", "domain"}},
			"verify_password":     {"check a mail account's password", []string{"email", "password"}},
			"list_pops":           {"list mail accounts", []string{"regex"}},
			"list_pops_with_disk": {"list mail accounts with disk use", []string{"domain", "email"}},
			"add_pop":             {"create a mail account", []string{"email", "password", "domain", "quota"}},
			"delete_pop":          {"delete a mail account", []string{"email", "domain"}},
		},
		"PasswdStrength": {
			"get_required_strength": {"the minimum strength for an app", []string{"app"}},
			"get_password_strength": {"the server's score of a password", []string{"password"}},
		},
		"Variables": {
			"get_user_information": {"the account's user, domain, owner and more", []string{"name"}},
		},
		"DomainInfo": {
			"list_domains": {"the account's domains", nil},
			"domains_data": {"details of the account's domains", []string{"format"}},
		},
		"Mysql": {
			"set_password": {"change a MySQL user's password", []string{"user", "password"}},
		},
		"WebDisk": {
			"set_password": {"change a Web Disk account's password", []string{"user", "password", "enabledigest"}},
		},
		"Tokens": {
			"create_full_access": {"create a cPanel API token", []string{"name"}},
			"list":               {"list cPanel API tokens", nil},
			"revoke":             {"revoke a cPanel API token", []string{"name"}},
		},
	}
}

// completeArgs completes function names, then module and function names,
// then the known parameter names as "key=".
func completeArgs(api cpanel.API) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if strings.Contains(toComplete, "=") {
			// A value: the shell may complete a file name after "@".
			return nil, cobra.ShellCompDirectiveDefault
		}
		fns := whmapi1Funcs()
		if api != cpanel.WHMAPI1 {
			mods := cpapi2Funcs()
			if api == cpanel.UAPI {
				mods = uapiFuncs()
			}
			if len(args) == 0 {
				var out []string
				for _, m := range slices.Sorted(maps.Keys(mods)) {
					if strings.HasPrefix(m, toComplete) {
						out = append(out, m)
					}
				}
				return out, cobra.ShellCompDirectiveNoFileComp
			}
			// The module chosen, its functions complete as WHM API 1's do.
			fns, args = mods[args[0]], args[1:]
		}
		if len(args) == 0 {
			return describe(fns, toComplete), cobra.ShellCompDirectiveNoFileComp
		}
		f, found := fns[args[0]]
		if !found {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, p := range f.params {
			if strings.HasPrefix(p, toComplete) {
				out = append(out, p+"=")
			}
		}
		return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
}

func describe(fns map[string]fn, prefix string) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(fns)) {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name+"\t"+fns[name].desc)
		}
	}
	return out
}
