package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
)

const testToken = "TESTTOKEN0123456789ABCDEFGHIJKLM"

// recorder is a loopback WHM/cPanel stand-in that records every request
// body with its order and repetitions intact.
type recorder struct {
	mu       sync.Mutex
	reqs     []recorded
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	delay    time.Duration
}

type recorded struct {
	path string
	form [][2]string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := rc.inFlight.Add(1)
	defer rc.inFlight.Add(-1)
	for {
		m := rc.maxSeen.Load()
		if n <= m || rc.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(rc.delay)
	body, _ := io.ReadAll(r.Body)
	var form [][2]string
	for _, kv := range strings.Split(string(body), "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		form = append(form, [2]string{k, v})
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, recorded{path: r.URL.RequestURI(), form: form})
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasPrefix(r.URL.Path, "/json-api/fail"):
		io.WriteString(w, `{"metadata":{"command":"fail","reason":"No.","result":0,"version":1}}`)
	case r.URL.Path == "/json-api/cpanel" && strings.Contains(string(body), "cpanel_jsonapi_apiversion=2"):
		io.WriteString(w, `{"cpanelresult":{"apiversion":2,"module":"M","func":"f","data":[{"result":1}],"event":{"result":1}}}`)
	case r.URL.Path == "/json-api/uapi_cpanel":
		io.WriteString(w, `{"data":{"uapi":{"status":1,"data":null,"errors":null,"messages":null,"warnings":null,"metadata":{"transformed":1}}},"metadata":{"command":"uapi_cpanel","reason":"OK","result":1,"version":1}}`)
	case r.URL.Path == "/json-api/cpanel":
		io.WriteString(w, `{"module":"M","func":"f","apiversion":3,"result":{"status":1,"data":null,"errors":null,"messages":null,"warnings":null,"metadata":{}}}`)
	case strings.HasPrefix(r.URL.Path, "/execute/"):
		io.WriteString(w, `{"status":0,"data":null,"errors":["bad"],"messages":null,"warnings":null,"metadata":{}}`)
	default:
		io.WriteString(w, `{"data":{"z":1,"a":"“x”"},"metadata":{"command":"f","reason":"OK","result":1,"version":1}}`)
	}
}

// testEnv is a factory on test streams and a config file whose profiles
// all point at the recorder, which answers in-process: no sockets, so a test
// can run in a synctest bubble.
type testEnv struct {
	f        *cmdutil.Factory
	in       *bytes.Buffer
	out, err *bytes.Buffer
	rec      *recorder
}

func newTestEnv(t *testing.T, whmProfiles ...string) *testEnv {
	t.Helper()
	rec := &recorder{}
	const url = "https://server.test:2087"
	cfg := &config.File{Profiles: map[string]*config.Profile{
		"cp": {URL: url, Kind: "cpanel", User: "bob", Auth: "token", Token: testToken},
	}}
	for _, n := range whmProfiles {
		cfg.Profiles[n] = &config.Profile{URL: url, Kind: "whm", User: "root", Auth: "token", Token: testToken}
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	ios, in, out, errOut := cmdutil.Test()
	f := cmdutil.NewFactory(ios)
	f.Viper.Set(cmdutil.KeyConfig, path)
	return &testEnv{f: f, in: in, out: out, err: errOut, rec: rec}
}

// handlerTransport answers every request with a handler, in-process.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	ht.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// run runs o as the command would, on the env's factory, with clients that
// reach the recorder.
func (e *testEnv) run(t *testing.T, o *Options, profile string) int {
	t.Helper()
	f := e.f
	o.IO, o.Config, o.ProfileNames, o.ResolveTarget, o.TwoFactor = f.IO, f.Config, f.ProfileNames, f.ResolveTarget, f.TwoFactorFallback
	o.ClientConfig = func(ctx context.Context, t *cmdutil.Target) (cpanel.Config, error) {
		cc, err := f.ClientConfig(ctx, t)
		cc.Transport = handlerTransport{e.rec}
		return cc, err
	}
	o.DryRun = f.DryRun
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if profile != "" {
		f.Viper.Set(cmdutil.KeyProfile, profile)
		o.profileSet = true
	}
	return cmdutil.ExitCode(Run(context.Background(), o))
}

func TestRunSendsArgumentsInOrder(t *testing.T) {
	e := newTestEnv(t, "whm")
	e.in.WriteString("s3cret&pw\n")
	o := &Options{API: cpanel.WHMAPI1, Function: "doit", Output: "json", outputSet: true,
		Args: []string{"a=1", "b=x%20y", "a=2", "pass=@-", "app-0=ftp", "app-1=mail", "p=1+1"}}
	if code := e.run(t, o, "whm"); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, e.err)
	}
	if len(e.rec.reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(e.rec.reqs))
	}
	r := e.rec.reqs[0]
	if r.path != "/json-api/doit?api.version=1" {
		t.Errorf("path %q", r.path)
	}
	want := [][2]string{{"a", "1"}, {"b", "x y"}, {"a", "2"}, {"pass", "s3cret&pw"}, {"app-0", "ftp"}, {"app-1", "mail"}, {"p", "1+1"}}
	if !reflect.DeepEqual(r.form, want) {
		t.Errorf("form %v\nwant %v", r.form, want)
	}
	// JSON output is the body exactly as sent.
	if got := e.out.String(); got != `{"data":{"z":1,"a":"“x”"},"metadata":{"command":"f","reason":"OK","result":1,"version":1}}`+"\n" {
		t.Errorf("stdout %q", got)
	}
}

