package simulator

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cpctl/cpctl/pkg/secret/strength"
)

// Version is the cPanel & WHM version the simulator claims.
const Version = "11.136.0.4"

// q wraps a name in the curly quotes cPanel's messages use.
func q(s string) string { return "“" + s + "”" }

type whm1Meta struct {
	Command string `json:"command"`
	Reason  string `json:"reason"`
	Result  int    `json:"result"`
	Version int    `json:"version"`
}

type whm1Reply struct {
	Data     any      `json:"data,omitempty"`
	Metadata whm1Meta `json:"metadata"`
}

func whm1OK(cmd, reason string, data any) reply {
	return jsonReply(whm1Reply{Data: data, Metadata: whm1Meta{Command: cmd, Reason: reason, Result: 1, Version: 1}})
}

func whm1Fail(cmd, reason string) reply {
	return jsonReply(whm1Reply{Metadata: whm1Meta{Command: cmd, Reason: reason, Result: 0, Version: 1}})
}

// changeErr is why a password change was refused; the API layers word it.
type changeErr int

const (
	changeOK changeErr = iota
	errNoUser
	errNoPassword
	errUnknownUser
	errNotOwner
	errSuspended
	errTooShort
	errContainsUser
	errWeak
	errBadOldPassword
	errReusedPassword
)

func weakMessage(min int) string {
	return "Sorry, the password you selected cannot be used because it is too weak and would be too easy to guess. Please select a password with strength rating of " +
		strconv.Itoa(min) + " or higher."
}

// passwdMessage words a refusal as WHM API 1 and cPanel API 2 do.
func passwdMessage(e changeErr, user string, min int) string {
	switch e {
	case errNoUser:
		return "No user name supplied: “user” is a required argument."
	case errNoPassword:
		return "No password supplied: “password” is a required argument."
	case errUnknownUser:
		return "You do not have a user named " + q(user) + "."
	case errNotOwner:
		return "You do not have access to an account named " + q(user) + "."
	case errSuspended:
		return "Sorry, the user " + q(user) + " is currently suspended. Changing the user’s password would unsuspend the account."
	case errTooShort:
		return "Sorry, passwords must be at least 5 characters for security reasons."
	case errContainsUser:
		return "Sorry, the password may not contain the username for security reasons."
	case errWeak:
		return weakMessage(min)
	case errBadOldPassword:
		return "The current password you entered is incorrect."
	case errReusedPassword:
		return "You cannot reuse the old password."
	}
	return ""
}

// minimum returns the minimum strength of an app with cPanel's fallbacks:
// ftp, pop and webdisk use "virtual"; anything unset uses "default".
// Callers hold mu.
func (s *Simulator) minimum(app string) int {
	m := s.st.MinimumStrengths
	switch app {
	case "ftp", "pop", "webdisk":
		app = "virtual"
	}
	if v, ok := m[app]; ok {
		return v
	}
	return m["default"]
}

// owns reports whether the caller may manage user; callers hold mu.
func (s *Simulator) owns(id identity, user string) bool {
	if id.kind == kindRoot {
		return true
	}
	if id.kind == kindReseller {
		if user == id.user {
			return true
		}
		a, ok := s.st.Accounts[user]
		return ok && a.Owner == id.user
	}
	return id.kind == kindAccount && id.user == user
}

// passwdChange is a request to change a WHM user's or account's password.
type passwdChange struct {
	user, password string
	dbUpdate       bool
	digest         *bool
	oldPassword    *string // set for cPanel API 2 change_password
}

