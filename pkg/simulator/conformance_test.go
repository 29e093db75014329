package simulator

import (
	"bytes"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// rawPost sends body with exactly the given Content-Type ("" sends none).
func rawPost(t *testing.T, h http.Handler, target, ctype, auth string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	r.Header.Del("Content-Type")
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func multipartBody(t *testing.T, kv ...string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i := 0; i+1 < len(kv); i += 2 {
		if err := mw.WriteField(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

// A server reads a POST body by its Content-Length whatever its
// Content-Type, and merges it with the query string.
func TestFormBodyAnyContentType(t *testing.T) {
	urlencoded := []byte(url.Values{"user": {"bob"}, "password": {newPW}}.Encode())
	mp, mpType := multipartBody(t, "user", "bob", "password", newPW)
	tests := []struct {
		name, query, ctype string
		body               []byte
	}{
		{"urlencoded", "api.version=1", "application/x-www-form-urlencoded", urlencoded},
		{"no content type", "api.version=1", "", urlencoded},
		{"text/plain", "api.version=1", "text/plain", urlencoded},
		{"multipart", "api.version=1", mpType, mp},
		{"merged with the query", "api.version=1&user=bob", "", []byte(url.Values{"password": {newPW}}.Encode())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSample(t)
			w := rawPost(t, sim.Handler(RoleWHM), "/json-api/passwd?"+tt.query, tt.ctype, rootAuth, tt.body)
			m := decode(t, w.Body.Bytes())
			if dig(m, "metadata", "result") != float64(1) || !sim.CheckPassword("bob", newPW) {
				t.Errorf("body not read: %s", w.Body.Bytes())
			}
		})
	}
}

var sessionLocation = regexp.MustCompile(`^/cpsess([0-9]{10})/`)

// A form login without login_only answers a redirect into the session; the
// login_only JSON reply carries the same Location header. Either token
// opens the session.
func TestLoginLocation(t *testing.T) {
	for _, tt := range []struct {
		name       string
		loginOnly  bool
		wantStatus int
		wantCType  string
	}{
		{"without login_only", false, http.StatusMovedPermanently, "text/html"},
		{"login_only", true, http.StatusOK, "application/json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSample(t)
			h := sim.Handler(RoleCPanel)
			f := form("user", "bob", "pass", SampleBobPassword)
			if tt.loginOnly {
				f.Set("login_only", "1")
			}
			w := serve(t, h, req{path: "/login/", form: f})
			wantStatus(t, w, tt.wantStatus, tt.wantCType)
			m := sessionLocation.FindStringSubmatch(w.Header().Get("Location"))
			if m == nil {
				t.Fatalf("Location = %q, want /cpsessNNNNNNNNNN/...", w.Header().Get("Location"))
			}
			if tt.loginOnly {
				if tok := dig(decode(t, w.Body.Bytes()), "security_token"); tok != "/cpsess"+m[1] {
					t.Errorf("security_token %v differs from Location %s", tok, m[1])
				}
			}
			var cookie *http.Cookie
			for _, c := range w.Result().Cookies() {
				if c.Name == cookieName {
					cookie = c
				}
			}
			if cookie == nil {
				t.Fatal("no session cookie")
			}
			w = serve(t, h, req{path: "/cpsess" + m[1] + "/execute/Variables/get_user_information", cookie: cookie})
			if dig(decode(t, w.Body.Bytes()), "status") != float64(1) {
				t.Errorf("session from Location refused: %s", w.Body.Bytes())
			}
		})
	}
	// A failed form login is the login page again, never a redirect.
	w := serve(t, newSample(t).Handler(RoleCPanel), req{path: "/login/", form: form("user", "bob", "pass", "wrong")})
	wantStatus(t, w, http.StatusUnauthorized, "text/html")
	if w.Header().Get("Location") != "" {
		t.Errorf("failed login redirects to %q", w.Header().Get("Location"))
	}
}

// WHM's /json-api/cpanel takes the account from cpanel_jsonapi_user, else
// from user, which it then removes from the call.
func TestWHMCPanelAccountFromUser(t *testing.T) {
	sim := newSample(t)
	q := "cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=Email&cpanel_jsonapi_func=passwdpop"
	w := serve(t, sim.Handler(RoleWHM), req{path: "/json-api/cpanel", query: q, auth: rootAuth,
		form: form("user", "bob", "email", "info", "domain", "bob.example", "password", newPW)})
	if dig(decode(t, w.Body.Bytes()), "cpanelresult", "data", 0, "result") != float64(1) || !sim.CheckPassword("info@bob.example", newPW) {
		t.Fatalf("account from user: %s", w.Body.Bytes())
	}
	// An empty cpanel_jsonapi_user is still given: no fallback to user.
	w = serve(t, sim.Handler(RoleWHM), req{path: "/json-api/cpanel", auth: rootAuth,
		query: "cpanel_jsonapi_user=&cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=Email&cpanel_jsonapi_func=passwdpop",
		form:  form("user", "bob", "email", "info", "domain", "bob.example", "password", newPW)})
	if !strings.Contains(w.Body.String(), userParamInvalid) {
		t.Errorf("empty cpanel_jsonapi_user fell back to user: %s", w.Body.Bytes())
	}
	// Removed from the call: Ftp::passwd then has no FTP user to name.
	w = serve(t, sim.Handler(RoleWHM), req{path: "/json-api/cpanel", auth: rootAuth,
		query: "cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=Ftp&cpanel_jsonapi_func=passwd",
		form:  form("user", "bob", "pass", newPW)})
	if got := dig(decode(t, w.Body.Bytes()), "cpanelresult", "data", 0, "reason"); got != "You do not have an FTP user named “”." {
		t.Errorf("user kept in the call: %s", w.Body.Bytes())
	}
}

// The account refusals of WHM's /json-api/cpanel, in the server's order,
// wrapped in cpanelresult only for apiversion 2.
func TestWHMCPanelRefusals(t *testing.T) {
	res1 := whmAuth("res1", SampleResellerToken)
	rootMsg := "The user “root” is not associated with a cPanel account and cannot call cPanel API 2"
	tests := []struct {
		name, auth, user, msg string
	}{
		{"missing account", rootAuth, "", userParamInvalid},
		{"unknown account", rootAuth, "nobody", userParamInvalid},
		{"unknown account before ownership", res1, "nobody", userParamInvalid},
		{"root", rootAuth, "root", rootMsg},
		{"root named by a reseller", res1, "root", rootMsg},
		{"reseller's foreign account", res1, "bob", "Access Denied to bob"},
	}
	for _, tt := range tests {
		for _, ver := range []string{"1", "2", "3"} {
			t.Run(tt.name+" apiversion "+ver, func(t *testing.T) {
				sim := newSample(t)
				q := "cpanel_jsonapi_apiversion=" + ver + "&cpanel_jsonapi_module=Ftp&cpanel_jsonapi_func=passwd"
				if tt.user != "" {
					q += "&cpanel_jsonapi_user=" + tt.user
				}
				w := serve(t, sim.Handler(RoleWHM), req{path: "/json-api/cpanel", query: q, auth: tt.auth, form: form("user", "files", "pass", newPW)})
				wantStatus(t, w, 200, "application/json")
				esc := html.EscapeString(tt.msg)
				bare := `{"data":{"reason":"` + esc + `","result":"0"},"type":"text","error":"` + esc + `"}` + "\n"
				want := bare
				if ver == "2" {
					want = `{"cpanelresult":` + bare + `}`
				}
				if w.Body.String() != want {
					t.Errorf("body\n got %s\nwant %s", w.Body.String(), want)
				}
				if sim.Stats().PasswordChanges != 0 {
					t.Error("a refused call changed a password")
				}
			})
		}
	}
	// The message is HTML-escaped in both shapes.
	w := serve(t, newSample(t).Handler(RoleWHM), req{path: "/json-api/cpanel", auth: rootAuth,
		query: "cpanel_jsonapi_apiversion=3&cpanel_jsonapi_module=Ftp&cpanel_jsonapi_func=passwd&cpanel_jsonapi_user=" + url.QueryEscape("<b>")})
	if !strings.Contains(w.Body.String(), `"error":"User parameter is invalid or was not supplied"`) {
		t.Errorf("unknown <b>: %s", w.Body.String())
	}
	for _, ver := range []string{"1", "2", "3"} {
		if got := whmCPanelRefusal(ver, "Access Denied to <b>&").body; !bytes.Contains(got, []byte(`"error":"Access Denied to &lt;b&gt;&amp;"`)) {
			t.Errorf("apiversion %s: not escaped: %s", ver, got)
		}
	}
}

// The server checks an FTP password's strength before it looks the user
// up, and names the local part only when the user is unknown.
func TestFTPOrderOfChecks(t *testing.T) {
	bob := cpAuth("bob", SampleBobToken)
	tests := []struct {
		name string
		form []string
		want string
	}{
		{"foreign domain first", []string{"user", "x", "domain", "alice.example", "pass", weakPW}, "You do not own the domain “alice.example”."},
		{"no password", []string{"user", "x"}, "You must specify a password."},
		{"weak before unknown user", []string{"user", "x", "pass", weakPW}, tooWeak(50)},
		{"unknown user names the local part", []string{"user", "x", "pass", newPW}, "You do not have an FTP user named “x”."},
		{"unknown user@domain names the local part", []string{"user", "x@bob.example", "pass", newPW}, "You do not have an FTP user named “x”."},
	}
	for _, tt := range tests {
		for _, api := range []string{"uapi", "api2"} {
			t.Run(api+" "+tt.name, func(t *testing.T) {
				sim := newSample(t)
				var got any
				if api == "uapi" {
					w := serve(t, sim.Handler(RoleCPanel), req{path: "/execute/Ftp/passwd", form: form(tt.form...), auth: bob})
					got = dig(decode(t, w.Body.Bytes()), "errors", 0)
				} else {
					w := serve(t, sim.Handler(RoleCPanel), req{path: "/json-api/cpanel", query: api2Query("", "Ftp", "passwd"), form: form(tt.form...), auth: bob})
					got = dig(decode(t, w.Body.Bytes()), "cpanelresult", "data", 0, "reason")
				}
				if got != tt.want {
					t.Errorf("got %v, want %q", got, tt.want)
				}
			})
		}
	}
}

// Passwd::change_password refuses a new password equal to the old one.
func TestChangePasswordReuse(t *testing.T) {
	sim := newSample(t)
	w := serve(t, sim.Handler(RoleCPanel), req{path: "/json-api/cpanel", query: api2Query("", "Passwd", "change_password"),
		form: form("oldpass", SampleBobPassword, "newpass", SampleBobPassword), auth: basicAuth("bob", SampleBobPassword)})
	wantAPI2Refusal("You cannot reuse the old password.")(t, decode(t, w.Body.Bytes()), sim)
	if sim.State().Accounts["bob"].PasswordChanges != 0 {
		t.Error("reused password counted as a change")
	}
}

// PasswdStrength/get_required_strength never refuses.
func TestRequiredStrengthNeverRefuses(t *testing.T) {
	st := SampleState()
	st.MinimumStrengths = map[string]int{"passwd": 70, "virtual": 80, "default": 55}
	sim := New(st, Options{})
	for _, tt := range []struct {
		app  string
		want string
	}{
		{"", `{"strength":0}`},
		{"passwd", `{"strength":70}`},
		{"webdisk", `{"strength":80}`},
		{"cpaddons", `{"strength":55}`},
		{"htaccess", `{"strength":55}`},
		{"bogus", `{"strength":55}`},
	} {
		t.Run("app="+tt.app, func(t *testing.T) {
			f := form()
			if tt.app != "" {
				f.Set("app", tt.app)
			}
			w := serve(t, sim.Handler(RoleCPanel), req{path: "/execute/PasswdStrength/get_required_strength", form: f, auth: cpAuth("bob", SampleBobToken)})
			want := `{"status":1,"data":` + tt.want + `,"errors":null,"messages":null,"warnings":null,"metadata":{}}`
			if w.Body.String() != want {
				t.Errorf("got %s\nwant %s", w.Body.String(), want)
			}
		})
	}
}

// The server scores 1 a password that cracklib or its bad-passwords list
// rejects, however long: the simulator's dictionary step refuses them too.
func TestDictionaryStep(t *testing.T) {
	bob := cpAuth("bob", SampleBobToken)
	tests := []struct {
		name string
		h    func(*Simulator) http.Handler
		r    req
		want string
	}{
		{"WHM passwd password1", func(s *Simulator) http.Handler { return s.Handler(RoleWHM) },
			req{path: "/json-api/passwd", query: "api.version=1", form: form("user", "bob", "password", "password1"), auth: rootAuth}, weakMessage(50)},
		{"WHM passwd Summer2024!", func(s *Simulator) http.Handler { return s.Handler(RoleWHM) },
			req{path: "/json-api/passwd", query: "api.version=1", form: form("user", "alice", "password", "Summer2024!"), auth: rootAuth}, weakMessage(50)},
		{"UAPI FTP leetspeak", func(s *Simulator) http.Handler { return s.Handler(RoleCPanel) },
			req{path: "/execute/Ftp/passwd", form: form("user", "files", "pass", "P@ssw0rd123"), auth: bob}, tooWeak(50)},
		{"UAPI mail built on the mailbox name", func(s *Simulator) http.Handler { return s.Handler(RoleCPanel) },
			req{path: "/execute/Email/passwd_pop", form: form("email", "info", "domain", "bob.example", "password", "Info2024!!"), auth: bob}, tooWeak(50)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSample(t)
			w := serve(t, tt.h(sim), tt.r)
			if !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("got %s\nwant %q", w.Body.String(), tt.want)
			}
			if sim.Stats().PasswordChanges != 0 {
				t.Error("a dictionary password was accepted")
			}
		})
	}
}

// The weak-password message of FTP and mail (PasswordIsTooWeak) drops
// "or higher" when the minimum is 100.
func TestTooWeakAtMaximum(t *testing.T) {
	st := SampleState()
	st.MinimumStrengths["virtual"] = 100
	sim := New(st, Options{})
	w := serve(t, sim.Handler(RoleCPanel), req{path: "/execute/Ftp/passwd", form: form("user", "files", "pass", "kq7Rx2mw"), auth: cpAuth("bob", SampleBobToken)})
	if got := dig(decode(t, w.Body.Bytes()), "errors", 0); got != "The given password is too weak. Please enter a password with a strength rating of 100." {
		t.Errorf("got %v", got)
	}
	if tooWeak(95) != "The given password is too weak. Please enter a password with a strength rating of 95 or higher." {
		t.Error(tooWeak(95))
	}
}
