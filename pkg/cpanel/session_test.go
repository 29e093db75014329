package cpanel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// sessionServer is a fake cpsrvd with session logins.
type sessionServer struct {
	*fakeServer
	mu       sync.Mutex
	valid    map[string]string // cpsess token → cookie
	logins   atomic.Int32
	logouts  atomic.Int32
	next     int
	htmlOK   bool // answer a rejected session with 200 text/html instead of 401
	password string
	tfa      string
	// login is how a successful login answers: "" the token in the JSON body only; "both" the
	// body and a Location header; "location" 200 JSON without the token but with a Location;
	// "redirect" a 302 whose Location alone carries it; "absolute" the same with a full URL.
	login string
}

func newSessionServer(t *testing.T, password string) *sessionServer {
	ss := &sessionServer{valid: map[string]string{}, password: password}
	ss.fakeServer = newFake(t, ss.serve)
	return ss
}

func (ss *sessionServer) expire() {
	ss.mu.Lock()
	clear(ss.valid)
	ss.mu.Unlock()
}

func (ss *sessionServer) serve(w http.ResponseWriter, r *http.Request, s seen) {
	switch {
	case s.Path == "/login/":
		ss.logins.Add(1)
		if s.Query.Get("login_only") != "1" || s.Form.Get("user") != "bob" || s.Form.Get("pass") != ss.password {
			writeJSON(w, 401, `{"status":0,"message":"invalid_login"}`)
			return
		}
		if ss.tfa != "" && s.Form.Get("tfa_token") != ss.tfa {
			writeJSON(w, 403, `{"data":{"reason":"TwoFactorAuth check failed","result":"0"},"error":"TwoFactorAuth check failed","type":"text"}`)
			return
		}
		ss.mu.Lock()
		ss.next++
		tok := fmt.Sprintf("%010d", 1234500000+ss.next)
		cookie := fmt.Sprintf("bob%%3asecretcookie%d", ss.next)
		ss.valid[tok] = cookie
		ss.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "cpsession", Value: cookie, Path: "/", HttpOnly: true, Secure: true})
		loc := "/cpsess" + tok + "/frontend/jupiter/index.html?login=1"
		switch ss.login {
		case "both":
			w.Header().Set("Location", loc)
		case "location":
			w.Header().Set("Location", loc)
			writeJSON(w, 200, `{"status":1}`)
			return
		case "redirect", "absolute":
			if ss.login == "absolute" {
				loc = "https://" + r.Host + loc
			}
			w.Header().Set("Location", loc)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusFound)
			_, _ = w.Write([]byte("<html>moved</html>"))
			return
		}
		writeJSON(w, 200, `{"status":1,"security_token":"/cpsess`+tok+`","redirect":"/cpsess`+tok+`/frontend/jupiter/index.html"}`)
		return
	case strings.HasPrefix(s.Path, "/cpsess"):
		rest := s.Path[len("/cpsess"):]
		tok, path, _ := strings.Cut(rest, "/")
		c, err := r.Cookie("cpsession")
		ss.mu.Lock()
		want, ok := ss.valid[tok]
		ss.mu.Unlock()
		if !ok || err != nil || c.Value != want {
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			if ss.htmlOK {
				w.WriteHeader(200)
			} else {
				w.WriteHeader(401)
			}
			_, _ = w.Write([]byte("<html><title>Security Token Problem</title>The security token in your request is invalid.</html>"))
			return
		}
		if r.Header.Get("Authorization") != "" {
			writeJSON(w, 400, `{"status":0,"errors":["unexpected Authorization header"]}`)
			return
		}
		switch path {
		case "logout/":
			ss.logouts.Add(1)
			ss.mu.Lock()
			delete(ss.valid, tok)
			ss.mu.Unlock()
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>logged out</html>"))
		case "execute/Variables/get_user_information":
			writeJSON(w, 200, `{"status":1,"data":{"user":"bob"},"errors":null,"messages":null,"warnings":null,"metadata":{}}`)
		case "execute/Ftp/passwd":
			writeJSON(w, 200, uapiOK)
		default:
			w.WriteHeader(404)
		}
		return
	}
	w.WriteHeader(404)
}

func TestSessionLoginAndRelogin(t *testing.T) {
	for _, htmlOK := range []bool{false, true} {
		t.Run(fmt.Sprintf("html200=%v", htmlOK), func(t *testing.T) {
			ss := newSessionServer(t, "hunter2!")
			ss.htmlOK = htmlOK
			c, err := New(ss.config(KindCPanel, AuthSession, "bob", "hunter2!"))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i := 0; i < 3; i++ {
				user, err := c.Ping(ctx)
				if err != nil || user != "bob" {
					t.Fatalf("ping %d: %q, %v", i, user, err)
				}
			}
			if n := ss.logins.Load(); n != 1 {
				t.Fatalf("logins %d, want 1 (session reused)", n)
			}
			ss.expire()
			// Concurrent callers after expiry: one re-login, every call succeeds.
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for i := 0; i < 16; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := c.FTPPasswd(ctx, UAPI, "", "ftpuser", "", "N3w-Passw0rd!")
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("after expiry: %v", err)
				}
			}
			if n := ss.logins.Load(); n != 2 {
				t.Errorf("logins %d, want 2 (exactly one re-login)", n)
			}
			if err := c.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := ss.logouts.Load(); n != 1 {
				t.Errorf("logouts %d, want 1", n)
			}
		})
	}
}

