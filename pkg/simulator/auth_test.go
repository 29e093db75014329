package simulator

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/secret/totp"
)

const (
	accessDeniedJSON = `{"cpanelresult":{"apiversion":"2","error":"Access denied","data":{"reason":"Access denied","result":"0"},"type":"text"}}`
	tfaFailedJSON    = `{"data":{"reason":"TwoFactorAuth check failed","result":"0"},"error":"TwoFactorAuth check failed","type":"text"}`
	tokenOnlyText    = "Token authentication allows access to UAPI or API 2 calls only."
)

func TestAuthMatrix(t *testing.T) {
	version := "/json-api/version"
	ftp := "/execute/Variables/get_user_information"
	tests := []struct {
		name   string
		role   Role
		path   string
		auth   string
		status int
		ctype  string
		body   string // exact body, or "" to skip
		contai string // substring
	}{
		{"whm token", RoleWHM, version, rootAuth, 200, "application/json", "", `"version":"11.136.0.4"`},
		{"scheme case-insensitive", RoleWHM, version, "WHM root:" + SampleRootToken, 200, "application/json", "", `"result":1`},
		{"scheme upper-case basic", RoleWHM, version, strings.Replace(basicAuth("root", SampleRootPassword), "Basic", "BASIC", 1), 200, "application/json", "", `"result":1`},
		{"reseller token", RoleWHM, version, whmAuth("res1", SampleResellerToken), 200, "application/json", "", `"result":1`},
		{"reseller basic", RoleWHM, version, basicAuth("res1", SampleResellerPass), 200, "application/json", "", `"result":1`},
		{"wrong token", RoleWHM, version, whmAuth("root", "ROOTTOKEN0123456789ABCDEFGHIJKLX"), 403, "text/plain", accessDeniedJSON, ""},
		{"token of another user", RoleWHM, version, whmAuth("res1", SampleRootToken), 403, "text/plain", accessDeniedJSON, ""},
		{"wrong password", RoleWHM, version, basicAuth("root", "nope"), 403, "text/plain", accessDeniedJSON, ""},
		{"account basic on WHM", RoleWHM, version, basicAuth("bob", SampleBobPassword), 403, "text/plain", accessDeniedJSON, ""},
		{"unknown scheme", RoleWHM, version, "Bearer " + SampleRootToken, 403, "text/plain", accessDeniedJSON, ""},
		{"garbage basic", RoleWHM, version, "Basic !!!", 403, "text/plain", accessDeniedJSON, ""},
		{"cpanel token on WHM", RoleWHM, version, cpAuth("bob", SampleBobToken), 403, "text/plain", "", tokenOnlyText},
		{"no credentials", RoleWHM, version, "", 401, "text/html", "", "<form"},
		{"cpanel token uapi", RoleCPanel, ftp, cpAuth("bob", SampleBobToken), 200, "application/json", "", `"status":1`},
		{"cpanel token api2 path", RoleCPanel, "/json-api/cpanel", cpAuth("bob", SampleBobToken), 200, "application/json", "", `cpanelresult`},
		{"cpanel token other path", RoleCPanel, version, cpAuth("bob", SampleBobToken), 403, "text/plain", "", tokenOnlyText},
		{"cpanel basic", RoleCPanel, ftp, basicAuth("bob", SampleBobPassword), 200, "application/json", "", `"user":"bob"`},
		{"cpanel basic WHM path", RoleCPanel, version, basicAuth("bob", SampleBobPassword), 403, "text/plain", accessDeniedJSON, ""},
		{"cpanel wrong token", RoleCPanel, ftp, cpAuth("bob", SampleRootToken), 403, "text/plain", accessDeniedJSON, ""},
		{"whm token on cPanel", RoleCPanel, ftp, rootAuth, 403, "text/plain", accessDeniedJSON, ""},
		{"root basic on cPanel", RoleCPanel, ftp, basicAuth("root", SampleRootPassword), 403, "text/plain", accessDeniedJSON, ""},
		{"suspended account", RoleCPanel, ftp, basicAuth("carol", SampleCarolPassword), 403, "text/plain", accessDeniedJSON, ""},
		{"unknown path", RoleWHM, "/nowhere", rootAuth, 404, "text/html", "", "Not Found"},
	}
	sim := newSample(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, sim.Handler(tt.role), req{path: tt.path, query: "api.version=1&cpanel_jsonapi_apiversion=2&cpanel_jsonapi_module=Ftp&cpanel_jsonapi_func=passwd", auth: tt.auth})
			wantStatus(t, w, tt.status, tt.ctype)
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body = %s\nwant %s", w.Body.String(), tt.body)
			}
			if tt.contai != "" && !strings.Contains(w.Body.String(), tt.contai) {
				t.Errorf("body lacks %q: %s", tt.contai, w.Body.String())
			}
		})
	}
}