// changePassword does the work of passwd and change_password.
func (s *Simulator) changePassword(id identity, c passwdChange) (apps []string, e changeErr, min int) {
	if c.user == "" {
		return nil, errNoUser, 0
	}
	if c.password == "" {
		return nil, errNoPassword, 0
	}
	// Score and hash outside the lock: they are the costly part.
	score := strength.ScoreFor(c.password, c.user)
	hash := HashPassword(c.password)

	s.mu.Lock()
	defer s.mu.Unlock()
	min = s.minimum("passwd")
	acct, isAcct := s.st.Accounts[c.user]
	login := s.whmLogin(c.user)
	if isAcct {
		login = &acct.Login
	}
	if login == nil {
		if id.kind == kindRoot {
			return nil, errUnknownUser, min
		}
		return nil, errNotOwner, min
	}
	if !s.owns(id, c.user) {
		return nil, errNotOwner, min
	}
	if c.oldPassword != nil && *c.oldPassword == c.password {
		return nil, errReusedPassword, min
	}
	if c.oldPassword != nil && !VerifyHash(login.PasswordHash, *c.oldPassword) {
		return nil, errBadOldPassword, min
	}
	switch {
	case isAcct && acct.Suspended:
		return nil, errSuspended, min
	case len(c.password) < 5:
		return nil, errTooShort, min
	case strings.Contains(strings.ToLower(c.password), strings.ToLower(c.user)):
		return nil, errContainsUser, min
	case score < min:
		return nil, errWeak, min
	}
	login.PasswordHash = hash
	s.passwordChanges.Add(1)
	apps = []string{"system"}
	if isAcct || c.user != "root" {
		apps = append(apps, "ftp", "mail")
	}
	if !isAcct {
		return apps, changeOK, min
	}
	acct.PasswordChanges++
	if c.dbUpdate {
		acct.MySQLPasswordChanges++
		apps = append(apps, "MySQL")
	}
	if c.digest != nil {
		acct.DigestAuth = *c.digest
	}
	if acct.DigestAuth {
		apps = append(apps, "webdisk (digest)")
	}
	return apps, changeOK, min
}

// boolParam reads a 1/0 parameter.
func boolParam(p url.Values, key string) (bool, bool) {
	if _, ok := p[key]; !ok {
		return false, false
	}
	v := strings.TrimSpace(p.Get(key))
	return v != "" && v != "0", true
}

// digestParam reads the first of keys that is given as a 1/0 parameter:
// WHM API 1 and API 2 take digestauth or its alias enabledigest
// (digestauth wins), WHM API 0 enabledigest only. Nil when none is given.
func digestParam(p url.Values, keys ...string) *bool {
	for _, k := range keys {
		if v, ok := boolParam(p, k); ok {
			return &v
		}
	}
	return nil
}

// whm1Func is a WHM API 1 function run for the caller id.
type whm1Func func(s *Simulator, id identity, p url.Values) reply

// whm1Funcs are the WHM API 1 functions served besides the token functions
// (whmTokenFuncs). target names the parameter that names the account the
// call acts on, whose faults it takes.
var whm1Funcs = map[string]struct {
	target string
	run    whm1Func
}{
	"passwd":                      {"user", (*Simulator).whm1Passwd},
	"version":                     {"", (*Simulator).whm1Version},
	"listaccts":                   {"", (*Simulator).listaccts},
	"listresellers":               {"", (*Simulator).listresellers},
	"getdomainowner":              {"", (*Simulator).getdomainowner},
	"list_database_users":         {"", (*Simulator).listDatabaseUsers},
	"getminimumpasswordstrengths": {"", (*Simulator).minimums},
	"uapi_cpanel":                 {"cpanel.user", (*Simulator).uapiCPanel},
}

func (h *handler) routeWHM(id identity, path string, p url.Values) call {
	s := h.sim
	if id.kind == kindAccount {
		return call{exec: accessDenied}
	}
	if rest, ok := strings.CutPrefix(path, "/xml-api/"); ok {
		fn := strings.Trim(rest, "/")
		return call{fn: "whmapi0:" + fn, target: p.Get("user"), exec: func() reply { return s.whm0(id, fn, p, true) }}
	}
	rest, ok := strings.CutPrefix(path, "/json-api/")
	if !ok {
		return call{exec: notFound}
	}
	fn := strings.Trim(rest, "/")
	if fn == "cpanel" {
		return h.whmCPanel(id, p)
	}
	if p.Get("api.version") != "1" {
		return call{fn: "whmapi0:" + fn, target: p.Get("user"), exec: func() reply { return s.whm0(id, fn, p, false) }}
	}
	c := call{fn: "whmapi1:" + fn}
	if f, ok := whm1Funcs[fn]; ok {
		if f.target != "" {
			c.target = p.Get(f.target)
		}
		c.exec = func() reply { return f.run(s, id, p) }
		return c
	}
	if run, ok := whmTokenFuncs[fn]; ok {
		// A token function's fault target is its own name, so a test can
		// slow down or break one step of a rotation.
		c.target = c.fn
		c.exec = func() reply {
			s.waitHold(c.fn)
			defer s.waitHold(c.fn + " reply")
			return run(s, id, p)
		}
		return c
	}
	c.exec = func() reply {
		return whm1Fail(fn, "Unknown app ("+q(fn)+") requested for this version (1) of the API.")
	}
	return c
}

func (s *Simulator) whm1Version(identity, url.Values) reply {
	return whm1OK("version", "OK", map[string]string{"version": Version})
}

