package cpanel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
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

// TestEchoedPasswordRedacted: a server that echoes the new password back, in any encoding, gets
// none of them into the error text, the result, the reply or the log.
func TestEchoedPasswordRedacted(t *testing.T) {
	const pw = `Pä ss"<&>'/+%=😀x`
	forms := secretForms(pw)
	for _, want := range []string{pw, `Pä ss\"\u003c\u0026\u003e'/+%=😀x`, `Pä ss\"<&>'\/+%=😀x`,
		`P\u00e4 ss\"<&>'/+%=\ud83d\ude00x`, "P%C3%A4+ss%22%3C%26%3E%27%2F%2B%25%3D%F0%9F%98%80x",
		"P%C3%A4%20ss%22%3C%26%3E%27%2F%2B%25%3D%F0%9F%98%80x", "P%c3%a4+ss%22%3c%26%3e%27%2f%2b%25%3d%f0%9f%98%80x",
		"Pä ss&#34;&lt;&amp;&gt;&#39;/+%=😀x", "Pä ss&quot;&lt;&amp;&gt;&#x27;/+%=😀x"} {
		if !slices.Contains(forms, want) {
			t.Errorf("secretForms lacks %q; has %q", want, forms)
		}
	}
	// The pass: the server's message (decoded) holds one form of the password, so the body
	// holds that form JSON-escaped.
	for _, form := range forms {
		reasonJSON, _ := json.Marshal("Password " + form + " is too weak")
		for _, body := range []string{
			`{"metadata":{"result":0,"reason":` + string(reasonJSON) + `}}`,
			`{"metadata":{"result":1,"reason":"OK"},"data":{"echo":` + string(reasonJSON) + `}}`,
		} {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) { writeJSON(w, 200, body) })
			var texts []string
			cfg := f.config(KindWHM, AuthToken, "root", "TOKEN")
			cfg.Logger = func(ex Exchange) { texts = append(texts, ex.ResponseBody, fmt.Sprint(ex.Err)) }
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.AccountPasswd(context.Background(), WHMAPI1, "bob", pw, AccountPasswdOptions{})
			var e *Error
			if errors.As(err, &e) {
				texts = append(texts, e.Error(), e.Reason)
			}
			if res == nil {
				t.Fatalf("no result: %v", err)
			}
			texts = append(texts, res.Message, string(res.Raw))
			for _, text := range texts {
				for _, f := range forms {
					if strings.Contains(text, f) {
						t.Fatalf("%q survives in %q", f, text)
					}
				}
			}
			if e != nil && !strings.Contains(res.Message, "Password "+redacted+" is too weak") {
				t.Fatalf("message %q: the echo was not replaced whole", res.Message)
			}
		}
	}
}

// TestSecretFormsKeepAlnumRun checks what replySecrets relies on to skip redaction: every
// encoding of a secret holds its longest run of ASCII letters and digits unchanged.
func TestSecretFormsKeepAlnumRun(t *testing.T) {
	for _, pw := range []string{`Pä ss"<&>'/+%=😀x`, "Zq7!vR2#mX9@pL4$ &=+", "%41%42abc", `\u0041bcd`, "ab&amp;cd", "!@#$%^"} {
		run := longestAlnumRun(pw)
		for _, f := range secretForms(pw) {
			if !strings.Contains(f, run) {
				t.Errorf("%q: form %q lacks the run %q", pw, f, run)
			}
		}
	}
	if got := longestAlnumRun("ab!cdef#g"); got != "cdef" {
		t.Errorf("longestAlnumRun = %q", got)
	}
}
