package simulator

import (
	"regexp"
	"strings"
	"testing"
)

var requestFailedRE = regexp.MustCompile(`^The request failed\. \(Error ID: [a-hj-km-np-z2-9]{6}\) Ask your hosting provider to research this error in cPanel & WHM’s main error log\.$`)

// uapiErrors returns a UAPI reply's status and errors.
func uapiErrors(t *testing.T, body []byte) (float64, []string) {
	t.Helper()
	m := decode(t, body)
	if r, ok := m["result"].(map[string]any); ok {
		m = r // through WHM's /json-api/cpanel
	}
	var errs []string
	list, _ := m["errors"].([]any)
	for _, e := range list {
		errs = append(errs, e.(string))
	}
	status, _ := m["status"].(float64)
	return status, errs
}

// Mysql/set_password and Postgresql/set_password check the arguments, then
// the user (by its full name), then the strength, whose failure shows only
// as an error ID.
func TestDBSetPassword(t *testing.T) {
	bob := cpAuth("bob", SampleBobToken)
	type tc struct {
		name string
		form []string
		want string // the one error; "" = success
	}
	for _, e := range []struct {
		engine, module, user, label string
		okBody                      string
	}{
		{KindMySQL, "Mysql", "bob_wp", "MySQL", `{"status":1,"data":{"failures":[]},"errors":null,"messages":null,"warnings":null,"metadata":{}}`},
		{KindPostgreSQL, "Postgresql", "bob_app", "PostgreSQL", `{"status":1,"data":null,"errors":null,"messages":null,"warnings":null,"metadata":{}}`},
	} {
		notOurs := "The system user “bob” does not control a " + e.label + " user named "
		for _, tt := range []tc{
			{"ok", []string{"user", e.user, "password", newPW}, ""},
			{"nothing given", nil, "Provide the “user” and “password” arguments."},
			{"no password", []string{"user", e.user}, "Provide the “password” argument."},
			{"missing before empty", []string{"password", ""}, "Provide the “user” argument."},
			{"empty password", []string{"user", e.user, "password", ""}, "The “password” argument cannot be empty."},
			{"both empty", []string{"user", "", "password", ""}, "The “user” and “password” arguments cannot be empty."},
			{"unknown user before strength", []string{"user", "bob_x", "password", weakPW}, notOurs + "“bob_x”."},
			{"the prefix is never added", []string{"user", strings.TrimPrefix(e.user, "bob_"), "password", newPW}, notOurs + "“" + strings.TrimPrefix(e.user, "bob_") + "”."},
			{"another account's user", []string{"user", "alice_shop", "password", newPW}, notOurs + "“alice_shop”."},
			{"weak shows only an error ID", []string{"user", e.user, "password", weakPW}, "error id"},
		} {
			t.Run(e.module+" "+tt.name, func(t *testing.T) {
				sim := newSample(t)
				w := serve(t, sim.Handler(RoleCPanel), req{path: "/execute/" + e.module + "/set_password", form: form(tt.form...), auth: bob})
				wantStatus(t, w, 200, "application/json")
				if tt.want == "" {
					if w.Body.String() != e.okBody {
						t.Errorf("body\n got %s\nwant %s", w.Body.String(), e.okBody)
					}
					if !sim.CheckPasswordOf(e.engine, e.user, newPW) || sim.Stats().PasswordChanges != 1 {
						t.Error("password not changed")
					}
					return
				}
				status, errs := uapiErrors(t, w.Body.Bytes())
				ok := len(errs) == 1 && status == 0
				if tt.want == "error id" {
					ok = ok && requestFailedRE.MatchString(errs[0])
				} else {
					ok = ok && errs[0] == tt.want
				}
				if !ok {
					t.Errorf("got %s, want %q", w.Body.Bytes(), tt.want)
				}
				if sim.Stats().PasswordChanges != 0 || !sim.CheckPasswordOf(e.engine, e.user, map[string]string{KindMySQL: SampleMySQLPassword, KindPostgreSQL: SamplePostgreSQLPassword}[e.engine]) {
					t.Error("a refused call changed the password")
				}
			})
		}
	}
}

