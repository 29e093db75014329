package cpanel

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// The listings read what a server has, so that a bulk run can take its targets from the server
// rather than from a file. Each is an idempotent read. A listing is success only with its API's
// success marker and its documented payload: a reply that says success but carries no list, or a
// list whose entries lack their names, is unreadable, never an empty list (docs/protocol.md,
// "Listing what an account has").

// AccountInfo is one account as WHM API 1 listaccts describes it.
type AccountInfo struct {
	User, Domain, Owner string
	Suspended           bool
}

// ListAccountsOptions narrows listaccts with its own search (searchtype: user, domain, owner, ...).
type ListAccountsOptions struct{ SearchType, Search string }

// FTPLogin is one entry of UAPI Ftp/list_ftp. Type is the server's: "main", "anonymous",
// "logaccess", "sub".
type FTPLogin struct{ Login, User, Domain, Type string }

// Mailbox is one entry of UAPI Email/list_pops. Main is true for the account's default mailbox.
type Mailbox struct {
	Address, Local, Domain string
	Main                   bool
}

// WebDiskLogin is one Web Disk account. HasDigest says whether Digest Authentication is on for
// it (the server keeps a digest hash of its password).
type WebDiskLogin struct {
	Login, Domain string
	HasDigest     bool
}

// accountFields are the listaccts fields AccountInfo needs; asking for them only keeps the reply
// of a server with thousands of accounts small.
const accountFields = "user,domain,owner,suspended"

// ListAccounts lists the accounts the profile may act on with WHM API 1 listaccts: root sees every
// account, a reseller its own. With a search, only the accounts whose field (o.SearchType) equals
// o.Search: the search is sent with searchmethod=exact, as the server's default is a
// case-insensitive regular expression that would let "bob" match "bobby" too.
func (c *Client) ListAccounts(ctx context.Context, o ListAccountsOptions) ([]AccountInfo, error) {
	const op = "WHM API 1 listaccts"
	if c.kind != KindWHM {
		return nil, usagef(op, "listing accounts needs a WHM profile (root or a reseller)")
	}
	if (o.SearchType == "") != (o.Search == "") {
		return nil, usagef(op, "a search needs both a search type and a term")
	}
	req := Request{API: WHMAPI1, Function: "listaccts", Idempotent: true,
		Params: []Param{{Key: "want", Value: accountFields}}}
	if o.Search != "" {
		req.Params = append(req.Params, Param{Key: "searchtype", Value: o.SearchType},
			Param{Key: "search", Value: o.Search}, Param{Key: "searchmethod", Value: "exact"})
	}
	rep, _, err := c.call(ctx, req)
	if err != nil {
		return nil, err
	}
	accts, why := parseAccounts(rep.Decoded)
	if why != "" {
		return nil, unreadableReply(op, rep, why)
	}
	return accts, nil
}

// ListResellers lists the server's resellers with WHM API 1 listresellers, in the server's order,
// which is arbitrary. Root is not among them: root is no reseller. The server answers root only
// (its WHM API 0 form checks root privileges); a reseller's call fails.
func (c *Client) ListResellers(ctx context.Context) ([]string, error) {
	const op = "WHM API 1 listresellers"
	if c.kind != KindWHM {
		return nil, usagef(op, "listing resellers needs a WHM profile")
	}
	rep, _, err := c.call(ctx, Request{API: WHMAPI1, Function: "listresellers", Idempotent: true})
	if err != nil {
		return nil, err
	}
	names, why := parseResellers(rep.Body)
	if why != "" {
		return nil, unreadableReply(op, rep, why)
	}
	return names, nil
}

// resellersReply is listresellers' payload: {"data": {"reseller": [NAME, ...]}}. The pointers
// tell a missing or null key from an empty list, which is the answer of a server without
// resellers.
type resellersReply struct {
	Data *struct {
		Reseller *[]string `json:"reseller"`
	} `json:"data"`
}

// parseResellers reads the reseller names of a listresellers reply whose success marker the call
// has checked; a missing list, or a name that is not one, makes the reply unreadable.
func parseResellers(body []byte) ([]string, string) {
	var r resellersReply
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, "listresellers: " + err.Error()
	}
	if r.Data == nil || r.Data.Reseller == nil {
		return nil, "listresellers data has no reseller list"
	}
	names := *r.Data.Reseller
	for i, n := range names {
		if !plainName(n) {
			return nil, fmt.Sprintf("listresellers entry %d is not a user name", i)
		}
	}
	return names, ""
}

