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
