package cpanel

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestInferKind(t *testing.T) {
	tests := []struct {
		url  string
		kind Kind
		ok   bool
	}{
		{"https://host:2087", KindWHM, true},
		{"http://host:2086", KindWHM, true},
		{"https://host:2083/", KindCPanel, true},
		{"http://host:2082", KindCPanel, true},
		{"https://whm.example.com", KindWHM, true},
		{"https://cpanel.example.com/prefix", KindCPanel, true},
		{"https://WHM.Example.com:443", KindWHM, true},
		{"host.example.com:2087", KindWHM, true},
		{"https://host.example.com", "", false},
		{"https://host:8443", "", false},
		{"ftp://host:2087", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		k, ok := InferKind(tt.url)
		if k != tt.kind || ok != tt.ok {
			t.Errorf("InferKind(%q) = %q,%v; want %q,%v", tt.url, k, ok, tt.kind, tt.ok)
		}
	}
}

func TestCPanelURLFromWHM(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://host.example.com:2087", "https://host.example.com:2083"},
		{"http://host.example.com:2086", "http://host.example.com:2082"},
		{"https://whm.example.com", "https://cpanel.example.com"},
		{"https://whm.example.com/proxy/", "https://cpanel.example.com/proxy"},
		{"https://[::1]:2087", "https://[::1]:2083"},
		{"https://host.example.com", ""},
	}
	for _, tt := range tests {
		got, err := CPanelURLFromWHM(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("CPanelURLFromWHM(%q) = %q, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CPanelURLFromWHM(%q) = %q,%v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	hex := "ab01cd23ef45ab01cd23ef45ab01cd23ef45ab01cd23ef45ab01cd23ef45ab01"
	colon := ""
	for i := 0; i < len(hex); i += 2 {
		if i > 0 {
			colon += ":"
		}
		colon += strings.ToUpper(hex[i : i+2])
	}
	tests := []struct {
		in   string
		want string
	}{
		{hex, "sha256:" + hex},
		{"sha256:" + hex, "sha256:" + hex},
		{"SHA256:" + colon, "sha256:" + hex},
		{"  sha256=" + strings.ToUpper(hex) + " ", "sha256:" + hex},
		{"sha256:abc", ""},
		{"sha256:" + hex[:62] + "zz", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeFingerprint(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizeFingerprint(%q) = %q, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeFingerprint(%q) = %q,%v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no url", Config{User: "root", Secret: "x"}},
		{"kind not inferable", Config{URL: "https://host.example.com", User: "root", Secret: "x"}},
		{"bad kind", Config{URL: "https://host:2087", Kind: "plesk", User: "root", Secret: "x"}},
		{"no user", Config{URL: "https://host:2087", Secret: "x"}},
		{"no secret", Config{URL: "https://host:2087", User: "root"}},
		{"bad auth", Config{URL: "https://host:2087", User: "root", Secret: "x", Auth: "kerberos"}},
		{"access hash on cpanel", Config{URL: "https://host:2083", User: "bob", Secret: "x", Auth: AuthAccessHash}},
		{"bad fingerprint", Config{URL: "https://host:2087", User: "root", Secret: "x", Fingerprint: "sha256:12"}},
		{"missing CA file", Config{URL: "https://host:2087", User: "root", Secret: "x", CAFile: "/nonexistent/ca.pem"}},
		{"credentials in URL", Config{URL: "https://root:pw@host:2087", User: "root", Secret: "x"}},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil {
			t.Errorf("%s: New succeeded, want error", tt.name)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: error leaks URL credentials: %v", tt.name, err)
		}
	}
	c, err := New(Config{URL: "https://whm.example.com/", User: "root", Secret: "x"})
	if err != nil || c.Kind() != KindWHM {
		t.Fatalf("New with inferable URL: %v, kind %v", err, c)
	}
}

func TestAuthHeaders(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) { writeJSON(w, 200, uapiOK) })
	hash := "abc\r\ndef\nghi\r\n"
	tests := []struct {
		name string
		kind Kind
		auth AuthMethod
		user string
		sec  string
		want string
	}{
		{"whm token", KindWHM, AuthToken, "root", "TOKEN123", "whm root:TOKEN123"},
		{"cpanel token", KindCPanel, AuthToken, "bob", "TOKEN456", "cpanel bob:TOKEN456"},
		{"basic", KindCPanel, AuthPassword, "bob", "p@ss:word", "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:p@ss:word"))},
		{"access hash", KindWHM, AuthAccessHash, "root", hash, "WHM root:abcdefghi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config(tt.kind, tt.auth, tt.user, tt.sec)
			cfg.OTP = func(context.Context) (string, error) { return "123456", nil }
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Close(context.Background()) }()
			if _, err := c.Call(context.Background(), Request{API: UAPI, Module: "Variables", Function: "get_user_information", User: "bob"}); err != nil && tt.kind == KindCPanel {
				t.Fatal(err)
			}
			s := f.last(t)
			if got := s.Header.Get("Authorization"); got != tt.want {
				t.Errorf("Authorization %q, want %q", got, tt.want)
			}
			if got := s.Header.Get("X-CPANEL-OTP"); got != "123456" {
				t.Errorf("X-CPANEL-OTP %q, want 123456", got)
			}
		})
	}
}