// DomainOwner is WHM API 1 getdomainowner: the cPanel user owning domain. A domain no account
// owns is an *Error whose Kind is ErrNotFound.
func (c *Client) DomainOwner(ctx context.Context, domain string) (string, error) {
	const op = "WHM API 1 getdomainowner"
	if c.kind != KindWHM {
		return "", usagef(op, "looking up a domain's owner needs a WHM profile (root or a reseller)")
	}
	if domain == "" {
		return "", usagef(op, "no domain given")
	}
	rep, a, err := c.call(ctx, Request{API: WHMAPI1, Function: "getdomainowner", Idempotent: true,
		Params: []Param{{Key: "domain", Value: domain}}})
	if err != nil {
		return "", err
	}
	owner, found, why := parseDomainOwner(a.data)
	switch {
	case why != "":
		return "", unreadableReply(op, rep, why)
	case !found:
		// The server answers the same for a domain nobody owns and for one owned by an account
		// the caller does not control (a reseller asking about another's customer).
		return "", &Error{Kind: ErrNotFound, Op: op, Status: rep.Status, Written: true,
			Reason: fmt.Sprintf("no account this profile controls owns the domain “%s”", domain)}
	}
	return owner, nil
}

// ListFTP lists an account's FTP logins with UAPI Ftp/list_ftp, special ones included (the
// account's main login, its log-access login and anonymous FTP: Type says which).
func (c *Client) ListFTP(ctx context.Context, owner string) ([]FTPLogin, error) {
	rep, data, err := c.listUAPI(ctx, owner, "Ftp", "list_ftp")
	if err != nil {
		return nil, err
	}
	logins, why := parseFTPLogins(data)
	if why != "" {
		return nil, unreadableReply("UAPI Ftp/list_ftp", rep, why)
	}
	return logins, nil
}

// ListMailboxes lists an account's mailboxes with UAPI Email/list_pops, the default mailbox (the
// account's own user name, without a domain) included with Main set.
func (c *Client) ListMailboxes(ctx context.Context, owner string) ([]Mailbox, error) {
	rep, data, err := c.listUAPI(ctx, owner, "Email", "list_pops")
	if err != nil {
		return nil, err
	}
	boxes, why := parseMailboxes(data)
	if why != "" {
		return nil, unreadableReply("UAPI Email/list_pops", rep, why)
	}
	return boxes, nil
}

// ListDBUsers lists an account's database users with UAPI Mysql/list_users or
// Postgresql/list_users. The names are full, with the account's prefix ("bob_wp").
func (c *Client) ListDBUsers(ctx context.Context, engine DBEngine, owner string) ([]string, error) {
	module, err := engine.module("list database users")
	if err != nil {
		return nil, err
	}
	rep, data, err := c.listUAPI(ctx, owner, module, "list_users")
	if err != nil {
		return nil, err
	}
	var users []string
	var why string
	if engine == MySQL {
		users, why = parseMySQLUsers(data)
	} else {
		users, why = parsePostgresUsers(data)
	}
	if why != "" {
		return nil, unreadableReply("UAPI "+module+"/list_users", rep, why)
	}
	return users, nil
}

// ListWebDisks lists an account's Web Disk accounts. UAPI has no listing function for Web Disk
// (cPanel's documentation: "no equivalent UAPI function exists"), so this is cPanel API 2
// WebDisk::listwebdisks.
func (c *Client) ListWebDisks(ctx context.Context, owner string) ([]WebDiskLogin, error) {
	const op = "cPanel API 2 WebDisk::listwebdisks"
	owner, err := c.actingFor(op, owner)
	if err != nil {
		return nil, err
	}
	rep, a, err := c.call(ctx, Request{API: CPAPI2, Module: "WebDisk", Function: "listwebdisks", User: owner, Idempotent: true})
	if err != nil {
		return nil, err
	}
	disks, why := parseWebDisks(a.data)
	if why != "" {
		return nil, unreadableReply(op, rep, why)
	}
	return disks, nil
}

// listUAPI makes a listing UAPI call for owner and returns the reply's data.
func (c *Client) listUAPI(ctx context.Context, owner, module, fn string) (*Reply, any, error) {
	owner, err := c.actingFor("UAPI "+module+"/"+fn, owner)
	if err != nil {
		return nil, nil, err
	}
	rep, a, err := c.call(ctx, Request{API: UAPI, Module: module, Function: fn, User: owner, Idempotent: true})
	if err != nil {
		return rep, nil, err
	}
	return rep, a.data, nil
}

