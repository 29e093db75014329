package cpanel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cpctl/cpctl/pkg/fate"
)

// replyFile is a recorded reply body from testdata/replies.
func replyFile(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(repliesDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// callName names the function a request reached, e.g. "listaccts", "Ftp/list_ftp" (UAPI, direct or
// apiversion 3) or "WebDisk::listwebdisks" (API 2).
func callName(s seen) string {
	switch {
	case strings.HasPrefix(s.Path, "/execute/"):
		return strings.TrimPrefix(s.Path, "/execute/")
	case s.Path == "/json-api/cpanel":
		sep := "/"
		if s.Form.Get("cpanel_jsonapi_apiversion") == "2" {
			sep = "::"
		}
		return s.Form.Get("cpanel_jsonapi_module") + sep + s.Form.Get("cpanel_jsonapi_func")
	}
	return strings.TrimPrefix(s.Path, "/json-api/")
}

// wrap3 puts a UAPI object into WHM's apiversion 3 envelope.
func wrap3(uapi string) string { return `{"apiversion":3,"result":` + uapi + `}` }

// The listings decode cPanel's documented replies, through WHM (apiversion 3, API 2 with
// cpanel_jsonapi_user) and directly on a cPanel client.
func TestListingsFromDocumentedReplies(t *testing.T) {
	uapiBodies := map[string]string{
		"Ftp/list_ftp":          replyFile(t, "doc_uapi_ftp_list_ftp.json"),
		"Mysql/list_users":      replyFile(t, "doc_uapi_mysql_list_users.json"),
		"Postgresql/list_users": replyFile(t, "doc_uapi_postgresql_list_users.json"),
	}
	pops := replyFile(t, "capture_cpapi3_email_list_pops.json")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		name := callName(s)
		switch {
		case name == "listaccts":
			writeJSON(w, 200, replyFile(t, "doc_whmapi1_listaccts.json"))
		case name == "WebDisk::listwebdisks":
			writeJSON(w, 200, replyFile(t, "doc_cpapi2_webdisk_listwebdisks.json"))
		case name == "Email/list_pops" && s.Path == "/json-api/cpanel":
			writeJSON(w, 200, pops)
		case name == "Email/list_pops":
			// The same reply unwrapped, as /execute answers it.
			i := strings.Index(pops, `"result":`)
			writeJSON(w, 200, pops[i+len(`"result":`):strings.LastIndex(pops, `,"apiversion"`)])
		case uapiBodies[name] != "" && s.Path == "/json-api/cpanel":
			writeJSON(w, 200, wrap3(uapiBodies[name]))
		case uapiBodies[name] != "":
			writeJSON(w, 200, uapiBodies[name])
		default:
			w.WriteHeader(404)
		}
	})
	whm, _ := New(f.config(KindWHM, AuthToken, "root", "TOKEN"))
	cp, _ := New(f.config(KindCPanel, AuthToken, "cpuser", "TOKEN"))
	ctx := context.Background()

	accts, err := whm.ListAccounts(ctx, ListAccountsOptions{})
	wantAccts := []AccountInfo{{User: "bob", Domain: "bob.example", Owner: "root"}, {User: "carol", Domain: "carol.example", Owner: "res1", Suspended: true}}
	if err != nil || !reflect.DeepEqual(accts, wantAccts) {
		t.Errorf("ListAccounts = %+v, %v; want %+v", accts, err, wantAccts)
	}
	if s := f.last(t); s.Query.Get("api.version") != "1" || s.Form.Get("want") != accountFields || s.Form.Has("search") {
		t.Errorf("listaccts sent %v %v", s.Query, s.Form)
	}

	wantFTP := []FTPLogin{
		{Login: "cpuser", User: "cpuser", Type: "main"},
		{Login: "cpuser_logs", User: "cpuser_logs", Type: "logaccess"},
		{Login: "ftp", User: "ftp", Type: "anonymous"},
		{Login: "files@example.com", User: "files", Domain: "example.com", Type: "sub"},
	}
	wantBoxes := []Mailbox{{Address: "mail@proxied.tld", Local: "mail", Domain: "proxied.tld"}, {Address: "proxied", Local: "proxied", Main: true}}
	wantDisks := []WebDiskLogin{{Login: "anotheruser@example.com", Domain: "example.com", HasDigest: true}, {Login: "user@example.com", Domain: "example.com", HasDigest: true}}
	for _, c := range []struct {
		name  string
		cl    *Client
		owner string
	}{{"through WHM", whm, "cpuser"}, {"on cPanel", cp, ""}, {"on cPanel naming itself", cp, "CPUSER"}} {
		t.Run(c.name, func(t *testing.T) {
			checkActingFor := func(what string) {
				t.Helper()
				s := f.last(t)
				if c.cl == whm && (s.Path != "/json-api/cpanel" || s.Form.Get("cpanel_jsonapi_user") != "cpuser") {
					t.Errorf("%s through WHM: %s %v", what, s.Path, s.Form)
				}
				if c.cl == cp && s.Form.Has("cpanel_jsonapi_user") {
					t.Errorf("%s on cPanel names an account: %v", what, s.Form)
				}
			}
			if got, err := c.cl.ListFTP(ctx, c.owner); err != nil || !reflect.DeepEqual(got, wantFTP) {
				t.Errorf("ListFTP = %+v, %v", got, err)
			}
			checkActingFor("list_ftp")
			if got, err := c.cl.ListMailboxes(ctx, c.owner); err != nil || !reflect.DeepEqual(got, wantBoxes) {
				t.Errorf("ListMailboxes = %+v, %v", got, err)
			}
			checkActingFor("list_pops")
			if got, err := c.cl.ListDBUsers(ctx, MySQL, c.owner); err != nil || !reflect.DeepEqual(got, []string{"cpuser_user1", "cpuser_user2"}) {
				t.Errorf("ListDBUsers(mysql) = %v, %v", got, err)
			}
			checkActingFor("Mysql/list_users")
			if got, err := c.cl.ListDBUsers(ctx, PostgreSQL, c.owner); err != nil || !reflect.DeepEqual(got, []string{"cpuser_app", "cpuser_reports"}) {
				t.Errorf("ListDBUsers(postgresql) = %v, %v", got, err)
			}
			checkActingFor("Postgresql/list_users")
			if got, err := c.cl.ListWebDisks(ctx, c.owner); err != nil || !reflect.DeepEqual(got, wantDisks) {
				t.Errorf("ListWebDisks = %+v, %v", got, err)
			}
			checkActingFor("listwebdisks")
			if s := f.last(t); s.Path == "/json-api/cpanel" && s.Form.Get("cpanel_jsonapi_apiversion") != "2" {
				t.Errorf("listwebdisks is API 2, sent %v", s.Form)
			}
		})
	}
}

