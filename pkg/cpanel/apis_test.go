package cpanel

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestTypedCallsSendTheRightForm(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		switch {
		case strings.HasPrefix(s.Path, "/json-api/passwd") && s.Query.Get("api.version") == "1":
			writeJSON(w, 200, whm1PasswdOK)
		case s.Path == "/json-api/passwd":
			writeJSON(w, 200, `{"passwd":[{"status":1,"statusmsg":"Password changed for user “bob”.","services":[{"app":"system"}]}]}`)
		case s.Path == "/json-api/cpanel" && s.Form.Get("cpanel_jsonapi_apiversion") == "3":
			writeJSON(w, 200, `{"apiversion":3,"result":`+uapiOK+`}`)
		case s.Path == "/json-api/cpanel":
			writeJSON(w, 200, api2OK)
		case strings.HasPrefix(s.Path, "/execute/"):
			writeJSON(w, 200, uapiOK)
		default:
			w.WriteHeader(404)
		}
	})
	whm, _ := New(f.config(KindWHM, AuthToken, "root", "TOKEN"))
	cp, _ := New(f.config(KindCPanel, AuthToken, "bob", "TOKEN"))
	ctx := context.Background()
	tests := []struct {
		name     string
		run      func() (*Result, error)
		path     string
		form     map[string]string
		absent   []string
		services []string
	}{
		{"whm1 defaults", func() (*Result, error) {
			return whm.AccountPasswd(ctx, WHMAPI1, "bob", "Pw-1", AccountPasswdOptions{})
		}, "/json-api/passwd", map[string]string{"user": "bob", "password": "Pw-1"}, []string{"db_pass_update", "digestauth", "enabledigest"},
			[]string{"system", "ftp", "mail", "MySQL"}},
		{"whm1 options", func() (*Result, error) {
			return whm.AccountPasswd(ctx, WHMAPI1, "bob", "Pw-1", AccountPasswdOptions{DBPassUpdate: ptr(false), Digest: ptr(true)})
		}, "/json-api/passwd", map[string]string{"db_pass_update": "0", "digestauth": "1"}, []string{"pass"}, nil},
		{"whm0", func() (*Result, error) {
			return whm.AccountPasswd(ctx, WHMAPI0, "bob", "Pw-0", AccountPasswdOptions{Digest: ptr(false)})
		}, "/json-api/passwd", map[string]string{"user": "bob", "pass": "Pw-0", "enabledigest": "0"}, []string{"password", "api.version"},
			[]string{"system"}},
		{"change own", func() (*Result, error) {
			return cp.ChangeOwnPassword(ctx, "old-pw", "new-pw", ChangeOwnOptions{EnableMySQL: true})
		}, "/json-api/cpanel", map[string]string{"cpanel_jsonapi_module": "Passwd", "cpanel_jsonapi_func": "change_password", "oldpass": "old-pw", "newpass": "new-pw", "enablemysql": "1"},
			[]string{"enabledigest", "cpanel_jsonapi_user"}, nil},
		{"ftp api2 via whm", func() (*Result, error) {
			return whm.FTPPasswd(ctx, CPAPI2, "bob", "ftpu", "example.com", "Ftp-pw")
		}, "/json-api/cpanel", map[string]string{"cpanel_jsonapi_user": "bob", "cpanel_jsonapi_module": "Ftp", "cpanel_jsonapi_func": "passwd", "user": "ftpu", "pass": "Ftp-pw", "domain": "example.com"}, nil, nil},
		{"ftp uapi direct", func() (*Result, error) {
			return cp.FTPPasswd(ctx, UAPI, "", "ftpu", "", "Ftp-pw")
		}, "/execute/Ftp/passwd", map[string]string{"user": "ftpu", "pass": "Ftp-pw"}, []string{"domain"}, nil},
		{"email api2 direct", func() (*Result, error) {
			return cp.EmailPasswd(ctx, CPAPI2, "", "info", "example.com", "Mail-pw")
		}, "/json-api/cpanel", map[string]string{"cpanel_jsonapi_module": "Email", "cpanel_jsonapi_func": "passwdpop", "email": "info", "domain": "example.com", "password": "Mail-pw"}, nil, nil},
		{"email uapi via whm", func() (*Result, error) {
			return whm.EmailPasswd(ctx, UAPI, "bob", "info", "example.com", "Mail-pw")
		}, "/json-api/cpanel", map[string]string{"cpanel_jsonapi_apiversion": "3", "cpanel_jsonapi_module": "Email", "cpanel_jsonapi_func": "passwd_pop", "email": "info", "password": "Mail-pw"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.run()
			if err != nil || res == nil || !res.OK {
				t.Fatalf("result %+v, %v", res, err)
			}
			s := f.last(t)
			if s.Path != tt.path {
				t.Errorf("path %s, want %s", s.Path, tt.path)
			}
			for k, v := range tt.form {
				if got := s.Form.Get(k); got != v {
					t.Errorf("%s = %q, want %q (form %v)", k, got, v, s.Form)
				}
			}
			for _, k := range tt.absent {
				if s.Form.Has(k) {
					t.Errorf("%s sent, want it left out", k)
				}
			}
			if tt.services != nil && !slices.Equal(res.Services, tt.services) {
				t.Errorf("services %v, want %v", res.Services, tt.services)
			}
			if len(res.Raw) == 0 {
				t.Error("Raw empty")
			}
		})
	}
	if _, err := whm.FTPPasswd(ctx, CPAPI2, "", "ftpu", "", "x"); err == nil {
		t.Error("FTPPasswd through WHM without owner: want error")
	}
	if _, err := whm.AccountPasswd(ctx, UAPI, "bob", "x", AccountPasswdOptions{}); err == nil {
		t.Error("AccountPasswd with UAPI: want error")
	}
}

