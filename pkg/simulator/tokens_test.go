package simulator

// Expected shapes and messages come from cPanel's server modules
// (Whostmgr::API::1::Tokens, Cpanel::API::Tokens,
// Cpanel::Security::Authn::APITokens::{Validate,Write}) and the WHM API 1
// documentation of api_token_create.

import (
	"bytes"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// clockAt is a settable clock for expiry tests.
type clockAt struct{ t time.Time }

func (c *clockAt) now() time.Time { return c.t }

func tokenSim(t *testing.T) (*Simulator, http.Handler, http.Handler, *clockAt) {
	t.Helper()
	clk := &clockAt{t: time.Unix(1_800_000_000, 0)}
	s := New(SampleState(), Options{Now: clk.now})
	return s, s.Handler(RoleWHM), s.Handler(RoleCPanel), clk
}

func whm1(t *testing.T, h http.Handler, auth, fn string, kv ...string) map[string]any {
	t.Helper()
	w := serve(t, h, req{path: "/json-api/" + fn, query: "api.version=1", auth: auth, form: form(kv...)})
	wantStatus(t, w, 200, "application/json")
	return decode(t, w.Body.Bytes())
}

func TestWHMTokenCreateListRevoke(t *testing.T) {
	s, whm, _, clk := tokenSim(t)
	exp := strconv.FormatInt(clk.t.Unix()+3600, 10)
	m := whm1(t, whm, rootAuth, "api_token_create", "token_name", "ci-1", "acl-0", "list-accts", "acl-1", "passwd",
		"expires_at", exp, "whitelist_ip", "192.0.2.8/29", "whitelist_ip-0", "192.0.2.1/32", "whitelist_ip-1", "127.0.0.1")
	if dig(m, "metadata", "result") != 1.0 {
		t.Fatalf("create failed: %v", m)
	}
	tok, _ := dig(m, "data", "token").(string)
	if !validToken(tok) {
		t.Fatalf("token %q is not 32 characters of A-Z0-9", tok)
	}
	if got := dig(m, "data", "acls"); !reflect.DeepEqual(got, []any{"list-accts", "passwd"}) {
		t.Errorf("acls = %v", got)
	}
	if got := dig(m, "data", "whitelist_ips"); !reflect.DeepEqual(got, []any{"127.0.0.1", "192.0.2.1", "192.0.2.8/29"}) {
		t.Errorf("whitelist_ips = %v (want sorted, host suffix dropped)", got)
	}
	if dig(m, "data", "expires_at") != float64(clk.t.Unix()+3600) || dig(m, "data", "create_time") != float64(clk.t.Unix()) {
		t.Errorf("times = %v", m["data"])
	}

	// The new token works from a whitelisted address (httptest uses 192.0.2.1).
	w := serve(t, whm, req{path: "/json-api/version", query: "api.version=1", auth: whmAuth("root", tok)})
	wantStatus(t, w, 200, "application/json")

	l := whm1(t, whm, rootAuth, "api_token_list")
	tokens, _ := dig(l, "data", "tokens").(map[string]any)
	if len(tokens) != 2 || tokens["ci-1"] == nil || tokens["imported-1"] == nil {
		t.Fatalf("tokens = %v, want ci-1 and the state's token as imported-1", tokens)
	}
	if dig(tokens, "ci-1", "acls", "passwd") != 1.0 || dig(tokens, "ci-1", "acls", "kill-acct") != 0.0 {
		t.Errorf("ci-1 acls = %v", dig(tokens, "ci-1", "acls"))
	}
	if dig(tokens, "imported-1", "acls", "all") != 1.0 {
		t.Errorf("a full-access token's acls = %v", dig(tokens, "imported-1", "acls"))
	}
	if _, has := tokens["ci-1"].(map[string]any)["token"]; has {
		t.Error("the list shows a token")
	}

	d := whm1(t, whm, rootAuth, "api_token_get_details", "token", SampleRootToken)
	if dig(d, "data", "name") != "imported-1" {
		t.Errorf("details of the root token = %v", d)
	}

	r := whm1(t, whm, rootAuth, "api_token_revoke", "token_name", "ci-1", "token_name-1", "no-such")
	if dig(r, "metadata", "result") != 1.0 {
		t.Fatalf("revoke = %v", r)
	}
	w = serve(t, whm, req{path: "/json-api/version", query: "api.version=1", auth: whmAuth("root", tok)})
	wantStatus(t, w, 403, "text/plain")
	if got := s.TokenNames("root", false); !reflect.DeepEqual(got, []string{"imported-1"}) {
		t.Errorf("left = %v", got)
	}
}

func TestWHMTokenCreateRefusals(t *testing.T) {
	_, whm, _, clk := tokenSim(t)
	past := strconv.FormatInt(clk.t.Unix()-1, 10)
	resAuth := whmAuth("res1", SampleResellerToken)
	const pre = "The system failed to create the API token: "
	tests := []struct {
		name, auth string
		form       []string
		reason     string
	}{
		{"no name", rootAuth, nil, pre + "The parameter “token_name” is required."},
		{"bad name", rootAuth, []string{"token_name", "a b"}, pre + "“a b” is not a valid API token name. An API token name must not be longer than 50 characters and may only contain the following 64 characters: a-z A-Z 0-9 _ -"},
		{"long name", rootAuth, []string{"token_name", "x123456789x123456789x123456789x123456789x123456789x"}, pre + "“x123456789x123456789x123456789x123456789x123456789x” is not a valid API token name. An API token name must not be longer than 50 characters and may only contain the following 64 characters: a-z A-Z 0-9 _ -"},
		{"unknown acl", rootAuth, []string{"token_name", "t", "acl", "fly"}, pre + "Invalid or unauthorized ACL specified: fly"},
		{"two bad acls", rootAuth, []string{"token_name", "t", "acl-0", "fly", "acl-1", "swim"}, pre + "Invalid or unauthorized ACLs specified: fly and swim"},
		{"reseller all", resAuth, []string{"token_name", "t", "acl", "all"}, pre + "Invalid or unauthorized ACL specified: all"},
		{"past expiry before bad name", rootAuth, []string{"token_name", "a b", "expires_at", past}, pre + "The “" + past + "” value must be a future date."},
		{"bad ip", rootAuth, []string{"token_name", "t", "whitelist_ip", "300.1.1.1"}, pre + "Invalid IP address or CIDR range specified: 300.1.1.1"},
		{"duplicate", rootAuth, []string{"token_name", "imported-1"}, pre + "A conflicting API token with the name “imported-1” already exists."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := whm1(t, whm, tc.auth, "api_token_create", tc.form...)
			if dig(m, "metadata", "result") != 0.0 || dig(m, "metadata", "reason") != tc.reason {
				t.Errorf("metadata = %v\nwant reason %q", m["metadata"], tc.reason)
			}
			if _, has := m["data"]; has {
				t.Errorf("a failure carries data: %v", m["data"])
			}
		})
	}
	m := whm1(t, whm, rootAuth, "api_token_revoke")
	if dig(m, "metadata", "reason") != "The system failed to revoke the API token: Provide at least one “token_name” argument." {
		t.Errorf("revoke without names = %v", m["metadata"])
	}
}

