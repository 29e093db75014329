package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/secret/strength"
	"github.com/cpctl/cpctl/pkg/simulator"
)

const newPass = "N3w-Pa55!word-for-2026"

func TestAccountPasswdFormats(t *testing.T) {
	for _, format := range []string{"table", "json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t, nil, simulator.Options{})
			e.writeConfig()
			r := e.call(newPass+"\n", "account", "passwd", "bob", "--password-stdin", "-o", format)
			e.wantCode(r, 0)
			e.noSecrets(r, newPass)
			if !e.srv.Sim.CheckPassword("bob", newPass) {
				t.Fatal("the simulator does not have the new password")
			}
			golden(t, "account-passwd."+format, r.stdout)
		})
	}
}

func TestAccountPasswdJSONFields(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call(newPass+"\n", "account", "passwd", "bob", "--password-stdin", "-o", "json", "--no-db-pass-update")
	e.wantCode(r, 0)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("stdout is not a JSON list: %v\n%s", err, r.stdout)
	}
	if len(rows) != 1 {
		t.Fatalf("want one row, got %d", len(rows))
	}
	for _, k := range []string{"profile", "server", "kind", "target", "owner", "api", "ok", "services", "message"} {
		if _, ok := rows[0][k]; !ok {
			t.Errorf("field %q missing in %v", k, rows[0])
		}
	}
	if _, ok := rows[0]["password"]; ok {
		t.Error("a password that was not generated must not be printed")
	}
	if rows[0]["ok"] != true || rows[0]["kind"] != "account" || rows[0]["api"] != "whmapi1" || rows[0]["profile"] != "whm" {
		t.Errorf("unexpected row %v", rows[0])
	}
	services, _ := rows[0]["services"].([]any)
	for _, s := range services {
		if s == "MySQL" {
			t.Errorf("--no-db-pass-update still changed MySQL: %v", services)
		}
	}
}

func TestGeneratedPassword(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call("", "account", "passwd", "bob", "--generate", "-o", "json")
	e.wantCode(r, 0)
	var rows []struct {
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("bad JSON: %v\n%s", err, r.stdout)
	}
	pw := rows[0].Password
	if strength.Score(pw) != 100 {
		t.Errorf("generated password scores %d, want 100", strength.Score(pw))
	}
	if !e.srv.Sim.CheckPassword("bob", pw) {
		t.Error("the printed password is not the one the server has")
	}

	// --secrets-out: written 0600 before the call, and not printed.
	out := filepath.Join(e.dir, "secrets.csv")
	r = e.call("", "ftp", "passwd", "files@bob.example", "--owner", "bob", "--generate", "--simple-charset", "--secrets-out", out)
	e.wantCode(r, 0)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(out)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode %04o", st.Mode().Perm())
	}
	recs := csvRecords(t, string(data))
	if len(recs) != 2 || !strings.HasPrefix(strings.Join(recs[0], ","), "user,password") {
		t.Fatalf("secrets file:\n%s", data)
	}
	pw = recs[1][1]
	if strings.Contains(r.stdout, pw) {
		t.Error("password printed although --secrets-out was given")
	}
	if strings.Trim(pw, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
		t.Errorf("--simple-charset password %q has other characters", pw)
	}
	if !e.srv.Sim.CheckPassword("files@bob.example", pw) {
		t.Error("secrets file does not hold the FTP password the server has")
	}
	// Created exclusively: a second run refuses to overwrite it, before sending.
	before := e.srv.Sim.Stats().PasswordChanges
	r = e.call("", "ftp", "passwd", "files@bob.example", "--owner", "bob", "--generate", "--secrets-out", out)
	e.wantCode(r, 2)
	if e.srv.Sim.Stats().PasswordChanges != before {
		t.Error("a password was changed although it could not be recorded")
	}
}

func TestFTPAndEmail(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		login string
	}{
		{"ftp cpapi2 via whm", []string{"ftp", "passwd", "files@bob.example", "--owner", "bob"}, "files@bob.example"},
		{"ftp uapi via whm", []string{"ftp", "passwd", "files@bob.example", "--owner", "bob", "--api", "uapi"}, "files@bob.example"},
		{"ftp cpapi2 direct", []string{"-p", "cp", "ftp", "passwd", "files"}, "files@bob.example"},
		{"email cpapi2 via whm", []string{"email", "passwd", "info@bob.example", "--owner", "bob"}, "info@bob.example"},
		{"email uapi direct", []string{"-p", "cp", "email", "passwd", "info@bob.example", "--api", "uapi"}, "info@bob.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, simulator.Options{})
			e.writeConfig()
			r := e.call(newPass+"\n", append(tt.args, "--password-stdin", "-o", "json")...)
			e.wantCode(r, 0)
			e.noSecrets(r, newPass)
			if !e.srv.Sim.CheckPassword(tt.login, newPass) {
				t.Errorf("%s does not have the new password", tt.login)
			}
		})
	}
}