func TestListAccountsSearchIsExact(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		writeJSON(w, 200, replyFile(t, "doc_whmapi1_listaccts_none.json"))
	})
	whm, _ := New(f.config(KindWHM, AuthToken, "res1", "TOKEN"))
	got, err := whm.ListAccounts(context.Background(), ListAccountsOptions{SearchType: "owner", Search: "res1"})
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no matching account: got %#v, %v; want an empty list", got, err)
	}
	s := f.last(t)
	for k, v := range map[string]string{"searchtype": "owner", "search": "res1", "searchmethod": "exact"} {
		if s.Form.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, s.Form.Get(k), v)
		}
	}
	for _, o := range []ListAccountsOptions{{SearchType: "owner"}, {Search: "bob"}} {
		if _, err := whm.ListAccounts(context.Background(), o); !isKind(err, ErrUsage) {
			t.Errorf("ListAccounts(%+v): want a usage error, got %v", o, err)
		}
	}
}

func isKind(err error, k ErrorKind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// A reply with the success marker but not the documented payload is unreadable, never an empty
// list; a refusal stays a refusal.
func TestListingsFailClosed(t *testing.T) {
	uapi := func(data string) string {
		return `{"status":1,"data":` + data + `,"errors":null,"messages":null,"warnings":null,"metadata":{}}`
	}
	tests := []struct {
		name string
		body string
		call func(ctx context.Context, c *Client) error
		want ErrorKind
	}{
		{"ftp data null", wrap3(uapi("null")), listFTP, ErrTransport},
		{"ftp data object", wrap3(uapi(`{"user":"x"}`)), listFTP, ErrTransport},
		{"ftp entry without type", wrap3(uapi(`[{"user":"x@a.example"}]`)), listFTP, ErrTransport},
		{"ftp entry with an empty name", wrap3(uapi(`[{"user":"","type":"sub"}]`)), listFTP, ErrTransport},
		{"ftp login with a line break", wrap3(uapi(`[{"user":"x\n@a.example","type":"sub"}]`)), listFTP, ErrTransport},
		{"ftp status 0", wrap3(`{"status":0,"data":null,"errors":["The FTP role is off."],"messages":null}`), listFTP, ErrRefused},
		{"ftp status true", wrap3(`{"status":true,"data":[]}`), listFTP, ErrTransport},
		{"ftp empty list", wrap3(uapi(`[]`)), listFTP, 0},
		{"pops number entry", wrap3(uapi(`[1]`)), listPops, ErrTransport},
		{"pops bad address", wrap3(uapi(`[{"email":"@x.example"}]`)), listPops, ErrTransport},
		{"mysql strings", wrap3(uapi(`["bob_wp"]`)), listMySQL, ErrTransport},
		{"postgres objects", wrap3(uapi(`[{"user":"bob_wp"}]`)), listPostgres, ErrTransport},
		{"webdisk no data", `{"cpanelresult":{"apiversion":2,"func":"listwebdisks","module":"WebDisk","event":{"result":1}}}`, listWebDisks, ErrTransport},
		{"webdisk login without domain", `{"cpanelresult":{"apiversion":2,"func":"listwebdisks","module":"WebDisk","data":[{"login":"bob"}],"event":{"result":1}}}`, listWebDisks, ErrTransport},
		{"webdisk hasdigest yes", `{"cpanelresult":{"apiversion":2,"func":"listwebdisks","module":"WebDisk","data":[{"login":"a@b.example","hasdigest":"yes"}],"event":{"result":1}}}`, listWebDisks, ErrTransport},
		{"webdisk refused", `{"cpanelresult":{"apiversion":2,"func":"listwebdisks","module":"WebDisk","error":"The Web Disk role is off.","event":{"result":0}}}`, listWebDisks, ErrRefused},
		{"listaccts data null", `{"data":null,"metadata":{"command":"listaccts","reason":"OK","result":1,"version":1}}`, listAccts, ErrTransport},
		{"listaccts acct missing", `{"data":{},"metadata":{"command":"listaccts","reason":"OK","result":1,"version":1}}`, listAccts, ErrTransport},
		{"listaccts suspended true", `{"data":{"acct":[{"user":"bob","domain":"b.example","owner":"root","suspended":true}]},"metadata":{"result":1}}`, listAccts, ErrTransport},
		{"listaccts no owner", `{"data":{"acct":[{"user":"bob","domain":"b.example","suspended":0}]},"metadata":{"result":1}}`, listAccts, ErrTransport},
		{"listaccts refused", `{"metadata":{"command":"listaccts","reason":"Unknown search type.","result":0,"version":1}}`, listAccts, ErrRefused},
		{"owner user missing", `{"data":{},"metadata":{"result":1}}`, domainOwner, ErrTransport},
		{"owner user number", `{"data":{"user":7},"metadata":{"result":1}}`, domainOwner, ErrTransport},
		{"owner user empty", `{"data":{"user":""},"metadata":{"result":1}}`, domainOwner, ErrTransport},
		{"owner none", replyFile(t, "doc_whmapi1_getdomainowner_none.json"), domainOwner, ErrNotFound},
		{"owner found", replyFile(t, "doc_whmapi1_getdomainowner.json"), domainOwner, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) { writeJSON(w, 200, tt.body) })
			c, _ := New(f.config(KindWHM, AuthToken, "root", "TOKEN"))
			err := tt.call(context.Background(), c)
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != tt.want {
				t.Fatalf("want kind %v, got %v", tt.want, err)
			}
			if !e.Written || e.Status != 200 || e.Op == "" {
				t.Errorf("error %+v: want Written, status 200 and an Op", e)
			}
		})
	}
}

