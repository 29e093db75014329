package simulator

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/secret/strength"
)

const newPW = "New-Pass-2025#qrs"

func TestWHM1Passwd(t *testing.T) {
	weak := "aaaaaaa1"
	if strength.Score(weak) >= 50 {
		t.Fatalf("test password %q is not weak", weak)
	}
	resAuth := whmAuth("res1", SampleResellerToken)
	tests := []struct {
		name      string
		auth      string
		form      []string
		query     string
		result    float64
		reason    string
		apps      []any
		changedPW string // login whose password must now be newPW
	}{
		{name: "root token", auth: rootAuth, form: []string{"user", "bob", "password", newPW},
			result: 1, reason: "Password changed for user “bob”.", apps: []any{"system", "ftp", "mail", "MySQL"}, changedPW: "bob"},
		{name: "root basic, db 0, digest on", auth: basicAuth("root", SampleRootPassword),
			form:   []string{"user", "bob", "password", newPW, "db_pass_update", "0", "enabledigest", "1"},
			result: 1, reason: "Password changed for user “bob”.", apps: []any{"system", "ftp", "mail", "webdisk (digest)"}, changedPW: "bob"},
		{name: "digestauth wins over enabledigest", auth: rootAuth,
			form:   []string{"user", "bob", "password", newPW, "digestauth", "0", "enabledigest", "1"},
			result: 1, reason: "Password changed for user “bob”.", apps: []any{"system", "ftp", "mail", "MySQL"}, changedPW: "bob"},
		{name: "params from query and body merged", auth: rootAuth, query: "user=bob", form: []string{"password", newPW},
			result: 1, reason: "Password changed for user “bob”.", apps: []any{"system", "ftp", "mail", "MySQL"}, changedPW: "bob"},
		{name: "reseller owns alice", auth: resAuth, form: []string{"user", "alice", "password", newPW},
			result: 1, reason: "Password changed for user “alice”.", apps: []any{"system", "ftp", "mail", "MySQL"}, changedPW: "alice"},
		{name: "legacy access hash with line breaks", auth: "WHM root:AB12\r\nCD34\nEF56",
			form:   []string{"user", "bob", "password", newPW},
			result: 1, reason: "Password changed for user “bob”.", apps: []any{"system", "ftp", "mail", "MySQL"}, changedPW: "bob"},
		{name: "no user", auth: rootAuth, form: []string{"password", newPW},
			reason: "No user name supplied: “user” is a required argument."},
		{name: "no password", auth: rootAuth, form: []string{"user", "bob"},
			reason: "No password supplied: “password” is a required argument."},
		{name: "API 0 pass name on API 1", auth: rootAuth, form: []string{"user", "bob", "pass", newPW},
			reason: "No password supplied: “password” is a required argument."},
		{name: "root unknown user", auth: rootAuth, form: []string{"user", "nobody", "password", newPW},
			reason: "You do not have a user named “nobody”."},
		{name: "reseller not owner", auth: resAuth, form: []string{"user", "bob", "password", newPW},
			reason: "You do not have access to an account named “bob”."},
		{name: "reseller unknown user", auth: resAuth, form: []string{"user", "nobody", "password", newPW},
			reason: "You do not have access to an account named “nobody”."},
		{name: "weak", auth: rootAuth, form: []string{"user", "bob", "password", weak},
			reason: "Sorry, the password you selected cannot be used because it is too weak and would be too easy to guess. Please select a password with strength rating of 50 or higher."},
		{name: "contains username", auth: rootAuth, form: []string{"user", "bob", "password", "xx-BOB-Strong-9!q"},
			reason: "Sorry, the password may not contain the username for security reasons."},
		{name: "too short", auth: rootAuth, form: []string{"user", "bob", "password", "A1!z"},
			reason: "Sorry, passwords must be at least 5 characters for security reasons."},
		{name: "suspended", auth: rootAuth, form: []string{"user", "carol", "password", newPW},
			reason: "Sorry, the user “carol” is currently suspended. Changing the user’s password would unsuspend the account."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := SampleState()
			st.Root.AccessHash = "AB12\nCD34\nEF56\n"
			sim := New(st, Options{})
			w := serve(t, sim.Handler(RoleWHM), req{path: "/json-api/passwd", query: joinQuery("api.version=1", tt.query), form: form(tt.form...), auth: tt.auth})
			wantStatus(t, w, 200, "application/json")
			m := decode(t, w.Body.Bytes())
			if got := dig(m, "metadata", "result"); got != tt.result {
				t.Errorf("result = %v, want %v", got, tt.result)
			}
			if got := dig(m, "metadata", "reason"); got != tt.reason {
				t.Errorf("reason = %q, want %q", got, tt.reason)
			}
			if got := dig(m, "metadata", "command"); got != "passwd" {
				t.Errorf("command = %v", got)
			}
			if tt.result == 0 {
				if _, ok := m["data"]; ok {
					t.Errorf("failure carries data: %s", w.Body.Bytes())
				}
				if sim.CheckPassword("bob", newPW) || sim.CheckPassword("alice", newPW) {
					t.Error("a refused change changed a password")
				}
				return
			}
			if got := dig(m, "data", "app"); !reflect.DeepEqual(got, tt.apps) {
				t.Errorf("apps = %v, want %v", got, tt.apps)
			}
			if !sim.CheckPassword(tt.changedPW, newPW) {
				t.Errorf("password of %s not changed", tt.changedPW)
			}
		})
	}
}

