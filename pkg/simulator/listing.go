package simulator

// The listing functions a rotation resolves its targets with. Reply shapes,
// parameters and quirks follow cPanel's server modules (11.120):
// Whostmgr/API/1/Accounts.pm and Whostmgr/Accounts/List.pm (listaccts,
// getdomainowner), Whostmgr/API/1/Resellers.pm (listresellers),
// Cpanel/API/Ftp.pm and Cpanel/FtpUtils.pm (list_ftp),
// Cpanel/API/Mysql.pm and Cpanel/API/Postgresql.pm (list_users),
// Cpanel/WebDisk.pm (API 2 listwebdisks: UAPI has no Web Disk listing), and
// for Email/list_pops, whose module is not public, cPanel's documentation
// and the callers in its own code that look for the "Main Account" entry.
// docs/protocol.md lists each fact with its test.

import (
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// boolInt is a boolean as the server's JSON carries it: 1 or 0.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// perlTrue reads a parameter as Perl's truth does: absent, "" and "0" are
// false, anything else (" 0" and "00" included) is true.
func perlTrue(p url.Values, key string) bool {
	v := p.Get(key)
	return v != "" && v != "0"
}

// uapiList is a successful UAPI reply whose data is a list: the server's
// post-processing of list data (filters, sorts, pagination) marks it with
// metadata.transformed, whether or not anything was filtered.
func uapiList(data any) uapiResult {
	return uapiResult{Status: 1, Data: data, Metadata: map[string]any{"transformed": 1}}
}

// uapiNoFunction is UAPI's refusal of a function its module does not have
// (Cpanel::API::_run_module_function).
func uapiNoFunction(mod, fn string) uapiResult {
	return uapiFail("The system could not find the function " + q(fn) + " in the module " + q(mod) + ".")
}

// newXID returns a fresh exception ID, as each exception on a server
// gets: six characters of Cpanel::Exception::CORE's alphabet.
func newXID() string { return randomString("abcdefghjkmnpqrstuvwxyz23456789", 6) }

// WHM API 1 listaccts ------------------------------------------------------

// searchTypes are the searchtype values listaccts accepts.
var searchTypes = map[string]bool{"domain": true, "ip": true, "user": true, "package": true, "owner": true, "domain_and_user": true}

type acctEntry struct {
	User      string `json:"user"`
	Domain    string `json:"domain"`
	Owner     string `json:"owner"`
	Suspended int    `json:"suspended"`
}

func entryOf(name string, a *Account) acctEntry {
	return acctEntry{User: name, Domain: a.Domain, Owner: a.Owner, Suspended: boolInt(a.Suspended)}
}

// sees reports whether the caller may list the account: root sees every
// account, a reseller only those it owns. Callers hold mu.
func sees(id identity, a *Account) bool {
	return id.kind == kindRoot || (id.kind == kindReseller && a.Owner == id.user)
}

// listaccts follows Whostmgr::Accounts::List: search is a case-insensitive
// regular expression applied to the field searchtype names, and without a
// searchtype it filters nothing at all; an invalid expression matches every
// account; searchmethod=exact compares whole values instead. No match at
// all is still a success, with no data key.
func (s *Simulator) listaccts(id identity, p url.Values) reply {
	const cmd = "listaccts"
	st := p.Get("searchtype")
	if p.Has("searchtype") && !searchTypes[st] {
		return whm1Fail(cmd, "Unknown search type.")
	}
	search := strings.ReplaceAll(p.Get("search"), "\n", "")
	exact := p.Get("searchmethod") == "exact"
	s.mu.RLock()
	defer s.mu.RUnlock()
	if exact && st == "user" {
		// The server looks one user up directly: an unknown user, or one
		// the caller does not own, is a failure rather than an empty list.
		a, ok := s.st.Accounts[search]
		if !ok || !sees(id, a) {
			return whm1Fail(cmd, "No accounts found.")
		}
		return whm1OK(cmd, "OK", map[string][]acctEntry{"acct": {entryOf(search, a)}})
	}
	var re *regexp.Regexp
	if search != "" {
		// Perl's expressions are not Go's: one Go cannot compile is taken as
		// one Perl could not, which matches everything, as on a server.
		re, _ = regexp.Compile("(?i)" + search)
	}
	var list []acctEntry
	for _, name := range slices.Sorted(maps.Keys(s.st.Accounts)) {
		a := s.st.Accounts[name]
		if !sees(id, a) || (search != "" && !acctMatches(st, exact, search, re, name, a)) {
			continue
		}
		list = append(list, entryOf(name, a))
	}
	if len(list) == 0 {
		return whm1OK(cmd, "OK", nil)
	}
	return whm1OK(cmd, "OK", map[string][]acctEntry{"acct": list})
}

// acctMatches applies one search to one account. The simulator keeps no IP
// addresses or packages, so those searches see empty values.
func acctMatches(searchType string, exact bool, search string, re *regexp.Regexp, name string, a *Account) bool {
	lower := strings.ToLower(search)
	if exact {
		switch searchType {
		case "domain":
			return strings.ToLower(a.Domain) == lower
		case "owner":
			return a.Owner == lower
		case "ip", "package":
			return search == ""
		case "domain_and_user":
			// The server compares the names with the compiled expression
			// itself, which never equals a string: nothing matches.
			return false
		}
		return true
	}
	match := func(v string) bool { return re == nil || re.MatchString(v) }
	switch searchType {
	case "domain":
		return match(a.Domain)
	case "user":
		return match(name) || match(a.Domain)
	case "owner":
		return match(a.Owner)
	case "domain_and_user":
		return match(name) || match(a.Domain)
	case "ip", "package":
		return match("")
	}
	// No searchtype: the search is ignored.
	return true
}

// WHM API 1 listresellers -------------------------------------------------

// listresellers follows Whostmgr::API::1::Resellers: it takes no
// arguments, sets metadata OK and answers {"reseller": [names]}, the keys
// of the server's reseller list (root is not a reseller, so not among
// them); a server without resellers answers an empty list. A server's
// order is a Perl hash's, arbitrary; the simulator sorts the names so that
// its replies can be recorded.
//
// Only root may call it. WHM API 0's listresellers checks hasroot
// (Whostmgr/XMLUI/Meta.pm); how a server refuses a reseller's WHM API 1
// call is not known here, so the simulator answers as it answers refused
// credentials (403, "Access denied"). That refusal is an assumption, not a
// captured reply (docs/protocol.md says so too).
func (s *Simulator) listresellers(id identity, _ url.Values) reply {
	if id.kind != kindRoot {
		return accessDenied()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.st.Resellers))
	names = slices.AppendSeq(names, maps.Keys(s.st.Resellers))
	slices.Sort(names)
	return whm1OK("listresellers", "OK", map[string][]string{"reseller": names})
}

