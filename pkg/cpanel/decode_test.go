package cpanel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// replyCase is one recorded or documented reply and what the client must make of it.
type replyCase struct {
	name      string
	kind      Kind // client kind; "" = whm
	req       Request
	status    int
	ctype     string
	body      string
	wantKind  ErrorKind // 0 = success
	wantIn    string    // substring of the reason (failure) or message (success)
	services  []string
	twoFactor bool
}

const (
	ctJSON  = "application/json; charset=UTF-8"
	ctPlain = "text/plain; charset=UTF-8"
	ctHTML  = "text/html; charset=UTF-8"
	ctXML   = "text/xml; charset=UTF-8"
)

var (
	reqWHM1    = Request{API: WHMAPI1, Function: "passwd"}
	reqWHM0    = Request{API: WHMAPI0, Function: "passwd"}
	reqWHM0XML = Request{API: WHMAPI0, Function: "passwd", XML: true}
	reqAPI2    = Request{API: CPAPI2, Module: "Ftp", Function: "passwd", User: "bob"}
	reqEmail2  = Request{API: CPAPI2, Module: "Email", Function: "passwdpop", User: "bob"}
	reqOwn2    = Request{API: CPAPI2, Module: "Passwd", Function: "change_password"}
	reqUAPI    = Request{API: UAPI, Module: "Ftp", Function: "passwd"}
	reqUAPI3   = Request{API: UAPI, Module: "Ftp", Function: "passwd", User: "bob"}
	reqUAPIC   = Request{API: UAPI, Module: "Ftp", Function: "passwd", User: "bob", ViaUAPICpanel: true}
)

const (
	accessDeniedBody = `{"cpanelresult":{"apiversion":"2","error":"Access denied","data":{"reason":"Access denied","result":"0"},"type":"text"}}`
	tfaBody          = `{"data":{"reason":"TwoFactorAuth check failed","result":"0"},"error":"TwoFactorAuth check failed","type":"text"}`
	tokenOnlyText    = `Token authentication allows access to UAPI or API 2 calls only.`
)

