package simulator

import (
	"net/http"
	"strings"
	"testing"
)

const weakPW = "aaaaaaa1"

func api2Query(user, mod, fn string) string {
	q := "cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=" + mod + "&cpanel_jsonapi_func=" + fn
	if user != "" {
		q += "&cpanel_jsonapi_user=" + user
	}
	return q
}

func TestAPI2(t *testing.T) {
	bobToken := cpAuth("bob", SampleBobToken)
	tests := []struct {
		name  string
		role  Role
		auth  string
		query string
		form  []string
		body  string // exact, or ""
		check func(t *testing.T, m map[string]any, sim *Simulator)
		state func(*State) // changes the sample state first
	}{
		{name: "ftp via WHM", role: RoleWHM, auth: rootAuth, query: api2Query("bob", "Ftp", "passwd"), form: []string{"user", "files", "pass", newPW},
			body: `{"cpanelresult":{"apiversion":2,"func":"passwd","data":[{"reason":"OK","result":1}],"event":{"result":1},"module":"Ftp"}}`,
			check: func(t *testing.T, _ map[string]any, sim *Simulator) {
				if !sim.CheckPassword("files@bob.example", newPW) {
					t.Error("ftp password not changed")
				}
			}},
		{name: "ftp user@domain", role: RoleCPanel, auth: bobToken, query: api2Query("", "Ftp", "passwd"), form: []string{"user", "files@bob.example", "pass", newPW},
			check: func(t *testing.T, m map[string]any, sim *Simulator) {
				if dig(m, "cpanelresult", "data", 0, "result") != float64(1) || !sim.CheckPassword("files@bob.example", newPW) {
					t.Errorf("reply %v", m)
				}
			}},
		{name: "ftp domain in both", role: RoleCPanel, auth: bobToken, query: api2Query("", "Ftp", "passwd"), form: []string{"user", "files@bob.example", "domain", "bob.example", "pass", newPW},
			check: wantAPI2Refusal("You do not have an FTP user named “files@bob.example”.")},
		{name: "ftp no password", role: RoleCPanel, auth: bobToken, query: api2Query("", "Ftp", "passwd"), form: []string{"user", "files"},
			check: wantAPI2Refusal("You must specify a password.")},
		{name: "ftp unknown user", role: RoleCPanel, auth: bobToken, query: api2Query("", "Ftp", "passwd"), form: []string{"user", "x", "pass", newPW},
			check: wantAPI2Refusal("You do not have an FTP user named “x”.")},
		{name: "ftp weak", role: RoleCPanel, auth: bobToken, query: api2Query("", "Ftp", "passwd"), form: []string{"user", "files", "pass", weakPW},
			check: wantAPI2Refusal("The given password is too weak. Please enter a password with a strength rating of 50 or higher.")},
		{name: "ftp none at all", role: RoleWHM, auth: rootAuth, query: api2Query("alice", "Ftp", "passwd"), form: []string{"user", "x", "pass", newPW},
			check: wantAPI2Refusal("You do not have any FTP accounts."), state: noFTP("alice")},
		{name: "mail ok", role: RoleCPanel, auth: basicAuth("bob", SampleBobPassword), query: api2Query("", "Email", "passwdpop"), form: []string{"domain", "bob.example", "email", "info", "password", newPW},
			body: `{"cpanelresult":{"apiversion":2,"func":"passwdpop","data":[{"reason":"","result":1}],"event":{"result":1},"module":"Email"}}`,
			check: func(t *testing.T, _ map[string]any, sim *Simulator) {
				if !sim.CheckPassword("info@bob.example", newPW) {
					t.Error("mail password not changed")
				}
			}},
		{name: "mail weak quirk", role: RoleWHM, auth: rootAuth, query: api2Query("bob", "Email", "passwdpop"), form: []string{"domain", "bob.example", "email", "info", "password", weakPW},
			body: `{"cpanelresult":{"apiversion":2,"error":"Sorry, the password you selected cannot be used because it is too weak and would be too easy to guess. Please select a password with strength rating of 50 or higher.","func":"passwdpop","data":[{"reason":"Sorry, the password you selected cannot be used because it is too weak and would be too easy to guess. Please select a password with strength rating of 50 or higher.","result":0}],"event":{"result":1},"module":"Email"}}`,
			check: func(t *testing.T, _ map[string]any, sim *Simulator) {
				if sim.CheckPassword("info@bob.example", weakPW) {
					t.Error("weak mail password accepted")
				}
			}},
		{name: "mail unknown", role: RoleWHM, auth: rootAuth, query: api2Query("bob", "Email", "passwdpop"), form: []string{"domain", "bob.example", "email", "nobody", "password", newPW},
			check: wantAPI2Refusal("You do not have an email account named “nobody@bob.example”.")},
		{name: "change_password", role: RoleCPanel, auth: basicAuth("bob", SampleBobPassword), query: api2Query("", "Passwd", "change_password"),
			form: []string{"oldpass", SampleBobPassword, "newpass", newPW, "enablemysql", "1"},
			check: func(t *testing.T, m map[string]any, sim *Simulator) {
				d := dig(m, "cpanelresult", "data", 0)
				if dig(d, "status") != float64(1) || dig(d, "statustxt") != "Password changed for user “bob”." || dig(d, "applist", 3, "app") != "MySQL" {
					t.Errorf("data = %v", d)
				}
				if !sim.CheckPassword("bob", newPW) {
					t.Error("not changed")
				}
			}},
		{name: "change_password wrong old", role: RoleWHM, auth: rootAuth, query: api2Query("bob", "Passwd", "change_password"),
			form: []string{"oldpass", "wrong", "newpass", newPW}, check: wantAPI2Refusal("The current password you entered is incorrect.")},
		{name: "change_password weak", role: RoleCPanel, auth: bobToken, query: api2Query("", "Passwd", "change_password"),
			form: []string{"oldpass", SampleBobPassword, "newpass", weakPW}, check: wantAPI2Refusal(weakMessage(50))},
		{name: "unknown function", role: RoleCPanel, auth: bobToken, query: api2Query("", "Ftp", "frob"),
			check: wantAPI2Error("Could not find function 'frob' in module 'Ftp'")},
		{name: "reseller bad owner", role: RoleWHM, auth: whmAuth("res1", SampleResellerToken), query: api2Query("bob", "Ftp", "passwd"), form: []string{"user", "files", "pass", newPW},
			body: `{"cpanelresult":{"data":{"reason":"Access Denied to bob","result":"0"},"type":"text","error":"Access Denied to bob"}` + "\n}"},
		{name: "reseller own account", role: RoleWHM, auth: whmAuth("res1", SampleResellerToken), query: api2Query("alice", "Ftp", "passwd"), form: []string{"user", "x", "pass", newPW},
			check: wantAPI2Refusal("You do not have an FTP user named “x”.")},
		{name: "missing user", role: RoleWHM, auth: rootAuth, query: api2Query("", "Ftp", "passwd"),
			body: `{"cpanelresult":{"data":{"reason":"User parameter is invalid or was not supplied","result":"0"},"type":"text","error":"User parameter is invalid or was not supplied"}` + "\n}"},
		{name: "unknown user", role: RoleWHM, auth: rootAuth, query: api2Query("nobody", "Ftp", "passwd"),
			body: `{"cpanelresult":{"data":{"reason":"User parameter is invalid or was not supplied","result":"0"},"type":"text","error":"User parameter is invalid or was not supplied"}` + "\n}"},
		{name: "apiversion 3 via WHM", role: RoleWHM, auth: rootAuth,
			query: "cpanel_jsonapi_apiversion=3&cpanel_jsonapi_user=bob&cpanel_jsonapi_module=Ftp&cpanel_jsonapi_func=passwd", form: []string{"user", "files", "pass", newPW},
			body: `{"module":"Ftp","func":"passwd","apiversion":3,"result":{"status":1,"data":null,"errors":null,"messages":null,"warnings":null,"metadata":{}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := SampleState()
			if tt.state != nil {
				tt.state(st)
			}
			sim := New(st, Options{})
			w := serve(t, sim.Handler(tt.role), req{path: "/json-api/cpanel", query: tt.query, form: form(tt.form...), auth: tt.auth})
			wantStatus(t, w, 200, "application/json")
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body\n got %s\nwant %s", w.Body.String(), tt.body)
			}
			if tt.check != nil {
				tt.check(t, decode(t, w.Body.Bytes()), sim)
			}
		})
	}
}

// noFTP removes an account's FTP sub-accounts, as on a server whose FTP
// password file for the account is gone.
func noFTP(account string) func(*State) {
	return func(st *State) { st.Accounts[account].FTP = nil }
}

func wantAPI2Error(msg string) func(t *testing.T, m map[string]any, sim *Simulator) {
	return func(t *testing.T, m map[string]any, sim *Simulator) {
		t.Helper()
		if dig(m, "cpanelresult", "event", "result") != float64(0) || dig(m, "cpanelresult", "error") != msg {
			t.Errorf("want error %q, got %v", msg, m)
		}
		d := dig(m, "cpanelresult", "data", 0)
		if d != nil && dig(d, "reason") != msg && dig(d, "statustxt") != msg {
			t.Errorf("data[0] = %v, want reason %q", d, msg)
		}
		if sim.Stats().PasswordChanges != 0 {
			t.Error("a refused call changed a password")
		}
	}
}

// wantAPI2Refusal checks a refusal by a function that ran: event.result
// is 1, no cpanelresult.error, the message in data[0] only.
func wantAPI2Refusal(msg string) func(t *testing.T, m map[string]any, sim *Simulator) {
	return func(t *testing.T, m map[string]any, sim *Simulator) {
		t.Helper()
		if dig(m, "cpanelresult", "event", "result") != float64(1) || dig(m, "cpanelresult", "error") != nil {
			t.Errorf("want event.result 1 and no error, got %v", m)
		}
		d := dig(m, "cpanelresult", "data", 0)
		if r, st := dig(d, "result"), dig(d, "status"); r != float64(0) && st != float64(0) {
			t.Errorf("data[0] = %v, want result or status 0", d)
		}
		if dig(d, "reason") != msg && dig(d, "statustxt") != msg {
			t.Errorf("data[0] = %v, want reason %q", d, msg)
		}
		if sim.Stats().PasswordChanges != 0 {
			t.Error("a refused call changed a password")
		}
	}
}

func TestUAPI(t *testing.T) {
	bob := cpAuth("bob", SampleBobToken)
	tests := []struct {
		name, path string
		form       []string
		body       string
	}{
		{"ftp", "/execute/Ftp/passwd", []string{"user", "files", "pass", newPW},
			`{"status":1,"data":null,"errors":null,"messages":null,"warnings":null,"metadata":{}}`},
		{"ftp weak", "/execute/Ftp/passwd", []string{"user", "files", "pass", weakPW},
			`{"status":0,"data":null,"errors":["The given password is too weak. Please enter a password with a strength rating of 50 or higher."],"messages":null,"warnings":null,"metadata":{}}`},
		{"mail", "/execute/Email/passwd_pop", []string{"email", "info", "domain", "bob.example", "password", newPW},
			`{"status":1,"data":null,"errors":null,"messages":null,"warnings":null,"metadata":{}}`},
		{"mail unknown", "/execute/Email/passwd_pop", []string{"email", "x@bob.example", "password", newPW},
			`{"status":0,"data":null,"errors":["You do not have an email account named “x@bob.example”."],"messages":null,"warnings":null,"metadata":{}}`},
		{"verify current", "/execute/Email/verify_password", []string{"email", "info@bob.example", "password", SampleMailPassword},
			`{"status":1,"data":1,"errors":null,"messages":null,"warnings":null,"metadata":{}}`},
		{"verify other", "/execute/Email/verify_password", []string{"email", "info@bob.example", "password", "nope"},
			`{"status":1,"data":0,"errors":null,"messages":null,"warnings":null,"metadata":{}}`},
		{"strength pop", "/execute/PasswdStrength/get_required_strength", []string{"app", "pop"},
			`{"status":1,"data":{"strength":50},"errors":null,"messages":null,"warnings":null,"metadata":{}}`},
		{"unknown function", "/execute/Ftp/frob", nil,
			`{"status":0,"data":null,"errors":["The system could not find the function “frob” in the module “Ftp”."],"messages":null,"warnings":null,"metadata":{}}`},
		{"unknown module", "/execute/Nope/frob", nil,
			`{"status":0,"data":null,"errors":["Failed to load module “Nope”: the module does not exist."],"messages":null,"warnings":null,"metadata":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSample(t)
			w := serve(t, sim.Handler(RoleCPanel), req{path: tt.path, form: form(tt.form...), auth: bob})
			wantStatus(t, w, 200, "application/json")
			if w.Body.String() != tt.body {
				t.Errorf("body\n got %s\nwant %s", w.Body.String(), tt.body)
			}
		})
	}
	sim := New(func() *State { s := SampleState(); s.MinimumStrengths["virtual"] = 80; return s }(), Options{})
	w := serve(t, sim.Handler(RoleCPanel), req{path: "/execute/PasswdStrength/get_required_strength", form: form("app", "webdisk"), auth: bob})
	if !strings.Contains(w.Body.String(), `"strength":80`) {
		t.Errorf("webdisk minimum: %s", w.Body.String())
	}
	w = serve(t, sim.Handler(RoleCPanel), req{path: "/execute/PasswdStrength/get_required_strength", form: form("app", "passwd"), auth: bob})
	if !strings.Contains(w.Body.String(), `"strength":50`) {
		t.Errorf("passwd minimum: %s", w.Body.String())
	}
}