// WHM API 1 getdomainowner -------------------------------------------------

// autoSubdomains are the labels the server strips before a second lookup
// (Cpanel::WebVhosts::AutoDomains): www, mail, ipv6 and the service
// subdomains.
var autoSubdomains = []string{"www", "mail", "ipv6", "cpanel", "webdisk", "webmail", "whm", "cpcalendars", "cpcontacts", "autodiscover", "autoconfig"}

// validLookup is Cpanel::AcctUtils::DomainOwner::Tiny's test of a name it
// will look up at all: 3 to 255 characters of a-z0-9_.*- without "..".
// Upper-case letters fail it, so "BOB.EXAMPLE" has no owner.
func validLookup(d string) bool {
	return len(d) >= 3 && len(d) <= 255 && !strings.Contains(d, "..") &&
		strings.Trim(d, "abcdefghijklmnopqrstuvwxyz0123456789_.*-") == ""
}

// domainOwner finds the account owning domain; callers hold mu.
func (s *Simulator) domainOwner(domain string) string {
	lookup := func(d string) string {
		if !validLookup(d) {
			return ""
		}
		for _, name := range slices.Sorted(maps.Keys(s.st.Accounts)) {
			if ownsDomain(s.st.Accounts[name], d) {
				return name
			}
		}
		return ""
	}
	if owner := lookup(domain); owner != "" {
		return owner
	}
	for _, label := range autoSubdomains {
		if rest, ok := strings.CutPrefix(domain, label+"."); ok {
			return lookup(rest)
		}
	}
	return ""
}

