package simulator

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// passwdReply is what postPasswd read, the body already closed.
type passwdReply struct {
	StatusCode int
	Header     http.Header
	Proto      string
}

// postPasswd sends a WHM API 1 passwd for user by hand.
func postPasswd(t testing.TB, c *http.Client, base, user, pw string) (*passwdReply, []byte, error) {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, base+"/json-api/passwd?api.version=1", strings.NewReader(url.Values{"user": {user}, "password": {pw}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", rootAuth)
	resp, err := c.Do(r)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return &passwdReply{StatusCode: resp.StatusCode, Header: resp.Header, Proto: resp.Proto}, body, err
}

func TestFaults(t *testing.T) {
	srv := startTestServer(t, SampleState(), Options{Plain: true})
	c := &http.Client{Timeout: 10 * time.Second}
	tests := []struct {
		kind    FaultKind
		status  int
		ctype   string
		contain string
		changed bool // the call ran despite the fault
		netErr  bool
	}{
		{Fault500, 500, "text/html", "500", false, false},
		{Fault502, 502, "text/html", "502", false, false},
		{Fault503, 503, "text/html", "503", false, false},
		{FaultLoginPage, 200, "text/html", "<form", false, false},
		{FaultTokenDenied, 401, "text/html", tokenInvalidMsg, false, false},
		{FaultTruncated, 200, "application/json", `{"data"`, true, false},
		{FaultReset, 0, "", "", true, true},
		{FaultLatency, 200, "application/json", `"result":1`, true, false},
	}
	for i, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			pw := fmt.Sprintf("Fault-Pass-%d-#Qz", i)
			srv.Sim.SetFault("bob", Fault{Kind: tt.kind, Count: 1, RetryAfter: 1500 * time.Millisecond, Latency: 50 * time.Millisecond})
			start := time.Now()
			resp, body, err := postPasswd(t, c, srv.WHMURL, "bob", pw)
			if tt.netErr {
				if err == nil {
					t.Fatalf("want a transport error, got %d %s", resp.StatusCode, body)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.ctype) || !bytes.Contains(body, []byte(tt.contain)) {
					t.Fatalf("got %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
				}
			}
			switch tt.kind {
			case Fault503:
				if resp.Header.Get("Retry-After") != "2" {
					t.Errorf("Retry-After = %q, want 2", resp.Header.Get("Retry-After"))
				}
			case FaultTruncated:
				if json.Valid(body) {
					t.Errorf("body is whole: %s", body)
				}
			case FaultLatency:
				if d := time.Since(start); d < 50*time.Millisecond {
					t.Errorf("latency fault took %v", d)
				}
			}
			if got := srv.Sim.CheckPassword("bob", pw); got != tt.changed {
				t.Errorf("changed = %v, want %v", got, tt.changed)
			}
			// Count 1: the next call is clean.
			resp, body, err = postPasswd(t, c, srv.WHMURL, "bob", pw+"2")
			if err != nil || resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"result":1`)) {
				t.Fatalf("after the fault: %v %s", err, body)
			}
		})
	}

	// A fault on one account leaves others alone; "" hits every call; FaultNone clears.
	srv.Sim.SetFault("bob", Fault{Kind: Fault500})
	if resp, _, _ := postPasswd(t, c, srv.WHMURL, "alice", newPW); resp.StatusCode != 200 {
		t.Errorf("alice hit by bob's fault: %d", resp.StatusCode)
	}
	for i := 0; i < 2; i++ {
		if resp, _, _ := postPasswd(t, c, srv.WHMURL, "bob", newPW); resp.StatusCode != 500 {
			t.Errorf("count 0 is forever: call %d got %d", i, resp.StatusCode)
		}
	}
	srv.Sim.SetFault("bob", Fault{})
	srv.Sim.SetFault("", Fault{Kind: Fault502, Count: 1})
	if resp, _, _ := postPasswd(t, c, srv.WHMURL, "alice", newPW); resp.StatusCode != 502 {
		t.Errorf("global fault missed alice: %d", resp.StatusCode)
	}
	if resp, _, _ := postPasswd(t, c, srv.WHMURL, "bob", newPW+"3"); resp.StatusCode != 200 {
		t.Errorf("global fault outlived its count: %d", resp.StatusCode)
	}
}

func TestGlobalFaultCount(t *testing.T) {
	sim := newSample(t)
	sim.SetFault("", Fault{Kind: Fault503, Count: 2, RetryAfter: time.Second})
	var codes []int
	for _, u := range []string{"alice", "bob", "alice"} {
		w := serve(t, sim.Handler(RoleWHM), req{path: "/json-api/passwd", query: "api.version=1", form: form("user", u, "password", newPW), auth: rootAuth})
		codes = append(codes, w.Code)
	}
	if fmt.Sprint(codes) != "[503 503 200]" {
		t.Errorf("codes = %v", codes)
	}
}

func TestStateFault(t *testing.T) {
	st, err := ParseState([]byte(`
hostname: h
root: {password: "Root-Pass-2024!xyz", tokens: [ROOTTOKEN0123456789ABCDEFGHIJKLM]}
accounts:
  dan: {domain: dan.example, password: "Dan-Pass-2024!xyz", fault: {kind: "503", count: 1, retry-after: 3s}}
`))
	if err != nil {
		t.Fatal(err)
	}
	sim := New(st, Options{})
	w := serve(t, sim.Handler(RoleWHM), req{path: "/json-api/passwd", query: "api.version=1", form: form("user", "dan", "password", newPW), auth: rootAuth})
	if w.Code != 503 || w.Header().Get("Retry-After") != "3" {
		t.Errorf("state fault: %d %q", w.Code, w.Header().Get("Retry-After"))
	}
	w = serve(t, sim.Handler(RoleWHM), req{path: "/json-api/passwd", query: "api.version=1", form: form("user", "dan", "password", newPW), auth: rootAuth})
	if w.Code != 200 || !sim.CheckPassword("dan", newPW) {
		t.Errorf("after state fault: %d %s", w.Code, w.Body.String())
	}
}

func TestTLSServer(t *testing.T) {
	srv := startTestServer(t, SampleState(), Options{})
	pemBytes, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	sum := sha256.Sum256(block.Bytes)
	if want := "sha256:" + hex.EncodeToString(sum[:]); srv.Fingerprint != want {
		t.Errorf("fingerprint %s, want %s", srv.Fingerprint, want)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	resp, body, err := postPasswd(t, c, srv.WHMURL, "bob", newPW)
	if err != nil || resp.StatusCode != 200 || resp.Proto != "HTTP/1.1" {
		t.Fatalf("TLS call: %v %s", err, body)
	}
	// Default trust refuses the self-signed certificate.
	if r, err := http.Get(srv.WHMURL + "/"); err == nil {
		r.Body.Close()
		t.Error("self-signed certificate trusted by default")
	}
	// Secure session cookie over TLS on the cPanel listener.
	login, err := c.PostForm(srv.CPanelURL+"/login/?login_only=1", url.Values{"user": {"bob"}, "pass": {newPW}})
	if err != nil {
		t.Fatal(err)
	}
	login.Body.Close()
	if sc := login.Header.Get("Set-Cookie"); login.StatusCode != 200 || !strings.Contains(sc, "Secure") || !strings.Contains(sc, "HttpOnly") {
		t.Errorf("login over TLS: %d %q", login.StatusCode, sc)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(srv.CAFile); !os.IsNotExist(err) {
		t.Errorf("CA file left behind: %v", err)
	}
}

func TestDumpRoundTrip(t *testing.T) {
	st := SampleState()
	st.Resellers["res1"].TFASecret = "JBSWY3DPEHPK3PXP"
	sim := New(st, Options{})
	h := sim.Handler(RoleWHM)
	serve(t, h, req{path: "/json-api/passwd", query: "api.version=1", form: form("user", "bob", "password", newPW), auth: rootAuth})
	serve(t, h, req{path: "/json-api/cpanel", query: api2Query("bob", "Email", "passwdpop"), form: form("email", "info", "password", newPW+"m"), auth: rootAuth})
	uapi3 := func(mod string) string {
		return "cpanel_jsonapi_apiversion=3&cpanel_jsonapi_user=bob&cpanel_jsonapi_module=" + mod + "&cpanel_jsonapi_func=set_password"
	}
	serve(t, h, req{path: "/json-api/cpanel", query: uapi3("Mysql"), form: form("user", "bob_wp", "password", newPW+"y"), auth: rootAuth})
	serve(t, h, req{path: "/json-api/cpanel", query: uapi3("Postgresql"), form: form("user", "bob_app", "password", newPW+"p"), auth: rootAuth})
	serve(t, h, req{path: "/json-api/cpanel", query: uapi3("WebDisk"), form: form("user", "dav@bob.example", "password", newPW+"w", "enabledigest", "1"), auth: rootAuth})
	sim.SetFault("alice", Fault{Kind: Fault503, Count: 2, RetryAfter: 2 * time.Second})
	dump, err := sim.Dump()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{newPW, SampleRootPassword, SampleBobPassword, SampleAlicePassword, SampleFTPPassword, SampleMailPassword, SampleCarolPassword, SampleResellerPass,
		SampleMySQLPassword, SamplePostgreSQLPassword, SampleWebDiskPassword, "password:"} {
		if bytes.Contains(dump, []byte(secret)) {
			t.Errorf("dump holds %q:\n%s", secret, dump)
		}
	}
	back, err := ParseState(dump)
	if err != nil {
		t.Fatalf("dump does not load: %v\n%s", err, dump)
	}
	sim2 := New(back, Options{})
	for login, pw := range map[string]string{"bob": newPW, "info@bob.example": newPW + "m", "alice": SampleAlicePassword, "root": SampleRootPassword, "files@bob.example": SampleFTPPassword} {
		if !sim2.CheckPassword(login, pw) {
			t.Errorf("%s lost its password in the round trip", login)
		}
	}
	for _, c := range []struct{ kind, login, pw string }{
		{KindMySQL, "bob_wp", newPW + "y"}, {KindPostgreSQL, "bob_app", newPW + "p"}, {KindWebDisk, "dav@bob.example", newPW + "w"},
		{KindMySQL, "alice_shop", SampleMySQLPassword}, {KindWebDisk, "dav@carol.example", SampleWebDiskPassword},
	} {
		if !sim2.CheckPasswordOf(c.kind, c.login, c.pw) {
			t.Errorf("%s %s lost its password in the round trip", c.kind, c.login)
		}
	}
	if b := back.Accounts["bob"]; !b.WebDisk[0].DigestAuth || !b.AnonymousFTP || len(b.Domains) != 1 || len(b.MySQL[0].Databases) != 1 {
		t.Errorf("state lost bob's fields: %+v", b)
	}
	if sim2.CheckPassword("bob", SampleBobPassword) {
		t.Error("old password still valid after round trip")
	}
	if f := back.Accounts["alice"].Fault; f == nil || f.Kind != Fault503 || f.Count != 2 || f.RetryAfter != 2*time.Second {
		t.Errorf("fault round trip: %+v", f)
	}
	if back.Resellers["res1"].TFASecret == "" || back.Accounts["bob"].PasswordChanges != 1 {
		t.Errorf("state lost fields: %+v", back.Root)
	}
}

func TestSampleStateMatchesFile(t *testing.T) {
	st, err := LoadState("../../testdata/sim/state.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(st)
	b, _ := json.Marshal(SampleState())
	if !bytes.Equal(a, b) {
		t.Errorf("testdata/sim/state.yaml and SampleState differ:\n%s\n%s", a, b)
	}
}

func TestParseStateErrors(t *testing.T) {
	tests := map[string]string{
		"bad yaml":      "root: [",
		"short token":   "root: {tokens: [ABC]}",
		"lower token":   "root: {tokens: [rootoken0123456789abcdefghijklmn]}",
		"unknown owner": "accounts: {x: {owner: nobody, domain: x.example}}",
		"no domain":     "accounts: {x: {owner: root}}",
		"bad fault":     "accounts: {x: {domain: x.example, fault: {kind: explode}}}",
		"bad tfa":       "root: {tfa-secret: '!!!'}",
		"mail no @":     "accounts: {x: {domain: x.example, mail: [{address: info}]}}",
		"root account":  "accounts: {root: {domain: x.example}}",
	}
	for name, doc := range tests {
		if _, err := ParseState([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestHash(t *testing.T) {
	h1, h2 := HashPassword("p@ss word"), HashPassword("p@ss word")
	if h1 == h2 || !strings.HasPrefix(h1, "sha256$") {
		t.Errorf("hashes not salted: %s %s", h1, h2)
	}
	for _, tt := range []struct {
		hash, pw string
		ok       bool
	}{{h1, "p@ss word", true}, {h1, "p@ss word ", false}, {"md5$x$y", "x", false}, {"sha256$nosum", "", false}} {
		if VerifyHash(tt.hash, tt.pw) != tt.ok {
			t.Errorf("VerifyHash(%q, %q) != %v", tt.hash, tt.pw, tt.ok)
		}
	}
}

func TestSecretInQueryAndStats(t *testing.T) {
	sim := newSample(t)
	h := sim.Handler(RoleWHM)
	w := serve(t, h, req{method: http.MethodGet, path: "/json-api/passwd", query: "api.version=1&user=bob&password=" + url.QueryEscape(newPW), auth: rootAuth})
	if w.Code != 200 || !sim.CheckPassword("bob", newPW) {
		t.Fatalf("GET passwd did not work as on a server: %s", w.Body.String())
	}
	serve(t, h, req{path: "/json-api/passwd", query: "api.version=1", form: form("user", "bob", "password", newPW+"2"), auth: rootAuth})
	serve(t, h, req{path: "/json-api/version", query: "api.version=1", auth: rootAuth})
	st := sim.Stats()
	if st.SecretInQuery != 1 || st.Requests != 3 || st.ByFunction["whmapi1:passwd"] != 2 || st.ByFunction["whmapi1:version"] != 1 || st.PasswordChanges != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestRequestLog(t *testing.T) {
	var buf bytes.Buffer
	sim := New(SampleState(), Options{RequestLog: &buf})
	h := sim.Handler(RoleWHM)
	tok, cookie := login(t, h, "root", SampleRootPassword)
	serve(t, h, req{path: tok + "/json-api/passwd", query: "api.version=1&password=" + url.QueryEscape(newPW) + "&user=bob", cookie: cookie})
	log := buf.String()
	for _, secret := range []string{newPW, SampleRootPassword, strings.TrimPrefix(tok, "/"), cookie.Value, "?"} {
		if strings.Contains(log, secret) {
			t.Errorf("log holds %q:\n%s", secret, log)
		}
	}
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], `POST "/cpsess**********/json-api/passwd" 200 `) {
		t.Errorf("log lines:\n%s", log)
	}
}

func TestConcurrentChanges(t *testing.T) {
	st := &State{Hostname: "h", MinimumStrengths: map[string]int{"default": 50}, Root: Login{Tokens: []string{SampleRootToken}}}
	const n = 64
	for i := 0; i < n; i++ {
		st.AddAccount(fmt.Sprintf("u%03d", i), "root", fmt.Sprintf("u%03d.example", i), "Start-Pass-2024!q")
	}
	sim := New(st, Options{})
	h := sim.Handler(RoleWHM)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				serve(t, h, req{path: "/json-api/passwd", query: "api.version=1", form: form("user", fmt.Sprintf("u%03d", i), "password", fmt.Sprintf("Conc-%d-%d-#Zq", i, j)), auth: rootAuth})
			}
		}(i)
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if !sim.CheckPassword(fmt.Sprintf("u%03d", i), fmt.Sprintf("Conc-%d-4-#Zq", i)) {
			t.Errorf("u%03d lost its last change", i)
		}
	}
	if got := sim.Stats().PasswordChanges; got != n*5 {
		t.Errorf("PasswordChanges = %d", got)
	}
}

func TestBigState(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 10000
	}
	st := &State{Hostname: "h", Root: Login{Password: "Root-Pass-2024!xyz"}}
	start := time.Now()
	for i := 0; i < n; i++ {
		st.AddAccount(fmt.Sprintf("user%06d", i), "root", fmt.Sprintf("d%06d.example", i), "Bulk-Pass-2024!q")
	}
	sim := New(st, Options{})
	d := time.Since(start)
	t.Logf("built and loaded %d accounts in %v", n, d)
	if d > 10*time.Second {
		t.Errorf("loading %d accounts took %v", n, d)
	}
	if !sim.CheckPassword(fmt.Sprintf("user%06d", n-1), "Bulk-Pass-2024!q") {
		t.Error("last account not loaded")
	}
}

func benchPasswdForm(i int) string {
	return url.Values{"user": {"bob"}, "password": {fmt.Sprintf("Bench-Pass-%d-#Zq", i)}}.Encode()
}

// BenchmarkWHMPasswd measures the handler alone: WHM API 1 passwd with a
// token, no network.
func BenchmarkWHMPasswd(b *testing.B) {
	h := New(SampleState(), Options{}).Handler(RoleWHM)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r, _ := http.NewRequest(http.MethodPost, "/json-api/passwd?api.version=1", strings.NewReader(benchPasswdForm(i)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", rootAuth)
		w := httptestRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkWHMPasswdTLS measures full calls over TLS keep-alive
// connections from parallel clients.
func BenchmarkWHMPasswdTLS(b *testing.B) {
	srv := startTestServer(b, SampleState(), Options{})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CertPEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	var n atomicCounter
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := http.NewRequest(http.MethodPost, srv.WHMURL+"/json-api/passwd?api.version=1", strings.NewReader(benchPasswdForm(n.next())))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", rootAuth)
			resp, err := c.Do(r)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int { return int(c.n.Add(1)) }

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// CertDir keeps the certificate across restarts, with the key 0600, and
// never writes through a file planted in the directory.
func TestCertDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cert")
	first := startTestServer(t, nil, Options{CertDir: dir})
	second := startTestServer(t, nil, Options{CertDir: dir})
	if first.Fingerprint == "" || first.Fingerprint != second.Fingerprint {
		t.Errorf("fingerprints %q and %q differ across restarts", first.Fingerprint, second.Fingerprint)
	}
	for name, want := range map[string]os.FileMode{"key.pem": 0o600, "cert.pem": 0o600} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v", name, fi, err)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir: %v %v", fi, err)
	}
	// A symlink planted where the key would go is refused, not followed.
	planted := filepath.Join(t.TempDir(), "cert")
	if err := os.MkdirAll(planted, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.Symlink(victim, filepath.Join(planted, "key.pem")); err != nil {
		t.Fatal(err)
	}
	if srv, err := Start(nil, Options{CertDir: planted}); err == nil {
		_ = srv.Close()
		t.Error("started with a symlink planted at key.pem")
	}
	if _, err := os.Lstat(victim); !os.IsNotExist(err) {
		t.Errorf("written through the planted symlink: %v", err)
	}
}