func listFTP(ctx context.Context, c *Client) error {
	_, err := c.ListFTP(ctx, "bob")
	return err
}

func listPops(ctx context.Context, c *Client) error {
	_, err := c.ListMailboxes(ctx, "bob")
	return err
}

func listMySQL(ctx context.Context, c *Client) error {
	_, err := c.ListDBUsers(ctx, MySQL, "bob")
	return err
}

func listPostgres(ctx context.Context, c *Client) error {
	_, err := c.ListDBUsers(ctx, PostgreSQL, "bob")
	return err
}

func listWebDisks(ctx context.Context, c *Client) error {
	_, err := c.ListWebDisks(ctx, "bob")
	return err
}

func listAccts(ctx context.Context, c *Client) error {
	_, err := c.ListAccounts(ctx, ListAccountsOptions{})
	return err
}

func domainOwner(ctx context.Context, c *Client) error {
	owner, err := c.DomainOwner(ctx, "bob.example")
	if err == nil && owner != "bob" {
		return errors.New("owner " + owner + ", want bob")
	}
	return err
}

// ListResellers takes only listresellers' documented success with a list of names; a refusal, a
// 403 (a reseller calling it) and anything unreadable are errors, never an empty list.
func TestListResellers(t *testing.T) {
	const env = `{"data":%s,"metadata":{"command":"listresellers","reason":"OK","result":1,"version":1}}`
	accessDenied := replyFile(t, "access_denied.json")
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   []string
		kind   ErrorKind // 0: success
	}{
		{name: "success, in the server's order", body: replyFile(t, "doc_whmapi1_listresellers.json"), want: []string{"res2", "res1"}},
		{name: "result as a string", body: `{"data":{"reseller":["res1"]},"metadata":{"result":"1"}}`, want: []string{"res1"}},
		{name: "no resellers", body: fmt.Sprintf(env, `{"reseller":[]}`), want: []string{}},
		{name: "result 0", body: `{"metadata":{"command":"listresellers","reason":"Unknown app (“listresellers”) requested for this version (1) of the API.","result":0,"version":1}}`, kind: ErrRefused},
		{name: "403 access denied", status: 403, ctype: "text/plain; charset=UTF-8", body: accessDenied, kind: ErrAuth},
		{name: "not JSON", ctype: "text/html", body: "<html><body>Service Unavailable</body></html>", kind: ErrTransport},
		{name: "result true", body: `{"data":{"reseller":["res1"]},"metadata":{"result":true}}`, kind: ErrTransport},
		{name: "no data", body: `{"metadata":{"command":"listresellers","reason":"OK","result":1,"version":1}}`, kind: ErrTransport},
		{name: "data null", body: fmt.Sprintf(env, `null`), kind: ErrTransport},
		{name: "list null", body: fmt.Sprintf(env, `{"reseller":null}`), kind: ErrTransport},
		{name: "list missing", body: fmt.Sprintf(env, `{"resellers":["res1"]}`), kind: ErrTransport},
		{name: "list an object", body: fmt.Sprintf(env, `{"reseller":{"res1":1}}`), kind: ErrTransport},
		{name: "entry a number", body: fmt.Sprintf(env, `{"reseller":["res1",7]}`), kind: ErrTransport},
		{name: "entry empty", body: fmt.Sprintf(env, `{"reseller":[""]}`), kind: ErrTransport},
		{name: "entry with a line break", body: fmt.Sprintf(env, `{"reseller":["res\n1"]}`), kind: ErrTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
					w.WriteHeader(cmp.Or(tt.status, 200))
					_, _ = io.WriteString(w, tt.body)
					return
				}
				writeJSON(w, cmp.Or(tt.status, 200), tt.body)
			})
			c, _ := New(f.config(KindWHM, AuthToken, "root", "TOKEN"))
			got, err := c.ListResellers(context.Background())
			if s := f.last(t); s.Path != "/json-api/listresellers" || s.Query.Get("api.version") != "1" || len(s.Form) != 0 {
				t.Errorf("sent %s %v %v", s.Path, s.Query, s.Form)
			}
			if tt.kind == 0 {
				if err != nil || got == nil || !slices.Equal(got, tt.want) {
					t.Fatalf("ListResellers = %#v, %v; want %v", got, err, tt.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != tt.kind || got != nil {
				t.Fatalf("ListResellers = %#v, %v; want an error of kind %v", got, err, tt.kind)
			}
			if e.Op != "WHM API 1 listresellers" || !e.Written {
				t.Errorf("error %+v: want the op and Written", e)
			}
		})
	}
}

