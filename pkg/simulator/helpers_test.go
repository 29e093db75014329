package simulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// req is a hand-written request: no cpctl client is involved.
type req struct {
	method string // default POST
	path   string
	query  string
	form   url.Values
	auth   string
	header map[string]string
	cookie *http.Cookie
}

func whmAuth(user, token string) string { return "whm " + user + ":" + token }
func cpAuth(user, token string) string  { return "cpanel " + user + ":" + token }
func basicAuth(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

var rootAuth = whmAuth("root", SampleRootToken)

func serve(t testing.TB, h http.Handler, r req) *httptest.ResponseRecorder {
	t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	target := r.path
	if r.query != "" {
		target += "?" + r.query
	}
	var body *strings.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	} else {
		body = strings.NewReader("")
	}
	hr := httptest.NewRequest(method, target, body)
	if r.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.auth != "" {
		hr.Header.Set("Authorization", r.auth)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	if r.cookie != nil {
		hr.AddCookie(r.cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	return w
}

func decode(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("reply is not a JSON object: %v\n%s", err, body)
	}
	return m
}

// dig walks a decoded JSON value by object keys and array indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func newSample(t testing.TB) *Simulator {
	t.Helper()
	return New(SampleState(), Options{})
}

func wantStatus(t testing.TB, w *httptest.ResponseRecorder, status int, ctypePrefix string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body.Bytes())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, ctypePrefix) {
		t.Fatalf("content type = %q, want %q...", ct, ctypePrefix)
	}
}

// startTestServer is simtest.NewServer for this package's own tests, which
// cannot import simtest without an import cycle.
func startTestServer(t testing.TB, state *State, opts Options) *Server {
	t.Helper()
	srv, err := Start(state, opts)
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}