// actingFor is the account a call acts for: through WHM the owner, which is required; on a
// cPanel client nothing, since the call acts as the client's own user, who is the only owner it
// may be given.
func (c *Client) actingFor(op, owner string) (string, error) {
	if c.kind == KindWHM {
		if owner == "" {
			return "", usagef(op, "through WHM it needs the owning cPanel account")
		}
		return owner, nil
	}
	if owner != "" && !strings.EqualFold(owner, c.cfg.User) {
		return "", usagef(op, "a cPanel profile acts only for its own user %s, not %s", c.cfg.User, owner)
	}
	return "", nil
}

// unreadableReply is a success marker whose payload is not the documented one: the call was made
// and answered, but what it says cannot be used.
func unreadableReply(op string, rep *Reply, why string) *Error {
	st := 0
	if rep != nil {
		st = rep.Status
	}
	return &Error{Kind: ErrTransport, Op: op, Status: st, Written: true, Reason: "unreadable reply: " + why}
}

// plainName reports a name a server could have given: not empty, no white space or control
// characters, and of a sane length. Anything else in a listing is not trusted as a target.
func plainName(s string) bool {
	if s == "" || len(s) > 320 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// records returns v as a list of JSON objects.
func records(v any) ([]map[string]any, string) {
	list, ok := v.([]any)
	if !ok {
		return nil, "the payload is not a list"
	}
	out := make([]map[string]any, 0, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Sprintf("entry %d is not an object", i)
		}
		out = append(out, m)
	}
	return out, ""
}

// name reads a required name field of a listing entry.
func name(m map[string]any, key string, i int) (string, string) {
	s, ok := m[key].(string)
	if !ok || !plainName(s) {
		return "", fmt.Sprintf("entry %d has no usable %q", i, key)
	}
	return s, ""
}

// parseAccounts reads a listaccts reply. The server leaves data out altogether when no account
// matches (metadata.result 1, reason OK): that alone is an empty list.
func parseAccounts(v any) ([]AccountInfo, string) {
	top, _ := v.(map[string]any)
	d, present := top["data"]
	if !present {
		return []AccountInfo{}, ""
	}
	dm, ok := d.(map[string]any)
	if !ok {
		return nil, "listaccts data is not an object"
	}
	recs, why := records(dm["acct"])
	if why != "" {
		return nil, "listaccts data.acct: " + why
	}
	out := make([]AccountInfo, 0, len(recs))
	for i, m := range recs {
		var a AccountInfo
		var why string
		if a.User, why = name(m, "user", i); why != "" {
			return nil, why
		}
		if a.Domain, why = name(m, "domain", i); why != "" {
			return nil, why
		}
		if a.Owner, why = name(m, "owner", i); why != "" {
			return nil, why
		}
		s, ok := marker(m["suspended"])
		if !ok {
			return nil, fmt.Sprintf("entry %d: suspended is not 1 or 0", i)
		}
		a.Suspended = s == 1
		out = append(out, a)
	}
	return out, ""
}

// parseDomainOwner reads getdomainowner's data: {"user": NAME}, or {"user": null} when no account
// the caller controls owns the domain.
func parseDomainOwner(v any) (owner string, found bool, why string) {
	d, ok := v.(map[string]any)
	if !ok {
		return "", false, "getdomainowner data is not an object"
	}
	u, present := d["user"]
	if !present {
		return "", false, "getdomainowner data has no user"
	}
	if u == nil {
		return "", false, ""
	}
	s, ok := u.(string)
	if !ok || !plainName(s) {
		return "", false, "getdomainowner user is not a user name"
	}
	return s, true, ""
}

// parseFTPLogins reads Ftp/list_ftp's data: [{"user": LOGIN, "type": TYPE, "homedir": DIR}].
func parseFTPLogins(v any) ([]FTPLogin, string) {
	recs, why := records(v)
	if why != "" {
		return nil, why
	}
	out := make([]FTPLogin, 0, len(recs))
	for i, m := range recs {
		login, why := name(m, "user", i)
		if why != "" {
			return nil, why
		}
		typ, why := name(m, "type", i)
		if why != "" {
			return nil, why
		}
		l := FTPLogin{Login: login, User: login, Type: typ}
		if u, d, ok := strings.Cut(login, "@"); ok {
			if u == "" || d == "" {
				return nil, fmt.Sprintf("entry %d: %q is not user@domain", i, login)
			}
			l.User, l.Domain = u, d
		}
		out = append(out, l)
	}
	return out, ""
}

