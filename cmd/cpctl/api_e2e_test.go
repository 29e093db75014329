package main

// End-to-end tests of the mirror commands whmapi1, cpapi2 and uapi against
// the simulator.

import (
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/simulator"
)

// closedURL is a loopback URL on which nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "https://" + addr
}

// addDownProfiles adds WHM profiles whose servers are not running.
func (e *env) addDownProfiles(names ...string) {
	e.t.Helper()
	f, err := config.Load(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, n := range names {
		f.Profiles[n] = &config.Profile{URL: closedURL(e.t), Kind: "whm", User: "root", Auth: "token",
			Token: simulator.SampleRootToken, Timeout: "5s"}
	}
	if err := f.Save(e.cfg); err != nil {
		e.t.Fatal(err)
	}
}

func TestWHMAPI1Formats(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	for _, format := range []string{"yaml", "json", "jsonpretty", "xml"} {
		t.Run(format, func(t *testing.T) {
			e := e.with(t)
			args := []string{"whmapi1", "listaccts", "searchtype=domain", "search=bob%2Eexample"}
			if format != "yaml" {
				args = append(args, "--output="+format)
			}
			r := e.call("", args...)
			e.wantCode(r, 0)
			e.noSecrets(r)
			golden(t, "api-whmapi1-listaccts."+format, r.stdout)
		})
	}
	t.Run("json is the reply as sent", func(t *testing.T) {
		e := e.with(t)
		r := e.call("", "whmapi1", "listaccts", "searchtype=domain", "search=bob%2Eexample", "-o", "json")
		e.wantCode(r, 0)
		var reply struct {
			Data struct {
				Acct []struct{ User string } `json:"acct"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &reply); err != nil {
			t.Fatal(err)
		}
		// The encoded dot was decoded once: only bob.example matches.
		if len(reply.Data.Acct) != 1 || reply.Data.Acct[0].User != "bob" {
			t.Errorf("search=bob%%2Eexample gave %+v", reply.Data.Acct)
		}
	})
}

func TestWHMAPI1PasswdSecretFromStdin(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call(newPass+"\n", "whmapi1", "passwd", "user=bob", "password=@-", "-v")
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	if !e.srv.Sim.CheckPassword("bob", newPass) {
		t.Fatal("the simulator does not have the password read from standard input")
	}
	if !strings.Contains(r.stderr, "user=bob&password=<redacted>") {
		t.Errorf("-v should show the request with the password redacted:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "reason: Password changed for user “bob”.") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

func TestWHMAPI1EncodedPassword(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	// The server tools take URI-encoded values: "&", "%" and "+" survive,
	// and "%41" in the password shows the value is decoded once, not twice.
	// (url.QueryEscape writes '+' as %2B; pw has no space.)
	const pw = "Tricky&Pass=50%+plus%41-2026!"
	r := e.call("", "whmapi1", "passwd", "user=bob", "password="+url.QueryEscape(pw), "-v")
	e.wantCode(r, 0)
	e.noSecrets(r, pw, url.QueryEscape(pw))
	if !e.srv.Sim.CheckPassword("bob", pw) {
		t.Fatal("the encoded password was not decoded exactly once")
	}
}

func TestWHMAPI1Arrays(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call("", "whmapi1", "listaccts", "want=user", "search=bob", "want=domain", "want-2=owner", "-v")
	e.wantCode(r, 0)
	// Repeated and indexed keys reach the server in order, as given.
	if !strings.Contains(r.stderr, "> want=user&search=bob&want=domain&want-2=owner\n") {
		t.Errorf("request body not passed through in order:\n%s", r.stderr)
	}
}

func TestMirrorFailureCodes(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	e.addDownProfiles("down")
	tests := []struct {
		name   string
		extra  []string
		stdin  string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "weak password is refused", args: []string{"whmapi1", "passwd", "user=bob", "password=abc12"},
			code: 1, stdout: "result: 0", stderr: "too weak"},
		{name: "unknown function", args: []string{"whmapi1", "nosuchfunction"}, code: 1, stderr: "Unknown app"},
		{name: "uapi failure hidden by uapi_cpanel", args: []string{"uapi", "--user", "bob", "--via", "uapi_cpanel", "Ftp", "passwd", "user=files", "pass=abc12"},
			code: 1, stdout: "command: uapi_cpanel", stderr: "too weak"},
		{name: "cpapi2 unknown function", args: []string{"cpapi2", "--user", "bob", "Ftp", "nosuch"}, code: 1, stdout: "cpanelresult:"},
		{name: "bad token", extra: []string{"CPCTL_URL=" + e.srv.WHMURL, "CPCTL_KIND=whm", "CPCTL_TLS_FINGERPRINT=" + e.srv.Fingerprint, "CPCTL_TOKEN=WRONGTOKEN0123456789ABCDEFGHIJK"}, args: []string{"whmapi1", "version"}, code: 3},
		{name: "server down", args: []string{"-p", "down", "whmapi1", "version"}, code: 4, stderr: "cannot connect"},
		{name: "cpapi2 through WHM needs --user", args: []string{"cpapi2", "Ftp", "passwd"}, code: 2, stderr: "needs --user"},
		{name: "other --user through cPanel", args: []string{"-p", "cp", "uapi", "--user", "alice", "Ftp", "passwd"}, code: 2},
		{name: "not key=value", args: []string{"whmapi1", "passwd", "user"}, code: 2, stderr: "not key=value"},
		{name: "unreadable @FILE", args: []string{"whmapi1", "passwd", "user=bob", "password=@/nonexistent/pw"}, code: 2},
		{name: "table is not a mirror format", args: []string{"whmapi1", "version", "-o", "table"}, code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.with(t)
			r := e.callEnv(tt.extra, tt.stdin, tt.args...)
			e.wantCode(r, tt.code)
			e.noSecrets(r, "WRONGTOKEN0123456789ABCDEFGHIJK")
			if !strings.Contains(r.stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, r.stdout)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, r.stderr)
			}
		})
	}
	if !e.srv.Sim.CheckPassword("bob", simulator.SampleBobPassword) || !e.srv.Sim.CheckPassword("files@bob.example", simulator.SampleFTPPassword) {
		t.Error("a refused call changed a password")
	}
}

func TestCPAPI2ThroughWHM(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call(newPass+"\n", "cpapi2", "--user", "bob", "Ftp", "passwd", "user=files", "pass=@-", "--output=json")
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	if !e.srv.Sim.CheckPassword("files@bob.example", newPass) {
		t.Fatal("FTP password not changed")
	}
	var reply struct {
		CPanelResult struct {
			Func string           `json:"func"`
			Data []map[string]any `json:"data"`
		} `json:"cpanelresult"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &reply); err != nil || reply.CPanelResult.Func != "passwd" {
		t.Fatalf("stdout is not the API 2 reply: %v\n%s", err, r.stdout)
	}
}

func TestUAPIThroughCPanelWithFile(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	pwFile := filepath.Join(e.dir, "mailpw")
	if err := os.WriteFile(pwFile, []byte(newPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// --user may repeat the profile's own user.
	r := e.call("", "-p", "cp", "uapi", "--user", "bob", "Email", "passwd_pop", "email=info", "domain=bob.example", "password=@"+pwFile, "--dry-run")
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	if !strings.Contains(r.stdout, "/execute/Email/passwd_pop") || !strings.Contains(r.stdout, "password=<redacted>") {
		t.Errorf("dry run output:\n%s", r.stdout)
	}
	if !e.srv.Sim.CheckPassword("info@bob.example", simulator.SampleMailPassword) {
		t.Fatal("a dry run changed the password")
	}
	r = e.call("", "-p", "cp", "uapi", "Email", "passwd_pop", "email=info", "domain=bob.example", "password=@"+pwFile)
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	if !e.srv.Sim.CheckPassword("info@bob.example", newPass) {
		t.Fatal("mail password not changed")
	}
	var reply map[string]any
	if err := yaml.Unmarshal([]byte(r.stdout), &reply); err != nil || reply["status"] != 1 {
		t.Errorf("stdout is not the UAPI reply in YAML: %v\n%s", err, r.stdout)
	}
}

func TestUAPIThroughWHM(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	for _, via := range []string{"", "uapi_cpanel"} {
		t.Run("via="+via, func(t *testing.T) {
			e := e.with(t)
			args := []string{"uapi", "--user", "bob", "PasswdStrength", "get_required_strength", "app=ftp", "-o", "json"}
			if via != "" {
				args = append(args, "--via", via)
			}
			r := e.call("", args...)
			e.wantCode(r, 0)
			if !strings.Contains(r.stdout, `"strength":`) {
				t.Errorf("stdout:\n%s", r.stdout)
			}
			if via != "" && !strings.Contains(r.stdout, `"command":"uapi_cpanel"`) {
				t.Errorf("--via uapi_cpanel not used:\n%s", r.stdout)
			}
		})
	}
}

func TestDryRunRedactsInlineSecret(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call("", "whmapi1", "passwd", "user=bob", "password="+newPass, "--dry-run")
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	if !strings.Contains(r.stdout, "/json-api/passwd?api.version=1") || !strings.Contains(r.stdout, "user=bob&password=<redacted>") {
		t.Errorf("dry run output:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "nothing was sent") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if e.srv.Sim.Stats().Requests != 0 {
		t.Errorf("a dry run sent %d requests", e.srv.Sim.Stats().Requests)
	}
	if !e.srv.Sim.CheckPassword("bob", simulator.SampleBobPassword) {
		t.Error("a dry run changed the password")
	}
}

// A dry run with -o json prints the requests as a JSON list, one per
// profile, each naming its profile when there are several; a profile that
// cannot take the call is reported on stderr and stdout stays valid JSON.
func TestDryRunJSON(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	type dryRequest struct {
		Profile *string           `json:"profile"`
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	tests := []struct {
		name     string
		profiles string
		code     int
		want     []string // the entries' profiles, "" for none
	}{
		{name: "one profile", profiles: "whm", want: []string{""}},
		{name: "several, one not WHM", profiles: "whm,cp,whmpw", code: 5, want: []string{"whm", "whmpw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.with(t)
			r := e.call(newPass+"\n", "whmapi1", "passwd", "user=bob", "password=@-", "-p", tt.profiles, "--dry-run", "-o", "json")
			e.wantCode(r, tt.code)
			e.noSecrets(r, newPass)
			var list []dryRequest
			if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
			}
			if len(list) != len(tt.want) {
				t.Fatalf("%d requests, want %d:\n%s", len(list), len(tt.want), r.stdout)
			}
			for i, q := range list {
				if got := q.Profile; tt.want[i] == "" && got != nil || tt.want[i] != "" && (got == nil || *got != tt.want[i]) {
					t.Errorf("request %d: profile %v, want %q", i, got, tt.want[i])
				}
				if q.Method != "POST" || !strings.HasSuffix(q.URL, "/json-api/passwd?api.version=1") ||
					q.Body != "user=bob&password=<redacted>" || !strings.HasSuffix(q.Headers["Authorization"], " <redacted>") {
					t.Errorf("request %d: %+v", i, q)
				}
			}
			if tt.code != 0 && !strings.Contains(r.stderr, "cpctl: cp: whmapi1 needs a WHM server") {
				t.Errorf("stderr should name the profile that failed:\n%s", r.stderr)
			}
			if !strings.Contains(r.stderr, "cpctl: dry run: nothing was sent") {
				t.Errorf("stderr: %s", r.stderr)
			}
			if n := e.srv.Sim.Stats().Requests; n != 0 {
				t.Errorf("a dry run sent %d requests", n)
			}
		})
	}
}

type serverEntry struct {
	Profile string         `json:"profile"`
	Exit    int            `json:"exit"`
	Error   string         `json:"error"`
	Reply   map[string]any `json:"reply"`
}

func TestMultiProfileOneDown(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	e.addDownProfiles("down")
	r := e.call("", "whmapi1", "getminimumpasswordstrengths", "-p", "whm,down,res,whmpw", "-o", "json", "--concurrency", "2")
	e.wantCode(r, 5)
	e.noSecrets(r)
	var list []serverEntry
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	want := []struct {
		profile string
		exit    int
	}{{"whm", 0}, {"down", 4}, {"res", 0}, {"whmpw", 0}}
	if len(list) != len(want) {
		t.Fatalf("%d entries, want %d:\n%s", len(list), len(want), r.stdout)
	}
	for i, w := range want {
		got := list[i]
		if got.Profile != w.profile || got.Exit != w.exit {
			t.Errorf("entry %d: %s exit %d, want %s exit %d", i, got.Profile, got.Exit, w.profile, w.exit)
		}
		if w.exit == 0 && (got.Reply == nil || got.Error != "") {
			t.Errorf("%s: want a reply and no error, got %+v", got.Profile, got)
		}
		if w.exit != 0 && (got.Reply != nil || !strings.Contains(got.Error, "cannot connect")) {
			t.Errorf("%s: want an error and no reply, got %+v", got.Profile, got)
		}
	}
	if !strings.Contains(r.stderr, "cpctl: down: ") {
		t.Errorf("stderr should name the failed server:\n%s", r.stderr)
	}
}

func TestMultiProfileAllDown(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	e.addDownProfiles("down1", "down2")
	r := e.call("", "whmapi1", "version", "-p", "down1,down2")
	e.wantCode(r, 4)
	var list []map[string]any
	if err := yaml.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 2 {
		t.Fatalf("want a YAML list of two: %v\n%s", err, r.stdout)
	}
}

func TestAllProfiles(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call("", "uapi", "--user", "bob", "Variables", "get_user_information", "--all-profiles")
	// res (a reseller) does not own bob; the others read bob's information.
	e.wantCode(r, 5)
	e.noSecrets(r)
	var list []struct {
		Profile string `yaml:"profile"`
		Exit    int    `yaml:"exit"`
	}
	if err := yaml.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	got := map[string]int{}
	for _, s := range list {
		got[s.Profile] = s.Exit
	}
	if len(got) != 4 || got["whm"] != 0 || got["cp"] != 0 || got["whmpw"] != 0 || got["res"] == 0 {
		t.Errorf("exits %v\n%s", got, r.stdout)
	}
	// A typo in an explicit list fails before anything is sent.
	r = e.call("", "whmapi1", "version", "-p", "whm,nosuch")
	e.wantCode(r, 2)
}

func TestMirrorCompletion(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "whmapi1", "pass"}, "passwd\t"},
		{[]string{"__complete", "whmapi1", "getmin"}, "getminimumpasswordstrengths\t"},
		{[]string{"__complete", "uapi", "--user", "bob", "Pass"}, "PasswdStrength"},
		{[]string{"__complete", "cpapi2", "Email", ""}, "passwdpop\t"},
		{[]string{"__complete", "uapi", "Email", "passwd_pop", ""}, "password="},
		{[]string{"__complete", "whmapi1", "version", "-o", ""}, "jsonpretty"},
		{[]string{"__complete", "whmapi1", "version", "-p", ""}, "whmpw\t"},
	}
	for _, tt := range tests {
		r := e.call("", tt.args...)
		e.wantCode(r, 0)
		if !strings.Contains(r.stdout, tt.want) {
			t.Errorf("%v: %q not offered:\n%s", tt.args, tt.want, r.stdout)
		}
	}
}