// Each engine reads its own minimum: app mysql or postgres, else the
// default.
func TestDBSetPasswordMinimums(t *testing.T) {
	st := SampleState()
	st.MinimumStrengths = map[string]int{"mysql": 0, "default": 100}
	sim := New(st, Options{})
	bob := cpAuth("bob", SampleBobToken)
	w := serve(t, sim.Handler(RoleCPanel), req{path: "/execute/Mysql/set_password", form: form("user", "bob_wp", "password", weakPW), auth: bob})
	if status, _ := uapiErrors(t, w.Body.Bytes()); status != 1 || !sim.CheckPasswordOf(KindMySQL, "bob_wp", weakPW) {
		t.Errorf("mysql minimum 0 refused a weak password: %s", w.Body.Bytes())
	}
	w = serve(t, sim.Handler(RoleCPanel), req{path: "/execute/Postgresql/set_password", form: form("user", "bob_app", "password", weakPW), auth: bob})
	if status, _ := uapiErrors(t, w.Body.Bytes()); status != 0 {
		t.Errorf("postgres fell back to the mysql minimum: %s", w.Body.Bytes())
	}
}

// WebDisk/set_password checks the user, then the password (messages end
// in a newline), then that the login exists, then the strength; it
// rewrites the Digest Authentication hash from enabledigest.
func TestWebDiskSetPassword(t *testing.T) {
	bob := cpAuth("bob", SampleBobToken)
	tests := []struct {
		name string
		form []string
		want string // the one error; "" = success
	}{
		{"ok", []string{"user", "dav@bob.example", "password", newPW}, ""},
		{"no user", []string{"password", newPW}, "You must specify the “user” parameter.\n"},
		{"user before password", nil, "You must specify the “user” parameter.\n"},
		{"empty password", []string{"user", "dav@bob.example", "password", ""}, "You must specify the “password” parameter.\n"},
		{"unknown login before strength", []string{"user", "x@bob.example", "password", weakPW}, "Unable to change password; user “x@bob.example” does not exist."},
		{"the domain is part of the login", []string{"user", "dav", "password", newPW}, "Unable to change password; user “dav” does not exist."},
		{"case matters", []string{"user", "DAV@bob.example", "password", newPW}, "Unable to change password; user “DAV@bob.example” does not exist."},
		{"another account's login", []string{"user", "dav@alice.example", "password", newPW}, "Unable to change password; user “dav@alice.example” does not exist."},
		{"spaces and plus signs are dropped", []string{"user", " dav+@bob.example\t", "password", newPW}, ""},
		{"weak", []string{"user", "dav@bob.example", "password", weakPW}, weakSorry(50)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSample(t)
			w := serve(t, sim.Handler(RoleCPanel), req{path: "/execute/WebDisk/set_password", form: form(tt.form...), auth: bob})
			if tt.want == "" {
				if want := `{"status":1,"data":null,"errors":null,"messages":null,"warnings":null,"metadata":{}}`; w.Body.String() != want {
					t.Errorf("body\n got %s\nwant %s", w.Body.String(), want)
				}
				if !sim.CheckPasswordOf(KindWebDisk, "dav@bob.example", newPW) {
					t.Error("password not changed")
				}
				return
			}
			if status, errs := uapiErrors(t, w.Body.Bytes()); status != 0 || len(errs) != 1 || errs[0] != tt.want {
				t.Errorf("got %s, want %q", w.Body.Bytes(), tt.want)
			}
			if !sim.CheckPasswordOf(KindWebDisk, "dav@bob.example", SampleWebDiskPassword) {
				t.Error("a refused call changed the password")
			}
		})
	}
}

func TestWebDiskDigestAndMinimum(t *testing.T) {
	st := SampleState()
	st.MinimumStrengths["virtual"] = 80
	sim := New(st, Options{})
	bob := cpAuth("bob", SampleBobToken)
	digest := func() bool { return sim.State().Accounts["bob"].WebDisk[0].DigestAuth }
	serve(t, sim.Handler(RoleCPanel), req{path: "/execute/WebDisk/set_password", form: form("user", "dav@bob.example", "password", newPW, "enabledigest", "1"), auth: bob})
	if !digest() {
		t.Fatal("enabledigest=1 did not turn Digest Authentication on")
	}
	serve(t, sim.Handler(RoleCPanel), req{path: "/execute/WebDisk/set_password", form: form("user", "dav@bob.example", "password", newPW), auth: bob})
	if digest() {
		t.Error("a change without enabledigest kept Digest Authentication")
	}
	w := serve(t, sim.Handler(RoleCPanel), req{path: "/execute/WebDisk/set_password", form: form("user", "dav@bob.example", "password", "kq7Rx2mw"), auth: bob}) // scores 68
	if _, errs := uapiErrors(t, w.Body.Bytes()); len(errs) != 1 || errs[0] != weakSorry(80) {
		t.Errorf("webdisk did not read the virtual minimum: %s", w.Body.Bytes())
	}
}