func TestRequestBuilding(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) { writeJSON(w, 200, "{}") })
	pw := "p&ss=w+rd %20 ü"
	tests := []struct {
		name  string
		kind  Kind
		req   Request
		path  string
		query string
		form  map[string]string
	}{
		{"whm1", KindWHM, Request{API: WHMAPI1, Function: "passwd", Params: []Param{{Key: "user", Value: "bob"}, {Key: "password", Value: pw}}},
			"/json-api/passwd", "api.version=1", map[string]string{"user": "bob", "password": pw}},
		{"whm0 json", KindWHM, Request{API: WHMAPI0, Function: "passwd", Params: []Param{{Key: "user", Value: "bob"}, {Key: "pass", Value: pw}}},
			"/json-api/passwd", "", map[string]string{"user": "bob", "pass": pw}},
		{"whm0 xml", KindWHM, Request{API: WHMAPI0, Function: "passwd", XML: true, Params: []Param{{Key: "pass", Value: pw}}},
			"/xml-api/passwd", "", map[string]string{"pass": pw}},
		{"api2 via whm", KindWHM, Request{API: CPAPI2, Module: "Ftp", Function: "passwd", User: "bob", Params: []Param{{Key: "pass", Value: pw}}},
			"/json-api/cpanel", "", map[string]string{"cpanel_jsonapi_user": "bob", "cpanel_jsonapi_apiversion": "2", "cpanel_jsonapi_module": "Ftp", "cpanel_jsonapi_func": "passwd", "pass": pw}},
		{"api2 direct", KindCPanel, Request{API: CPAPI2, Module: "Email", Function: "passwdpop", Params: []Param{{Key: "password", Value: pw}}},
			"/json-api/cpanel", "", map[string]string{"cpanel_jsonapi_user": "", "cpanel_jsonapi_apiversion": "2", "cpanel_jsonapi_module": "Email", "cpanel_jsonapi_func": "passwdpop", "password": pw}},
		{"uapi direct", KindCPanel, Request{API: UAPI, Module: "Ftp", Function: "passwd", Params: []Param{{Key: "pass", Value: pw}}},
			"/execute/Ftp/passwd", "", map[string]string{"pass": pw}},
		{"uapi via whm v3", KindWHM, Request{API: UAPI, Module: "Ftp", Function: "passwd", User: "bob", Params: []Param{{Key: "pass", Value: pw}}},
			"/json-api/cpanel", "", map[string]string{"cpanel_jsonapi_user": "bob", "cpanel_jsonapi_apiversion": "3", "cpanel_jsonapi_module": "Ftp", "cpanel_jsonapi_func": "passwd", "pass": pw}},
		{"uapi_cpanel", KindWHM, Request{API: UAPI, Module: "Ftp", Function: "passwd", User: "bob", ViaUAPICpanel: true, Params: []Param{{Key: "pass", Value: pw}}},
			"/json-api/uapi_cpanel", "api.version=1", map[string]string{"cpanel.user": "bob", "cpanel.module": "Ftp", "cpanel.function": "passwd", "pass": pw}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config(tt.kind, AuthToken, "root", "TOKEN")
			cfg.URL += "/prefix"
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = c.Call(context.Background(), tt.req)
			s := f.last(t)
			if s.Method != http.MethodPost {
				t.Errorf("method %s, want POST", s.Method)
			}
			if s.Path != "/prefix"+tt.path {
				t.Errorf("path %q, want %q", s.Path, "/prefix"+tt.path)
			}
			if s.Query.Encode() != tt.query {
				t.Errorf("query %q, want %q", s.Query.Encode(), tt.query)
			}
			if ct := s.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type %q", ct)
			}
			for k, v := range tt.form {
				if got := s.Form.Get(k); got != v {
					t.Errorf("form %s = %q, want %q", k, got, v)
				}
			}
			if strings.Contains(s.Query.Encode(), "pass") {
				t.Errorf("a password reached the query string: %q", s.Query.Encode())
			}
			// Preview must name the same place and hide the password.
			p := c.Preview(tt.req)
			if !strings.HasSuffix(p.URL, "/prefix"+tt.path+qs(tt.query)) {
				t.Errorf("preview URL %q", p.URL)
			}
			for _, fp := range p.Form {
				if strings.Contains(fp.Value, pw) {
					t.Errorf("preview shows the password in %s", fp.Key)
				}
			}
		})
	}
	c, _ := New(f.config(KindWHM, AuthToken, "root", "TOKEN"))
	for _, bad := range []Request{
		{API: WHMAPI1, Function: "pass wd"},
		{API: WHMAPI1, Function: "../x"},
		{API: CPAPI2, Module: "Ftp", Function: "passwd"}, // no user through WHM
		{API: "soap", Function: "x"},
	} {
		if _, err := c.Call(context.Background(), bad); err == nil {
			t.Errorf("Call(%+v) succeeded, want a usage error", bad)
		}
	}
}