func TestDomainOwnerNotFound(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		writeJSON(w, 200, replyFile(t, "doc_whmapi1_getdomainowner_none.json"))
	})
	c, _ := New(f.config(KindWHM, AuthToken, "res1", "TOKEN"))
	_, err := c.DomainOwner(context.Background(), "nobody.example")
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrNotFound {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if s := f.last(t); s.Path != "/json-api/getdomainowner" || s.Form.Get("domain") != "nobody.example" {
		t.Errorf("sent %s %v", s.Path, s.Form)
	}
	if e.ExitCode() != 1 || StateOf(err) != fate.Refused || !strings.Contains(e.Error(), "not found: ") ||
		!strings.Contains(e.Reason, "nobody.example") {
		t.Errorf("exit %d, state %s, text %q", e.ExitCode(), StateOf(err), e.Error())
	}
}

// Who a call may act for: through WHM an owner is required; a cPanel client acts for itself only.
// WHM-only functions refuse a cPanel client. Nothing is sent in any of these cases.
func TestOwnerRules(t *testing.T) {
	var hits atomic.Int32
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) { hits.Add(1); w.WriteHeader(500) })
	whm, _ := New(f.config(KindWHM, AuthToken, "root", "TOKEN"))
	cp, _ := New(f.config(KindCPanel, AuthToken, "bob", "TOKEN"))
	ctx := context.Background()
	calls := map[string]func() error{
		"whm ListFTP without owner":      func() error { _, err := whm.ListFTP(ctx, ""); return err },
		"whm ListWebDisks without owner": func() error { _, err := whm.ListWebDisks(ctx, ""); return err },
		"whm DBPasswd without owner":     func() error { _, err := whm.DBPasswd(ctx, MySQL, "", "bob_wp", "pw"); return err },
		"whm WebDiskPasswd without owner": func() error {
			_, err := whm.WebDiskPasswd(ctx, "", "a@b.example", "pw")
			return err
		},
		"cpanel ListMailboxes for another": func() error { _, err := cp.ListMailboxes(ctx, "alice"); return err },
		"cpanel DBPasswd for another":      func() error { _, err := cp.DBPasswd(ctx, PostgreSQL, "alice", "alice_x", "pw"); return err },
		"cpanel ListAccounts":              func() error { _, err := cp.ListAccounts(ctx, ListAccountsOptions{}); return err },
		"cpanel DomainOwner":               func() error { _, err := cp.DomainOwner(ctx, "bob.example"); return err },
		"cpanel ListResellers":             func() error { _, err := cp.ListResellers(ctx); return err },
		"whm DomainOwner without domain":   func() error { _, err := whm.DomainOwner(ctx, ""); return err },
		"unknown engine":                   func() error { _, err := whm.ListDBUsers(ctx, "oracle", "bob"); return err },
		"DBPasswd without user":            func() error { _, err := whm.DBPasswd(ctx, MySQL, "bob", "", "pw"); return err },
		"webdisk login without domain": func() error {
			_, err := whm.WebDiskPasswd(ctx, "bob", "bob", "pw")
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if !isKind(err, ErrUsage) || StateOf(err) != fate.NotSent {
				t.Errorf("want a usage error (not sent), got %v", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

// Listings are idempotent reads and are sent again after a gateway's 502; a password change is not.
func TestListingsRetriedPasswordChangesNot(t *testing.T) {
	var hits atomic.Int32
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		hits.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	})
	cfg := f.config(KindWHM, AuthToken, "root", "TOKEN")
	cfg.MaxRetries = 2
	c, _ := New(cfg)
	c.sleep = noSleep
	ctx := context.Background()
	digest := true
	for _, tt := range []struct {
		name string
		call func() error
		want int32
	}{
		{"ListDBUsers", func() error { _, err := c.ListDBUsers(ctx, MySQL, "bob"); return err }, 3},
		{"ListAccounts", func() error { _, err := c.ListAccounts(ctx, ListAccountsOptions{}); return err }, 3},
		{"DBPasswd", func() error { _, err := c.DBPasswd(ctx, MySQL, "bob", "bob_wp", "New-Pass-2026!x"); return err }, 1},
		{"WebDiskPasswd", func() error {
			_, err := c.WebDiskPasswdWith(ctx, "bob", "a@bob.example", "New-Pass-2026!x", WebDiskPasswdOptions{Digest: &digest})
			return err
		}, 1},
	} {
		hits.Store(0)
		if err := tt.call(); !isKind(err, ErrTransport) {
			t.Errorf("%s: want a transport error, got %v", tt.name, err)
		}
		if got := hits.Load(); got != tt.want {
			t.Errorf("%s: %d requests, want %d", tt.name, got, tt.want)
		}
	}
}

func TestDBPasswd(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		switch callName(s) {
		case "Mysql/set_password":
			switch s.Form.Get("user") {
			case "bob_x":
				writeJSON(w, 200, wrap3(replyFile(t, "doc_uapi_mysql_set_password_not_owned.json")))
			case "bob_remote":
				writeJSON(w, 200, wrap3(`{"status":1,"data":{"failures":[{"host":"10.0.0.5","error":"no grant"}]},"errors":null,"messages":null,"warnings":null,"metadata":{}}`))
			default:
				writeJSON(w, 200, wrap3(replyFile(t, "doc_uapi_mysql_set_password_ok.json")))
			}
		case "Postgresql/set_password":
			writeJSON(w, 200, replyFile(t, "doc_uapi_postgresql_set_password_weak.json"))
		default:
			w.WriteHeader(404)
		}
	})
	whm, _ := New(f.config(KindWHM, AuthToken, "root", "TOKEN"))
	cp, _ := New(f.config(KindCPanel, AuthToken, "bob", "TOKEN"))
	ctx := context.Background()

	res, err := whm.DBPasswd(ctx, MySQL, "bob", "bob_wp", "New-Pass-2026!x")
	if err != nil || !res.OK || res.API != UAPI || res.Function != "Mysql/set_password" || res.Message != "" {
		t.Fatalf("DBPasswd = %+v, %v", res, err)
	}
	s := f.last(t)
	for k, v := range map[string]string{"cpanel_jsonapi_user": "bob", "cpanel_jsonapi_apiversion": "3", "cpanel_jsonapi_module": "Mysql",
		"cpanel_jsonapi_func": "set_password", "user": "bob_wp", "password": "New-Pass-2026!x"} {
		if s.Form.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, s.Form.Get(k), v)
		}
	}
	if s.Query.Encode() != "" {
		t.Errorf("query string %q: the password belongs in the body only", s.Query.Encode())
	}

	res, err = whm.DBPasswd(ctx, MySQL, "bob", "bob_remote", "New-Pass-2026!x")
	if err != nil || !res.OK || !strings.Contains(res.Message, "1 of the user's MySQL hosts: 10.0.0.5") {
		t.Errorf("a partial change: %+v, %v", res, err)
	}

	res, err = whm.DBPasswd(ctx, MySQL, "bob", "bob_x", "New-Pass-2026!x")
	if !isKind(err, ErrRefused) || res == nil || res.OK || !strings.Contains(res.Message, "does not control a MySQL user named “bob_x”") {
		t.Errorf("not owned: %+v, %v", res, err)
	}
	if StateOf(err) != fate.Refused {
		t.Errorf("state %s, want refused", StateOf(err))
	}

	// A weak password is not named as such (docs/protocol.md): still a refusal.
	res, err = cp.DBPasswd(ctx, PostgreSQL, "", "bob_app", "abc12")
	if !isKind(err, ErrRefused) || res == nil || !strings.Contains(res.Message, "The request failed. (Error ID: ") {
		t.Errorf("weak: %+v, %v", res, err)
	}
	if s := f.last(t); s.Path != "/execute/Postgresql/set_password" || s.Form.Get("user") != "bob_app" {
		t.Errorf("cPanel sent %s %v", s.Path, s.Form)
	}
}