// Through WHM the set_password functions act only on a reseller's own
// accounts, and a stale fault leaves the old database and Web Disk
// passwords in place while answering success.
func TestDBAndWebDiskThroughWHM(t *testing.T) {
	res1 := whmAuth("res1", SampleResellerToken)
	uapi := func(user, mod, fn string) string {
		return "cpanel_jsonapi_apiversion=3&cpanel_jsonapi_user=" + user + "&cpanel_jsonapi_module=" + mod + "&cpanel_jsonapi_func=" + fn
	}
	sim := newSample(t)
	w := serve(t, sim.Handler(RoleWHM), req{path: "/json-api/cpanel", query: uapi("alice", "Postgresql", "set_password"), form: form("user", "alice_crm", "password", newPW), auth: res1})
	if status, _ := uapiErrors(t, w.Body.Bytes()); status != 1 || !sim.CheckPasswordOf(KindPostgreSQL, "alice_crm", newPW) {
		t.Errorf("reseller's own account: %s", w.Body.Bytes())
	}
	w = serve(t, sim.Handler(RoleWHM), req{path: "/json-api/cpanel", query: uapi("bob", "Mysql", "set_password"), form: form("user", "bob_wp", "password", newPW), auth: res1})
	if !strings.Contains(w.Body.String(), `"error":"Access Denied to bob"`) || sim.CheckPasswordOf(KindMySQL, "bob_wp", newPW) {
		t.Errorf("reseller, another's account: %s", w.Body.Bytes())
	}

	sim.SetFault("bob", Fault{Kind: FaultStale, Count: 2})
	for _, c := range []struct{ mod, user, kind, old string }{
		{"Mysql", "bob_wp", KindMySQL, SampleMySQLPassword},
		{"WebDisk", "dav@bob.example", KindWebDisk, SampleWebDiskPassword},
	} {
		w = serve(t, sim.Handler(RoleWHM), req{path: "/json-api/cpanel", query: uapi("bob", c.mod, "set_password"), form: form("user", c.user, "password", newPW), auth: rootAuth})
		if status, _ := uapiErrors(t, w.Body.Bytes()); status != 1 {
			t.Errorf("%s: stale fault did not answer success: %s", c.mod, w.Body.Bytes())
		}
		if !sim.CheckPasswordOf(c.kind, c.user, c.old) {
			t.Errorf("%s: stale fault changed the password", c.mod)
		}
	}
}

// CheckPasswordOf never takes one kind of login for another.
func TestCheckPasswordOf(t *testing.T) {
	sim := newSample(t)
	for _, c := range []struct {
		kind, login, pw string
		want            bool
	}{
		{KindAccount, "bob", SampleBobPassword, true},
		{KindAccount, "root", SampleRootPassword, true},
		{KindFTP, "files@bob.example", SampleFTPPassword, true},
		{KindEmail, "info@bob.example", SampleMailPassword, true},
		{KindMySQL, "alice_shop", SampleMySQLPassword, true},
		{KindPostgreSQL, "carol_data", SamplePostgreSQLPassword, true},
		{KindWebDisk, "dav@carol.example", SampleWebDiskPassword, true},
		{KindMySQL, "bob_app", SamplePostgreSQLPassword, false},
		{KindEmail, "files@bob.example", SampleFTPPassword, false},
		{KindWebDisk, "dav@bob.example", "wrong", false},
		{"bogus", "bob", SampleBobPassword, false},
	} {
		if got := sim.CheckPasswordOf(c.kind, c.login, c.pw); got != c.want {
			t.Errorf("CheckPasswordOf(%s, %s) = %v, want %v", c.kind, c.login, got, c.want)
		}
	}
}
