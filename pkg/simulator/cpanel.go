package simulator

import (
	"html"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cpctl/cpctl/pkg/secret/strength"
)

// cPanel API 2 envelopes.
type api2Event struct {
	Result int `json:"result"`
}

type api2Result struct {
	APIVersion int       `json:"apiversion"`
	Error      string    `json:"error,omitempty"`
	Func       string    `json:"func"`
	Data       any       `json:"data,omitempty"`
	Event      api2Event `json:"event"`
	Module     string    `json:"module"`
}

type api2Reply struct {
	CPanelResult api2Result `json:"cpanelresult"`
}

// api2ErrData is the object-shaped data of WHM's refusals (result is a string).
type api2ErrData struct {
	Reason string `json:"reason"`
	Result string `json:"result"`
}

type api2Error struct {
	Data  api2ErrData `json:"data"`
	Type  string      `json:"type"`
	Error string      `json:"error"`
}

// whmCPanelRefusal words a refusal of WHM's /json-api/cpanel before the
// call runs, byte for byte as the server formats it: the message
// HTML-escaped, the object followed by a newline, and wrapped in
// cpanelresult only for API 2 (bare for UAPI and API 1).
func whmCPanelRefusal(ver, msg string) reply {
	msg = html.EscapeString(msg)
	body := append(marshalJSON(api2Error{Data: api2ErrData{Reason: msg, Result: "0"}, Type: "text", Error: msg}), '\n')
	if ver == "2" {
		body = append(append([]byte(`{"cpanelresult":`), body...), '}')
	}
	return reply{status: 200, ctype: ctJSON, body: body}
}

// uapiResult is the UAPI object.
type uapiResult struct {
	Status   int            `json:"status"`
	Data     any            `json:"data"`
	Errors   []string       `json:"errors"`
	Messages []string       `json:"messages"`
	Warnings []string       `json:"warnings"`
	Metadata map[string]any `json:"metadata"`
}

func uapiOK(data any) uapiResult {
	return uapiResult{Status: 1, Data: data, Metadata: map[string]any{}}
}

func uapiFail(msg string) uapiResult {
	return uapiResult{Status: 0, Errors: []string{msg}, Metadata: map[string]any{}}
}

type uapiWrapped struct {
	Module     string     `json:"module"`
	Func       string     `json:"func"`
	APIVersion int        `json:"apiversion"`
	Result     uapiResult `json:"result"`
}

// opErr is a refusal of an FTP or mail operation.
type opErr struct {
	msg     string
	weakMin int // the minimum strength the password missed; 0 for other refusals
}

const userParamInvalid = "User parameter is invalid or was not supplied"

// whmCPanel serves /json-api/cpanel on WHM: API 2 or UAPI as an account.
func (h *handler) whmCPanel(id identity, p url.Values) call {
	s := h.sim
	user := p.Get("cpanel_jsonapi_user")
	if u := p.Get("user"); !p.Has("cpanel_jsonapi_user") && u != "" && u != "0" {
		// Without cpanel_jsonapi_user the server takes a true "user" (in
		// Perl's sense: neither empty nor "0") and removes it from the call.
		user = u
		p = maps.Clone(p)
		delete(p, "user")
	}
	mod, fn := p.Get("cpanel_jsonapi_module"), p.Get("cpanel_jsonapi_func")
	ver := p.Get("cpanel_jsonapi_apiversion")
	c := call{fn: apiName(ver) + mod + "::" + fn, target: user}
	c.exec = func() reply {
		exists, owned := s.access(id, user)
		// The order of the server's own checks: a known account, not
		// root, then ownership.
		switch {
		case user != "root" && !exists:
			return whmCPanelRefusal(ver, userParamInvalid)
		case user == "root":
			return whmCPanelRefusal(ver, "The user "+q("root")+" is not associated with a cPanel account and cannot call cPanel API 2")
		case !owned:
			return whmCPanelRefusal(ver, "Access Denied to "+user)
		}
		return s.cpanelCall(user, ver, mod, fn, p)
	}
	return c
}

// access reports whether user is an account and whether id may act on it.
func (s *Simulator) access(id identity, user string) (exists, owned bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, exists = s.st.Accounts[user]
	return exists, exists && s.owns(id, user)
}

func apiName(ver string) string {
	if ver == "3" {
		return "uapi:"
	}
	return "cpapi2:"
}

