package cpanel

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/fate"
)

// rawServer is a plain-TCP HTTP/1.1 server whose every byte a test decides: it reads each
// request whole, counts it, and lets answer write to the connection (or not).
type rawServer struct {
	ln       net.Listener
	requests atomic.Int32
	wg       sync.WaitGroup
}

func newRawServer(t *testing.T, answer func(c net.Conn, req *http.Request)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	var mu sync.Mutex
	var conns []net.Conn
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if _, err := io.Copy(io.Discard, req.Body); err != nil {
						return
					}
					s.requests.Add(1)
					answer(c, req)
				}
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() }

func rawClient(t *testing.T, url string, timeout time.Duration) *Client {
	t.Helper()
	return loggedRawClient(t, url, timeout, nil)
}

// loggedRawClient is rawClient with a Logger (none if nil).
func loggedRawClient(t *testing.T, url string, timeout time.Duration, logger func(Exchange)) *Client {
	t.Helper()
	c, err := New(Config{URL: url, Kind: KindWHM, Auth: AuthToken, User: "root", Secret: "TOKEN123", MaxRetries: 2, Timeout: timeout, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func wantState(t *testing.T, err error, want fate.State) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *Error, got %T %v", err, err)
	}
	if got := StateOf(err); got != want {
		t.Fatalf("StateOf = %s, want %s (error: %v)", got, want, err)
	}
	return e
}

// TestNoResendAfterWrite: a request whose headers may have reached the server is never sent
// again, idempotent or not, and its failure says the call may have run.
func TestNoResendAfterWrite(t *testing.T) {
	answers := map[string]func(c net.Conn, req *http.Request){
		"closed without a reply": func(c net.Conn, _ *http.Request) { _ = c.Close() },
		"reset mid-reply": func(c net.Conn, _ *http.Request) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"metadata\":")
			_ = c.Close()
		},
		"garbage status line": func(c net.Conn, _ *http.Request) {
			_, _ = io.WriteString(c, "SMTP ready\r\n\r\n")
			_ = c.Close()
		},
	}
	calls := map[string]func(c *Client) error{
		"idempotent passwd": func(c *Client) error {
			_, err := c.AccountPasswd(context.Background(), WHMAPI1, "bob", newPass, AccountPasswdOptions{})
			return err
		},
		"generic call": func(c *Client) error {
			_, err := c.Call(context.Background(), Request{API: WHMAPI1, Function: "createacct"})
			return err
		},
	}
	for an, answer := range answers {
		for cn, call := range calls {
			t.Run(an+"/"+cn, func(t *testing.T) {
				s := newRawServer(t, answer)
				err := call(rawClient(t, s.url(), 5*time.Second))
				e := wantState(t, err, fate.Unknown)
				if !e.Written || e.Kind != ErrTransport {
					t.Fatalf("want a written transport error, got %+v", e)
				}
				if strings.Contains(e.Error(), "nothing was sent") {
					t.Fatalf("a written request is said to be unsent: %v", e)
				}
				if n := s.requests.Load(); n != 1 {
					t.Fatalf("the server got %d requests, want 1", n)
				}
			})
		}
	}
}