// WebDiskPasswd keeps the account's Digest Authentication as it was: it reads it first and sends
// enabledigest accordingly, since the server drops the digest hash unless told otherwise.
func TestWebDiskPasswdKeepsDigest(t *testing.T) {
	listing := `{"cpanelresult":{"apiversion":2,"func":"listwebdisks","module":"WebDisk","data":[` +
		`{"login":"dav@bob.example","domain":"bob.example","hasdigest":1},{"login":"plain@bob.example","domain":"bob.example","hasdigest":0},` +
		`{"login":"new@bob.example","domain":"bob.example","hasdigest":null}],"event":{"result":1}}}`
	var listFails atomic.Bool
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		switch callName(s) {
		case "WebDisk::listwebdisks":
			if listFails.Load() {
				writeJSON(w, 200, `{"cpanelresult":{"apiversion":2,"error":"The Web Disk role is off.","event":{"result":0}}}`)
				return
			}
			writeJSON(w, 200, listing)
		case "WebDisk/set_password":
			if s.Form.Get("user") == "gone@bob.example" {
				writeJSON(w, 200, wrap3(strings.ReplaceAll(replyFile(t, "doc_uapi_webdisk_set_password_unknown.json"), "x@bob.example", "gone@bob.example")))
				return
			}
			writeJSON(w, 200, replyFile(t, "doc_cpapi3_webdisk_set_password_ok.json"))
		default:
			w.WriteHeader(404)
		}
	})
	whm, _ := New(f.config(KindWHM, AuthToken, "root", "TOKEN"))
	ctx := context.Background()
	off := false
	for _, tt := range []struct {
		login      string
		opts       WebDiskPasswdOptions
		wantDigest string // "" means not sent
		wantReqs   int
		wantErr    ErrorKind
	}{
		{"dav@bob.example", WebDiskPasswdOptions{}, "1", 2, 0},
		{"PLAIN@bob.example", WebDiskPasswdOptions{}, "0", 2, 0},
		{"new@bob.example", WebDiskPasswdOptions{}, "0", 2, 0},
		{"gone@bob.example", WebDiskPasswdOptions{}, "", 2, ErrRefused},
		{"dav@bob.example", WebDiskPasswdOptions{Digest: &off}, "0", 1, 0},
	} {
		before := len(f.requests())
		res, err := whm.WebDiskPasswdWith(ctx, "bob", tt.login, "New-Pass-2026!x", tt.opts)
		if tt.wantErr != 0 {
			if !isKind(err, tt.wantErr) || res == nil || !strings.Contains(res.Message, "does not exist") {
				t.Errorf("%s: %+v, %v", tt.login, res, err)
			}
		} else if err != nil || !res.OK || res.Function != "WebDisk/set_password" {
			t.Errorf("%s: %+v, %v", tt.login, res, err)
		}
		reqs := f.requests()[before:]
		if len(reqs) != tt.wantReqs {
			t.Fatalf("%s: %d requests, want %d", tt.login, len(reqs), tt.wantReqs)
		}
		s := reqs[len(reqs)-1]
		if callName(s) != "WebDisk/set_password" || s.Form.Get("user") != tt.login || s.Form.Get("cpanel_jsonapi_user") != "bob" {
			t.Errorf("%s: sent %s %v", tt.login, callName(s), s.Form)
		}
		if got := s.Form.Get("enabledigest"); got != tt.wantDigest || (tt.wantDigest == "") == s.Form.Has("enabledigest") {
			t.Errorf("%s: enabledigest %q (sent %v), want %q", tt.login, got, s.Form.Has("enabledigest"), tt.wantDigest)
		}
	}

	// When the setting cannot be read, the change is not sent, and the error says so.
	listFails.Store(true)
	before := len(f.requests())
	res, err := whm.WebDiskPasswd(ctx, "bob", "dav@bob.example", "New-Pass-2026!x")
	if res != nil || !isKind(err, ErrRefused) || StateOf(err) != fate.NotSent || !strings.Contains(err.Error(), "Digest Authentication") {
		t.Errorf("unreadable setting: %+v, %v (state %s)", res, err, StateOf(err))
	}
	if reqs := f.requests()[before:]; len(reqs) != 1 || callName(reqs[0]) != "WebDisk::listwebdisks" {
		t.Errorf("requests %v, want the listing only", reqs)
	}
}