func TestTokenExpiryAndWhitelistRefused(t *testing.T) {
	_, whm, _, clk := tokenSim(t)
	exp := clk.t.Unix() + 60
	m := whm1(t, whm, rootAuth, "api_token_create", "token_name", "short", "expires_at", strconv.FormatInt(exp, 10))
	tok := dig(m, "data", "token").(string)
	m = whm1(t, whm, rootAuth, "api_token_create", "token_name", "elsewhere", "whitelist_ip", "198.51.100.0/24")
	far := dig(m, "data", "token").(string)
	tests := []struct {
		name   string
		at     int64
		tok    string
		status int
	}{
		{"before expiry", exp - 1, tok, 200},
		{"the expiry second itself", exp, tok, 200},
		{"after expiry", exp + 1, tok, 403},
		{"outside the whitelist", exp - 1, far, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk.t = time.Unix(tc.at, 0)
			w := serve(t, whm, req{path: "/json-api/version", query: "api.version=1", auth: whmAuth("root", tc.tok)})
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if tc.status == 403 && w.Body.String() != string(accessDeniedBody) {
				// cPanel treats such a token as nonexistent: the same refusal as a wrong one.
				t.Errorf("body = %s", w.Body.String())
			}
		})
	}
}

func TestUAPITokens(t *testing.T) {
	s, _, cp, clk := tokenSim(t)
	bob := cpAuth("bob", SampleBobToken)
	exec := func(fn string, kv ...string) map[string]any {
		w := serve(t, cp, req{path: "/execute/Tokens/" + fn, auth: bob, form: form(kv...)})
		wantStatus(t, w, 200, "application/json")
		return decode(t, w.Body.Bytes())
	}
	m := exec("create_full_access", "name", "deploy", "expires_at", strconv.FormatInt(clk.t.Unix()+10, 10))
	tok, _ := dig(m, "data", "token").(string)
	if m["status"] != 1.0 || !validToken(tok) || dig(m, "data", "create_time") != float64(clk.t.Unix()) {
		t.Fatalf("create = %v", m)
	}
	if _, has := m["data"].(map[string]any)["name"]; has {
		t.Error("UAPI create returns only create_time and token")
	}
	if m := exec("create_full_access", "name", "deploy"); m["status"] != 0.0 ||
		dig(m, "errors", 0) != "A conflicting API token with the name “deploy” already exists." {
		t.Errorf("duplicate = %v", m)
	}
	if m := exec("create_full_access"); dig(m, "errors", 0) != "Provide the “name” parameter." {
		t.Errorf("no name = %v", m)
	}
	l := exec("list")
	if dig(l, "data", 0, "name") != "deploy" || dig(l, "data", 1, "name") != "imported-1" || dig(l, "data", 0, "has_full_access") != 1.0 {
		t.Errorf("list = %v", l["data"])
	}
	w := serve(t, cp, req{path: "/execute/Tokens/list", auth: cpAuth("bob", tok)})
	wantStatus(t, w, 200, "application/json")
	clk.t = clk.t.Add(11 * time.Second)
	w = serve(t, cp, req{path: "/execute/Tokens/list", auth: cpAuth("bob", tok)})
	wantStatus(t, w, 403, "text/plain")
	if m := exec("revoke", "name", "deploy"); m["data"] != 1.0 {
		t.Errorf("revoke = %v", m)
	}
	if m := exec("revoke", "name", "deploy"); m["data"] != 0.0 {
		t.Errorf("second revoke = %v", m)
	}
	if got := s.TokenNames("bob", true); !reflect.DeepEqual(got, []string{"imported-1"}) {
		t.Errorf("left = %v", got)
	}
	// Revoking the token in use takes effect on the next call.
	exec("revoke", "name", "imported-1")
	w = serve(t, cp, req{path: "/execute/Tokens/list", auth: bob})
	wantStatus(t, w, 403, "text/plain")
}