// TestRetryOnlyBeforeWrite: a failure before anything was written is retried and, at the end,
// reported as not sent; certificate and pin failures are not retried at all.
func TestRetryOnlyBeforeWrite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "https://" + ln.Addr().String()
	_ = ln.Close()
	var handshakes atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("no request may reach the server")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			handshakes.Add(1)
		}
	}
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tests := []struct {
		name     string
		cfg      Config
		reason   string
		attempts int32
		check    func(t *testing.T, err error)
	}{
		{"closed port", Config{URL: closedURL}, "cannot connect", 3, nil},
		{"untrusted", Config{URL: srv.URL}, "not trusted", 1, func(t *testing.T, err error) {
			var u *UntrustedCertificateError
			if !errors.As(err, &u) || u.Cert.Fingerprint != fingerprintOf(srv.Certificate()) {
				t.Fatalf("no UntrustedCertificateError for the server's certificate in %v", err)
			}
		}},
		{"pin mismatch", Config{URL: srv.URL, Fingerprint: "sha256:" + strings.Repeat("0", 64)}, "pinned fingerprint", 1, func(t *testing.T, err error) {
			var fm *FingerprintMismatchError
			if !errors.As(err, &fm) {
				t.Fatalf("no FingerprintMismatchError in %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var attempts atomic.Int32
			cfg := tc.cfg
			cfg.Kind, cfg.Auth, cfg.User, cfg.Secret = KindWHM, AuthToken, "root", "TOKEN123"
			cfg.MaxRetries = 2
			cfg.Logger = func(Exchange) { attempts.Add(1) }
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.sleep = noSleep
			before := handshakes.Load()
			_, err = c.AccountPasswd(context.Background(), WHMAPI1, "bob", newPass, AccountPasswdOptions{})
			e := wantState(t, err, fate.NotSent)
			if e.Kind != ErrTransport || !strings.Contains(e.Reason, tc.reason) || !IsNetworkError(err) {
				t.Fatalf("want a network error %q, got %v", tc.reason, e)
			}
			if !strings.Contains(e.Error(), "nothing was sent") {
				t.Fatalf("an unsent request does not say so: %v", e)
			}
			if strings.Contains(e.Error(), newPass) || strings.Contains(e.Error(), "TOKEN123") {
				t.Fatalf("error text holds a secret: %v", e)
			}
			if n := attempts.Load(); n != tc.attempts {
				t.Fatalf("%d attempts, want %d", n, tc.attempts)
			}
			if tc.check != nil {
				tc.check(t, err)
				if n := handshakes.Load() - before; n != 1 {
					t.Fatalf("%d handshakes, want 1", n)
				}
			}
		})
	}
}

// TestCancelledBeforeSend: a context cancelled before the call sends nothing.
func TestCancelledBeforeSend(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, _ *http.Request) { t.Error("request sent") })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := rawClient(t, s.url(), time.Second).AccountPasswd(ctx, WHMAPI1, "bob", newPass, AccountPasswdOptions{})
	wantState(t, err, fate.NotSent)
	if n := s.requests.Load(); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}
}

// The client's timeout in TestReplyCaps, and its shorter one for a reply that stalls.
const (
	capTimeout = 5 * time.Second
	capStall   = 300 * time.Millisecond
)

// TestReplyCaps: an endless header and a body that never ends are both cut off, and the
// timeout bounds the whole exchange, body included.
func TestReplyCaps(t *testing.T) {
	tests := []struct {
		name   string
		answer func(c net.Conn, req *http.Request)
		reason string
		max    time.Duration
	}{
		{"endless header line", func(c net.Conn, _ *http.Request) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Endless: ")
			chunk := strings.Repeat("a", 32<<10)
			for range 64 { // 2 MiB: far past the cap, not forever
				if _, err := io.WriteString(c, chunk); err != nil {
					return
				}
			}
		}, "request failed", capTimeout},
		{"body that stalls", func(c net.Conn, _ *http.Request) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
			buf := make([]byte, 1)
			_, _ = c.Read(buf) // until the client gives up
		}, "timed out", capStall + time.Second},
		{"body past the cap", func(c net.Conn, _ *http.Request) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
			chunk := strings.Repeat(" ", 64<<10)
			for range 32 { // 2 MiB, against a 1 MiB limit
				if _, err := io.WriteString(c, chunk); err != nil {
					return
				}
			}
			_ = c.Close()
		}, "unreadable reply", capTimeout},
	}
	// Logging reads the reply ahead of the client: the client must meet the same end.
	for _, tc := range tests {
		for _, logging := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, logging %v", tc.name, logging), func(t *testing.T) {
				testReplyCap(t, tc.answer, tc.reason, tc.max, logging)
			})
		}
	}
}