func TestTwoFactor(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXP"
	key, err := totp.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 12, 0, 10, 0, time.UTC)
	st := SampleState()
	st.Root.TFASecret = secret
	st.Accounts["bob"].TFASecret = secret
	sim := New(st, Options{Now: func() time.Time { return now }})
	tests := []struct {
		name string
		role Role
		auth string
		otp  string
		ok   bool
	}{
		{"root no code", RoleWHM, rootAuth, "", false},
		{"root wrong code", RoleWHM, rootAuth, "000000", false},
		{"root current code", RoleWHM, rootAuth, totp.CodeAt(key, now), true},
		{"root previous step", RoleWHM, rootAuth, totp.CodeAt(key, now.Add(-30*time.Second)), true},
		{"root two steps late", RoleWHM, rootAuth, totp.CodeAt(key, now.Add(-60*time.Second)), false},
		{"root basic", RoleWHM, basicAuth("root", SampleRootPassword), totp.CodeAt(key, now), true},
		{"reseller needs none", RoleWHM, whmAuth("res1", SampleResellerToken), "", true},
		{"bob token no code", RoleCPanel, cpAuth("bob", SampleBobToken), "", false},
		{"bob token code", RoleCPanel, cpAuth("bob", SampleBobToken), totp.CodeAt(key, now.Add(30*time.Second)), true},
		// Bad credentials are refused before the code is looked at.
		{"bad token", RoleWHM, whmAuth("root", "X"), totp.CodeAt(key, now), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/json-api/version"
			if tt.role == RoleCPanel {
				path = "/execute/Variables/get_user_information"
			}
			w := serve(t, sim.Handler(tt.role), req{path: path, query: "api.version=1", auth: tt.auth, header: map[string]string{"X-CPANEL-OTP": tt.otp}})
			if tt.ok {
				wantStatus(t, w, 200, "application/json")
				return
			}
			wantStatus(t, w, 403, "text/plain")
			want := tfaFailedJSON
			if tt.name == "bad token" {
				want = accessDeniedJSON
			}
			if w.Body.String() != want {
				t.Errorf("body = %s", w.Body.String())
			}
		})
	}
	// Session login with tfa_token.
	h := sim.Handler(RoleWHM)
	w := serve(t, h, req{path: "/login/", query: "login_only=1", form: form("user", "root", "pass", SampleRootPassword)})
	if w.Code != 403 || w.Body.String() != tfaFailedJSON {
		t.Errorf("login without tfa_token: %d %s", w.Code, w.Body.String())
	}
	w = serve(t, h, req{path: "/login/", query: "login_only=1", form: form("user", "root", "pass", SampleRootPassword, "tfa_token", totp.CodeAt(key, now))})
	if w.Code != 200 || dig(decode(t, w.Body.Bytes()), "status") != float64(1) {
		t.Errorf("login with tfa_token: %d %s", w.Code, w.Body.String())
	}
}

var tokenRE = regexp.MustCompile(`^/cpsess[0-9]{10}$`)

// login performs a session login by hand and returns the token and cookie.
func login(t *testing.T, h http.Handler, user, pass string) (string, *http.Cookie) {
	t.Helper()
	w := serve(t, h, req{path: "/login/", query: "login_only=1", form: form("user", user, "pass", pass)})
	wantStatus(t, w, 200, "application/json")
	m := decode(t, w.Body.Bytes())
	tok, _ := m["security_token"].(string)
	if m["status"] != float64(1) || !tokenRE.MatchString(tok) {
		t.Fatalf("login reply %s", w.Body.String())
	}
	sc := w.Header().Get("Set-Cookie")
	if !strings.HasPrefix(sc, "cpsession=") || !strings.Contains(sc, "HttpOnly") {
		t.Fatalf("Set-Cookie = %q", sc)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies = %v", cookies)
	}
	return tok, cookies[0]
}