func TestUAPICPanel(t *testing.T) {
	sim := newSample(t)
	h := sim.Handler(RoleWHM)
	q := "api.version=1&cpanel.user=bob&cpanel.module=Ftp&cpanel.function=passwd"
	w := serve(t, h, req{path: "/json-api/uapi_cpanel", query: q, form: form("user", "files", "pass", newPW), auth: rootAuth})
	want := `{"data":{"uapi":{"status":1,"data":null,"errors":null,"messages":null,"warnings":null,"metadata":{"transformed":1}}},"metadata":{"command":"uapi_cpanel","reason":"OK","result":1,"version":1}}`
	if w.Body.String() != want {
		t.Errorf("ok body\n got %s\nwant %s", w.Body.String(), want)
	}
	if !sim.CheckPassword("files@bob.example", newPW) {
		t.Error("not changed")
	}
	// A failed UAPI call still answers metadata.result 1.
	w = serve(t, h, req{path: "/json-api/uapi_cpanel", query: q, form: form("user", "files", "pass", weakPW), auth: rootAuth})
	m := decode(t, w.Body.Bytes())
	if dig(m, "metadata", "result") != float64(1) || dig(m, "data", "uapi", "status") != float64(0) || dig(m, "data", "uapi", "errors", 0) == nil {
		t.Errorf("failed inner call: %s", w.Body.String())
	}
	w = serve(t, h, req{method: http.MethodGet, path: "/json-api/uapi_cpanel", query: q, auth: whmAuth("res1", SampleResellerToken)})
	if m := decode(t, w.Body.Bytes()); dig(m, "metadata", "result") != float64(0) || dig(m, "metadata", "reason") != "Access Denied to bob" {
		t.Errorf("reseller on bob: %s", w.Body.String())
	}
	if got := sim.Stats().ByFunction["whmapi1:uapi_cpanel"]; got != 3 {
		t.Errorf("ByFunction = %v", sim.Stats().ByFunction)
	}
}