func testReplyCap(t *testing.T, answer func(c net.Conn, req *http.Request), reason string, maxTime time.Duration, logging bool) {
	s := newRawServer(t, answer)
	tmo := capTimeout
	if reason == "timed out" {
		tmo = capStall
	}
	var x exchanges
	var logger func(Exchange)
	if logging {
		logger = x.log
	}
	c := loggedRawClient(t, s.url(), tmo, logger)
	c.maxReply = 1 << 20
	start := time.Now()
	_, err := c.AccountPasswd(context.Background(), WHMAPI1, "bob", newPass, AccountPasswdOptions{})
	el := time.Since(start)
	e := wantState(t, err, fate.Unknown)
	if !strings.Contains(e.Reason, reason) {
		t.Fatalf("reason %q, want %q (%v)", e.Reason, reason, e)
	}
	if el > maxTime {
		t.Fatalf("took %v, want at most %v", el, maxTime)
	}
	if n := s.requests.Load(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	if exs := x.list(); logging && (len(exs) != 1 || exs[0].Err == nil) {
		t.Fatalf("logged %+v, want one exchange with its error", exs)
	}
}

// TestKeepAlivePool: calls reuse one connection, and the idle pool is sized from MaxConns.
func TestKeepAlivePool(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, whm1PasswdOK)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ maxConns, want int }{{0, defaultMaxConns}, {40, 40}} {
		c, err := New(Config{URL: srv.URL, Kind: KindWHM, User: "root", Secret: "T", MaxConns: tc.maxConns})
		if err != nil {
			t.Fatal(err)
		}
		tr, ok := c.hc.Transport.(*http.Transport)
		if !ok || tr.MaxIdleConnsPerHost != tc.want || tr.MaxResponseHeaderBytes != 64<<10 || tr.Proxy == nil {
			t.Fatalf("MaxConns %d: transport %+v", tc.maxConns, tr)
		}
		conns.Store(0)
		for range 5 {
			if _, err := c.AccountPasswd(context.Background(), WHMAPI1, "bob", newPass, AccountPasswdOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if n := conns.Load(); n != 1 {
			t.Fatalf("5 sequential calls opened %d connections, want 1", n)
		}
		_ = c.Close(context.Background())
	}
}

// TestProxyFromEnvironment runs a client in a child process, since net/http reads the proxy
// variables once per process: with HTTPS_PROXY set, the call goes to the proxy as a CONNECT.
func TestProxyFromEnvironment(t *testing.T) {
	const probe = "CPCTL_TEST_PROXY_CHILD"
	if os.Getenv(probe) != "" {
		c, err := New(Config{URL: "https://whm.example.com:2087", Kind: KindWHM, User: "root", Secret: "T", MaxRetries: -1})
		if err != nil {
			fmt.Println("child:", err)
			return
		}
		_, err = c.Ping(context.Background())
		fmt.Println("child:", err)
		return
	}
	var connect atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		connect.Store(r.Method + " " + r.Host)
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close)
	cmd := exec.Command(os.Args[0], "-test.run=^TestProxyFromEnvironment$", "-test.count=1")
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "GORACE":
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, probe+"=1", "HTTPS_PROXY="+proxy.URL, "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if got, _ := connect.Load().(string); got != "CONNECT whm.example.com:2087" {
		t.Fatalf("proxy saw %q, want the CONNECT; child said %s", got, out)
	}
}

// TestServerClosedIdleConnection: a server that closes each kept-alive connection right after
// its reply, without saying so. net/http notices most such closes before it reuses the
// connection; when it does not, the request went into a closed connection, which the client
// cannot tell from a server that read it and died. Such a call is never sent again and ends as
// unknown (the row is confirmed on resume), never as not-sent.
func TestServerClosedIdleConnection(t *testing.T) {
	closed := make(chan struct{}, 64)
	s := newRawServer(t, func(c net.Conn, _ *http.Request) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
			fmt.Sprint(len(whm1PasswdOK))+"\r\n\r\n"+whm1PasswdOK)
		_ = c.Close()
		closed <- struct{}{}
	})
	c := rawClient(t, s.url(), 5*time.Second)
	ok := 0
	for i := range 20 {
		before := s.requests.Load()
		_, err := c.AccountPasswd(context.Background(), WHMAPI1, "bob", newPass, AccountPasswdOptions{})
		if n := s.requests.Load() - before; n > 1 {
			t.Fatalf("call %d reached the server %d times", i, n)
		}
		if err == nil {
			ok++
			<-closed
			continue
		}
		wantState(t, err, fate.Unknown)
	}
	if ok == 0 {
		t.Fatal("no call succeeded")
	}
}

// A request is sent again only after a failure of the network itself, and
// only when nothing was written (the caller checks that): a kept-alive
// connection the server closed first is such a failure; an error of our own
// making is not.
func TestRetryableConnError(t *testing.T) {
	wrap := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://host:2087/json-api/passwd", Err: err}
	}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"server closed idle connection", wrap(errors.New("http: server closed idle connection")), true},
		{"connection refused", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{"reset", wrap(syscall.ECONNRESET), true},
		{"our own error", wrap(errors.New("two-factor code source failed")), false},
	} {
		if got := retryableConnError(context.Background(), tt.err); got != tt.want {
			t.Errorf("%s: retryable %v, want %v", tt.name, got, tt.want)
		}
	}
}