func TestRunRouting(t *testing.T) {
	tests := []struct {
		name     string
		o        Options
		profile  string
		code     int
		path     string
		wantForm [][2]string
		stderr   string
	}{
		{name: "cpapi2 through WHM", o: Options{API: cpanel.CPAPI2, Module: "Ftp", Function: "passwd", User: "bob", Args: []string{"user=files"}},
			profile: "whm", path: "/json-api/cpanel",
			wantForm: [][2]string{{"cpanel_jsonapi_user", "bob"}, {"cpanel_jsonapi_apiversion", "2"}, {"cpanel_jsonapi_module", "Ftp"}, {"cpanel_jsonapi_func", "passwd"}, {"user", "files"}}},
		{name: "uapi via uapi_cpanel", o: Options{API: cpanel.UAPI, Module: "Ftp", Function: "passwd", User: "bob", Via: ViaUAPICpanel},
			profile: "whm", path: "/json-api/uapi_cpanel?api.version=1",
			wantForm: [][2]string{{"cpanel.user", "bob"}, {"cpanel.module", "Ftp"}, {"cpanel.function", "passwd"}}},
		{name: "uapi through cPanel, same user, refused", o: Options{API: cpanel.UAPI, Module: "Ftp", Function: "passwd", User: "bob"},
			profile: "cp", code: 1, path: "/execute/Ftp/passwd"},
		{name: "WHM API 1 refused", o: Options{API: cpanel.WHMAPI1, Function: "failing"}, profile: "whm", code: 1, path: "/json-api/failing?api.version=1", stderr: "No."},
		{name: "cpapi2 through WHM without --user", o: Options{API: cpanel.CPAPI2, Module: "Ftp", Function: "passwd"}, profile: "whm", code: 2, stderr: "needs --user"},
		{name: "other --user through cPanel", o: Options{API: cpanel.UAPI, Module: "Ftp", Function: "passwd", User: "alice"}, profile: "cp", code: 2, stderr: "cannot be used"},
		{name: "whmapi1 through cPanel", o: Options{API: cpanel.WHMAPI1, Function: "version"}, profile: "cp", code: 2, stderr: "needs a WHM server"},
		{name: "reserved key", o: Options{API: cpanel.WHMAPI1, Function: "version", Args: []string{"api.version=0"}}, profile: "whm", code: 2, stderr: "set by cpctl"},
		{name: "reserved cpanel key", o: Options{API: cpanel.CPAPI2, Module: "M", Function: "f", User: "bob", Args: []string{"cpanel_jsonapi_user=root"}}, profile: "whm", code: 2, stderr: "set by cpctl"},
		{name: "bad function", o: Options{API: cpanel.WHMAPI1, Function: "user=bob"}, profile: "whm", code: 2, stderr: "looks like an argument"},
		{name: "bad via", o: Options{API: cpanel.UAPI, Module: "M", Function: "f", User: "bob", Via: "x"}, profile: "whm", code: 2, stderr: "--via"},
		{name: "unknown profile", o: Options{API: cpanel.WHMAPI1, Function: "version"}, profile: "whm,nope", code: 2},
		{name: "bad output", o: Options{API: cpanel.WHMAPI1, Function: "version", Output: "table", outputSet: true}, profile: "whm", code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, "whm")
			o := tt.o
			code := e.run(t, &o, tt.profile)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, e.err)
			}
			if tt.path == "" {
				if len(e.rec.reqs) != 0 {
					t.Errorf("a request was sent: %+v", e.rec.reqs)
				}
				return
			}
			if len(e.rec.reqs) != 1 || e.rec.reqs[0].path != tt.path {
				t.Fatalf("requests %+v, want one to %s", e.rec.reqs, tt.path)
			}
			if tt.wantForm != nil && !reflect.DeepEqual(e.rec.reqs[0].form, tt.wantForm) {
				t.Errorf("form %v\nwant %v", e.rec.reqs[0].form, tt.wantForm)
			}
			if tt.code == 1 && !strings.HasPrefix(e.out.String(), "---\n") {
				t.Errorf("a refused call's reply should still be printed (YAML by default), got %q", e.out.String())
			}
		})
	}
}