// cpanelCall runs an API 2 (or, with version 3, UAPI) call as acct.
func (s *Simulator) cpanelCall(acct, ver, mod, fn string, p url.Values) reply {
	switch ver {
	case "2":
		return jsonReply(api2Reply{CPanelResult: s.api2(acct, mod, fn, p)})
	case "3":
		return jsonReply(uapiWrapped{Module: mod, Func: fn, APIVersion: 3, Result: s.uapi(acct, mod, fn, p)})
	}
	msg := "Unsupported cpanel_jsonapi_apiversion: use 2 (cPanel API 2) or 3 (UAPI)."
	if ver == "" || ver == "1" {
		msg = "cPanel API 1 is not available: set cpanel_jsonapi_apiversion to 2 or 3."
	}
	return whmCPanelRefusal(ver, msg)
}

// uapiCPanel serves WHM API 1 uapi_cpanel: metadata.result is 1 even when
// the UAPI call inside failed.
func (s *Simulator) uapiCPanel(id identity, p url.Values) reply {
	user := p.Get("cpanel.user")
	exists, owned := s.access(id, user)
	switch {
	case user == "" || (!exists && id.kind == kindRoot):
		return whm1Fail("uapi_cpanel", userParamInvalid)
	case !owned:
		return whm1Fail("uapi_cpanel", "Access Denied to "+user)
	}
	args := url.Values{}
	for k, v := range p {
		if !strings.HasPrefix(k, "cpanel.") && k != "api.version" {
			args[k] = v
		}
	}
	res := s.uapi(user, p.Get("cpanel.module"), p.Get("cpanel.function"), args)
	res.Metadata = map[string]any{"transformed": 1}
	return whm1OK("uapi_cpanel", "OK", map[string]uapiResult{"uapi": res})
}

func (h *handler) routeCPanel(id identity, path string, p url.Values) call {
	s := h.sim
	if rest, ok := strings.CutPrefix(path, "/execute/"); ok {
		mod, fn, _ := strings.Cut(strings.Trim(rest, "/"), "/")
		return call{fn: "uapi:" + mod + "::" + fn, target: id.user, exec: func() reply {
			return jsonReply(s.uapi(id.user, mod, fn, p))
		}}
	}
	if path == "/json-api/cpanel" {
		mod, fn := p.Get("cpanel_jsonapi_module"), p.Get("cpanel_jsonapi_func")
		ver := p.Get("cpanel_jsonapi_apiversion")
		if id.cpanelToken && ver != "2" && ver != "3" {
			// cpsrvd lets a cPanel API token reach API 2 and UAPI only.
			return call{exec: tokenOnly}
		}
		return call{fn: apiName(ver) + mod + "::" + fn, target: id.user, exec: func() reply {
			return s.cpanelCall(id.user, ver, mod, fn, p)
		}}
	}
	// WHM API functions are not served on cPanel ports.
	return call{exec: accessDenied}
}

// api2 runs a cPanel API 2 function.
func (s *Simulator) api2(acct, mod, fn string, p url.Values) api2Result {
	res := api2Result{APIVersion: 2, Module: mod, Func: fn, Event: api2Event{Result: 1}}
	// A function that runs and refuses returns normally: event.result
	// stays 1 and the refusal is in data[0] only.
	switch mod + "::" + fn {
	case "Passwd::change_password":
		res.Data = s.api2ChangePassword(acct, p)
	case "Ftp::passwd":
		res.Data = api2Outcome(s.ftpPasswd(acct, p), "OK")
	case "Email::passwdpop":
		e := s.mailPasswd(acct, p)
		if e != nil && e.weakMin > 0 {
			// The quirk in docs/protocol.md, in the shape captured from real
			// servers: event.result stays 1, data[0].result is 0, and the
			// reason is in cpanelresult.error and data[0].reason.
			e.msg = weakSorry(e.weakMin)
			res.Error = e.msg
		}
		res.Data = api2Outcome(e, "")
	case "WebDisk::listwebdisks":
		res.Data = s.listWebDisks(acct)
	default:
		res.Error, res.Event.Result = "Could not find function '"+fn+"' in module '"+mod+"'", 0
	}
	return res
}

// api2Outcome is the data of Ftp::passwd and Email::passwdpop: the
// refusal's reason with result 0, or okReason with result 1.
func api2Outcome(e *opErr, okReason string) []map[string]any {
	if e != nil {
		return []map[string]any{{"reason": e.msg, "result": 0}}
	}
	return []map[string]any{{"reason": okReason, "result": 1}}
}