func joinQuery(a, b string) string {
	if b == "" {
		return a
	}
	return a + "&" + b
}

func TestWHM1PasswdCountersAndDigest(t *testing.T) {
	sim := newSample(t)
	h := sim.Handler(RoleWHM)
	serve(t, h, req{path: "/json-api/passwd", query: "api.version=1", form: form("user", "bob", "password", newPW, "digestauth", "1"), auth: rootAuth})
	serve(t, h, req{path: "/json-api/passwd", query: "api.version=1", form: form("user", "bob", "password", newPW+"x", "db_pass_update", "0"), auth: rootAuth})
	bob := sim.State().Accounts["bob"]
	if bob.PasswordChanges != 2 || bob.MySQLPasswordChanges != 1 || !bob.DigestAuth {
		t.Errorf("counters: changes %d, mysql %d, digest %v; want 2, 1, true", bob.PasswordChanges, bob.MySQLPasswordChanges, bob.DigestAuth)
	}
	// Digest stays on when the parameter is absent, so webdisk stays listed.
	w := serve(t, h, req{path: "/json-api/passwd", query: "api.version=1", form: form("user", "bob", "password", newPW), auth: rootAuth})
	if apps := dig(decode(t, w.Body.Bytes()), "data", "app"); !reflect.DeepEqual(apps, []any{"system", "ftp", "mail", "MySQL", "webdisk (digest)"}) {
		t.Errorf("apps = %v", apps)
	}
	if got := sim.Stats().PasswordChanges; got != 3 {
		t.Errorf("PasswordChanges = %d, want 3", got)
	}
}

