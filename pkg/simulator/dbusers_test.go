package simulator

import "testing"

// list_database_users lists every account's database users for root,
// MySQL then PostgreSQL per account, and refuses a reseller outright
// (Whostmgr/DB.pm dies before its reseller branch).
func TestListDatabaseUsers(t *testing.T) {
	const sample = `{"data":{"payload":[` +
		`{"cpuser":"alice","engine":"mysql","name":"alice_shop"},{"cpuser":"alice","engine":"postgresql","name":"alice_crm"},` +
		`{"cpuser":"bob","engine":"mysql","name":"bob_wp"},{"cpuser":"bob","engine":"postgresql","name":"bob_app"},` +
		`{"cpuser":"carol","engine":"mysql","name":"carol_blog"},{"cpuser":"carol","engine":"postgresql","name":"carol_data"}` +
		`]},"metadata":{"command":"list_database_users","reason":"OK","result":1,"version":1}}`
	const refused = `{"metadata":{"command":"list_database_users","reason":"API failure: Only root resellers can do this! at /usr/local/cpanel/Whostmgr/DB.pm line 92.\n","result":0,"version":1}}`
	noDB := func(st *State) {
		for _, a := range st.Accounts {
			a.MySQL, a.PostgreSQL = nil, nil
		}
	}
	twoEach := func(st *State) {
		st.Accounts["bob"].MySQL = append(st.Accounts["bob"].MySQL, DBUser{User: "bob_shop"})
		delete(st.Accounts, "alice")
		delete(st.Accounts, "carol")
	}
	tests := []struct {
		name, auth string
		state      func(*State)
		form       []string
		want       string
	}{
		{name: "root sees every account's users", auth: rootAuth, want: sample},
		{name: "parameters change nothing", auth: rootAuth, form: []string{"user", "bob", "engine", "mysql"}, want: sample},
		{name: "several users of one engine, in the account's order", auth: rootAuth, state: twoEach,
			want: `{"data":{"payload":[{"cpuser":"bob","engine":"mysql","name":"bob_wp"},{"cpuser":"bob","engine":"mysql","name":"bob_shop"},` +
				`{"cpuser":"bob","engine":"postgresql","name":"bob_app"}]},"metadata":{"command":"list_database_users","reason":"OK","result":1,"version":1}}`},
		{name: "no database users is an empty payload", auth: rootAuth, state: noDB,
			want: `{"data":{"payload":[]},"metadata":{"command":"list_database_users","reason":"OK","result":1,"version":1}}`},
		{name: "a reseller is refused, even for its own accounts", auth: whmAuth("res1", SampleResellerToken), want: refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := New(sampleWith(tt.state), Options{})
			w := serve(t, sim.Handler(RoleWHM), req{path: "/json-api/list_database_users", query: "api.version=1", form: form(tt.form...), auth: tt.auth})
			wantStatus(t, w, 200, "application/json")
			if w.Body.String() != tt.want {
				t.Errorf("body\n got %s\nwant %s", w.Body.String(), tt.want)
			}
			if n := sim.Stats().ByFunction["whmapi1:list_database_users"]; n != 1 {
				t.Errorf("counted %d calls, want 1", n)
			}
		})
	}

	// An account's own credentials cannot call WHM API 1 at all.
	w := serve(t, newSample(t).Handler(RoleWHM), req{path: "/json-api/list_database_users", query: "api.version=1", auth: cpAuth("bob", SampleBobToken)})
	if w.Code != 403 {
		t.Errorf("a cPanel token: status %d %s", w.Code, w.Body.String())
	}
}

// sampleWith is the sample state after change, if any.
func sampleWith(change func(*State)) *State {
	st := SampleState()
	if change != nil {
		change(st)
	}
	return st
}