// protocolCases are the reply shapes of docs/protocol.md.
func protocolCases() []replyCase {
	return []replyCase{
		{name: "whm1 passwd ok", req: reqWHM1, status: 200, ctype: ctJSON,
			body:     `{"data":{"app":["system","ftp","mail","MySQL"]},"metadata":{"command":"passwd","reason":"Password changed for user “bob”.","result":1,"version":1}}`,
			wantIn:   "Password changed for user “bob”.",
			services: []string{"system", "ftp", "mail", "MySQL"}},
		{name: "whm1 result string 1", req: reqWHM1, status: 200, ctype: ctJSON,
			body: `{"data":{"app":["system"]},"metadata":{"command":"passwd","reason":"OK","result":"1","version":1}}`, wantIn: "OK", services: []string{"system"}},
		{name: "whm1 weak", req: reqWHM1, status: 200, ctype: ctJSON,
			body:     `{"metadata":{"command":"passwd","reason":"Sorry, the password you selected cannot be used because it is too weak and would be too easy to guess. Please select a password with strength rating of 65 or higher.","result":0,"version":1}}`,
			wantKind: ErrRefused, wantIn: "strength rating of 65"},
		{name: "whm1 result string 0", req: reqWHM1, status: 200, ctype: ctJSON,
			body: `{"metadata":{"command":"passwd","reason":"You do not have a user named “bob”.","result":"0","version":1}}`, wantKind: ErrRefused, wantIn: "You do not have a user named"},
		{name: "whm1 reseller not owner", req: reqWHM1, status: 200, ctype: ctJSON,
			body: `{"metadata":{"command":"passwd","reason":"You do not have access to an account named “bob”.","result":0,"version":1}}`, wantKind: ErrAuth, wantIn: "access to an account"},
		{name: "whm1 suspended", req: reqWHM1, status: 200, ctype: ctJSON,
			body: `{"metadata":{"command":"passwd","reason":"Sorry, the user “bob” is currently suspended. Changing the user’s password would unsuspend the account.","result":0,"version":1}}`, wantKind: ErrRefused, wantIn: "suspended"},
		{name: "whm1 xid exception", req: reqWHM1, status: 200, ctype: ctJSON,
			body: `{"metadata":{"command":"passwd","reason":"API failure: (XID abc123) boom","result":0,"version":1}}`, wantKind: ErrRefused, wantIn: "XID abc123"},
		{name: "access denied 403 text/plain JSON", req: reqWHM1, status: 403, ctype: ctPlain, body: accessDeniedBody, wantKind: ErrAuth, wantIn: "Access denied"},
		{name: "two factor 403", req: reqWHM1, status: 403, ctype: ctPlain, body: tfaBody, wantKind: ErrAuth, wantIn: "TwoFactorAuth", twoFactor: true},
		{name: "cpanel token on whm text", req: reqWHM1, status: 403, ctype: ctPlain, body: tokenOnlyText, wantKind: ErrAuth, wantIn: "Token authentication"},
		{name: "401 no body", req: reqWHM1, status: 401, ctype: ctHTML, body: `<html><body>Unauthorized</body></html>`, wantKind: ErrAuth, wantIn: "Unauthorized"},
		{name: "login page on 200", req: reqWHM1, status: 200, ctype: ctHTML, body: loginPageHTML, wantKind: ErrAuth, wantIn: "login page"},
		{name: "login page without content type", req: reqWHM1, status: 200, ctype: "", body: loginPageHTML, wantKind: ErrAuth, wantIn: "login page"},
		{name: "proxy maintenance page on 200", req: reqWHM1, status: 200, ctype: ctHTML, body: maintenancePageHTML, wantKind: ErrTransport, wantIn: "HTML page instead of an API reply; check the URL and port"},
		{name: "titled like a login, no login form", req: reqWHM1, status: 200, ctype: ctHTML, body: `<!DOCTYPE html><html><title>WHM Login</title></html>`, wantKind: ErrTransport, wantIn: "check the URL and port"},
		{name: "markup on 200 plain", req: reqWHM1, status: 200, ctype: ctPlain, body: `<oops>`, wantKind: ErrTransport, wantIn: "unreadable reply"},
		{name: "truncated json", req: reqWHM1, status: 200, ctype: ctJSON, body: `{"data":{"app":["system","ftp"]},"metadata":{"comm`, wantKind: ErrTransport, wantIn: "unreadable reply"},
		{name: "json without metadata", req: reqWHM1, status: 200, ctype: ctJSON, body: `{"hello":1}`, wantKind: ErrTransport, wantIn: "unreadable reply"},
		{name: "empty body", req: reqWHM1, status: 200, ctype: ctJSON, body: ``, wantKind: ErrTransport, wantIn: "empty"},
		{name: "500 html", req: reqWHM1, status: 500, ctype: ctHTML, body: `<html>oops</html>`, wantKind: ErrTransport, wantIn: "Internal Server Error"},
		{name: "503 json", req: reqWHM1, status: 503, ctype: ctJSON, body: `{"metadata":{"result":0,"reason":"Upgrading"}}`, wantKind: ErrTransport, wantIn: "Upgrading"},
		{name: "404 html", req: reqWHM1, status: 404, ctype: ctHTML, body: `<html>not found</html>`, wantKind: ErrTransport, wantIn: "Not Found"},
		{name: "400 json refusal", req: reqWHM1, status: 400, ctype: ctJSON, body: `{"metadata":{"result":0,"reason":"No user name supplied: “user” is a required argument."}}`, wantKind: ErrRefused, wantIn: "No user name supplied"},

		{name: "whm0 ok", req: reqWHM0, status: 200, ctype: ctJSON,
			body:   `{"passwd":[{"status":1,"statusmsg":"Password changed for user “bob”.","services":[{"app":"system"},{"app":"ftp"},{"app":"mail"},{"app":"MySQL"}],"rawout":"Password for “bob” has been changed.\nUpdating FTP passwords for bob\n"}]}`,
			wantIn: "Password changed", services: []string{"system", "ftp", "mail", "MySQL"}},
		{name: "whm0 fail", req: reqWHM0, status: 200, ctype: ctJSON,
			body: `{"passwd":[{"status":0,"statusmsg":"No password supplied: “pass” is a required argument."}]}`, wantKind: ErrRefused, wantIn: "No password supplied"},
		{name: "whm0 not owner", req: reqWHM0, status: 200, ctype: ctJSON,
			body: `{"passwd":[{"status":0,"statusmsg":"You are not permitted to change the password for “bob” because you are not the owner of this account."}]}`, wantKind: ErrAuth, wantIn: "not permitted"},
		{name: "whm0 status string", req: reqWHM0, status: 200, ctype: ctJSON,
			body: `{"passwd":[{"status":"0","statusmsg":"nope"}]}`, wantKind: ErrRefused, wantIn: "nope"},
		{name: "whm0 xml ok", req: reqWHM0XML, status: 200, ctype: ctXML,
			body:   `<passwd><passwd><rawout>Password for “bob” has been changed.</rawout><services><app>system</app></services><services><app>ftp</app></services><status>1</status><statusmsg>Password changed for user “bob”.</statusmsg></passwd></passwd>`,
			wantIn: "Password changed", services: []string{"system", "ftp"}},
		{name: "whm0 xml fail", req: reqWHM0XML, status: 200, ctype: ctXML,
			body: `<passwd><passwd><status>0</status><statusmsg>You do not have a user named “bob”.</statusmsg></passwd></passwd>`, wantKind: ErrRefused, wantIn: "You do not have a user"},
		{name: "whm0 xml garbage", req: reqWHM0XML, status: 200, ctype: ctXML, body: `<passwd><pas`, wantKind: ErrTransport, wantIn: "unreadable"},

		{name: "api2 ftp ok", req: reqAPI2, status: 200, ctype: ctJSON,
			body: `{"cpanelresult":{"apiversion":2,"module":"Ftp","func":"passwd","data":[{"reason":"OK","result":1}],"event":{"result":1}}}`, wantIn: "OK"},
		{name: "api2 error event 0", req: reqAPI2, status: 200, ctype: ctJSON,
			body: `{"cpanelresult":{"apiversion":2,"module":"Ftp","func":"passwd","data":[],"error":"You do not have an FTP user named “x”.","event":{"result":0}}}`, wantKind: ErrRefused, wantIn: "FTP user named"},
		{name: "api2 data result 0", req: reqAPI2, status: 200, ctype: ctJSON,
			body: `{"cpanelresult":{"apiversion":2,"data":[{"reason":"You must specify a password.","result":0}],"event":{"result":1}}}`, wantKind: ErrRefused, wantIn: "You must specify a password."},
		{name: "api2 data status 0", req: reqOwn2, kind: KindCPanel, status: 200, ctype: ctJSON,
			body: `{"cpanelresult":{"apiversion":2,"data":[{"status":0,"statustxt":"The current password is incorrect."}],"event":{"result":1}}}`, wantKind: ErrRefused, wantIn: "current password"},
		{name: "api2 email weak, event 1, error in data", req: reqEmail2, status: 200, ctype: ctJSON,
			body: `{"cpanelresult":{"apiversion":2,"data":[{"result":0,"reason":"","error":"The password you entered has a strength rating of 20. You cannot use it because it is too weak and too easy to guess. Please enter a password with a strength rating of 80 or higher."}],"event":{"result":1}}}`, wantKind: ErrRefused, wantIn: "80 or higher"},
		// Without a result 0 in data[0] the function's verdict is unknown: fail closed.
		{name: "api2 data error only", req: reqEmail2, status: 200, ctype: ctJSON,
			body: `{"cpanelresult":{"apiversion":2,"data":[{"error":"You do not have an email account named “x@example.com”."}],"event":{"result":1}}}`, wantKind: ErrTransport, wantIn: "email account named"},
		{name: "api2 bad owner object data", req: reqAPI2, status: 200, ctype: ctJSON,
			body: `{"cpanelresult":{"data":{"reason":"Access Denied to bob","result":"0"},"type":"text","error":"Access Denied to bob"}}`, wantKind: ErrAuth, wantIn: "Access Denied to bob"},
		{name: "api2 bad user param", req: reqAPI2, status: 200, ctype: ctJSON,
			body: `{"cpanelresult":{"data":{"reason":"User parameter is invalid or was not supplied","result":"0"},"type":"text","error":"User parameter is invalid or was not supplied"}}`, wantKind: ErrRefused, wantIn: "User parameter"},
		// A hook after the function failed: the change itself ran, so this is no refusal.
		{name: "api2 postevent fail", req: reqAPI2, status: 200, ctype: ctJSON,
			body: `{"cpanelresult":{"apiversion":2,"data":[{"result":1}],"event":{"result":1},"postevent":{"result":0,"reason":"hook said no"}}}`, wantKind: ErrTransport, wantIn: "hook said no"},
		{name: "api2 preevent fail", req: reqAPI2, status: 200, ctype: ctJSON,
			body: `{"cpanelresult":{"apiversion":2,"data":[],"event":{"result":1},"preevent":{"result":0,"reason":"hook said no"}}}`, wantKind: ErrRefused, wantIn: "hook said no"},
		{name: "api2 change_password ok", req: reqOwn2, kind: KindCPanel, status: 200, ctype: ctJSON,
			body:   `{"cpanelresult":{"apiversion":2,"module":"Passwd","func":"change_password","data":[{"status":1,"statustxt":"Password changed for user “example”.","passwdoutput":"...","applist":[{"app":"system"},{"app":"ftp"},{"app":"mail"},{"app":"postgresql"}]}],"event":{"result":1}}}`,
			wantIn: "Password changed", services: []string{"system", "ftp", "mail", "postgresql"}},
		{name: "api2 not api2 shape", req: reqAPI2, status: 200, ctype: ctJSON, body: `{"status":1}`, wantKind: ErrTransport, wantIn: "unreadable"},

		{name: "uapi ok", req: reqUAPI, kind: KindCPanel, status: 200, ctype: ctJSON,
			body: `{"status":1,"data":null,"errors":null,"messages":null,"warnings":null,"metadata":{}}`},
		{name: "uapi fail", req: reqUAPI, kind: KindCPanel, status: 200, ctype: ctJSON,
			body: `{"status":0,"data":null,"errors":["The given password is too weak. Please enter a password with a strength rating of 65 or higher."],"messages":null,"warnings":null,"metadata":{}}`, wantKind: ErrRefused, wantIn: "too weak"},
		{name: "uapi fail two errors", req: reqUAPI, kind: KindCPanel, status: 200, ctype: ctJSON,
			body: `{"status":"0","errors":["a","b"]}`, wantKind: ErrRefused, wantIn: "a; b"},
		{name: "uapi 503", req: reqUAPI, kind: KindCPanel, status: 503, ctype: ctHTML, body: `<html>upgrade</html>`, wantKind: ErrTransport, wantIn: "Service Unavailable"},
		{name: "uapi via whm v3 ok", req: reqUAPI3, status: 200, ctype: ctJSON,
			body: `{"module":"Ftp","func":"passwd","apiversion":3,"result":{"status":1,"data":null,"errors":null,"messages":["done"],"warnings":null,"metadata":{}}}`, wantIn: "done"},
		{name: "uapi via whm v3 fail", req: reqUAPI3, status: 200, ctype: ctJSON,
			body: `{"module":"Ftp","func":"passwd","apiversion":3,"result":{"status":0,"data":null,"errors":["You do not have an FTP user named “x”."],"messages":null,"warnings":null,"metadata":{}}}`, wantKind: ErrRefused, wantIn: "FTP user named"},
		{name: "uapi via whm v3 missing result", req: reqUAPI3, status: 200, ctype: ctJSON, body: `{"module":"Ftp","apiversion":3}`, wantKind: ErrTransport, wantIn: "unreadable"},
		{name: "uapi_cpanel ok", req: reqUAPIC, status: 200, ctype: ctJSON,
			body: `{"data":{"uapi":{"status":1,"data":null,"errors":null,"messages":null,"warnings":null,"metadata":{"transformed":1}}},"metadata":{"command":"uapi_cpanel","reason":"OK","result":1,"version":1}}`},
		{name: "uapi_cpanel failed inside result 1", req: reqUAPIC, status: 200, ctype: ctJSON,
			body: `{"data":{"uapi":{"status":0,"data":null,"errors":["You do not have an FTP user named “x”."],"messages":null,"warnings":null,"metadata":{"transformed":1}}},"metadata":{"command":"uapi_cpanel","reason":"OK","result":1,"version":1}}`, wantKind: ErrRefused, wantIn: "FTP user named"},
		{name: "uapi_cpanel no uapi", req: reqUAPIC, status: 200, ctype: ctJSON,
			body: `{"data":{},"metadata":{"command":"uapi_cpanel","reason":"OK","result":1,"version":1}}`, wantKind: ErrTransport, wantIn: "unreadable"},
		{name: "login invalid", req: reqUAPI, kind: KindCPanel, status: 401, ctype: ctJSON, body: `{"status":0,"message":"invalid_login"}`, wantKind: ErrAuth, wantIn: "invalid_login"},
	}
}

