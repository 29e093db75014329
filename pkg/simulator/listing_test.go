package simulator

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// listUsers returns the user names of a listaccts reply, and whether it
// had a data key at all.
func listUsers(t *testing.T, body []byte) ([]string, bool) {
	t.Helper()
	m := decode(t, body)
	if _, ok := m["data"]; !ok {
		return nil, false
	}
	accts, _ := dig(m, "data", "acct").([]any)
	users := []string{}
	for _, a := range accts {
		users = append(users, dig(a, "user").(string))
	}
	return users, true
}

// listaccts follows Whostmgr::Accounts::List: searchtype picks the field,
// search is a case-insensitive expression, no searchtype filters nothing,
// and a reseller sees only its own accounts.
func TestListAccountsSearch(t *testing.T) {
	res1 := whmAuth("res1", SampleResellerToken)
	tests := []struct {
		name, auth, query string
		want              []string // nil: no data key
		fail              string   // metadata.reason of a failure
	}{
		{name: "root sees every account", auth: rootAuth, want: []string{"alice", "bob", "carol"}},
		{name: "a reseller sees its own", auth: res1, want: []string{"alice"}},
		{name: "search without searchtype filters nothing", auth: rootAuth, query: "search=bob", want: []string{"alice", "bob", "carol"}},
		{name: "user is an expression", auth: rootAuth, query: "searchtype=user&search=^(b|c)", want: []string{"bob", "carol"}},
		{name: "user ignores case", auth: rootAuth, query: "searchtype=user&search=BOB", want: []string{"bob"}},
		{name: "domain", auth: rootAuth, query: "searchtype=domain&search=carol%5C.example", want: []string{"carol"}},
		{name: "owner", auth: rootAuth, query: "searchtype=owner&search=res1", want: []string{"alice"}},
		{name: "domain_and_user", auth: rootAuth, query: "searchtype=domain_and_user&search=%5Ealice%5C.ex%7C%5Ecarol%24", want: []string{"alice", "carol"}},
		{name: "reseller search stays in scope", auth: res1, query: "searchtype=owner&search=root"},
		{name: "no match is success without data", auth: rootAuth, query: "searchtype=user&search=nobody"},
		{name: "an invalid expression matches every account", auth: rootAuth, query: "searchtype=user&search=(", want: []string{"alice", "bob", "carol"}},
		{name: "exact domain ignores case", auth: rootAuth, query: "searchmethod=exact&searchtype=domain&search=BOB.EXAMPLE", want: []string{"bob"}},
		{name: "exact domain is whole", auth: rootAuth, query: "searchmethod=exact&searchtype=domain&search=bob"},
		{name: "exact owner", auth: rootAuth, query: "searchmethod=exact&searchtype=owner&search=root", want: []string{"bob", "carol"}},
		{name: "exact user", auth: rootAuth, query: "searchmethod=exact&searchtype=user&search=bob", want: []string{"bob"}},
		{name: "exact unknown user fails", auth: rootAuth, query: "searchmethod=exact&searchtype=user&search=bo", fail: "No accounts found."},
		{name: "exact user not the reseller's fails", auth: res1, query: "searchmethod=exact&searchtype=user&search=bob", fail: "No accounts found."},
		{name: "exact domain_and_user matches nothing", auth: rootAuth, query: "searchmethod=exact&searchtype=domain_and_user&search=bob"},
		{name: "unknown searchtype", auth: rootAuth, query: "searchtype=bogus&search=bob", fail: "Unknown search type."},
		{name: "empty searchtype", auth: rootAuth, query: "searchtype=&search=bob", fail: "Unknown search type."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, newSample(t).Handler(RoleWHM), req{path: "/json-api/listaccts", query: "api.version=1&" + tt.query, auth: tt.auth})
			wantStatus(t, w, 200, "application/json")
			if tt.fail != "" {
				want := `{"metadata":{"command":"listaccts","reason":"` + tt.fail + `","result":0,"version":1}}`
				if w.Body.String() != want {
					t.Errorf("body\n got %s\nwant %s", w.Body.String(), want)
				}
				return
			}
			got, hasData := listUsers(t, w.Body.Bytes())
			if tt.want == nil {
				if want := `{"metadata":{"command":"listaccts","reason":"OK","result":1,"version":1}}`; w.Body.String() != want {
					t.Errorf("body\n got %s\nwant %s", w.Body.String(), want)
				}
				return
			}
			if !hasData || !slices.Equal(got, tt.want) {
				t.Errorf("users %v, want %v (%s)", got, tt.want, w.Body.Bytes())
			}
		})
	}
}

