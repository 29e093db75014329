package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/secret/totp"
	"github.com/cpctl/cpctl/pkg/simulator"
)

// base32 of "12345678901234567890", the RFC 6238 test key.
const tfaSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestTwoFactor(t *testing.T) {
	st := simulator.SampleState()
	st.Root.TFASecret = tfaSecret
	e := newEnv(t, st, simulator.Options{})
	codeCmd := filepath.Join(e.dir, "code.sh")
	os.WriteFile(codeCmd, []byte("#!/bin/sh\necho "+tfaSecret+"\n"), 0o700)
	f := &config.File{CurrentProfile: "tok", Profiles: map[string]*config.Profile{
		"tok":     {URL: e.srv.WHMURL, Kind: "whm", User: "root", Auth: "token", Token: simulator.SampleRootToken, TLSFingerprint: e.srv.Fingerprint, TOTPSecret: tfaSecret},
		"basic":   {URL: e.srv.WHMURL, Kind: "whm", User: "root", Auth: "password", Password: simulator.SampleRootPassword, TLSFingerprint: e.srv.Fingerprint, TOTPCommand: codeCmd},
		"session": {URL: e.srv.WHMURL, Kind: "whm", User: "root", Auth: "session", Password: simulator.SampleRootPassword, TLSFingerprint: e.srv.Fingerprint, TOTPSecret: tfaSecret},
		"wrong":   {URL: e.srv.WHMURL, Kind: "whm", User: "root", Auth: "token", Token: simulator.SampleRootToken, TLSFingerprint: e.srv.Fingerprint, TOTPCommand: "echo 000000"},
		"none":    {URL: e.srv.WHMURL, Kind: "whm", User: "root", Auth: "token", Token: simulator.SampleRootToken, TLSFingerprint: e.srv.Fingerprint},
	}}
	if err := f.Save(e.cfg); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"tok", "basic", "session"} {
		t.Run(p, func(t *testing.T) {
			e := e.with(t)
			pw := newPass + p
			r := e.call(pw+"\n", "-p", p, "account", "passwd", "bob", "--password-stdin")
			e.wantCode(r, 0)
			e.noSecrets(r, pw, tfaSecret)
			if !e.srv.Sim.CheckPassword("bob", pw) {
				t.Error("password not changed")
			}
		})
	}
	t.Run("CPCTL_TOKEN with a profile that holds only the TOTP secret", func(t *testing.T) {
		e := e.with(t)
		f := &config.File{Profiles: map[string]*config.Profile{
			"cron": {URL: e.srv.WHMURL, Kind: "whm", User: "root", TLSFingerprint: e.srv.Fingerprint, TOTPSecret: tfaSecret},
		}}
		cfg := filepath.Join(e.dir, "cron.yaml")
		if err := f.Save(cfg); err != nil {
			t.Fatal(err)
		}
		r := e.callEnv([]string{"CPCTL_TOKEN=" + simulator.SampleRootToken}, newPass+"cron\n", "--config", cfg, "-p", "cron", "account", "passwd", "bob", "--password-stdin")
		e.wantCode(r, 0)
	})
	t.Run("wrong code", func(t *testing.T) {
		e := e.with(t)
		r := e.call(newPass+"\n", "-p", "wrong", "account", "passwd", "bob", "--password-stdin")
		e.wantCode(r, 3)
		if !strings.Contains(r.stderr, "TwoFactorAuth check failed") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("want one line with the server's reason:\n%s", r.stderr)
		}
	})
	t.Run("missing code without terminal", func(t *testing.T) {
		e := e.with(t)
		r := e.call(newPass+"\n", "-p", "none", "account", "passwd", "bob", "--password-stdin")
		e.wantCode(r, 3)
		if !strings.Contains(r.stderr, "totp-secret") {
			t.Errorf("should name the profile key to set:\n%s", r.stderr)
		}
	})
}

