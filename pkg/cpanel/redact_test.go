package cpanel

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestRedactHelpers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://h:2083/cpsess0123456789/execute/Ftp/passwd", "https://h:2083/cpsess<redacted>/execute/Ftp/passwd"},
		{`{"security_token":"/cpsess0123456789","status":1}`, `{"security_token":"<redacted>","status":1}`},
		{`{"token" : "ABC\"DEF", "name":"x"}`, `{"token" : "<redacted>", "name":"x"}`},
		{`{"password":"trunc`, `{"password":"<redacted>`},
		{`{"user":"bob","reason":"ok"}`, `{"user":"bob","reason":"ok"}`},
		{"no tokens here", "no tokens here"},
	}
	c := mustClient(t, KindWHM)
	for _, tt := range tests {
		got := c.redactBody(tt.in, nil)
		if got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestLoggerNeverSeesSecrets runs every authentication method with the logger on, including a
// failing call and a session that must log in again, and fails if any secret shows anywhere.
func TestLoggerNeverSeesSecrets(t *testing.T) {
	const (
		token    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
		loginPW  = "L0gin-Secret-pw"
		newPW    = "N3w-Secret-&=+%-pw"
		oldPW    = "0ld-Secret-pw"
		hash     = "ACCESSHASHSECRET\nSECONDLINE"
		otp      = "918273"
		cookieID = "secretcookie"
	)
	ss := newSessionServer(t, loginPW)
	// The API endpoints used with header auth echo a secret-bearing reply.
	mux := ss.fakeServer.Config.Handler
	ss.fakeServer.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/json-api/") {
			_ = r.ParseForm()
			if r.FormValue("user") == "weak" {
				writeJSON(w, 200, `{"metadata":{"result":0,"reason":"Password `+r.FormValue("password")+` is too weak"}}`)
				return
			}
			writeJSON(w, 200, `{"data":{"token":"`+token+`"},"metadata":{"command":"passwd","reason":"OK","result":1,"version":1}}`)
			return
		}
		mux.ServeHTTP(w, r)
	})
	var mu sync.Mutex
	var logs []string
	logger := func(ex Exchange) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, fmt.Sprintf("%s %s %v %q %d %v %q %v", ex.Method, ex.URL, ex.RequestHeader, ex.RequestBody, ex.Status, ex.ResponseHeader, ex.ResponseBody, ex.Err))
	}
	otpFn := func(context.Context) (string, error) { return otp, nil }
	ctx := context.Background()
	var errs []string
	for _, cfg := range []Config{
		{Auth: AuthToken, Kind: KindWHM, User: "root", Secret: token},
		{Auth: AuthPassword, Kind: KindWHM, User: "root", Secret: loginPW},
		{Auth: AuthAccessHash, Kind: KindWHM, User: "root", Secret: hash},
	} {
		cfg.URL, cfg.CAFile, cfg.Logger, cfg.OTP = ss.URL, ss.CAFile, logger, otpFn
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.AccountPasswd(ctx, WHMAPI1, "bob", newPW, AccountPasswdOptions{})
		_, err = c.AccountPasswd(ctx, WHMAPI1, "weak", newPW, AccountPasswdOptions{})
		if err == nil {
			t.Fatal("weak password accepted")
		}
		errs = append(errs, err.Error())
		p := c.Preview(Request{API: WHMAPI1, Function: "passwd", Params: []Param{{Key: "password", Value: newPW}, {Key: "x", Value: "custom-secret-value", Secret: true}}})
		errs = append(errs, fmt.Sprint(p))
	}
	sc, err := New(Config{URL: ss.URL, CAFile: ss.CAFile, Kind: KindCPanel, Auth: AuthSession, User: "bob", Secret: loginPW, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.FTPPasswd(ctx, UAPI, "", "ftp", "", newPW); err != nil {
		t.Fatal(err)
	}
	ss.expire()
	if _, err := sc.ChangeOwnPassword(ctx, oldPW, newPW, ChangeOwnOptions{}); err != nil {
		errs = append(errs, err.Error())
	}
	if _, err := sc.FTPPasswd(ctx, UAPI, "", "ftp", "", newPW); err != nil {
		t.Fatal(err)
	}
	_ = sc.Close(context.Background())
	if ss.logins.Load() < 2 {
		t.Fatal("the session was not renewed; the test would miss login traffic")
	}
	mu.Lock()
	all := strings.Join(logs, "\n") + "\n" + strings.Join(errs, "\n")
	mu.Unlock()
	if len(logs) < 8 {
		t.Fatalf("only %d exchanges logged", len(logs))
	}
	for _, s := range []string{token, loginPW, newPW, oldPW, "ACCESSHASHSECRET", "SECONDLINE", otp, cookieID, "cpsess12345", "custom-secret-value",
		strings.TrimPrefix(basicAuth("root", loginPW), "Basic "),
	} {
		if strings.Contains(all, s) {
			t.Errorf("secret %q appears in the logs:\n%s", s, all)
		}
	}
	if !strings.Contains(all, redacted) {
		t.Error("nothing was redacted: is the logger wired?")
	}
}