func TestSessions(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sim := New(SampleState(), Options{Now: clock, SessionTTL: time.Minute})
	whm, cp := sim.Handler(RoleWHM), sim.Handler(RoleCPanel)
	tok, cookie := login(t, whm, "root", SampleRootPassword)
	version := func(h http.Handler, prefix string, c *http.Cookie) (int, string) {
		w := serve(t, h, req{path: prefix + "/json-api/version", query: "api.version=1", cookie: c})
		return w.Code, w.Body.String()
	}
	if code, body := version(whm, tok, cookie); code != 200 || !strings.Contains(body, `"result":1`) {
		t.Fatalf("session call: %d %s", code, body)
	}
	checks := []struct {
		name   string
		h      http.Handler
		prefix string
		cookie *http.Cookie
		want   string
	}{
		{"wrong cookie", whm, tok, &http.Cookie{Name: "cpsession", Value: "root%3aforged"}, tokenInvalidMsg},
		{"no cookie", whm, tok, nil, tokenInvalidMsg},
		{"wrong token", whm, "/cpsess0000000000", cookie, tokenInvalidMsg},
		{"missing token", whm, "", cookie, tokenMissingMsg},
		{"other role", cp, tok, cookie, tokenInvalidMsg},
	}
	for _, c := range checks {
		code, body := version(c.h, c.prefix, c.cookie)
		if code != 401 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s", c.name, code, body)
		}
	}
	// Idle expiry by the injected clock; using the session slides it.
	now = now.Add(50 * time.Second)
	if code, _ := version(whm, tok, cookie); code != 200 {
		t.Fatalf("session expired early")
	}
	now = now.Add(61 * time.Second)
	if code, body := version(whm, tok, cookie); code != 401 || !strings.Contains(body, tokenInvalidMsg) {
		t.Errorf("expired session: %d %s", code, body)
	}
	// ExpireSessions ends every session.
	tok, cookie = login(t, whm, "res1", SampleResellerPass)
	sim.ExpireSessions()
	if code, _ := version(whm, tok, cookie); code != 401 {
		t.Errorf("session survived ExpireSessions: %d", code)
	}
	// Logout ends the session, both forms.
	for _, prefix := range []bool{true, false} {
		tok, cookie = login(t, whm, "root", SampleRootPassword)
		lp := "/logout/"
		if prefix {
			lp = tok + "/logout/"
		}
		serve(t, whm, req{method: http.MethodGet, path: lp, cookie: cookie})
		if code, _ := version(whm, tok, cookie); code != 401 {
			t.Errorf("session survived logout (prefix %v): %d", prefix, code)
		}
	}
	// A cPanel session works for UAPI on the cPanel role.
	tok, cookie = login(t, cp, "bob", SampleBobPassword)
	w := serve(t, cp, req{path: tok + "/execute/Variables/get_user_information", cookie: cookie})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"user":"bob"`) {
		t.Errorf("cPanel session call: %d %s", w.Code, w.Body.String())
	}
	// Failed logins.
	for _, f := range [][]string{
		{"user", "root", "pass", "wrong"},
		{"user", "nobody", "pass", "x"},
		{"user", "root"},
	} {
		w := serve(t, whm, req{path: "/login/", query: "login_only=1", form: form(f...)})
		wantStatus(t, w, 401, "application/json")
		if w.Body.String() != `{"status":0,"message":"invalid_login"}` {
			t.Errorf("failed login body %s", w.Body.String())
		}
	}
	w = serve(t, cp, req{path: "/login/", query: "login_only=1", form: form("user", "carol", "pass", SampleCarolPassword)})
	if w.Code != 401 {
		t.Errorf("suspended account logged in: %d", w.Code)
	}
}
