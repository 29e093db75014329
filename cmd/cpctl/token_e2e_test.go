package main

// End-to-end tests of `cpctl token`: the built binary against our own
// simulator (pkg/simulator) over TLS.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/simulator"
)

func loadProfile(t *testing.T, e *env, name string) *config.Profile {
	t.Helper()
	cfg, err := config.Load(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTokenListCreateRevoke(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()

	r := e.call("", "token", "create", "ci-1", "--acl", "passwd", "--acl", "list-accts", "--whitelist-ip", "127.0.0.1", "--expires", "10d")
	e.wantCode(r, 0)
	tok := strings.TrimSpace(r.stdout)
	if len(tok) != 32 || !e.srv.Sim.CheckToken("whm", "root", tok) {
		t.Fatalf("create printed %q, not a working token", tok)
	}
	if !strings.Contains(r.stderr, "shown only this once") {
		t.Errorf("stderr: %s", r.stderr)
	}

	r = e.call("", "token", "create", "ci-1")
	e.wantCode(r, 1)
	if !strings.Contains(r.stderr, "A conflicting API token with the name “ci-1” already exists.") {
		t.Errorf("duplicate: %s", r.stderr)
	}

	r = e.call("", "token", "list", "-o", "json", "--warn-days", "30")
	e.wantCode(r, 0)
	e.noSecrets(r, tok)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("list -o json: %v\n%s", err, r.stdout)
	}
	if len(rows) != 2 || rows[0]["name"] != "ci-1" || rows[1]["name"] != "imported-1" {
		t.Fatalf("rows = %v", rows)
	}
	if rows[1]["in-use"] != true || rows[0]["in-use"] != false || rows[1]["full-access"] != true {
		t.Errorf("in-use / access: %v", rows)
	}
	if !reflect.DeepEqual(rows[0]["acls"], []any{"list-accts", "passwd"}) || rows[0]["status"] != "expires in 9d" {
		t.Errorf("ci-1 = %v", rows[0])
	}
	if !strings.Contains(r.stderr, "cpctl: warning: token ci-1 expires in 9 days") {
		t.Errorf("no expiry warning: %s", r.stderr)
	}

	r = e.call("", "token", "list")
	e.wantCode(r, 0)
	if !strings.Contains(r.stdout, "NAME") || !strings.Contains(r.stdout, "imported-1") || !strings.Contains(r.stdout, "yes") {
		t.Errorf("table: %s", r.stdout)
	}

	r = e.call("", "token", "revoke", "imported-1")
	e.wantCode(r, 2)
	if !strings.Contains(r.stderr, "is the token profile whm uses") {
		t.Errorf("revoking the token in use: %s", r.stderr)
	}
	// A mistyped name: the server would answer success for it, so the
	// command fails before revoking anything, the real name included.
	r = e.call("", "token", "revoke", "ci-1", "ci-l")
	e.wantCode(r, 1)
	if !strings.Contains(r.stderr, "has no token named ci-l: nothing was revoked") || !e.srv.Sim.CheckToken("whm", "root", tok) {
		t.Errorf("a mistyped name: token still works %v, stderr: %s", e.srv.Sim.CheckToken("whm", "root", tok), r.stderr)
	}
	r = e.call("", "token", "revoke", "ci-1")
	e.wantCode(r, 0)
	if e.srv.Sim.CheckToken("whm", "root", tok) {
		t.Error("a revoked token still works")
	}
	if !strings.Contains(r.stderr, "cpctl: revoked ci-1") {
		t.Errorf("revoke: %s", r.stderr)
	}
	// Run again: the token is gone, which --ignore-not-found accepts.
	r = e.call("", "token", "revoke", "ci-1")
	e.wantCode(r, 1)
	r = e.call("", "token", "revoke", "ci-1", "--ignore-not-found")
	e.wantCode(r, 0)
	if !strings.Contains(r.stderr, "cpctl: no token named ci-1") || strings.Contains(r.stderr, "cpctl: revoked") {
		t.Errorf("revoke --ignore-not-found of a revoked token: %s", r.stderr)
	}

	r = e.call("", "token", "create", "saved", "--save-to-profile", "whm-saved")
	e.wantCode(r, 0)
	e.noSecrets(r)
	if sp := loadProfile(t, e, "whm-saved"); sp.TokenName != "saved" || !e.srv.Sim.CheckToken("whm", "root", sp.Token) ||
		strings.Contains(r.stdout+r.stderr, sp.Token) {
		t.Errorf("--save-to-profile: %+v\n%s%s", sp, r.stdout, r.stderr)
	}
	r = e.call("", "-p", "whm-saved", "token", "revoke", "saved", "--force")
	e.wantCode(r, 0)
	if sp := loadProfile(t, e, "whm-saved"); e.srv.Sim.CheckToken("whm", "root", sp.Token) {
		t.Error("revoke --force of the profile's own token: it still works")
	}

	// A cPanel profile: UAPI Tokens, full access only.
	r = e.call("", "-p", "cp", "token", "create", "deploy", "-o", "json")
	e.wantCode(r, 0)
	var created map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || !e.srv.Sim.CheckToken("cpanel", "bob", created["token"]) {
		t.Fatalf("cpanel create: %v %s", err, r.stdout)
	}
	r = e.call("", "-p", "cp", "token", "create", "x", "--acl", "passwd")
	e.wantCode(r, 2)
	r = e.call("", "-p", "cp", "token", "revoke", "deploy")
	e.wantCode(r, 0)
	if e.srv.Sim.CheckToken("cpanel", "bob", created["token"]) {
		t.Error("a revoked cPanel token still works")
	}
}

func TestTokenListExpired(t *testing.T) {
	st := simulator.SampleState()
	st.Root.APITokens = []simulator.APIToken{{Name: "old-ci", Token: "OLDCI0123456789ABCDEFGHIJKLMNOPQ", Created: 1_600_000_000, ExpiresAt: 1_600_000_100}}
	e := newEnv(t, st, simulator.Options{})
	e.writeConfig()
	r := e.call("", "token", "list", "-o", "yaml")
	e.wantCode(r, 0)
	if !strings.Contains(r.stdout, "status: expired") ||
		!strings.Contains(r.stderr, "token old-ci expired on 2020-09-13T12:28:20Z; the server keeps expired tokens until they are revoked: cpctl token revoke old-ci") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	if e.srv.Sim.CheckToken("whm", "root", "OLDCI0123456789ABCDEFGHIJKLMNOPQ") {
		t.Error("an expired token works")
	}
}

func TestTokenRotateConfigStore(t *testing.T) {
	st := simulator.SampleState()
	st.Root.Tokens = nil
	st.Root.APITokens = []simulator.APIToken{{Name: "ci", Token: simulator.SampleRootToken, Created: time.Now().Unix() - 100,
		ExpiresAt: time.Now().Unix() + 1000, ACLs: []string{"list-accts", "passwd"}, Whitelist: []string{"127.0.0.0/8"}}}
	e := newEnv(t, st, simulator.Options{})
	e.writeConfig()
	r := e.call("", "token", "rotate")
	e.wantCode(r, 0)
	e.noSecrets(r)
	p := loadProfile(t, e, "whm")
	if p.Token == simulator.SampleRootToken || !e.srv.Sim.CheckToken("whm", "root", p.Token) {
		t.Fatal("the profile does not hold a new working token")
	}
	if e.srv.Sim.CheckToken("whm", "root", simulator.SampleRootToken) {
		t.Error("the old token still works")
	}
	e.noSecrets(r, p.Token)
	names := e.srv.Sim.TokenNames("root", false)
	if len(names) != 1 || names[0] != p.TokenName || !strings.HasPrefix(p.TokenName, "cpctl-") {
		t.Fatalf("tokens %v, profile token-name %q", names, p.TokenName)
	}
	tok := e.srv.Sim.State().Root.APITokens[0]
	if !reflect.DeepEqual(tok.ACLs, []string{"list-accts", "passwd"}) || !reflect.DeepEqual(tok.Whitelist, []string{"127.0.0.0/8"}) {
		t.Errorf("the new token's limits: %+v", tok)
	}
	// Same lifetime (1100 s) from now.
	if life := tok.ExpiresAt - tok.Created; life < 1099 || life > 1101 {
		t.Errorf("lifetime %d s, want 1100", life)
	}
	if !strings.Contains(r.stdout, "rotated") || !strings.Contains(r.stdout, "ci") {
		t.Errorf("stdout: %s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.cfg), "token-rotate.whm.json")); !os.IsNotExist(err) {
		t.Errorf("the journal was left behind: %v", err)
	}
}

func TestTokenRotateCPanelNeedsName(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call("", "-p", "cp", "token", "rotate")
	e.wantCode(r, 2)
	if !strings.Contains(r.stderr, "give --old-name NAME (its tokens: imported-1)") {
		t.Errorf("stderr: %s", r.stderr)
	}
	r = e.call("", "-p", "cp", "token", "rotate", "--old-name", "imported-1")
	e.wantCode(r, 0)
	p := loadProfile(t, e, "cp")
	if !e.srv.Sim.CheckToken("cpanel", "bob", p.Token) || e.srv.Sim.CheckToken("cpanel", "bob", simulator.SampleBobToken) {
		t.Fatal("after rotation the profile's token must work and the old one must not")
	}
	// The profile now records the name, so the next rotation needs no flag.
	r = e.call("", "-p", "cp", "token", "rotate")
	e.wantCode(r, 0)
	if q := loadProfile(t, e, "cp"); q.Token == p.Token || !e.srv.Sim.CheckToken("cpanel", "bob", q.Token) {
		t.Fatal("second rotation")
	}
}

// storeEnv sets up profile "cmd" whose token lives in a file read by
// token-command and written by token-store-command.
func storeEnv(t *testing.T, storeCmd string) (*env, string) {
	return storeEnvKind(t, storeCmd, false)
}

// storeEnvKind is storeEnv with, for cpanel, profile "cmd" on bob's cPanel
// account (its token recorded as imported-1, the simulator's name for it).
func storeEnvKind(t *testing.T, storeCmd string, cpanel bool) (*env, string) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	tokFile := filepath.Join(e.dir, "tok")
	old := simulator.SampleRootToken
	if cpanel {
		old = simulator.SampleBobToken
	}
	if err := os.WriteFile(tokFile, []byte(old+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Profiles["cmd"] = &config.Profile{URL: e.srv.WHMURL, Kind: "whm", User: "root", Auth: "token",
		TokenCommand: "cat " + tokFile, TokenStoreCommand: strings.ReplaceAll(storeCmd, "TOK", tokFile), TLSFingerprint: e.srv.Fingerprint}
	if cpanel {
		p := cfg.Profiles["cmd"]
		p.URL, p.Kind, p.User, p.TokenName = e.srv.CPanelURL, "cpanel", "bob", "imported-1"
	}
	if err := cfg.Save(e.cfg); err != nil {
		t.Fatal(err)
	}
	return e, tokFile
}

func TestTokenRotateStoreCommand(t *testing.T) {
	tests := []struct {
		name, store string
		code        int
		rotated     bool
		msg         string
	}{
		{"stores", "cat > TOK.new && mv TOK.new TOK", 0, true, ""},
		{"fails, nothing stored", "echo vault is sealed >&2; exit 3", 1, false, "token-store-command failed: exit status 3: vault is sealed; revoked the new token"},
		{"succeeds, stores nothing", "cat >/dev/null", 1, false, "token-store-command succeeded but token-command still prints another token; revoked the new token"},
		{"stores, then fails", "cat > TOK.new && mv TOK.new TOK && exit 1", 0, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, tokFile := storeEnv(t, tc.store)
			r := e.call("", "-p", "cmd", "token", "rotate")
			e.wantCode(r, tc.code)
			if tc.msg != "" && !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("stderr: %s", r.stderr)
			}
			b, _ := os.ReadFile(tokFile)
			held := strings.TrimSpace(string(b))
			if !e.srv.Sim.CheckToken("whm", "root", held) {
				t.Fatal("the store does not hold a working token")
			}
			names := e.srv.Sim.TokenNames("root", false)
			if len(names) != 1 {
				t.Errorf("tokens left: %v, want exactly one", names)
			}
			if rotated := held != simulator.SampleRootToken; rotated != tc.rotated {
				t.Errorf("rotated = %v, want %v", rotated, tc.rotated)
			}
			// (The "whm" profile holds the old token itself; a new one must
			// never reach the file.)
			if tc.rotated && strings.Contains(loadProfileRaw(t, e), held) {
				t.Error("a token from the store reached the config file")
			}
		})
	}
}

func loadProfileRaw(t *testing.T, e *env) string {
	t.Helper()
	b, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTokenRotateKilled kills `token rotate` with SIGKILL while it waits on
// each step's server call (or its store command), then runs it again: the
// profile must end with a working token, the old one revoked and no token
// left over.
func TestTokenRotateKilled(t *testing.T) {
	tests := []struct {
		name   string
		fn     string // token call to hold; "" holds the store command
		nth    int
		step   string // journal step at the kill; "" for no journal
		cpanel bool   // a cPanel profile (UAPI Tokens)
	}{
		{"cPanel: after the server created it", "uapi:Tokens::create_full_access reply", 1, "creating", true},
		{"cPanel: while proving", "uapi:Tokens::list", 2, "created", true},
		{"cPanel: while revoking the old token", "uapi:Tokens::revoke", 1, "stored", true},
		{"while finding the old token", "whmapi1:api_token_get_details", 1, "", false},
		{"while creating", "whmapi1:api_token_create", 1, "creating", false},
		{"after the server created it, before the reply", "whmapi1:api_token_create reply", 1, "creating", false},
		{"while proving", "whmapi1:api_token_get_details", 2, "created", false},
		{"while storing", "", 0, "proved", false},
		{"while revoking the old token", "whmapi1:api_token_revoke", 1, "stored", false},
		{"after the server revoked the old token, before the reply", "whmapi1:api_token_revoke reply", 1, "stored", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "arrived")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			store := "cat > TOK.new && mv TOK.new TOK"
			if tc.fn == "" {
				// Signal the test, then wait to be killed.
				store += " && echo > " + fifo + " && exec sleep 600"
			}
			e, tokFile := storeEnvKind(t, store, tc.cpanel)
			scheme, user, oldTok := "whm", "root", simulator.SampleRootToken
			if tc.cpanel {
				scheme, user, oldTok = "cpanel", "bob", simulator.SampleBobToken
			}
			var arrived <-chan struct{}
			if tc.fn != "" {
				a, release := e.srv.Sim.HoldTokenCall(tc.fn, tc.nth)
				t.Cleanup(release)
				arrived = a
			} else {
				ch := make(chan struct{})
				go func() {
					if b, err := os.ReadFile(fifo); err == nil && len(b) > 0 {
						close(ch)
					}
				}()
				arrived = ch
			}
			cmd := exec.Command(binPath, "-p", "cmd", "token", "rotate")
			cmd.Env, cmd.Dir = e.vars, e.dir
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-arrived:
			case err := <-done:
				t.Fatalf("rotate ended before the held step: %v\n%s", err, errb.String())
			}
			// The whole process group: cpctl and a store command it runs.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done

			jpath := filepath.Join(filepath.Dir(e.cfg), "token-rotate.cmd.json")
			var j map[string]any
			if b, err := os.ReadFile(jpath); err == nil {
				if err := json.Unmarshal(b, &j); err != nil {
					t.Fatalf("journal after the kill: %v", err)
				}
				if st, err := os.Stat(jpath); err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("journal mode %v", st.Mode())
				}
			}
			if got, _ := j["step"].(string); got != tc.step {
				t.Fatalf("journal step at the kill = %q, want %q", got, tc.step)
			}
			// At every kill point some store holds a working token.
			b, _ := os.ReadFile(tokFile)
			if !e.srv.Sim.CheckToken(scheme, user, strings.TrimSpace(string(b))) {
				t.Fatal("after the kill the store holds no working token")
			}

			if tc.fn == "" {
				// The resumed run stores again: without the wait this time.
				plainStore(t, e, tokFile)
			}
			r := e.run("", "-p", "cmd", "token", "rotate")
			e.wantCode(r, 0)
			if tc.step != "" && !strings.Contains(r.stderr, "cpctl: resuming the rotation of profile cmd after step \""+tc.step+"\"") {
				t.Errorf("no resume message: %s", r.stderr)
			}
			b, _ = os.ReadFile(tokFile)
			held := strings.TrimSpace(string(b))
			if held == oldTok || !e.srv.Sim.CheckToken(scheme, user, held) {
				t.Fatal("the store does not hold a new working token")
			}
			if e.srv.Sim.CheckToken(scheme, user, oldTok) {
				t.Error("the old token still works")
			}
			if names := e.srv.Sim.TokenNames(user, tc.cpanel); len(names) != 1 {
				t.Errorf("tokens left: %v, want only the new one", names)
			}
			if _, err := os.Stat(jpath); !os.IsNotExist(err) {
				t.Errorf("journal left behind: %v", err)
			}
		})
	}
}