var xidReason = regexp.MustCompile(`^API failure: \(XID [a-hj-km-np-z2-9]{6}\) Provide the “domain” parameter for the “Whostmgr::API::1::Accounts::getdomainowner” function\.$`)

// listresellers answers root the reseller names, sorted here (a server's
// order is arbitrary), root not among them and an empty list for none; it
// takes no arguments; a reseller gets the 403 of refused credentials (an
// assumption: see listresellers).
func TestListResellers(t *testing.T) {
	const ok = `{"data":{"reseller":%s},"metadata":{"command":"listresellers","reason":"OK","result":1,"version":1}}`
	tests := []struct {
		name, auth, query string
		edit              func(*State)
		status            int
		body              string
	}{
		{name: "root", auth: rootAuth, status: 200, body: fmt.Sprintf(ok, `["res1"]`)},
		{name: "sorted", auth: rootAuth, edit: func(st *State) {
			st.AddReseller("zoe", "Zoe-Pass-2024!xyz")
			st.AddReseller("abe", "Abe-Pass-2024!xyz")
		}, status: 200, body: fmt.Sprintf(ok, `["abe","res1","zoe"]`)},
		{name: "none is an empty list", auth: rootAuth, edit: func(st *State) {
			delete(st.Resellers, "res1")
			st.Accounts["alice"].Owner = "root"
		}, status: 200, body: fmt.Sprintf(ok, `[]`)},
		{name: "arguments are ignored", auth: rootAuth, query: "&search=nobody&reseller=x", status: 200, body: fmt.Sprintf(ok, `["res1"]`)},
		{name: "root by password", auth: basicAuth("root", SampleRootPassword), status: 200, body: fmt.Sprintf(ok, `["res1"]`)},
		{name: "a reseller is refused", auth: whmAuth("res1", SampleResellerToken), status: 403, body: string(accessDeniedBody)},
		{name: "a reseller by password is refused", auth: basicAuth("res1", SampleResellerPass), status: 403, body: string(accessDeniedBody)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := SampleState()
			if tt.edit != nil {
				tt.edit(st)
			}
			w := serve(t, New(st, Options{}).Handler(RoleWHM), req{path: "/json-api/listresellers", query: "api.version=1" + tt.query, auth: tt.auth})
			ctype := "application/json"
			if tt.status != 200 {
				ctype = "text/plain"
			}
			wantStatus(t, w, tt.status, ctype)
			if w.Body.String() != tt.body {
				t.Errorf("body\n got %s\nwant %s", w.Body.String(), tt.body)
			}
		})
	}
}

// getdomainowner answers the owner or null, never a failure, except for
// a missing domain parameter.
func TestGetDomainOwner(t *testing.T) {
	res1 := whmAuth("res1", SampleResellerToken)
	tests := []struct {
		name, auth, domain string
		want               string // "" = null
	}{
		{"main domain", rootAuth, "bob.example", "bob"},
		{"other domain", rootAuth, "shop.bob.example", "bob"},
		{"service subdomain", rootAuth, "cpanel.alice.example", "alice"},
		{"www of another domain", rootAuth, "www.shop.bob.example", "bob"},
		{"suspended account", rootAuth, "carol.example", "carol"},
		{"unknown domain", rootAuth, "nowhere.example", ""},
		{"upper case is no valid lookup", rootAuth, "BOB.EXAMPLE", ""},
		{"empty", rootAuth, "", ""},
		{"only one label stripped", rootAuth, "www.www.bob.example", ""},
		{"a reseller's own account", res1, "alice.example", "alice"},
		{"a reseller cannot see another's", res1, "bob.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, newSample(t).Handler(RoleWHM), req{path: "/json-api/getdomainowner", query: "api.version=1", form: form("domain", tt.domain), auth: tt.auth})
			user := "null"
			if tt.want != "" {
				user = `"` + tt.want + `"`
			}
			want := `{"data":{"user":` + user + `},"metadata":{"command":"getdomainowner","reason":"OK","result":1,"version":1}}`
			if w.Body.String() != want {
				t.Errorf("body\n got %s\nwant %s", w.Body.String(), want)
			}
		})
	}
	w := serve(t, newSample(t).Handler(RoleWHM), req{path: "/json-api/getdomainowner", query: "api.version=1", auth: rootAuth})
	m := decode(t, w.Body.Bytes())
	if reason, _ := dig(m, "metadata", "reason").(string); dig(m, "metadata", "result") != float64(0) || !xidReason.MatchString(reason) {
		t.Errorf("missing domain: %s", w.Body.Bytes())
	}
}