// api2ChangePassword is the data of Passwd::change_password, which changes
// the caller's own password.
func (s *Simulator) api2ChangePassword(acct string, p url.Values) []map[string]any {
	db, _ := boolParam(p, "enablemysql")
	old := p.Get("oldpass")
	apps, e, min := s.changePassword(identity{user: acct, kind: kindAccount},
		passwdChange{user: acct, password: p.Get("newpass"), oldPassword: &old, dbUpdate: db, digest: digestParam(p, "digestauth", "enabledigest")})
	if e != changeOK {
		msg := passwdMessage(e, acct, min)
		if e == errNoPassword {
			msg = "No new password supplied: “newpass” is a required argument."
		}
		return []map[string]any{{"status": 0, "statustxt": msg}}
	}
	list := make([]map[string]string, 0, len(apps))
	for _, a := range apps {
		list = append(list, map[string]string{"app": a})
	}
	return []map[string]any{{
		"passwdoutput": rawout(acct), "status": 1, "applist": list,
		"statustxt": "Password changed for user " + q(acct) + ".",
	}}
}

// uapiFunc is a UAPI function run as the cPanel account acct.
type uapiFunc func(s *Simulator, acct string, p url.Values) uapiResult

// uapiModules are the UAPI functions the simulator serves, by module and
// function; the Tokens module is uapiTokens'. A server has no
// WebDisk/list_webdisks: Web Disk logins are listed by API 2 only.
var uapiModules = map[string]map[string]uapiFunc{
	"Ftp": {
		"passwd":   func(s *Simulator, acct string, p url.Values) uapiResult { return uapiDone(s.ftpPasswd(acct, p)) },
		"list_ftp": (*Simulator).listFTP,
	},
	"Email": {
		"passwd_pop":      func(s *Simulator, acct string, p url.Values) uapiResult { return uapiDone(s.mailPasswd(acct, p)) },
		"verify_password": (*Simulator).verifyMail,
		"list_pops":       (*Simulator).listPops,
	},
	"Mysql": {
		"list_users":   (*Simulator).listMySQLUsers,
		"set_password": func(s *Simulator, acct string, p url.Values) uapiResult { return s.dbSetPassword(acct, engineMySQL, p) },
	},
	"Postgresql": {
		"list_users": (*Simulator).listPostgreSQLUsers,
		"set_password": func(s *Simulator, acct string, p url.Values) uapiResult {
			return s.dbSetPassword(acct, enginePostgreSQL, p)
		},
	},
	"WebDisk":        {"set_password": (*Simulator).webDiskSetPassword},
	"PasswdStrength": {"get_required_strength": (*Simulator).requiredStrength},
	"Variables":      {"get_user_information": (*Simulator).userInformation},
}

// uapi runs a UAPI function.
func (s *Simulator) uapi(acct, mod, fn string, p url.Values) uapiResult {
	if mod == "Tokens" {
		return s.uapiTokens(acct, fn, p)
	}
	funcs, ok := uapiModules[mod]
	if !ok {
		return uapiFail("Failed to load module " + q(mod) + ": the module does not exist.")
	}
	if f, ok := funcs[fn]; ok {
		return f(s, acct, p)
	}
	return uapiNoFunction(mod, fn)
}

// uapiDone is the reply of Ftp/passwd and Email/passwd_pop.
func uapiDone(e *opErr) uapiResult {
	if e != nil {
		return uapiFail(e.msg)
	}
	return uapiOK(nil)
}