// TestSessionLoginReplies: the cpsess token is taken from the JSON body or else from the
// Location path, on a 200 or a redirect, and the redirect is never followed.
func TestSessionLoginReplies(t *testing.T) {
	for _, mode := range []string{"", "both", "location", "redirect", "absolute"} {
		t.Run("login="+mode, func(t *testing.T) {
			ss := newSessionServer(t, "hunter2!")
			ss.login = mode
			c, err := New(ss.config(KindCPanel, AuthSession, "bob", "hunter2!"))
			if err != nil {
				t.Fatal(err)
			}
			if user, err := c.Ping(context.Background()); err != nil || user != "bob" {
				t.Fatalf("ping: %q, %v", user, err)
			}
			for _, r := range ss.requests() {
				if strings.Contains(r.Path, "frontend") {
					t.Fatalf("the login redirect was followed: %s", r.Path)
				}
			}
			if n := len(ss.requests()); n != 2 {
				t.Fatalf("%d requests, want the login and the call", n)
			}
		})
	}
}

// TestAnalyzeLogin reads login replies that carry no usable token.
func TestAnalyzeLogin(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		location string
		body     string
		kind     ErrorKind
	}{
		{"invalid login", 401, "", `{"status":0,"message":"invalid_login"}`, ErrAuth},
		{"status 0 on 200", 200, "/cpsess1234567890/", `{"status":0,"message":"invalid_login"}`, ErrAuth},
		{"token not cpsess", 200, "", `{"status":1,"security_token":"/evil/path"}`, ErrTransport},
		{"status 1 without a token", 200, "", `{"status":1}`, ErrTransport},
		{"location not cpsess", 302, "/cpsessABC/", ``, ErrTransport},
		{"location elsewhere", 302, "https://evil.example/x", ``, ErrTransport},
		{"html 200", 200, "", ``, ErrTransport},
		{"status 2", 200, "/cpsess1234567890/", `{"status":2}`, ErrTransport},
		{"server error", 500, "", `{"status":0,"message":"boom"}`, ErrTransport},
		{"server error without status", 500, "", ``, ErrTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := &Reply{Status: tt.status, Body: []byte(tt.body), header: http.Header{}}
			if tt.location != "" {
				rep.header.Set("Location", tt.location)
			}
			if v, err := decodeJSON(rep.Body); err == nil {
				rep.Decoded = v
			}
			tok, e := analyzeLogin(rep)
			if e == nil || e.Kind != tt.kind {
				t.Fatalf("got %q, %v; want kind %d", tok, e, tt.kind)
			}
		})
	}
}

func TestSessionReloginOnlyOnce(t *testing.T) {
	ss := newSessionServer(t, "pw-1234")
	c, _ := New(ss.config(KindCPanel, AuthSession, "bob", "pw-1234"))
	// A server that rejects every session: the client must log in twice and then give up.
	ss.fakeServer.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login/" {
			ss.logins.Add(1)
			writeJSON(w, 200, `{"status":1,"security_token":"/cpsess0000000001"}`)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(401)
	})
	_, err := c.Ping(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrAuth {
		t.Fatalf("want auth error, got %v", err)
	}
	if n := ss.logins.Load(); n != 2 {
		t.Errorf("logins %d, want 2", n)
	}
}

func TestSessionBadPassword(t *testing.T) {
	ss := newSessionServer(t, "right-pw")
	c, _ := New(ss.config(KindCPanel, AuthSession, "bob", "wrong-pw"))
	_, err := c.Ping(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrAuth || e.Reason != "invalid_login" {
		t.Fatalf("want auth invalid_login, got %v", err)
	}
	if e.ExitCode() != 3 {
		t.Errorf("exit code %d", e.ExitCode())
	}
}

func TestSessionTwoFactor(t *testing.T) {
	ss := newSessionServer(t, "pw-2fa-123")
	ss.tfa = "654321"
	cfg := ss.config(KindCPanel, AuthSession, "bob", "pw-2fa-123")
	c, _ := New(cfg)
	_, err := c.Ping(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrAuth || !e.TwoFactor {
		t.Fatalf("without a code: want two-factor auth error, got %v", err)
	}
	cfg.OTP = func(context.Context) (string, error) { return "654321", nil }
	c2, _ := New(cfg)
	if _, err := c2.Ping(context.Background()); err != nil {
		t.Fatalf("with the code: %v", err)
	}
	cfg.OTP = func(context.Context) (string, error) { return "", errors.New("no code source") }
	c3, _ := New(cfg)
	if _, err := c3.Ping(context.Background()); !errors.As(err, &e) || !e.TwoFactor {
		t.Fatalf("failing code source: want two-factor error, got %v", err)
	}
}

func TestCheckLogin(t *testing.T) {
	ss := newSessionServer(t, "the-pw-9")
	base := Config{CAFile: ss.CAFile, Kind: KindCPanel}
	ok, err := CheckLogin(context.Background(), base, ss.URL, "bob", "the-pw-9")
	if err != nil || !ok {
		t.Fatalf("right password: %v, %v", ok, err)
	}
	if ss.logouts.Load() != 1 {
		t.Errorf("CheckLogin did not log out")
	}
	ok, err = CheckLogin(context.Background(), base, ss.URL, "bob", "not-it")
	if err != nil || ok {
		t.Fatalf("wrong password: %v, %v", ok, err)
	}
	_, err = CheckLogin(context.Background(), Config{Kind: KindCPanel}, ss.URL, "bob", "the-pw-9")
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrTransport {
		t.Fatalf("untrusted certificate: want transport error, got %v", err)
	}
}