// uapiBody is the exact UAPI success body around data, with the
// metadata a list gets.
func uapiListBody(data string) string {
	return `{"status":1,"data":` + data + `,"errors":null,"messages":null,"warnings":null,"metadata":{"transformed":1}}`
}

// The UAPI lists, directly on cPanel: exact bodies.
func TestUAPILists(t *testing.T) {
	bob := cpAuth("bob", SampleBobToken)
	const info = `{"email":"info@bob.example","login":"info@bob.example","suspended_incoming":0,"suspended_login":0}`
	const main = `{"email":"bob","login":"Main Account","suspended_incoming":0,"suspended_login":0}`
	const (
		ftpMain = `{"user":"bob","homedir":"/home/bob","type":"main"}`
		ftpAnon = `{"user":"ftp","homedir":"/home/bob/public_ftp","type":"anonymous"},{"user":"anonymous","homedir":"/home/bob/public_ftp","type":"anonymous"}`
		ftpLogs = `{"user":"bob_logs","homedir":"/etc/apache2/logs/domlogs/bob","type":"logaccess"}`
		ftpSub  = `{"user":"files@bob.example","homedir":"/home/bob/public_html/files","type":"sub"}`
	)
	tests := []struct {
		name, path string
		form       []string
		want       string
	}{
		{"list_pops has the main account last", "/execute/Email/list_pops", nil, uapiListBody("[" + info + "," + main + "]")},
		{"list_pops skip_main", "/execute/Email/list_pops", []string{"skip_main", "1"}, uapiListBody("[" + info + "]")},
		{"list_pops skip_main=0", "/execute/Email/list_pops", []string{"skip_main", "0"}, uapiListBody("[" + info + "," + main + "]")},
		{"list_ftp every type", "/execute/Ftp/list_ftp", nil, uapiListBody("[" + ftpMain + "," + ftpAnon + "," + ftpLogs + "," + ftpSub + "]")},
		{"list_ftp skip_acct_types", "/execute/Ftp/list_ftp", []string{"skip_acct_types", "anonymous|logaccess"}, uapiListBody("[" + ftpMain + "," + ftpSub + "]")},
		{"list_ftp include_acct_types", "/execute/Ftp/list_ftp", []string{"include_acct_types", "sub"}, uapiListBody("[" + ftpSub + "]")},
		{"Mysql list_users", "/execute/Mysql/list_users", nil, uapiListBody(`[{"databases":["bob_wp"],"shortuser":"wp","user":"bob_wp"}]`)},
		{"Postgresql list_users", "/execute/Postgresql/list_users", nil, uapiListBody(`["bob_app"]`)},
		{"no UAPI Web Disk listing", "/execute/WebDisk/list_webdisks", nil,
			`{"status":0,"data":null,"errors":["The system could not find the function “list_webdisks” in the module “WebDisk”."],"messages":null,"warnings":null,"metadata":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, newSample(t).Handler(RoleCPanel), req{path: tt.path, form: form(tt.form...), auth: bob})
			wantStatus(t, w, 200, "application/json")
			if w.Body.String() != tt.want {
				t.Errorf("body\n got %s\nwant %s", w.Body.String(), tt.want)
			}
		})
	}
}

// Only the main login is listed for an account without anonymous FTP or
// log access; a database user's shortuser drops the account's database
// owner name, which has no underscores or dots.
func TestListsOfOtherAccounts(t *testing.T) {
	st := SampleState()
	a := st.AddAccount("web_site", "root", "web.example", SampleBobPassword)
	a.Tokens = []string{"WEBTOKEN0123456789ABCDEFGHIJKLMN"}
	a.FTP = []FTPUser{{User: "up", Domain: "web.example"}}
	a.MySQL = []DBUser{{User: "website_db", Databases: []string{"website_z", "website_a"}}, {User: "website_app"}}
	a.PostgreSQL = []DBUser{{User: "website_z"}, {User: "website_a"}}
	sim := New(st, Options{})
	auth := cpAuth("web_site", "WEBTOKEN0123456789ABCDEFGHIJKLMN")
	for path, want := range map[string]string{
		"/execute/Ftp/list_ftp": uapiListBody(`[{"user":"web_site","homedir":"/home/web_site","type":"main"},{"user":"up@web.example","homedir":"/home/web_site/public_html/up","type":"sub"}]`),
		"/execute/Mysql/list_users": uapiListBody(`[{"databases":[],"shortuser":"app","user":"website_app"},` +
			`{"databases":["website_a","website_z"],"shortuser":"db","user":"website_db"}]`),
		"/execute/Postgresql/list_users": uapiListBody(`["website_a","website_z"]`),
		"/execute/Email/list_pops":       uapiListBody(`[{"email":"web_site","login":"Main Account","suspended_incoming":0,"suspended_login":0}]`),
	} {
		w := serve(t, sim.Handler(RoleCPanel), req{path: path, auth: auth})
		if w.Body.String() != want {
			t.Errorf("%s\n got %s\nwant %s", path, w.Body.String(), want)
		}
	}
	if _, err := ParseState([]byte("accounts:\n  bob:\n    domain: bob.example\n    mysql: [{user: wp}]\n")); err == nil || !strings.Contains(err.Error(), `does not begin with the prefix "bob_"`) {
		t.Errorf("a database user without the prefix was accepted: %v", err)
	}
	if _, err := ParseState([]byte("accounts:\n  bob:\n    domain: bob.example\n    webdisk: [{login: dav@elsewhere.example}]\n")); err == nil {
		t.Error("a Web Disk login on a foreign domain was accepted")
	}
}

// cPanel API 2 WebDisk::listwebdisks is the only listing of Web Disk
// logins; through WHM, listing calls respect the reseller's accounts.
func TestListsThroughWHM(t *testing.T) {
	res1 := whmAuth("res1", SampleResellerToken)
	tests := []struct {
		name, auth, query, want string
	}{
		{"API 2 listwebdisks", rootAuth, api2Query("bob", "WebDisk", "listwebdisks"),
			`{"cpanelresult":{"apiversion":2,"func":"listwebdisks","data":[{"domain":"bob.example","hasdigest":0,"homedir":"/home/bob/public_html/dav","login":"dav@bob.example","mainport":"2077","perms":"rw","private":0,"reldir":"public_html/dav","sslport":"2078","user":"dav"}],"event":{"result":1},"module":"WebDisk"}}`},
		{"UAPI list_pops for the reseller's account", res1, "cpanel_jsonapi_apiversion=3&cpanel_jsonapi_user=alice&cpanel_jsonapi_module=Email&cpanel_jsonapi_func=list_pops&skip_main=1",
			`{"module":"Email","func":"list_pops","apiversion":3,"result":` + uapiListBody(`[{"email":"office@alice.example","login":"office@alice.example","suspended_incoming":0,"suspended_login":0}]`) + `}`},
		{"UAPI list_users of another's account", res1, "cpanel_jsonapi_apiversion=3&cpanel_jsonapi_user=bob&cpanel_jsonapi_module=Mysql&cpanel_jsonapi_func=list_users",
			`{"data":{"reason":"Access Denied to bob","result":"0"},"type":"text","error":"Access Denied to bob"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, newSample(t).Handler(RoleWHM), req{path: "/json-api/cpanel", query: tt.query, auth: tt.auth})
			if w.Body.String() != tt.want {
				t.Errorf("body\n got %s\nwant %s", w.Body.String(), tt.want)
			}
		})
	}
}

