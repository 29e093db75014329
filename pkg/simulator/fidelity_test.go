package simulator

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func fidelityRequest(t *testing.T, sim *Simulator, role Role, method, target, auth string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	sim.Handler(role).ServeHTTP(w, req)
	return w
}

// Never more forgiving than a real server: each of these once succeeded.
func TestNotMoreForgiving(t *testing.T) {
	root := "whm root:" + SampleRootToken
	bobTok := "cpanel bob:" + SampleBobToken
	tests := []struct {
		name         string
		role         Role
		method, path string
		auth         string
		form         url.Values
		wantStatus   int
		wantBody     string
	}{
		{"login without login_only gets no JSON", RoleCPanel, "POST", "/login/", "",
			url.Values{"user": {"bob"}, "pass": {SampleBobPassword}}, 301, "<html"},
		{"no login by GET", RoleCPanel, "GET", "/login/?login_only=1&user=bob&pass=" + url.QueryEscape(SampleBobPassword), "", nil, 200, "<html"},
		{"mail domain mismatch", RoleWHM, "POST", "/json-api/cpanel", root,
			url.Values{"cpanel_jsonapi_user": {"bob"}, "cpanel_jsonapi_apiversion": {"2"}, "cpanel_jsonapi_module": {"Email"}, "cpanel_jsonapi_func": {"passwdpop"},
				"email": {"info@bob.example"}, "domain": {"other.example"}, "password": {"Strong-Mail-2026!xyz"}}, 200, "You do not have an email account named"},
		{"wrong cpsess with a token", RoleWHM, "POST", "/cpsess0000000001/json-api/version?api.version=1", root, url.Values{}, 401, "The security token in your request is invalid."},
		{"cPanel token and API 1", RoleCPanel, "POST", "/json-api/cpanel", bobTok,
			url.Values{"cpanel_jsonapi_apiversion": {"1"}, "cpanel_jsonapi_module": {"Email"}, "cpanel_jsonapi_func": {"x"}}, 403, "Token authentication allows access to UAPI or API 2 calls only."},
		{"FTP domain not owned", RoleCPanel, "POST", "/execute/Ftp/passwd", bobTok,
			url.Values{"user": {"files"}, "domain": {"alice.example"}, "pass": {"Strong-Ftp-2026!xyz"}}, 200, "You do not own the domain “alice.example”."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := New(SampleState(), Options{})
			w := fidelityRequest(t, sim, tt.role, tt.method, tt.path, tt.auth, tt.form)
			if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("got %d %s\nwant %d containing %q", w.Code, w.Body.String(), tt.wantStatus, tt.wantBody)
			}
			if strings.Contains(w.Body.String(), `"security_token"`) {
				t.Error("a login succeeded")
			}
		})
	}
}