func TestRefusalReturnsResultAndError(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		writeJSON(w, 200, `{"metadata":{"command":"passwd","reason":"Sorry, passwords must be at least 5 characters for security reasons.","result":0,"version":1}}`)
	})
	c, _ := New(f.config(KindWHM, AuthToken, "root", "TOKEN"))
	res, err := c.AccountPasswd(context.Background(), WHMAPI1, "bob", "abc", AccountPasswdOptions{})
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrRefused || e.Op != "WHM API 1 passwd" {
		t.Fatalf("want refused error, got %v", err)
	}
	if res == nil || res.OK || !strings.Contains(res.Message, "at least 5 characters") {
		t.Fatalf("want a failed Result with the server's message, got %+v", res)
	}
}

func TestReadCalls(t *testing.T) {
	var mu sync.Mutex
	verified := map[string]string{"info@example.com": "right-pw"}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		switch s.Path {
		case "/json-api/getminimumpasswordstrengths":
			writeJSON(w, 200, `{"data":{"createacct":50,"default":50,"ftp":"55","list":50,"mysql":50,"passwd":65,"postgres":50,"sshkey":50,"virtual":70},"metadata":{"command":"getminimumpasswordstrengths","reason":"OK","result":1,"version":1}}`)
		case "/execute/PasswdStrength/get_required_strength":
			n := map[string]string{"passwd": "65", "ftp": "70"}[s.Form.Get("app")]
			writeJSON(w, 200, `{"status":1,"data":{"strength":`+n+`},"errors":null,"messages":null,"warnings":null,"metadata":{}}`)
		case "/execute/Email/verify_password":
			mu.Lock()
			ok := verified[s.Form.Get("email")] == s.Form.Get("password")
			mu.Unlock()
			d := "0"
			if ok {
				d = "1"
			}
			writeJSON(w, 200, `{"status":1,"data":`+d+`,"errors":null,"messages":null,"warnings":null,"metadata":{}}`)
		default:
			w.WriteHeader(404)
		}
	})
	ctx := context.Background()
	whm, _ := New(f.config(KindWHM, AuthToken, "root", "TOKEN"))
	got, err := whm.MinimumStrengths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got["passwd"] != 65 || got["virtual"] != 70 || got["ftp"] != 55 || len(got) != 9 {
		t.Errorf("WHM strengths %v", got)
	}
	cp, _ := New(f.config(KindCPanel, AuthToken, "bob", "TOKEN"))
	got, err = cp.MinimumStrengths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"passwd": 65, "virtual": 70}; !maps.Equal(got, want) {
		t.Errorf("cPanel strengths %v, want %v", got, want)
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{{"right-pw", true}, {"wrong-pw", false}} {
		ok, err := cp.VerifyEmailPassword(ctx, "", "info@example.com", tt.pw)
		if err != nil || ok != tt.want {
			t.Errorf("VerifyEmailPassword(%s) = %v, %v; want %v", tt.pw, ok, err, tt.want)
		}
	}
}