// getdomainowner answers data.user: the owner, or null when no account
// owns the domain or the caller may not see its owner. Only a missing
// domain parameter fails, as an exception.
func (s *Simulator) getdomainowner(id identity, p url.Values) reply {
	const cmd = "getdomainowner"
	if !p.Has("domain") {
		return whm1Fail(cmd, "API failure: (XID "+newXID()+") Provide the "+q("domain")+" parameter for the "+q("Whostmgr::API::1::Accounts::getdomainowner")+" function.")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var user *string
	if owner := s.domainOwner(p.Get("domain")); owner != "" && sees(id, s.st.Accounts[owner]) {
		user = &owner
	}
	return whm1OK(cmd, "OK", map[string]*string{"user": user})
}

// UAPI and API 2 lists -----------------------------------------------------

// mainAccountLogin is the login of Email/list_pops's entry for the
// account's default mailbox, whose email is the account's user name.
const mainAccountLogin = "Main Account"

// listPops serves UAPI Email/list_pops: every mailbox, then the default
// mailbox unless skip_main is true.
func (s *Simulator) listPops(acct string, p url.Values) uapiResult {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.Accounts[acct]
	addrs := make([]string, 0, len(a.Mail)+1)
	for _, m := range a.Mail {
		addrs = append(addrs, m.Address)
	}
	slices.Sort(addrs)
	data := make([]map[string]any, 0, len(addrs)+1)
	entry := func(email, login string) map[string]any {
		return map[string]any{"email": email, "login": login, "suspended_incoming": 0, "suspended_login": 0}
	}
	for _, addr := range addrs {
		data = append(data, entry(addr, addr))
	}
	if !perlTrue(p, "skip_main") {
		data = append(data, entry(acct, mainAccountLogin))
	}
	return uapiList(data)
}

// ftpLogin is one entry of UAPI Ftp/list_ftp.
type ftpLogin struct {
	User    string `json:"user"`
	Homedir string `json:"homedir"`
	Type    string `json:"type"`
}

// listFTP serves UAPI Ftp/list_ftp as Cpanel::FtpUtils reads the
// account's FTP password file: the main login (the account's own name,
// type main), ftp and anonymous (type anonymous), USER_logs (type
// logaccess), and the sub-accounts as user@domain (type sub).
// skip_acct_types and include_acct_types take types separated by "|".
func (s *Simulator) listFTP(acct string, p url.Values) uapiResult {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.Accounts[acct]
	home := "/home/" + acct
	all := []ftpLogin{{User: acct, Homedir: home, Type: "main"}}
	if a.AnonymousFTP {
		all = append(all, ftpLogin{User: "ftp", Homedir: home + "/public_ftp", Type: "anonymous"},
			ftpLogin{User: "anonymous", Homedir: home + "/public_ftp", Type: "anonymous"})
	}
	if a.FTPLogs {
		all = append(all, ftpLogin{User: acct + "_logs", Homedir: "/etc/apache2/logs/domlogs/" + acct, Type: "logaccess"})
	}
	for _, f := range a.FTP {
		all = append(all, ftpLogin{User: f.User + "@" + f.Domain, Homedir: home + "/public_html/" + f.User, Type: "sub"})
	}
	types := func(key string) []string {
		if v := p.Get(key); v != "" && v != "0" {
			return strings.Split(v, "|")
		}
		return nil
	}
	skip, include := types("skip_acct_types"), types("include_acct_types")
	out := make([]ftpLogin, 0, len(all))
	for _, l := range all {
		if slices.Contains(skip, l.Type) || (include != nil && !slices.Contains(include, l.Type)) {
			continue
		}
		out = append(out, l)
	}
	return uapiList(out)
}

// mysqlUser is one entry of UAPI Mysql/list_users.
type mysqlUser struct {
	Databases []string `json:"databases"`
	Shortuser string   `json:"shortuser"`
	User      string   `json:"user"`
}

// dbUsers returns the account's users of an engine (KindMySQL or
// KindPostgreSQL); callers hold mu.
func dbUsers(a *Account, kind string) []DBUser {
	if kind == KindPostgreSQL {
		return a.PostgreSQL
	}
	return a.MySQL
}

func findDBUser(a *Account, kind, user string) *DBUser {
	return find(dbUsers(a, kind), func(u DBUser) bool { return u.User == user })
}

// listMySQLUsers serves UAPI Mysql/list_users: objects sorted by user,
// shortuser without the "dbowner_" prefix, databases sorted.
func (s *Simulator) listMySQLUsers(acct string, _ url.Values) uapiResult {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.Accounts[acct]
	prefix := dbOwner(acct) + "_"
	out := make([]mysqlUser, 0, len(a.MySQL))
	for _, u := range a.MySQL {
		dbs := append([]string{}, u.Databases...)
		slices.Sort(dbs)
		out = append(out, mysqlUser{Databases: dbs, Shortuser: strings.TrimPrefix(u.User, prefix), User: u.User})
	}
	slices.SortFunc(out, func(x, y mysqlUser) int { return strings.Compare(x.User, y.User) })
	return uapiList(out)
}

// listPostgreSQLUsers serves UAPI Postgresql/list_users: the names alone,
// sorted.
func (s *Simulator) listPostgreSQLUsers(acct string, _ url.Values) uapiResult {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.Accounts[acct]
	out := make([]string, 0, len(a.PostgreSQL))
	for _, u := range a.PostgreSQL {
		out = append(out, u.User)
	}
	slices.Sort(out)
	return uapiList(out)
}

func findWebDisk(a *Account, login string) *WebDiskUser {
	return find(a.WebDisk, func(w WebDiskUser) bool { return w.Login == login })
}

// listWebDisks serves cPanel API 2 WebDisk::listwebdisks, the only
// listing of Web Disk logins a server offers (UAPI has none): entries
// sorted by login, the ports as strings, hasdigest and private as numbers.
func (s *Simulator) listWebDisks(acct string) []map[string]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.Accounts[acct]
	out := make([]map[string]any, 0, len(a.WebDisk))
	for _, w := range a.WebDisk {
		user, domain, _ := strings.Cut(w.Login, "@")
		perms := "rw"
		if w.Perms == "ro" {
			perms = "ro"
		}
		out = append(out, map[string]any{
			"login": w.Login, "domain": domain, "user": user,
			"homedir": "/home/" + acct + "/public_html/" + user, "reldir": "public_html/" + user,
			"private": 0, "sslport": "2078", "mainport": "2077", "hasdigest": boolInt(w.DigestAuth), "perms": perms,
		})
	}
	slices.SortFunc(out, func(x, y map[string]any) int { return strings.Compare(x["login"].(string), y["login"].(string)) })
	return out
}