// TestRunConcurrencyBound runs on synctest's clock: each call takes 30 ms
// of it, so every call the bound lets start is in flight at once, and the
// test waits for nothing.
func TestRunConcurrencyBound(t *testing.T) { synctest.Test(t, testRunConcurrencyBound) }

func testRunConcurrencyBound(t *testing.T) {
	names := []string{"s1", "s2", "s3", "s4", "s5", "s6"}
	e := newTestEnv(t, names...)
	e.rec.delay = 30 * time.Millisecond
	o := &Options{API: cpanel.WHMAPI1, Function: "version", Concurrency: 2, Output: "json", outputSet: true}
	if code := e.run(t, o, strings.Join(names, ",")); code != 0 {
		t.Fatalf("exit %d: %s", code, e.err)
	}
	if len(e.rec.reqs) != len(names) {
		t.Fatalf("%d requests, want %d", len(e.rec.reqs), len(names))
	}
	if m := e.rec.maxSeen.Load(); m > 2 || m < 2 {
		t.Errorf("%d calls were in flight at once, want exactly 2 (the bound)", m)
	}
	// Results come in the order the profiles were given.
	out := e.out.String()
	last := -1
	for _, n := range names {
		i := strings.Index(out, `"profile":"`+n+`"`)
		if i < last {
			t.Errorf("profile %s out of order in %s", n, out)
		}
		last = i
	}
}

func TestRunAllProfilesConflict(t *testing.T) {
	e := newTestEnv(t, "whm")
	o := &Options{API: cpanel.WHMAPI1, Function: "version", AllProfiles: true}
	if code := e.run(t, o, "whm"); code != 2 {
		t.Fatalf("exit %d, want 2 for --profile with --all-profiles", code)
	}
}

func TestRunDryRunRedacts(t *testing.T) {
	e := newTestEnv(t, "whm")
	e.in.WriteString("from-stdin-secret\n")
	e.f.DryRun = true
	o := &Options{API: cpanel.WHMAPI1, Function: "passwd", Args: []string{"user=bob", "password=inline-secret", "note=@-"}}
	if code := e.run(t, o, "whm"); code != 0 {
		t.Fatalf("exit %d: %s", code, e.err)
	}
	if len(e.rec.reqs) != 0 {
		t.Fatal("a dry run sent a request")
	}
	out := e.out.String()
	for _, s := range []string{"inline-secret", "from-stdin-secret", testToken} {
		if strings.Contains(out+e.err.String(), s) {
			t.Errorf("%q leaked in\n%s", s, out)
		}
	}
	if !strings.Contains(out, "user=bob&password=<redacted>&note=<redacted>") {
		t.Errorf("preview body missing:\n%s", out)
	}
}