func TestWHM1OtherFunctions(t *testing.T) {
	sim := newSample(t)
	h := sim.Handler(RoleWHM)
	tests := []struct {
		name, path, query, auth, want string
	}{
		{"version", "/json-api/version", "api.version=1", rootAuth,
			`{"data":{"version":"11.136.0.4"},"metadata":{"command":"version","reason":"OK","result":1,"version":1}}`},
		{"minimums", "/json-api/getminimumpasswordstrengths", "api.version=1", rootAuth,
			`{"data":{"createacct":50,"default":50,"ftp":50,"list":50,"mysql":50,"passwd":50,"postgres":50,"sshkey":50,"virtual":50},"metadata":{"command":"getminimumpasswordstrengths","reason":"OK","result":1,"version":1}}`},
		{"minimum by name", "/json-api/getminimumpasswordstrengths", "api.version=1&name=passwd", rootAuth,
			`{"data":{"passwd":50},"metadata":{"command":"getminimumpasswordstrengths","reason":"OK","result":1,"version":1}}`},
		{"unknown function", "/json-api/frobnicate", "api.version=1", rootAuth,
			`{"metadata":{"command":"frobnicate","reason":"Unknown app (“frobnicate”) requested for this version (1) of the API.","result":0,"version":1}}`},
		{"listaccts as reseller", "/json-api/listaccts", "api.version=1", whmAuth("res1", SampleResellerToken),
			`{"data":{"acct":[{"user":"alice","domain":"alice.example","owner":"res1","suspended":0}]},"metadata":{"command":"listaccts","reason":"OK","result":1,"version":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, h, req{method: http.MethodGet, path: tt.path, query: tt.query, auth: tt.auth})
			wantStatus(t, w, 200, "application/json")
			if got := w.Body.String(); got != tt.want {
				t.Errorf("body\n got %s\nwant %s", got, tt.want)
			}
		})
	}
	w := serve(t, h, req{path: "/json-api/listaccts", query: "api.version=1", auth: rootAuth})
	accts, _ := dig(decode(t, w.Body.Bytes()), "data", "acct").([]any)
	if len(accts) != 3 || dig(accts, 2, "suspended") != float64(1) {
		t.Errorf("root listaccts = %s", w.Body.Bytes())
	}
}

func TestWHM0Passwd(t *testing.T) {
	tests := []struct {
		name, path, auth string
		form             []string
		ctype            string
		want             []string // substrings of the body
		changed          bool
	}{
		{"json ok", "/json-api/passwd", rootAuth, []string{"user", "bob", "pass", newPW}, "application/json",
			[]string{`{"passwd":[{"status":1,"statusmsg":"Password changed for user “bob”.","services":[{"app":"system"},{"app":"ftp"},{"app":"mail"},{"app":"MySQL"}],"rawout":"Password for “bob” has been changed.\nUpdating FTP passwords for bob\n`}, true},
		{"json no pass", "/json-api/passwd", rootAuth, []string{"user", "bob", "password", newPW}, "application/json",
			[]string{`{"passwd":[{"status":0,"statusmsg":"No password supplied: “pass” is a required argument."}]}`}, false},
		{"json reseller not owner", "/json-api/passwd", whmAuth("res1", SampleResellerToken), []string{"user", "bob", "pass", newPW}, "application/json",
			[]string{`{"passwd":[{"status":0,"statusmsg":"You are not permitted to change the password for “bob” because you are not the owner of this account."}]}`}, false},
		{"xml ok", "/xml-api/passwd", rootAuth, []string{"user", "bob", "pass", newPW}, "text/xml",
			[]string{"<passwd><passwd><rawout>Password for “bob” has been changed.", "<services><app>system</app></services><services><app>ftp</app></services>", "<status>1</status><statusmsg>Password changed for user “bob”.</statusmsg></passwd></passwd>"}, true},
		{"xml weak", "/xml-api/passwd", rootAuth, []string{"user", "bob", "pass", "aaaaaaa1"}, "text/xml",
			[]string{"<status>0</status><statusmsg>Sorry, the password you selected cannot be used"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSample(t)
			w := serve(t, sim.Handler(RoleWHM), req{path: tt.path, form: form(tt.form...), auth: tt.auth})
			wantStatus(t, w, 200, tt.ctype)
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("body lacks %q:\n%s", s, w.Body.String())
				}
			}
			if got := sim.CheckPassword("bob", newPW); got != tt.changed {
				t.Errorf("changed = %v, want %v", got, tt.changed)
			}
			if sim.Stats().ByFunction["whmapi0:passwd"] != 1 {
				t.Errorf("ByFunction = %v", sim.Stats().ByFunction)
			}
		})
	}
}