func mustClient(tb testing.TB, kind Kind) *Client {
	tb.Helper()
	if kind == "" {
		kind = KindWHM
	}
	c, err := New(Config{URL: "https://server.example.com:2087", Kind: kind, User: "root", Secret: "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// analyzeBody runs the decoding part of Call on a reply body.
func analyzeBody(tb testing.TB, tc replyCase) *analysis {
	tb.Helper()
	c := mustClient(tb, tc.kind)
	b, err := c.build(tc.req)
	if err != nil {
		tb.Fatalf("build: %v", err)
	}
	rep := &Reply{Status: tc.status, ContentType: tc.ctype, Body: []byte(tc.body)}
	if !b.xml && looksJSON(rep.Body) {
		if v, err := decodeJSON(rep.Body); err == nil {
			rep.Decoded = v
		}
	}
	return analyze(b, rep)
}

func checkAnalysis(t *testing.T, tc replyCase, a *analysis) {
	t.Helper()
	if tc.wantKind == 0 {
		if a.err != nil {
			t.Fatalf("want success, got %v (kind %d)", a.err, a.err.Kind)
		}
		if tc.wantIn != "" && !strings.Contains(a.message, tc.wantIn) {
			t.Errorf("message %q does not contain %q", a.message, tc.wantIn)
		}
		if tc.services != nil && !slices.Equal(a.services, tc.services) {
			t.Errorf("services %v, want %v", a.services, tc.services)
		}
		return
	}
	if a.err == nil {
		t.Fatalf("want failure kind %d, got success", tc.wantKind)
	}
	if a.err.Kind != tc.wantKind {
		t.Errorf("kind %d (%s), want %d; reason %q", a.err.Kind, a.err.Kind, tc.wantKind, a.err.Reason)
	}
	if !strings.Contains(a.err.Reason, tc.wantIn) {
		t.Errorf("reason %q does not contain %q", a.err.Reason, tc.wantIn)
	}
	if a.err.TwoFactor != tc.twoFactor {
		t.Errorf("TwoFactor %v, want %v", a.err.TwoFactor, tc.twoFactor)
	}
}

// loginPageHTML is a reconstruction of the fields of cPanel's and WHM's login form (the form
// posts user and pass to /login/), written for this test; the rest of the real page is omitted.
const loginPageHTML = `<!DOCTYPE html>
<html lang="en"><head><title>WHM Login</title></head><body>
<div id="login-wrapper"><form novalidate id="login_form" action="/login/" method="post" target="_top">
<input name="user" id="user" type="text"><input name="pass" id="pass" type="password">
<button name="login" type="submit" id="login_submit">Log in</button></form></div></body></html>`

// maintenancePageHTML is the kind of page a reverse proxy serves while the server behind it is
// down (our own example).
const maintenancePageHTML = `<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head>
<body><h1>Down for maintenance</h1><p>We'll be back shortly.</p><form action="/search"><input name="q"></form></body></html>`

func TestAnalyzeProtocolShapes(t *testing.T) {
	for _, tc := range protocolCases() {
		t.Run(tc.name, func(t *testing.T) {
			checkAnalysis(t, tc, analyzeBody(t, tc))
		})
	}
}

func TestClassifyReason(t *testing.T) {
	tests := []struct {
		reason string
		kind   ErrorKind
		tf     bool
	}{
		{"Access denied", ErrAuth, false},
		{"Access Denied to bob", ErrAuth, false},
		{"You do not have access to an account named “bob”.", ErrAuth, false},
		{"You are not permitted to change the password for “bob” because you are not the owner of this account.", ErrAuth, false},
		{"TwoFactorAuth check failed", ErrAuth, true},
		{"invalid_login", ErrAuth, false},
		{"expired_session", ErrAuth, false},
		{"Token authentication allows access to UAPI or API 2 calls only.", ErrAuth, false},
		{"You do not have a user named “bob”.", ErrRefused, false},
		{"Sorry, passwords must be at least 5 characters for security reasons.", ErrRefused, false},
		{"User parameter is invalid or was not supplied", ErrRefused, false},
		{"", ErrRefused, false},
	}
	for _, tt := range tests {
		k, tf := classifyReason(tt.reason)
		if k != tt.kind || tf != tt.tf {
			t.Errorf("classifyReason(%q) = %v,%v; want %v,%v", tt.reason, k, tf, tt.kind, tt.tf)
		}
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		e    *Error
		want string
		code int
	}{
		{&Error{Kind: ErrRefused, Op: "WHM API 1 passwd", Status: 200, Reason: "You do not have a user named “bob”."}, "WHM API 1 passwd: refused: You do not have a user named “bob”.", 1},
		{&Error{Kind: ErrAuth, Op: "WHM API 1 passwd", Status: 403, Reason: "Access denied"}, "WHM API 1 passwd: authentication failed: Access denied (HTTP 403)", 3},
		{&Error{Kind: ErrTransport, Op: "UAPI Ftp/passwd", Reason: "timed out after 1s", Written: true}, "UAPI Ftp/passwd: timed out after 1s", 4},
		{&Error{Kind: ErrTransport, Op: "UAPI Ftp/passwd", Reason: "cannot connect to h"}, "UAPI Ftp/passwd: cannot connect to h; nothing was sent", 4},
		// What transportError makes of a timeout and a Ctrl-C: the words, not Go's names for them.
		{&Error{Kind: ErrTransport, Op: "WHM API 1 passwd", Reason: "timed out after 2s", Err: context.DeadlineExceeded, Written: true}, "WHM API 1 passwd: timed out after 2s", 4},
		{&Error{Kind: ErrTransport, Op: "WHM API 1 passwd", Reason: "cancelled", Err: context.Canceled}, "WHM API 1 passwd: cancelled; nothing was sent", 4},
		{&Error{Kind: ErrTransport, Op: "WHM API 1 passwd", Reason: "request failed", Err: fmt.Errorf("totp-command: %w", context.Canceled)}, "WHM API 1 passwd: request failed: totp-command: context canceled; nothing was sent", 4},
		{&Error{Kind: ErrUsage, Op: "ftp passwd", Reason: "no user"}, "ftp passwd: no user", 2},
		{&Error{Kind: ErrRefused, Op: "WHM API 1 passwd", Status: 200, Written: true, Reason: "evil\x1b]0;title\x07\u202ename"}, "WHM API 1 passwd: refused: evil\\x1b]0;title\\x07\\u202ename", 1},
		{&Error{Kind: ErrRefused, Op: "op", Status: 200, Written: true, Reason: strings.Repeat("é", 400)}, "op: refused: " + strings.Repeat("é", 300) + "…", 1},
		{&Error{}, "failed", 4},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if got := tt.e.ExitCode(); got != tt.code {
			t.Errorf("ExitCode() = %d, want %d", got, tt.code)
		}
	}
}

// TestCredentialsRefused covers the failures the simulator cannot easily
// produce (TestSimWHMFailures has the ones it can): a login page, a
// two-factor code that could not be had, and wrapped or foreign errors.
func TestCredentialsRefused(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"login page", &Error{Kind: ErrAuth, Status: 200, Reason: msgLoginPage}, true},
		{"no two-factor code", &Error{Kind: ErrAuth, Reason: "no two-factor code", TwoFactor: true}, true},
		{"wrapped 401", fmt.Errorf("row 3: %w", &Error{Kind: ErrAuth, Status: 401, Reason: "Access denied"}), true},
		{"expired session code", &Error{Kind: ErrAuth, Status: 200, Reason: "expired_session"}, true},
		{"one account denied", &Error{Kind: ErrAuth, Status: 200, Reason: "Access Denied to bob"}, false},
		{"refused change", &Error{Kind: ErrRefused, Status: 200, Reason: "Access denied"}, false},
		{"network", &Error{Kind: ErrTransport, Status: 403}, false},
		{"not ours", errors.New("Access denied"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CredentialsRefused(tt.err); got != tt.want {
				t.Errorf("CredentialsRefused(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