func TestVerify(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	tests := []struct {
		name     string
		args     []string
		verified any
		verify   string
	}{
		{"email", []string{"email", "passwd", "info@bob.example", "--owner", "bob"}, true, ""},
		{"email direct", []string{"-p", "cp", "email", "passwd", "info@bob.example", "--api", "uapi"}, true, ""},
		{"account through whm", []string{"account", "passwd", "bob"}, true, ""},
		{"ftp", []string{"ftp", "passwd", "files", "--owner", "bob"}, nil, "unsupported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.with(t)
			r := e.call(newPass+tt.name+"\n", append(tt.args, "--password-stdin", "--verify", "-o", "json")...)
			e.wantCode(r, 0)
			e.noSecrets(r, newPass+tt.name)
			var rows []map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 1 {
				t.Fatalf("bad JSON %v:\n%s", err, r.stdout)
			}
			if rows[0]["verified"] != tt.verified {
				t.Errorf("verified = %v, want %v", rows[0]["verified"], tt.verified)
			}
			if tt.verify != "" && rows[0]["verify"] != tt.verify {
				t.Errorf("verify = %v, want %v", rows[0]["verify"], tt.verify)
			}
		})
	}
	// The field shows in YAML and the table too.
	r := e.call("Yaml-Verify-2026!x\n", "email", "passwd", "info@bob.example", "--owner", "bob", "--password-stdin", "--verify", "-o", "yaml")
	e.wantCode(r, 0)
	if !strings.Contains(r.stdout, "verified: true") {
		t.Errorf("yaml lacks verified:\n%s", r.stdout)
	}
	r = e.call("Table-Verify-2026!x\n", "email", "passwd", "info@bob.example", "--owner", "bob", "--password-stdin", "--verify")
	e.wantCode(r, 0)
	if !strings.Contains(r.stdout, "VERIFIED") {
		t.Errorf("table lacks VERIFIED:\n%s", r.stdout)
	}
}

func TestMinimumsCached(t *testing.T) {
	st := simulator.SampleState()
	st.MinimumStrengths["virtual"] = 90
	e := newEnv(t, st, simulator.Options{})
	e.writeConfig()
	// 12345luggage scores 1 as on a server (a dictionary word behind digits),
	// so it is refused locally for mail (90); the longer one passes.
	r := e.call("Mail-ok-12345luggage\n", "email", "passwd", "info@bob.example", "--owner", "bob", "--password-stdin")
	e.wantCode(r, 0)
	before := e.srv.Sim.Stats()
	if before.ByFunction["whmapi1:getminimumpasswordstrengths"] != 1 {
		t.Fatalf("the first change should read the minimums once: %v", before.ByFunction)
	}
	r = e.call("12345luggage\n", "email", "passwd", "info@bob.example", "--owner", "bob", "--password-stdin")
	e.wantCode(r, 1)
	if !strings.Contains(r.stderr, "scores 1,") || !strings.Contains(r.stderr, "minimum of 90") {
		t.Errorf("should give the score and the minimum:\n%s", r.stderr)
	}
	after := e.srv.Sim.Stats()
	if after.PasswordChanges != before.PasswordChanges {
		t.Error("a refused password was sent")
	}
	if after.ByFunction["whmapi1:getminimumpasswordstrengths"] != before.ByFunction["whmapi1:getminimumpasswordstrengths"] {
		t.Error("the minimums were fetched again instead of read from the cache")
	}
	entries, _ := filepath.Glob(filepath.Join(e.dir, "cache", "cpctl", "minimums", "*.json"))
	if len(entries) == 0 {
		t.Error("no cache file under $XDG_CACHE_HOME/cpctl")
	}
	// --generate always meets the minimum.
	r = e.call("", "email", "passwd", "info@bob.example", "--owner", "bob", "--generate")
	e.wantCode(r, 0)
}

func TestProfileAddTwoFactor(t *testing.T) {
	st := simulator.SampleState()
	st.Root.TFASecret = tfaSecret
	e := newEnv(t, st, simulator.Options{})
	args := []string{"profile", "add", "tfa", "--url", e.srv.WHMURL, "--kind", "whm", "--token-stdin", "--tls-fingerprint", e.srv.Fingerprint}
	r := e.call(simulator.SampleRootToken+"\n", args...)
	e.wantCode(r, 3)
	if !strings.Contains(r.stderr, "--totp-secret-stdin") {
		t.Errorf("should say how to give the TOTP secret:\n%s", r.stderr)
	}
	r = e.call(simulator.SampleRootToken+"\n"+tfaSecret+"\n", append(args, "--totp-secret-stdin")...)
	e.wantCode(r, 0)
	e.noSecrets(r, tfaSecret)
	r = e.call("", "profile", "show", "tfa")
	if strings.Contains(r.stdout, tfaSecret) || !strings.Contains(r.stdout, "totp-secret: <set>") {
		t.Errorf("show must hide the TOTP secret:\n%s", r.stdout)
	}
}