// Listing calls go through the same fault, latency and counting machinery
// as every other call: a fault on an account hits its listings.
func TestListingFaults(t *testing.T) {
	sim := newSample(t)
	sim.SetFault("bob", Fault{Kind: Fault503, Count: 1, RetryAfter: time.Second})
	q := "cpanel_jsonapi_apiversion=3&cpanel_jsonapi_user=bob&cpanel_jsonapi_module=Ftp&cpanel_jsonapi_func=list_ftp"
	w := serve(t, sim.Handler(RoleWHM), req{path: "/json-api/cpanel", query: q, auth: rootAuth})
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("faulted listing answered %d %s", w.Code, w.Body.Bytes())
	}
	w = serve(t, sim.Handler(RoleWHM), req{path: "/json-api/cpanel", query: q, auth: rootAuth})
	if dig(decode(t, w.Body.Bytes()), "result", "status") != float64(1) {
		t.Fatalf("the fault outlived its count: %s", w.Body.Bytes())
	}
	serve(t, sim.Handler(RoleWHM), req{path: "/json-api/getdomainowner", query: "api.version=1&domain=bob.example", auth: rootAuth})
	by := sim.Stats().ByFunction
	if by["uapi:Ftp::list_ftp"] != 2 || by["whmapi1:getdomainowner"] != 1 {
		t.Errorf("ByFunction = %v", by)
	}
}
