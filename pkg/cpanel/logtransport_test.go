package cpanel

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// exchanges collects what a Logger is given, from any goroutine.
type exchanges struct {
	mu  sync.Mutex
	all []Exchange
}

func (x *exchanges) log(ex Exchange) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.all = append(x.all, ex)
}

func (x *exchanges) list() []Exchange {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]Exchange(nil), x.all...)
}

// summary is "METHOD PATH STATUS" (or "error") of each exchange, the query left out.
func (x *exchanges) summary() []string {
	var out []string
	for _, ex := range x.list() {
		path := ex.URL[strings.Index(ex.URL, "//")+2:]
		path, _, _ = strings.Cut(path[strings.IndexByte(path, '/'):], "?")
		status := fmt.Sprint(ex.Status)
		if ex.Err != nil {
			status = "error"
		}
		out = append(out, ex.Method+" "+path+" "+status)
	}
	return out
}

// TestLogOncePerAttempt: every request that reaches the wire is logged once, retries, logins and
// the logout included, each with its own status.
func TestLogOncePerAttempt(t *testing.T) {
	var calls atomic.Int32
	flaky := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		if calls.Add(1) == 1 {
			writeJSON(w, http.StatusServiceUnavailable, `{"error":"being updated"}`)
			return
		}
		writeJSON(w, 200, whm1PasswdOK)
	})
	const pw = "L0gin-Secret-pw"
	ss := newSessionServer(t, pw)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String()
	_ = l.Close()
	tests := []struct {
		name string
		cfg  Config
		run  func(ctx context.Context, c *Client)
		want []string
	}{
		{"503, then success", flaky.config(KindWHM, AuthToken, "root", "TOKEN1234"), func(ctx context.Context, c *Client) {
			_, _ = c.AccountPasswd(ctx, WHMAPI1, "bob", "N3w-Secret-pw", AccountPasswdOptions{})
		}, []string{"POST /json-api/passwd 503", "POST /json-api/passwd 200"}},
		{"connection refused before anything was written", Config{URL: closed, Kind: KindWHM, User: "root", Secret: "TOKEN1234"},
			func(ctx context.Context, c *Client) { _, _ = c.Ping(ctx) },
			[]string{"POST /json-api/version error", "POST /json-api/version error", "POST /json-api/version error"}},
		{"a session that expires", ss.config(KindCPanel, AuthSession, "bob", pw), func(ctx context.Context, c *Client) {
			_, _ = c.FTPPasswd(ctx, UAPI, "", "ftp", "", "N3w-Secret-pw")
			ss.expire()
			_, _ = c.FTPPasswd(ctx, UAPI, "", "ftp", "", "N3w-Secret-pw")
			_ = c.Close(ctx)
		}, []string{"POST /login/ 200", "POST /cpsess<redacted>/execute/Ftp/passwd 200",
			"POST /cpsess<redacted>/execute/Ftp/passwd 401", "POST /login/ 200",
			"POST /cpsess<redacted>/execute/Ftp/passwd 200", "GET /cpsess<redacted>/logout/ 200"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var x exchanges
			tc.cfg.Logger = x.log
			c, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.sleep = noSleep
			tc.run(context.Background(), c)
			got := x.summary()
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, ex := range x.list() {
				if ex.Duration <= 0 {
					t.Errorf("%s %s: duration %v", ex.Method, ex.URL, ex.Duration)
				}
			}
		})
	}
}