// requiredStrength serves PasswdStrength/get_required_strength, which never
// refuses: no app is strength 0, an app without a setting of its own gets
// the default minimum.
func (s *Simulator) requiredStrength(_ string, p url.Values) uapiResult {
	app := p.Get("app")
	if app == "" {
		return uapiOK(map[string]int{"strength": 0})
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return uapiOK(map[string]int{"strength": s.minimum(app)})
}

// userInformation serves Variables/get_user_information.
func (s *Simulator) userInformation(acct string, _ url.Values) uapiResult {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.Accounts[acct]
	return uapiOK(map[string]any{"user": acct, "domain": a.Domain, "owner": a.Owner, "suspended": boolInt(a.Suspended), "hostname": s.st.Hostname})
}

func findFTP(a *Account, user, domain string) *FTPUser {
	return find(a.FTP, func(f FTPUser) bool { return f.User == user && f.Domain == domain })
}

// ownsDomain reports whether domain is one of the account's: its main
// domain, one of its other domains, or one its FTP users or mailboxes live
// on.
func ownsDomain(a *Account, domain string) bool {
	is := func(d string) bool { return strings.EqualFold(d, domain) }
	return is(a.Domain) || slices.ContainsFunc(a.Domains, is) ||
		slices.ContainsFunc(a.FTP, func(f FTPUser) bool { return is(f.Domain) }) ||
		slices.ContainsFunc(a.Mail, func(m MailUser) bool {
			_, d, _ := strings.Cut(m.Address, "@")
			return is(d)
		})
}

func findMail(a *Account, address string) *MailUser {
	return find(a.Mail, func(m MailUser) bool { return strings.EqualFold(m.Address, address) })
}

// weakSorry is the weak-password refusal of API 2 Email::passwdpop and
// UAPI WebDisk/set_password, worded as WHM's passwd words it.
func weakSorry(min int) string { return weakMessage(min) }

// tooWeak words Cpanel::Exception::PasswordIsTooWeak, which leaves out
// "or higher" when the minimum is the highest strength there is.
func tooWeak(min int) string {
	msg := "The given password is too weak. Please enter a password with a strength rating of " + strconv.Itoa(min)
	if min >= 100 {
		return msg + "."
	}
	return msg + " or higher."
}

// ftpPasswd changes an FTP user's password (API 2 and UAPI Ftp::passwd).
func (s *Simulator) ftpPasswd(acct string, p url.Values) *opErr {
	user, domain, pass := p.Get("user"), p.Get("domain"), p.Get("pass")
	score := strength.ScoreFor(pass, user)
	hash := HashPassword(pass)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[acct]
	// A domain in both places stays in the local part, which then names
	// no user: it is never quietly resolved.
	if u, d, ok := strings.Cut(user, "@"); ok && domain == "" {
		user, domain = u, d
	}
	if domain == "" {
		domain = a.Domain
	}
	// The server's order: the domain, the password, its strength, the FTP
	// password file, and only then the user, so a weak password for an
	// unknown user gets the weak-password message.
	if !ownsDomain(a, domain) {
		return &opErr{msg: "You do not own the domain " + q(domain) + "."}
	}
	if pass == "" {
		return &opErr{msg: "You must specify a password."}
	}
	if min := s.minimum("ftp"); score < min {
		return &opErr{msg: tooWeak(min), weakMin: min}
	}
	if len(a.FTP) == 0 {
		return &opErr{msg: "You do not have any FTP accounts."}
	}
	f := findFTP(a, user, domain)
	if f == nil {
		return &opErr{msg: "You do not have an FTP user named " + q(user) + "."}
	}
	f.PasswordHash = hash
	s.passwordChanges.Add(1)
	return nil
}

// A full address in email is taken as it is when no domain is given; with
// a domain too, the server joins the two as they come, so a mismatch names
// no mailbox (it is never quietly resolved). A bare local part without a
// domain means the account's main domain.
func mailAddress(a *Account, p url.Values) string {
	email, domain := p.Get("email"), p.Get("domain")
	switch {
	case domain != "":
		return email + "@" + domain
	case strings.Contains(email, "@"):
		return email
	}
	return email + "@" + a.Domain
}

// mailPasswd changes a mailbox password (API 2 passwdpop, UAPI passwd_pop).
func (s *Simulator) mailPasswd(acct string, p url.Values) *opErr {
	pass := p.Get("password")
	local, _, _ := strings.Cut(p.Get("email"), "@")
	score := strength.ScoreFor(pass, local)
	hash := HashPassword(pass)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[acct]
	addr := mailAddress(a, p)
	m := findMail(a, addr)
	if m == nil {
		return &opErr{msg: "You do not have an email account named " + q(addr) + "."}
	}
	if pass == "" {
		return &opErr{msg: "You must specify a password."}
	}
	if min := s.minimum("pop"); score < min {
		return &opErr{msg: tooWeak(min), weakMin: min}
	}
	m.PasswordHash = hash
	s.passwordChanges.Add(1)
	return nil
}

func (s *Simulator) verifyMail(acct string, p url.Values) uapiResult {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.Accounts[acct]
	addr := p.Get("email")
	m := findMail(a, addr)
	if m == nil {
		return uapiFail("You do not have an email account named " + q(addr) + ".")
	}
	if VerifyHash(m.PasswordHash, p.Get("password")) {
		return uapiOK(1)
	}
	return uapiOK(0)
}