func TestCPanelProfileOwnPassword(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	old := filepath.Join(e.dir, "old")
	os.WriteFile(old, []byte(simulator.SampleBobPassword+"\n"), 0o600)
	r := e.call(newPass+"\n", "-p", "cp", "account", "passwd", "--password-stdin", "--old-password-file", old, "-o", "json")
	e.wantCode(r, 0)
	if !strings.Contains(r.stdout, `"api": "cpapi2"`) {
		t.Errorf("want cpapi2 in %s", r.stdout)
	}
	if !e.srv.Sim.CheckPassword("bob", newPass) {
		t.Error("bob's password did not change")
	}
	// Another user's password through a cPanel profile is a usage error.
	r = e.call(newPass+"\n", "-p", "cp", "account", "passwd", "alice", "--password-stdin", "--old-password-file", old)
	e.wantCode(r, 2)
}

func TestExitCodes(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	tests := []struct {
		name  string
		extra []string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"unknown user", nil, newPass + "\n", []string{"account", "passwd", "nobody", "--password-stdin"}, 1, "You do not have a user named “nobody”."},
		{"suspended", nil, newPass + "\n", []string{"account", "passwd", "carol", "--password-stdin"}, 1, "suspended"},
		{"reseller not owner", nil, newPass + "\n", []string{"-p", "res", "account", "passwd", "bob", "--password-stdin"}, 3, "You do not have access to an account named “bob”."},
		{"no password without terminal", nil, "", []string{"account", "passwd", "bob"}, 2, "password"},
		{"missing owner", nil, newPass + "\n", []string{"ftp", "passwd", "files", "--password-stdin"}, 2, "--owner"},
		{"bad address", nil, newPass + "\n", []string{"email", "passwd", "info", "--owner", "bob", "--password-stdin"}, 2, "local@domain"},
		{"unknown flag", nil, "", []string{"account", "passwd", "bob", "--bogus"}, 2, "bogus"},
		{"bad output", nil, newPass + "\n", []string{"account", "passwd", "bob", "--password-stdin", "-o", "xml"}, 2, "xml"},
		{"CPCTL_TOKEN does not replace a profile's token", []string{"CPCTL_TOKEN=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, newPass + "\n", []string{"account", "passwd", "bob", "--password-stdin"}, 0, ""},
		{"bad token", []string{"CPCTL_URL=" + e.srv.WHMURL, "CPCTL_KIND=whm", "CPCTL_TLS_FINGERPRINT=" + e.srv.Fingerprint, "CPCTL_TOKEN=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, newPass + "\n", []string{"account", "passwd", "bob", "--password-stdin"}, 3, "Access denied"},
		{"server down", []string{"CPCTL_URL=https://127.0.0.1:1", "CPCTL_TOKEN=" + simulator.SampleRootToken, "CPCTL_KIND=whm"}, newPass + "\n", []string{"account", "passwd", "bob", "--password-stdin"}, 4, "127.0.0.1:1"},
		{"unreadable password file", nil, "", []string{"account", "passwd", "bob", "--password-file", "/nonexistent/pw"}, 2, "unreadable"},
		{"generate and a password file", nil, "", []string{"account", "passwd", "bob", "--generate", "--password-file", "/etc/hostname"}, 2, "--generate cannot be combined"},
		{"weak password refused locally", nil, "abcdefgh\n", []string{"account", "passwd", "bob", "--password-stdin"}, 1, "scores 22"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.with(t)
			r := e.runEnv(tt.extra, tt.stdin, tt.args...)
			e.wantCode(r, tt.code)
			if !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("stderr should mention %q:\n%s", tt.msg, r.stderr)
			}
			e.noSecrets(r)
		})
	}
}

func TestWeakPasswordForce(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	before := e.srv.Sim.Stats().PasswordChanges
	r := e.call("abcdefgh\n", "account", "passwd", "bob", "--password-stdin")
	e.wantCode(r, 1)
	if !strings.Contains(r.stderr, "minimum of 50") || e.srv.Sim.Stats().PasswordChanges != before {
		t.Fatalf("the weak password should be refused before sending:\n%s", r.stderr)
	}
	// With --force it is sent, and the server's own refusal is shown.
	r = e.call("abcdefgh\n", "account", "passwd", "bob", "--password-stdin", "--force")
	e.wantCode(r, 1)
	if !strings.Contains(r.stderr, "Sorry") {
		t.Errorf("the server's own message should be shown:\n%s", r.stderr)
	}
}

func TestDryRunAndVerbose(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	before := e.srv.Sim.Stats().Requests
	r := e.call(newPass+"\n", "account", "passwd", "bob", "--password-stdin", "--dry-run")
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	if e.srv.Sim.Stats().Requests != before {
		t.Error("--dry-run sent a request")
	}
	if !strings.Contains(r.stdout, "POST") || !strings.Contains(r.stdout, "passwd") || !strings.Contains(r.stdout, "redacted") {
		t.Errorf("dry run should show the redacted request:\n%s", r.stdout)
	}
	// With -o json (jsonl, yaml) stdout is in the format asked for: a list of
	// the requests, which a script can read.
	r = e.call(newPass+"\n", "account", "passwd", "bob", "--password-stdin", "--dry-run", "-o", "json")
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	var reqs []struct {
		Method, URL, Body string
		Headers           map[string]string
	}
	if err := json.Unmarshal([]byte(r.stdout), &reqs); err != nil || len(reqs) != 1 {
		t.Fatalf("--dry-run -o json: %v\n%s", err, r.stdout)
	}
	if q := reqs[0]; q.Method != "POST" || !strings.HasSuffix(q.URL, "/json-api/passwd?api.version=1") || q.Body != "user=bob&password=<redacted>" || q.Headers["Authorization"] != "<redacted>" {
		t.Errorf("--dry-run -o json: %+v", q)
	}
	if e.srv.Sim.Stats().Requests != before {
		t.Error("--dry-run sent a request")
	}
	r = e.call(newPass+"\n", "-v", "email", "passwd", "info@bob.example", "--owner", "bob", "--password-stdin")
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	if !strings.Contains(r.stderr, "POST") {
		t.Errorf("-v should log the exchange:\n%s", r.stderr)
	}
}

// A dry run needs no credentials (it sends nothing), and shows the target
// whatever its name: the stand-in for the missing secret is hidden in the
// preview like a real one, so it must not be a word a name can hold
// ("unset" hid the account "sunset").
func TestDryRunWithoutCredentialsShowsTheTarget(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	r := e.callEnv([]string{"CPCTL_URL=" + e.srv.WHMURL, "CPCTL_KIND=whm", "CPCTL_TLS_FINGERPRINT=" + e.srv.Fingerprint},
		newPass+"\n", "account", "passwd", "sunset", "--password-stdin", "--dry-run", "-o", "json")
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	var reqs []struct{ Body string }
	if err := json.Unmarshal([]byte(r.stdout), &reqs); err != nil || len(reqs) != 1 {
		t.Fatalf("--dry-run -o json: %v\n%s", err, r.stdout)
	}
	if want := "user=sunset&password=<redacted>"; reqs[0].Body != want {
		t.Errorf("previewed body %q, want %q", reqs[0].Body, want)
	}
}

func TestNoConfigCI(t *testing.T) {
	// A CI step: no config file, just the URL and the token in the environment.
	e := newEnv(t, nil, simulator.Options{})
	vars := []string{"CPCTL_URL=" + e.srv.WHMURL, "CPCTL_KIND=whm", "CPCTL_TOKEN=" + simulator.SampleRootToken, "CPCTL_CA_CERT=" + e.srv.CAFile}
	r := e.callEnv(vars, newPass+"\n", "account", "passwd", "bob", "--password-stdin", "-o", "json")
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	// Basic auth with CPCTL_PASSWORD.
	vars = []string{"CPCTL_URL=" + e.srv.WHMURL, "CPCTL_KIND=whm", "CPCTL_PASSWORD=" + simulator.SampleRootPassword, "CPCTL_CA_CERT=" + e.srv.CAFile}
	r = e.callEnv(vars, newPass+"x\n", "account", "passwd", "bob", "--password-stdin")
	e.wantCode(r, 0)
	if !e.srv.Sim.CheckPassword("bob", newPass+"x") {
		t.Error("password auth did not change the password")
	}
}

func TestCertificates(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	base := []string{"CPCTL_URL=" + e.srv.WHMURL, "CPCTL_KIND=whm", "CPCTL_TOKEN=" + simulator.SampleRootToken}
	// Untrusted self-signed certificate: exit 4 with the fingerprint in the message.
	r := e.callEnv(base, newPass+"\n", "account", "passwd", "bob", "--password-stdin")
	e.wantCode(r, 4)
	if !strings.Contains(r.stderr, e.srv.Fingerprint) {
		t.Errorf("the message should give the fingerprint %s:\n%s", e.srv.Fingerprint, r.stderr)
	}
	// A CI step pins it with CPCTL_TLS_FINGERPRINT, as the message says.
	r = e.callEnv(append(base, "CPCTL_TLS_FINGERPRINT="+e.srv.Fingerprint), newPass+"\n", "account", "passwd", "bob", "--password-stdin")
	e.wantCode(r, 0)
	// --insecure works, with a warning.
	r = e.callEnv(base, newPass+"\n", "--insecure", "account", "passwd", "bob", "--password-stdin")
	e.wantCode(r, 0)
	if !strings.Contains(r.stderr, "warning") {
		t.Errorf("--insecure must warn:\n%s", r.stderr)
	}
	// A wrong pin is refused.
	e.writeConfig()
	cfg, _ := os.ReadFile(e.cfg)
	bad := strings.ReplaceAll(string(cfg), e.srv.Fingerprint, "sha256:"+strings.Repeat("ab", 32))
	os.WriteFile(e.cfg, []byte(bad), 0o600)
	r = e.call(newPass+"\n", "account", "passwd", "bob", "--password-stdin")
	e.wantCode(r, 4)
	if !strings.Contains(r.stderr, "pinned") {
		t.Errorf("a pin mismatch should say so:\n%s", r.stderr)
	}
}

func TestConfigPermissions(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	os.Chmod(e.cfg, 0o644)
	r := e.call(newPass+"\n", "account", "passwd", "bob", "--password-stdin")
	e.wantCode(r, 2)
	if !strings.Contains(r.stderr, "chmod 600 "+e.cfg) {
		t.Errorf("should say how to fix it:\n%s", r.stderr)
	}
}

func TestVersionReadsNoConfig(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	os.MkdirAll(filepath.Dir(e.cfg), 0o700)
	os.WriteFile(e.cfg, []byte("profiles: [broken"), 0o600)
	r := e.call("", "version")
	e.wantCode(r, 0)
	if !strings.HasPrefix(r.stdout, "cpctl dev") {
		t.Errorf("version output: %q", r.stdout)
	}
}

func TestDemo(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	// Nothing in the environment may send the demo's changes elsewhere: the
	// simulator here stands for a real server that must not be touched.
	vars := []string{"CPCTL_URL=" + e.srv.WHMURL, "CPCTL_KIND=whm", "CPCTL_TOKEN=" + simulator.SampleRootToken,
		"CPCTL_TLS_FINGERPRINT=" + e.srv.Fingerprint, "CPCTL_PROFILE=other", "CPCTL_OUTPUT=yaml"}
	r := e.callEnv(vars, "", "demo")
	if n := e.srv.Sim.Stats().Requests; n != 0 {
		t.Errorf("the demo sent %d requests to the server named in CPCTL_URL", n)
	}
	e.wantCode(r, 0)
	for _, want := range []string{"Password changed for user “bob”.", `"kind": "ftp"`, "currently suspended", "(exit code 1)",
		// The incident job: the dry run lists bob's six passwords with their sources ...
		"$ cpctl rotate --owner bob --dry-run\n", "postgresql\tbob_app\tbob\tPostgresql/list_users of bob\n",
		// ... and the rotation shows its rows and no password.
		"$ cpctl rotate --owner bob --kinds ftp,email --secrets-command 'cat >/dev/null' --journal ",
		"PROFILE\tKIND\tTARGET\tRESULT\tSERVICES\tMESSAGE\n", "demo\tftp\tfiles@bob.example\tok\t"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, want := range []string{"cpctl: left out email bob (Email/list_pops of bob): the account's default mailbox",
		"nothing was changed", "cpctl: 2 new passwords delivered by secrets-command in this run; 0 rows not delivered\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("demo's stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if _, err := os.Stat(e.cfg); err == nil {
		t.Error("the demo wrote the user's config")
	}
	// The rotation's journal went to the demo's temporary directory, not
	// the working directory, which stays empty.
	if ents, err := os.ReadDir(e.dir); err != nil || len(ents) != 0 {
		t.Errorf("the demo left files in the working directory: %v %v", ents, err)
	}
}

// Through a cPanel profile that logs in with the account's password, that
// password is the old one (no prompt), and the profile is updated so that
// it keeps working.
func TestCPanelPasswordProfileUsesItsPassword(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	f := &config.File{CurrentProfile: "cppw", Profiles: map[string]*config.Profile{
		"cppw": {URL: e.srv.CPanelURL, Kind: "cpanel", User: "bob", Auth: "password", Password: simulator.SampleBobPassword, TLSFingerprint: e.srv.Fingerprint},
	}}
	if err := f.Save(e.cfg); err != nil {
		t.Fatal(err)
	}
	r := e.call(newPass+"\n", "account", "passwd", "--password-stdin", "--verify", "-o", "json")
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	if !e.srv.Sim.CheckPassword("bob", newPass) {
		t.Fatal("password not changed")
	}
	if !strings.Contains(r.stderr, "now logs in with the new password") {
		t.Errorf("should say the profile was updated:\n%s", r.stderr)
	}
	// The profile still works: it holds the new password.
	cfg, err := config.Load(e.cfg)
	if err != nil || cfg.Profiles["cppw"].Password != newPass {
		t.Fatalf("the stored password was not replaced: %v", err)
	}
	if !strings.Contains(r.stdout, `"verified": true`) {
		t.Errorf("verify through a cPanel profile:\n%s", r.stdout)
	}
	r = e.call("", "profile", "test", "cppw")
	e.wantCode(r, 0)
}

// A token command sees no secret in its argv or environment: it gets
// neither the new password nor cpctl's own secret variables.
func TestChildProcessesGetNoSecrets(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	spy := filepath.Join(e.dir, "spy.txt")
	script := filepath.Join(e.dir, "token.sh")
	os.WriteFile(script, []byte("#!/bin/sh\n{ echo \"$0 $*\"; env; } >> "+spy+"\necho "+simulator.SampleRootToken+"\n"), 0o700)
	f := &config.File{CurrentProfile: "cmd", Profiles: map[string]*config.Profile{
		"cmd": {URL: e.srv.WHMURL, Kind: "whm", User: "root", Auth: "token", TokenCommand: script + " --flag", TLSFingerprint: e.srv.Fingerprint, CPanelURL: e.srv.CPanelURL},
	}}
	if err := f.Save(e.cfg); err != nil {
		t.Fatal(err)
	}
	r := e.runEnv([]string{"CPCTL_PASSWORD=" + simulator.SampleBobPassword}, newPass+"\n", "account", "passwd", "bob", "--password-stdin", "--verify")
	e.wantCode(r, 0)
	data, err := os.ReadFile(spy)
	if err != nil {
		t.Fatalf("the token command did not run: %v", err)
	}
	for _, s := range []string{newPass, simulator.SampleBobPassword} {
		if strings.Contains(string(data), s) {
			t.Errorf("a secret reached the child's argv or environment:\n%s", data)
		}
	}
}

// A generated password whose reply is lost (the change ran, the connection
// broke) is still shown, so it is never set on the server and unknown.
func TestGeneratedPasswordReplyLost(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	e.srv.Sim.SetFault("bob", simulator.Fault{Kind: simulator.FaultReset})
	r := e.call("", "account", "passwd", "bob", "--generate", "-o", "json")
	e.wantCode(r, 4)
	var rows []struct {
		Password     string `json:"password"`
		MaybeApplied bool   `json:"maybe_applied"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 1 || rows[0].Password == "" || !rows[0].MaybeApplied {
		t.Fatalf("the password should be printed, marked maybe_applied: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	if !e.srv.Sim.CheckPassword("bob", rows[0].Password) {
		t.Error("the server does not have the printed password")
	}
	if !strings.Contains(r.stderr, "may or may not have the new password") {
		t.Errorf("should warn:\n%s", r.stderr)
	}
}

// A dry run through a session login shows the login and the call itself,
// and sends nothing.
func TestDryRunSession(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	f := &config.File{CurrentProfile: "sess", Profiles: map[string]*config.Profile{
		"sess": {URL: e.srv.WHMURL, Kind: "whm", User: "root", Auth: "session", Password: simulator.SampleRootPassword, TLSFingerprint: e.srv.Fingerprint},
	}}
	if err := f.Save(e.cfg); err != nil {
		t.Fatal(err)
	}
	r := e.call(newPass+"\n", "account", "passwd", "bob", "--password-stdin", "--dry-run")
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	if n := e.srv.Sim.Stats().Requests; n != 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
	if !strings.Contains(r.stdout, "/login/") || !strings.Contains(r.stdout, "/json-api/passwd") {
		t.Errorf("want the login and the passwd call:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "cpsess0000000000") {
		t.Errorf("the cpsess token should be redacted:\n%s", r.stdout)
	}
}