func TestNewCmdParsesFlags(t *testing.T) {
	tests := []struct {
		api  cpanel.API
		args []string
		want Options
		err  bool
	}{
		{api: cpanel.WHMAPI1, args: []string{"passwd", "user=bob", "--output=jsonpretty"},
			want: Options{Function: "passwd", Args: []string{"user=bob"}, Output: "jsonpretty", outputSet: true}},
		{api: cpanel.CPAPI2, args: []string{"--user=bob", "Ftp", "passwd", "user=files", "-o", "xml"},
			want: Options{User: "bob", Module: "Ftp", Function: "passwd", Args: []string{"user=files"}, Output: "xml", outputSet: true}},
		{api: cpanel.UAPI, args: []string{"Email", "passwd_pop", "--via", "uapi_cpanel", "--all-profiles", "--concurrency", "8"},
			want: Options{Module: "Email", Function: "passwd_pop", Args: []string{}, Via: "uapi_cpanel", AllProfiles: true, Concurrency: 8, Output: "yaml"}},
		{api: cpanel.UAPI, args: []string{"Email"}, err: true},
		{api: cpanel.WHMAPI1, args: []string{}, err: true},
		{api: cpanel.WHMAPI1, args: []string{"version", "--user", "bob"}, err: true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *Options
			ios, _, _, _ := cmdutil.Test()
			cmd := NewCmd(cmdutil.NewFactory(ios), tt.api, func(o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			err := cmd.Execute()
			if tt.err {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// What the factory gives is not what this test checks.
			got.IO, got.Config, got.ProfileNames, got.ResolveTarget, got.ClientConfig, got.TwoFactor = nil, nil, nil, nil, nil, nil
			got.EnvOutput = ""
			tt.want.API = tt.api
			if tt.want.Concurrency == 0 {
				tt.want.Concurrency = DefaultConcurrency
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	tests := []struct {
		api        cpanel.API
		args       []string
		toComplete string
		want       string
	}{
		{cpanel.WHMAPI1, nil, "pass", "passwd\tchange a cPanel account's password"},
		{cpanel.WHMAPI1, nil, "getmin", "getminimumpasswordstrengths\tread the minimum password strengths"},
		{cpanel.WHMAPI1, []string{"passwd"}, "pa", "password="},
		{cpanel.CPAPI2, nil, "Pa", "Passwd"},
		{cpanel.CPAPI2, []string{"Email"}, "pass", "passwdpop\tchange a mail account's password"},
		{cpanel.UAPI, nil, "Pass", "PasswdStrength"},
		{cpanel.UAPI, []string{"Variables"}, "", "get_user_information\tthe account's user, domain, owner and more"},
		{cpanel.UAPI, []string{"Ftp", "passwd"}, "", "pass="},
	}
	for _, tt := range tests {
		got, _ := completeArgs(tt.api)(&cobra.Command{}, tt.args, tt.toComplete)
		found := false
		for _, g := range got {
			found = found || g == tt.want
		}
		if !found {
			t.Errorf("%s %v %q: %q not in %q", tt.api, tt.args, tt.toComplete, tt.want, got)
		}
		for _, g := range got {
			if !strings.HasPrefix(g, tt.toComplete) {
				t.Errorf("%q does not start with %q", g, tt.toComplete)
			}
		}
	}
}

// CPCTL_OUTPUT set for the passwd commands also works for the API tools:
// table means their default (YAML), jsonl their JSON as it came.
func TestFormatFromEnvironment(t *testing.T) {
	for env, want := range map[string]Format{"": YAML, "table": YAML, "json": JSON, "jsonl": JSON, "NDJSON": JSON, "yaml": YAML} {
		got, err := (&Options{EnvOutput: env}).format()
		if err != nil || got != want {
			t.Errorf("CPCTL_OUTPUT=%q: %q, %v; want %q", env, got, err, want)
		}
	}
}