// TestLogRedactsWhatTheCallerMarked: a value marked Param.Secret under an ordinary key, and the
// client's own token sent as a parameter, are hidden in the logged request and in a reply that
// echoes them, in any encoding, and nowhere else in the exchange.
func TestLogRedactsWhatTheCallerMarked(t *testing.T) {
	const (
		token  = "TOKEN-abcdefghijklmnop"
		marked = `Mark3d "secret" &=+%/ value`
	)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		// The values come back raw, JSON-escaped (by writing them as a JSON string) and
		// URL-encoded.
		echo := s.Form.Get("key") + " " + s.Form.Get("note") + " " + s.Body
		reason := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(echo)
		writeJSON(w, 200, `{"metadata":{"result":1,"reason":"`+reason+`"},"data":{"plain":"`+s.Form.Get("note")+`"}}`)
	})
	var x exchanges
	cfg := f.config(KindWHM, AuthToken, "root", token)
	cfg.Logger = x.log
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Call(context.Background(), Request{API: WHMAPI1, Function: "echo", Params: []Param{
		{Key: "user", Value: "bob"}, {Key: "key", Value: marked, Secret: true}, {Key: "note", Value: token}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.last(t).Form.Get("key"); got != marked {
		t.Fatalf("the server got key=%q: the log changed the request", got)
	}
	exs := x.list()
	if len(exs) != 1 {
		t.Fatalf("%d exchanges logged, want 1", len(exs))
	}
	ex := exs[0]
	if want := "user=bob&key=" + redacted + "&note=" + redacted; ex.RequestBody != want {
		t.Errorf("logged request body %q, want %q", ex.RequestBody, want)
	}
	if !strings.Contains(ex.ResponseBody, `"plain":"`+redacted+`"`) {
		t.Errorf("the echoed token is not redacted in place: %q", ex.ResponseBody)
	}
	all := fmt.Sprintf("%+v", ex)
	for _, s := range append(secretForms(marked), secretForms(token)...) {
		if strings.Contains(all, s) {
			t.Errorf("%q appears in the exchange:\n%s", s, all)
		}
	}
	if strings.Contains(string(rep.Body), marked) || strings.Contains(string(rep.Body), token) {
		t.Errorf("a secret reached the caller's reply: %s", rep.Body)
	}
}

// TestLogKeepsTheReplyWhole: with a Logger the client still gets every byte of a reply, with or
// without a Content-Length, and without one the reply is not read ahead at all.
func TestLogKeepsTheReplyWhole(t *testing.T) {
	body := `{"metadata":{"result":1,"reason":"OK"},"data":{"filler":"` + strings.Repeat("0123456789", 30_000) + `"}}`
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		w.Header().Set("Content-Type", "application/json")
		if s.Form.Get("chunked") == "" {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		}
		_, _ = io.WriteString(w, body)
	})
	for _, logging := range []bool{false, true} {
		for _, chunked := range []string{"", "1"} {
			var x exchanges
			cfg := f.config(KindWHM, AuthToken, "root", "TOKEN1234")
			if logging {
				cfg.Logger = x.log
			}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := c.hc.Transport.(*logTransport); ok != logging {
				t.Fatalf("logging %v: the log transport installed: %v", logging, ok)
			}
			rep, err := c.Call(context.Background(), Request{API: WHMAPI1, Function: "listaccts", Params: []Param{{Key: "chunked", Value: chunked}}})
			if err != nil {
				t.Fatal(err)
			}
			if string(rep.Body) != body {
				t.Fatalf("logging %v, chunked %q: the client got %d bytes of %d", logging, chunked, len(rep.Body), len(body))
			}
			if exs := x.list(); logging && (len(exs) != 1 || exs[0].ResponseBody != body) {
				t.Fatalf("chunked %q: the log does not hold the reply", chunked)
			}
		}
	}
}

// TestLogLeavesOutThePacersWait: the duration of a logged exchange starts when the transport
// asks for a connection, not when a pacer wrapped around it was asked for room.
func TestLogLeavesOutThePacersWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var x exchanges
		c, err := New(Config{URL: "https://server.example.com:2087", Kind: KindWHM, User: "root", Secret: "TOKEN1234",
			Logger:    x.log,
			Transport: wireTransport{took: 10 * time.Millisecond},
			WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
				return roundTripFunc(func(r *http.Request) (*http.Response, error) {
					time.Sleep(time.Second) // waiting for room
					return rt.RoundTrip(r)
				})
			}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		exs := x.list()
		if len(exs) != 1 || exs[0].Duration != 10*time.Millisecond {
			t.Fatalf("logged %d exchanges, the first taking %v; want one of 10ms", len(exs), exs[0].Duration)
		}
	})
}

// wireTransport stands for net/http's Transport: it asks for a connection the way that one
// tells a trace, then takes took to answer a version call.
type wireTransport struct{ took time.Duration }

func (w wireTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if tr := httptrace.ContextClientTrace(r.Context()); tr != nil && tr.GetConn != nil {
		tr.GetConn(r.URL.Host)
	}
	time.Sleep(w.took)
	body := `{"data":{"version":"11.126.0.5"},"metadata":{"command":"version","reason":"OK","result":1,"version":1}}`
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// TestLogRedactsTheSessionInHeaders: a login's reply carries the cpsess token in its Location
// header too (with the JSON body's security_token, or alone on a redirect); no field of any
// logged exchange holds it.
func TestLogRedactsTheSessionInHeaders(t *testing.T) {
	const pw = "L0gin-Secret-pw"
	token := regexp.MustCompile(`cpsess[0-9]`)
	for _, login := range []string{"both", "location", "redirect", "absolute"} {
		t.Run(login, func(t *testing.T) {
			ss := newSessionServer(t, pw)
			ss.login = login
			var x exchanges
			cfg := ss.config(KindCPanel, AuthSession, "bob", pw)
			cfg.Logger = x.log
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.FTPPasswd(context.Background(), UAPI, "", "ftp", "", "N3w-Secret-pw"); err != nil {
				t.Fatal(err)
			}
			_ = c.Close(context.Background())
			exs := x.list()
			if len(exs) < 3 || !strings.HasSuffix(exs[0].URL, "/login/?login_only=1") || exs[0].ResponseHeader.Get("Location") == "" {
				t.Fatalf("want a login whose reply has a Location, the call and the logout; logged %v", x.summary())
			}
			for _, ex := range exs {
				if all := fmt.Sprintf("%+v", ex); token.MatchString(all) {
					t.Errorf("a cpsess token in the logged exchange:\n%s", all)
				}
			}
		})
	}
}