// The server says yes but the password did not take: --verify catches it,
// exits 1 with one line, and reports verified false.
func TestVerifyCatchesStaleChange(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"email", []string{"email", "passwd", "info@bob.example", "--owner", "bob"}},
		{"account", []string{"account", "passwd", "bob"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := e.with(t)
			e.srv.Sim.SetFault("bob", simulator.Fault{Kind: simulator.FaultStale, Count: 1})
			r := e.call("Stale-Pass-2026!xyz\n", append(tt.args, "--password-stdin", "--verify", "-o", "json")...)
			e.wantCode(r, 1)
			if !strings.Contains(r.stdout, `"verified": false`) || !strings.Contains(r.stdout, `"ok": true`) {
				t.Errorf("want ok true, verified false:\n%s", r.stdout)
			}
			if !strings.Contains(r.stderr, "verification failed") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("want one line saying verification failed:\n%s", r.stderr)
			}
		})
	}
}

// In bulk, an unverified row is reported, recorded in the journal, and
// makes the run exit 5.
func TestBulkVerifyStale(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	e.srv.Sim.SetFault("bob", simulator.Fault{Kind: simulator.FaultStale, Count: 1})
	os.WriteFile(filepath.Join(e.dir, "users.csv"), []byte("user\nalice\nbob\n"), 0o600)
	journal := filepath.Join(e.dir, "v.journal")
	r := e.call("", "account", "passwd", "--from", filepath.Join(e.dir, "users.csv"), "--generate", "--verify", "--journal", journal, "-o", "jsonl")
	e.wantCode(r, 5)
	if !strings.Contains(r.stdout, `"verified":false`) || !strings.Contains(r.stdout, `"verified":true`) {
		t.Errorf("want one verified and one unverified row:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "could not be verified") {
		t.Errorf("the summary should name the unverified rows:\n%s", r.stderr)
	}
	data, _ := os.ReadFile(journal)
	if !strings.Contains(string(data), `"verified":false`) {
		t.Error("the journal does not record the verification")
	}
}

// At a terminal, a profile without a TOTP source is asked for the code
// once, for a passwd command and for a mirror command alike.
func TestTwoFactorPromptAtTerminal(t *testing.T) {
	st := simulator.SampleState()
	st.Root.TFASecret = tfaSecret
	e := newEnv(t, st, simulator.Options{})
	f := &config.File{CurrentProfile: "none", Profiles: map[string]*config.Profile{
		"none": {URL: e.srv.WHMURL, Kind: "whm", User: "root", Auth: "token", Token: simulator.SampleRootToken, TLSFingerprint: e.srv.Fingerprint},
	}}
	if err := f.Save(e.cfg); err != nil {
		t.Fatal(err)
	}
	code, err := totp.Code(tfaSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out, exit := ptyRun(t, e, [][2]string{{"New password for bob", newPass}, {"Retype", newPass}, {"Two-factor code", code}}, "account", "passwd", "bob")
	if exit != 0 || !e.srv.Sim.CheckPassword("bob", newPass) {
		t.Fatalf("exit %d, password changed %v:\n%s", exit, e.srv.Sim.CheckPassword("bob", newPass), out)
	}
	code, _ = totp.Code(tfaSecret, time.Now())
	out, exit = ptyRun(t, e, [][2]string{{"Two-factor code", code}}, "whmapi1", "version")
	if exit != 0 || !strings.Contains(out, "11.136") {
		t.Fatalf("whmapi1 with a prompted code: exit %d\n%s", exit, out)
	}
	// Without a terminal the mirror command names the keys to set.
	r := e.run("", "whmapi1", "version")
	e.wantCode(r, 3)
	if !strings.Contains(r.stderr, "totp-secret") {
		t.Errorf("should name totp-secret:\n%s", r.stderr)
	}
}