func TestTokenFaultTarget(t *testing.T) {
	s, whm, _, _ := tokenSim(t)
	s.SetFault("whmapi1:api_token_revoke", Fault{Kind: Fault500, Count: 1})
	w := serve(t, whm, req{path: "/json-api/api_token_list", query: "api.version=1", auth: rootAuth})
	wantStatus(t, w, 200, "application/json")
	w = serve(t, whm, req{path: "/json-api/api_token_revoke", query: "api.version=1", auth: rootAuth, form: form("token_name", "x")})
	wantStatus(t, w, 500, "text/html")
}

func TestAPITokensStateRoundTrip(t *testing.T) {
	st, err := ParseState([]byte(`
root:
  api-tokens:
    - name: ci
      token: ABCDEFGHIJKLMNOPQRSTUVWXYZ012345
      acls: [list-accts]
`))
	if err != nil {
		t.Fatal(err)
	}
	s := New(st, Options{})
	w := serve(t, s.Handler(RoleWHM), req{path: "/json-api/version", query: "api.version=1", auth: whmAuth("root", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")})
	wantStatus(t, w, 200, "application/json")
	out, err := s.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if want := tokenHash("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"); !bytes.Contains(out, []byte(want)) || bytes.Contains(out, []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")) {
		t.Errorf("dump should hold the hash only:\n%s", out)
	}
}

func TestHoldTokenCall(t *testing.T) {
	s, whm, _, _ := tokenSim(t)
	arrived, release := s.HoldTokenCall("whmapi1:api_token_list", 2)
	t.Cleanup(release)
	// The first call passes; the second waits until released.
	w := serve(t, whm, req{path: "/json-api/api_token_list", query: "api.version=1", auth: rootAuth})
	wantStatus(t, w, 200, "application/json")
	select {
	case <-arrived:
		t.Fatal("the first call triggered a hold on the second")
	default:
	}
	done := make(chan int)
	go func() {
		done <- serve(t, whm, req{path: "/json-api/api_token_list", query: "api.version=1", auth: rootAuth}).Code
	}()
	<-arrived
	select {
	case <-done:
		t.Fatal("the held call finished before release")
	default:
	}
	release()
	if code := <-done; code != 200 {
		t.Fatalf("released call: status %d", code)
	}
}