func TestRequiredStrength(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		switch s.Path {
		case "/json-api/getminimumpasswordstrengths":
			writeJSON(w, 200, replyFile(t, "whmapi1_getminimumpasswordstrengths.json"))
		case "/execute/PasswdStrength/get_required_strength":
			n := map[string]string{"mysql": "70", "postgres": "75"}[s.Form.Get("app")]
			writeJSON(w, 200, `{"status":1,"data":{"strength":`+n+`},"errors":null,"messages":null,"warnings":null,"metadata":{}}`)
		}
	})
	ctx := context.Background()
	cp, _ := New(f.config(KindCPanel, AuthToken, "bob", "TOKEN"))
	for app, want := range map[string]int{"mysql": 70, "postgres": 75} {
		if got, err := cp.RequiredStrength(ctx, app); err != nil || got != want {
			t.Errorf("cPanel RequiredStrength(%s) = %d, %v; want %d", app, got, err, want)
		}
	}
	whm, _ := New(f.config(KindWHM, AuthToken, "root", "TOKEN"))
	m, err := whm.MinimumStrengths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := whm.RequiredStrength(ctx, "postgres"); err != nil || got != m["postgres"] {
		t.Errorf("WHM RequiredStrength(postgres) = %d, %v; want %d", got, err, m["postgres"])
	}
	if got, err := whm.RequiredStrength(ctx, "nosuchapp"); err != nil || got != m["default"] {
		t.Errorf("WHM RequiredStrength(nosuchapp) = %d, %v; want the default %d", got, err, m["default"])
	}
}