func TestTokenRotateAllProfiles(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call("", "token", "rotate", "--all-profiles", "-o", "json")
	// cp needs --old-name (a cPanel server cannot look a token up): one failure.
	e.wantCode(r, 2)
	var rows []map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	got := map[string]string{}
	for _, row := range rows {
		got[row["profile"]] = row["result"]
	}
	want := map[string]string{"cp": "failed", "res": "rotated", "whm": "rotated", "whmpw": "skipped"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("results %v, want %v", got, want)
	}
	for _, name := range []string{"whm", "res"} {
		p := loadProfile(t, e, name)
		if !e.srv.Sim.CheckToken("whm", p.User, p.Token) {
			t.Errorf("profile %s: the new token does not work", name)
		}
	}
	if e.srv.Sim.CheckToken("whm", "res1", simulator.SampleResellerToken) {
		t.Error("the reseller's old token still works")
	}
}

// TestTokenVerboseRedacts: -v logs every exchange; a created token (in the
// create reply) and the token sent to api_token_get_details must not show.
func TestTokenVerboseRedacts(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call("", "-v", "token", "create", "v1")
	e.wantCode(r, 0)
	tok := strings.TrimSpace(r.stdout)
	if len(tok) != 32 || strings.Contains(r.stderr, tok) {
		t.Fatalf("the new token leaked into the log:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "api_token_create") {
		t.Fatalf("-v logged nothing:\n%s", r.stderr)
	}
	r = e.call("", "-v", "token", "rotate")
	e.wantCode(r, 0)
	e.noSecrets(r, tok, loadProfile(t, e, "whm").Token)
}

// TestTokenListGolden pins the table and JSON of token list on a state with
// fixed times (our own simulator).
func TestTokenListGolden(t *testing.T) {
	st := simulator.SampleState()
	st.Root.Tokens = nil
	st.Root.APITokens = []simulator.APIToken{
		{Name: "main", Token: simulator.SampleRootToken, Created: 1_764_633_600},
		{Name: "ci-deploy", Token: "CIDEPLOY0123456789ABCDEFGHIJKLMN", Created: 1_764_633_700, ExpiresAt: 4_102_444_800,
			ACLs: []string{"passwd", "list-accts"}, Whitelist: []string{"198.51.100.0/24", "203.0.113.7"}},
	}
	e := newEnv(t, st, simulator.Options{})
	e.writeConfig()
	for _, format := range []string{"table", "json"} {
		r := e.call("", "token", "list", "-o", format)
		e.wantCode(r, 0)
		e.noSecrets(r, "CIDEPLOY0123456789ABCDEFGHIJKLMN")
		golden(t, "token-list."+format, r.stdout)
	}
}

// TestTokenRotateStoreUnknown: when token-command cannot say what the store
// holds after the store command ran, both tokens are kept (exit 4) and the
// journal lets a later run finish.
func TestTokenRotateStoreUnknown(t *testing.T) {
	e, tokFile := storeEnv(t, "cat > TOK.new && rm TOK")
	r := e.call("", "-p", "cmd", "token", "rotate")
	e.wantCode(r, 4)
	if !strings.Contains(r.stderr, "cannot tell whether the new token") || !strings.Contains(r.stderr, "both it and the old token imported-1 work") {
		t.Errorf("stderr: %s", r.stderr)
	}
	b, err := os.ReadFile(tokFile + ".new")
	if err != nil {
		t.Fatal(err)
	}
	newTok := strings.TrimSpace(string(b))
	if !e.srv.Sim.CheckToken("whm", "root", newTok) || !e.srv.Sim.CheckToken("whm", "root", simulator.SampleRootToken) {
		t.Fatal("both tokens must still work")
	}
	// Fix the store (the token file is back) and resume.
	if err := os.Rename(tokFile+".new", tokFile); err != nil {
		t.Fatal(err)
	}
	plainStore(t, e, tokFile)
	r = e.call("", "-p", "cmd", "token", "rotate")
	e.wantCode(r, 0)
	if !strings.Contains(r.stderr, `after step "proved"`) || e.srv.Sim.CheckToken("whm", "root", simulator.SampleRootToken) ||
		!e.srv.Sim.CheckToken("whm", "root", newTok) {
		t.Errorf("resume: %s", r.stderr)
	}
}

// plainStore sets profile "cmd"'s token-store-command to replace tokFile.
func plainStore(t *testing.T, e *env, tokFile string) {
	t.Helper()
	cfg, err := config.Load(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Profiles["cmd"].TokenStoreCommand = "cat > " + tokFile + ".new && mv " + tokFile + ".new " + tokFile
	if err := cfg.Save(e.cfg); err != nil {
		t.Fatal(err)
	}
}