// dbPassUpdate reads passwd's db_pass_update, which defaults to 1.
func dbPassUpdate(p url.Values) bool {
	v, ok := boolParam(p, "db_pass_update")
	return v || !ok
}

func (s *Simulator) whm1Passwd(id identity, p url.Values) reply {
	user := p.Get("user")
	apps, e, min := s.changePassword(id, passwdChange{user: user, password: p.Get("password"), dbUpdate: dbPassUpdate(p), digest: digestParam(p, "digestauth", "enabledigest")})
	if e != changeOK {
		return whm1Fail("passwd", passwdMessage(e, user, min))
	}
	return whm1OK("passwd", "Password changed for user "+q(user)+".", map[string][]string{"app": apps})
}

// minimumApps are the keys getminimumpasswordstrengths reports.
var minimumApps = []string{"createacct", "default", "ftp", "list", "mysql", "passwd", "postgres", "sshkey", "virtual"}

func (s *Simulator) minimums(_ identity, p url.Values) reply {
	out := make(map[string]int)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if name := p.Get("name"); name != "" {
		out[name] = s.minimum(name)
	} else {
		for _, app := range minimumApps {
			out[app] = s.minimum(app)
		}
	}
	return whm1OK("getminimumpasswordstrengths", "OK", out)
}

// WHM API 0 (legacy) -------------------------------------------------------

type whm0Service struct {
	App string `json:"app" xml:"app"`
}

type whm0Result struct {
	Status    int           `json:"status" xml:"-"`
	Statusmsg string        `json:"statusmsg" xml:"-"`
	Services  []whm0Service `json:"services,omitempty" xml:"-"`
	Rawout    string        `json:"rawout,omitempty" xml:"-"`
}

type whm0XMLResult struct {
	Rawout    string        `xml:"rawout,omitempty"`
	Services  []whm0Service `xml:"services"`
	Status    int           `xml:"status"`
	Statusmsg string        `xml:"statusmsg"`
}

type whm0XML struct {
	XMLName xml.Name        `xml:"passwd"`
	Results []whm0XMLResult `xml:"passwd"`
}

func (s *Simulator) whm0(id identity, fn string, p url.Values, asXML bool) reply {
	switch fn {
	case "passwd":
		res := s.whm0Passwd(id, p)
		if !asXML {
			return jsonReply(map[string][]whm0Result{"passwd": {res}})
		}
		out, err := xml.Marshal(whm0XML{Results: []whm0XMLResult{{Rawout: res.Rawout, Services: res.Services, Status: res.Status, Statusmsg: res.Statusmsg}}})
		if err != nil {
			return errorPage(http.StatusInternalServerError, "XML encoding failed.")
		}
		return reply{status: 200, ctype: ctXML, body: append([]byte(xml.Header), out...)}
	case "version":
		if asXML {
			return reply{status: 200, ctype: ctXML, body: []byte(xml.Header + "<version><version>" + Version + "</version></version>")}
		}
		return jsonReply(map[string]string{"version": Version})
	}
	msg := "Unknown app (" + q(fn) + ") requested for this version (0) of the API."
	if asXML {
		return reply{status: 200, ctype: ctXML, body: []byte(xml.Header + "<cpanelresult><data><result>0</result><reason>" + xmlEscape(msg) + "</reason></data><error>" + xmlEscape(msg) + "</error></cpanelresult>")}
	}
	return jsonReply(api2Error{Data: api2ErrData{Reason: msg, Result: "0"}, Type: "text", Error: msg})
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (s *Simulator) whm0Passwd(id identity, p url.Values) whm0Result {
	user := p.Get("user")
	apps, e, min := s.changePassword(id, passwdChange{user: user, password: p.Get("pass"), dbUpdate: dbPassUpdate(p), digest: digestParam(p, "enabledigest")})
	switch e {
	case changeOK:
	case errNoPassword:
		return whm0Result{Statusmsg: "No password supplied: “pass” is a required argument."}
	case errNotOwner:
		return whm0Result{Statusmsg: "You are not permitted to change the password for " + q(user) + " because you are not the owner of this account."}
	default:
		return whm0Result{Statusmsg: passwdMessage(e, user, min)}
	}
	res := whm0Result{Status: 1, Statusmsg: "Password changed for user " + q(user) + ".", Rawout: rawout(user)}
	for _, a := range apps {
		res.Services = append(res.Services, whm0Service{App: a})
	}
	return res
}

func rawout(user string) string {
	return "Password for " + q(user) + " has been changed.\nUpdating FTP passwords for " + user + "\nFTP password files updated.\nFTP vhost passwords synced\n"
}