func qs(q string) string {
	if q == "" {
		return ""
	}
	return "?" + q
}

func TestRetries(t *testing.T) {
	var n atomic.Int32
	plan := func(codes ...int) func(w http.ResponseWriter, r *http.Request, s seen) {
		return func(w http.ResponseWriter, r *http.Request, s seen) {
			i := int(n.Add(1)) - 1
			if i < len(codes) && codes[i] != 200 {
				if codes[i] == 503 {
					w.Header().Set("Retry-After", "1")
				}
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(codes[i])
				return
			}
			writeJSON(w, 200, whm1PasswdOK)
		}
	}
	tests := []struct {
		name     string
		codes    []int
		retries  int
		deadline time.Duration
		attempts int32
		wantErr  bool
		minWait  time.Duration
	}{
		{"502 then ok", []int{502, 200}, 0, 0, 2, false, 0},
		{"503 honours Retry-After", []int{503, 200}, 0, 0, 2, false, time.Second},
		{"504 twice then ok", []int{504, 504, 200}, 0, 0, 3, false, 0},
		{"gives up after MaxRetries", []int{502, 502, 502, 502}, 0, 0, 3, true, 0},
		{"no retries", []int{502, 200}, -1, 0, 1, true, 0},
		{"500 is not retried", []int{500, 200}, 0, 0, 1, true, 0},
		{"Retry-After beyond deadline", []int{503, 200}, 0, 300 * time.Millisecond, 1, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n.Store(0)
			f := newFake(t, plan(tt.codes...))
			cfg := f.config(KindWHM, AuthToken, "root", "TOKEN")
			cfg.MaxRetries = tt.retries
			c, _ := New(cfg)
			// The waits are recorded, not taken: no test waits on the clock.
			var waited time.Duration
			c.sleep = func(_ context.Context, d time.Duration) error { waited += d; return nil }
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			start := time.Now()
			res, err := c.AccountPasswd(ctx, WHMAPI1, "bob", "secret-pw", AccountPasswdOptions{})
			el := time.Since(start)
			if got := n.Load(); got != tt.attempts {
				t.Errorf("attempts %d, want %d", got, tt.attempts)
			}
			if tt.wantErr {
				var e *Error
				if !errors.As(err, &e) || e.Kind != ErrTransport {
					t.Fatalf("want transport error, got %v", err)
				}
			} else if err != nil || !res.OK {
				t.Fatalf("want success, got %v", err)
			}
			if waited < tt.minWait {
				t.Errorf("waited %v, want at least %v", waited, tt.minWait)
			}
			if tt.deadline > 0 && el > tt.deadline {
				t.Errorf("took %v, past the %v deadline", el, tt.deadline)
			}
		})
	}
}

func TestRetryOnConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// A bulk run's client retries a 503 up to 10 times; a server that
	// refuses connections is most often down and gets 2 retries whatever
	// MaxRetries says.
	for _, maxRetries := range []int{2, 10} {
		var mu sync.Mutex
		var attempts int
		c, err := New(Config{URL: "https://" + addr, Kind: KindWHM, User: "root", Secret: "TOKEN", MaxRetries: maxRetries,
			Logger: func(Exchange) { mu.Lock(); attempts++; mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		c.sleep = noSleep
		_, err = c.Ping(context.Background())
		var e *Error
		if !errors.As(err, &e) || e.Kind != ErrTransport || !strings.Contains(e.Reason, "cannot connect") {
			t.Fatalf("MaxRetries %d: want transport 'cannot connect', got %v", maxRetries, err)
		}
		if attempts != 3 {
			t.Errorf("MaxRetries %d: attempts %d, want 3 (1 + 2 retries)", maxRetries, attempts)
		}
	}
}

func TestTimeout(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	})
	cfg := f.config(KindWHM, AuthToken, "root", "TOKEN")
	cfg.Timeout = 100 * time.Millisecond
	c, _ := New(cfg)
	_, err := c.Ping(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrTransport || !strings.Contains(e.Reason, "timed out") {
		t.Fatalf("want timeout transport error, got %v", err)
	}
	// Under load the 100 ms can run out in the TLS handshake, before the
	// request reached the server: none then, and never two.
	if n := len(f.requests()); n > 1 {
		t.Errorf("%d requests seen: a timed-out POST is never repeated", n)
	}
}

func TestTruncatedReplyNotRetried(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "500")
		_, _ = w.Write([]byte(`{"metadata":{"res`))
	})
	c, _ := New(f.config(KindWHM, AuthToken, "root", "TOKEN"))
	rep, err := c.Call(context.Background(), Request{API: WHMAPI1, Function: "passwd", Params: []Param{{Key: "user", Value: "bob"}}})
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrTransport || !strings.Contains(e.Reason, "unreadable reply") {
		t.Fatalf("want unreadable reply, got %v", err)
	}
	if rep == nil || rep.Status != 200 {
		t.Errorf("want the partial reply returned, got %+v", rep)
	}
	if len(f.requests()) != 1 {
		t.Errorf("requests %d, want 1", len(f.requests()))
	}
}

// TestCallReturnsReplyAndError checks the mirror-command contract on a real exchange.
func TestCallReturnsReplyAndError(t *testing.T) {
	for _, tc := range protocolCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			kind := tc.kind
			if kind == "" {
				kind = KindWHM
			}
			cfg := f.config(kind, AuthToken, "root", "TOKEN")
			cfg.MaxRetries = -1
			c, _ := New(cfg)
			rep, err := c.Call(context.Background(), tc.req)
			if rep == nil || string(rep.Body) != tc.body || rep.Status != tc.status {
				t.Fatalf("reply not returned as sent: %+v", rep)
			}
			var e *Error
			switch {
			case tc.wantKind == 0 && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.wantKind != 0 && (!errors.As(err, &e) || e.Kind != tc.wantKind):
				t.Fatalf("error %v, want kind %d", err, tc.wantKind)
			case e != nil && e.Op == "":
				t.Errorf("error without Op: %v", e)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTransportOverride(t *testing.T) {
	var got *http.Request
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(whm1PasswdOK)), ContentLength: -1, Request: r}, nil
	})
	c, err := New(Config{URL: "https://whm.example.com/base", User: "root", Secret: "TOKEN", Transport: rt, UserAgent: "test/1"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.AccountPasswd(context.Background(), WHMAPI1, "bob", "pw", AccountPasswdOptions{})
	if err != nil || !res.OK {
		t.Fatalf("%+v %v", res, err)
	}
	if got.URL.String() != "https://whm.example.com/base/json-api/passwd?api.version=1" || got.Header.Get("User-Agent") != "test/1" {
		t.Errorf("request %s UA %q", got.URL, got.Header.Get("User-Agent"))
	}
}

// wrapped is a RoundTripper wrapper that, like pace.Transport, does not
// pass CloseIdleConnections on.
type wrapped struct{ rt http.RoundTripper }

func (w wrapped) RoundTrip(r *http.Request) (*http.Response, error) { return w.rt.RoundTrip(r) }

// Close drops the kept-alive connections also when WrapTransport hides the
// transport: a process that goes on (cpctl demo, in-process tests) must not
// leave them open to the server.
func TestCloseDropsConnectionsBehindAWrapper(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, `{"data":{"version":"11.120.0.1"},"metadata":{"command":"version","reason":"OK","result":1,"version":1}}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, Kind: KindWHM, Auth: AuthToken, User: "root", Secret: "TOKEN",
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper { return wrapped{rt} }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second): // a bound on a failure, not a wait
		t.Fatal("the connection is still open after Close")
	}
}