// parseMailboxes reads Email/list_pops's data: [{"email": ADDRESS, "login": ...}]. The default
// mailbox's email is the account's user name, without a domain.
func parseMailboxes(v any) ([]Mailbox, string) {
	recs, why := records(v)
	if why != "" {
		return nil, why
	}
	out := make([]Mailbox, 0, len(recs))
	for i, m := range recs {
		addr, why := name(m, "email", i)
		if why != "" {
			return nil, why
		}
		b := Mailbox{Address: addr, Local: addr}
		if local, domain, ok := strings.Cut(addr, "@"); ok {
			if local == "" || domain == "" || strings.Contains(domain, "@") {
				return nil, fmt.Sprintf("entry %d: %q is not a mail address", i, addr)
			}
			b.Local, b.Domain = local, domain
		} else {
			b.Main = true
		}
		out = append(out, b)
	}
	return out, ""
}

// parseMySQLUsers reads Mysql/list_users's data: [{"user": FULLNAME, "shortuser": ..., "databases": [...]}].
func parseMySQLUsers(v any) ([]string, string) {
	recs, why := records(v)
	if why != "" {
		return nil, why
	}
	out := make([]string, 0, len(recs))
	for i, m := range recs {
		u, why := name(m, "user", i)
		if why != "" {
			return nil, why
		}
		out = append(out, u)
	}
	return out, ""
}

// parsePostgresUsers reads Postgresql/list_users's data: a list of user names.
func parsePostgresUsers(v any) ([]string, string) {
	list, ok := v.([]any)
	if !ok {
		return nil, "the payload is not a list"
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok || !plainName(s) {
			return nil, fmt.Sprintf("entry %d is not a user name", i)
		}
		out = append(out, s)
	}
	return out, ""
}

// parseWebDisks reads WebDisk::listwebdisks's data: [{"login": "user@domain", "hasdigest": 1, ...}].
// The domain is taken from the login: the record's own domain field holds the proxy domain when
// the server proxies Web Disk.
func parseWebDisks(v any) ([]WebDiskLogin, string) {
	recs, why := records(v)
	if why != "" {
		return nil, why
	}
	out := make([]WebDiskLogin, 0, len(recs))
	for i, m := range recs {
		login, why := name(m, "login", i)
		if why != "" {
			return nil, why
		}
		u, d, ok := strings.Cut(login, "@")
		if !ok || u == "" || d == "" {
			return nil, fmt.Sprintf("entry %d: %q is not user@domain", i, login)
		}
		w := WebDiskLogin{Login: login, Domain: d}
		// hasdigest is 1 or 0, or null for an account with no line in the shadow file.
		if hd, present := m["hasdigest"]; present && hd != nil {
			n, ok := marker(hd)
			if !ok {
				return nil, fmt.Sprintf("entry %d: hasdigest is not 1 or 0", i)
			}
			w.HasDigest = n == 1
		}
		out = append(out, w)
	}
	return out, ""
}

// DatabaseUser is one database user as WHM API 1 list_database_users lists it.
type DatabaseUser struct {
	Owner  string // the cPanel account (cpuser)
	Engine DBEngine
	Name   string
}

// ListDatabaseUsers lists the database users of every account the profile controls, with their
// owners, with WHM API 1 list_database_users: the server's own answer to "whose is bob_wp?",
// which the prefix alone does not give (it may be cut short, or turned off).
func (c *Client) ListDatabaseUsers(ctx context.Context) ([]DatabaseUser, error) {
	const op = "WHM API 1 list_database_users"
	if c.kind != KindWHM {
		return nil, usagef(op, "listing every account's database users needs a WHM profile")
	}
	rep, a, err := c.call(ctx, Request{API: WHMAPI1, Function: "list_database_users", Idempotent: true})
	if err != nil {
		return nil, err
	}
	users, why := parseDatabaseUsers(a.data)
	if why != "" {
		return nil, unreadableReply(op, rep, why)
	}
	return users, nil
}

// parseDatabaseUsers reads list_database_users' data: {"payload": [{"cpuser", "engine", "name"}]}.
func parseDatabaseUsers(v any) ([]DatabaseUser, string) {
	d, ok := v.(map[string]any)
	if !ok {
		return nil, "list_database_users data is not an object"
	}
	recs, why := records(d["payload"])
	if why != "" {
		return nil, "list_database_users data.payload: " + why
	}
	out := make([]DatabaseUser, 0, len(recs))
	for i, m := range recs {
		var u DatabaseUser
		var why string
		if u.Owner, why = name(m, "cpuser", i); why != "" {
			return nil, why
		}
		if u.Name, why = name(m, "name", i); why != "" {
			return nil, why
		}
		switch e := DBEngine(str(m, "engine")); e {
		case MySQL, PostgreSQL:
			u.Engine = e
		default:
			return nil, fmt.Sprintf("entry %d: engine is not mysql or postgresql", i)
		}
		out = append(out, u)
	}
	return out, ""
}
