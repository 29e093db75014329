package token

// In-process tests: flag parsing through runF, and the rotation's failure
// paths against our own simulator (pkg/simulator) with injected faults.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/simulator"
	"github.com/cpctl/cpctl/pkg/simulator/simtest"
)

func TestNewCmdToken(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr bool
	}{
		{args: []string{"list"}, want: Options{Verb: "list", WarnDays: 14}},
		{args: []string{"list", "--warn-days", "30"}, want: Options{Verb: "list", WarnDays: 30}},
		{args: []string{"create", "ci", "--acl", "passwd", "--acl", "list-accts", "--whitelist-ip", "192.0.2.0/24", "--expires", "90d"},
			want: Options{Verb: "create", Name: "ci", ACLs: []string{"passwd", "list-accts"}, Whitelist: []string{"192.0.2.0/24"}, Expires: "90d"}},
		{args: []string{"create", "ci", "--save-to-profile", "prod2"}, want: Options{Verb: "create", Name: "ci", SaveToProfile: "prod2"}},
		{args: []string{"create"}, wantErr: true},
		{args: []string{"revoke", "a", "b", "--force"}, want: Options{Verb: "revoke", Names: []string{"a", "b"}, Force: true}},
		{args: []string{"revoke", "a", "--ignore-not-found"}, want: Options{Verb: "revoke", Names: []string{"a"}, IgnoreNotFound: true}},
		{args: []string{"revoke"}, wantErr: true},
		{args: []string{"rotate", "--all-profiles", "--expires", "30d", "--old-name", "x"}, want: Options{Verb: "rotate", AllProfiles: true, Expires: "30d", OldName: "x"}},
		{args: []string{"rotate", "extra"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ios, _, _, _ := cmdutil.Test()
			var got *Options
			cmd := NewCmdToken(cmdutil.NewFactory(ios), func(o *Options) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.IO == nil || got.Config == nil || got.ClientConfig == nil {
				t.Error("the command's options lack what the factory gives")
			}
			got.Deps = Deps{} // not what this test checks
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("options %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 500, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "", want: time.Time{}},
		{in: "never", want: time.Time{}},
		{in: "90d", want: time.Date(2027, 3, 2, 8, 0, 0, 0, time.UTC)},
		{in: "36h", want: time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)},
		{in: "2027-01-31", want: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)},
		{in: "2027-01-31T10:00:00Z", want: time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC)},
		{in: "2020-01-01", wantErr: true},
		{in: "0d", wantErr: true},
		{in: "-5h", wantErr: true},
		{in: "soon", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseExpiry(tc.in, now)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestJournalPath(t *testing.T) {
	for in, want := range map[string]string{"prod": "token-rotate.prod.json", "a/b c": "token-rotate.a_b_c.json", "../x": "token-rotate..._x.json"} {
		if got := journalPath("/etc/cpctl/config.yaml", in); got != filepath.Join("/etc/cpctl", want) {
			t.Errorf("%q: %s", in, got)
		}
	}
}

// simEnv is a factory whose config has profile "whm" (root's token) on a
// simulator.
type simEnv struct {
	f        *cmdutil.Factory
	out, err *bytes.Buffer
	srv      *simulator.Server
	cfgPath  string
}

func newSimEnv(t *testing.T) *simEnv {
	t.Helper()
	srv := simtest.NewServer(t, simulator.SampleState(), simulator.Options{})
	path := filepath.Join(t.TempDir(), "config.yaml")
	cfg := &config.File{CurrentProfile: "whm", Profiles: map[string]*config.Profile{
		"whm": {URL: srv.WHMURL, Kind: "whm", User: "root", Auth: "token", Token: simulator.SampleRootToken, CACert: srv.CAFile},
	}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	ios, _, out, errOut := cmdutil.Test()
	f := cmdutil.NewFactory(ios)
	f.Viper.Set(cmdutil.KeyConfig, path)
	return &simEnv{f: f, out: out, err: errOut, srv: srv, cfgPath: path}
}

func (e *simEnv) profileToken(t *testing.T) string {
	t.Helper()
	cfg, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Profiles["whm"].Token
}

func TestRotateFailures(t *testing.T) {
	tests := []struct {
		name  string
		fault string
		kind  simulator.FaultKind
		// after the failed run
		code      int
		msg       string
		rotated   bool   // the profile holds a new token
		left      int    // tokens on the server
		journal   string // journal step left, "" for none
		thenRerun bool   // a second run finishes the rotation
	}{
		{name: "create reply lost: the new token is revoked", fault: "whmapi1:api_token_create", kind: simulator.FaultReset,
			code: cmdutil.ExitTransport, msg: "revoked the new token", left: 1},
		{name: "create refused by a gateway: the new token is revoked", fault: "whmapi1:api_token_create", kind: simulator.Fault502,
			code: cmdutil.ExitTransport, msg: "revoked the new token", left: 1},
		{name: "old token not revoked: both kept, resumed later", fault: "whmapi1:api_token_revoke", kind: simulator.Fault500,
			code: cmdutil.ExitTransport, msg: "is stored and works, but the old token imported-1 is not revoked", rotated: true, left: 2,
			journal: stepStored, thenRerun: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newSimEnv(t)
			e.srv.Sim.SetFault(tc.fault, simulator.Fault{Kind: tc.kind, Count: 1})
			err := runRotate(context.Background(), &Options{Deps: depsOf(e.f), Verb: "rotate"})
			if code := cmdutil.ExitCode(err); code != tc.code {
				t.Fatalf("exit %d (%v), want %d", code, err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			held := e.profileToken(t)
			if (held != simulator.SampleRootToken) != tc.rotated {
				t.Fatalf("rotated = %v, want %v", held != simulator.SampleRootToken, tc.rotated)
			}
			if !e.srv.Sim.CheckToken("whm", "root", held) || !e.srv.Sim.CheckToken("whm", "root", simulator.SampleRootToken) {
				t.Fatal("after a failure both the stored token and the old one must work")
			}
			if n := len(e.srv.Sim.TokenNames("root", false)); n != tc.left {
				t.Errorf("%d tokens on the server, want %d", n, tc.left)
			}
			jpath := journalPath(e.cfgPath, "whm")
			var j journal
			if b, err := os.ReadFile(jpath); err == nil {
				if err := json.Unmarshal(b, &j); err != nil {
					t.Fatal(err)
				}
			}
			if j.Step != tc.journal {
				t.Fatalf("journal step %q, want %q", j.Step, tc.journal)
			}
			if !tc.thenRerun {
				return
			}
			if err := runRotate(context.Background(), &Options{Deps: depsOf(e.f), Verb: "rotate"}); err != nil {
				t.Fatal(err)
			}
			if e.srv.Sim.CheckToken("whm", "root", simulator.SampleRootToken) || !e.srv.Sim.CheckToken("whm", "root", e.profileToken(t)) {
				t.Error("after the rerun the old token must be revoked and the new one work")
			}
		})
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	e := newSimEnv(t)
	e.f.DryRun = true
	cmd := NewCmdToken(e.f, nil)
	cmd.SetArgs([]string{"rotate"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got := e.err.String(); got != "cpctl: dry run: would rotate the API token of profile whm's login: create a new one, prove it, store it, revoke the old one; nothing sent\n" {
		t.Errorf("stderr %q", got)
	}
	if got := e.out.String(); got != "" {
		t.Errorf("stdout %q, want nothing: it keeps to the output format", got)
	}
	if n := e.srv.Sim.Stats().Requests; n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestRotateLocked(t *testing.T) {
	e := newSimEnv(t)
	unlock, err := lockRotation(strings.TrimSuffix(journalPath(e.cfgPath, "whm"), ".json") + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	err = runRotate(context.Background(), &Options{Deps: depsOf(e.f), Verb: "rotate"})
	if err == nil || !strings.Contains(err.Error(), "another rotation of this profile is running") {
		t.Fatalf("err = %v", err)
	}
	if n := e.srv.Sim.Stats().Requests; n != 0 {
		t.Errorf("%d requests while another rotation held the lock", n)
	}
	unlock()
	if err := runRotate(context.Background(), &Options{Deps: depsOf(e.f), Verb: "rotate"}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

func TestRotateNowhereToStore(t *testing.T) {
	e := newSimEnv(t)
	cfg, err := config.Load(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Profiles["tc"] = &config.Profile{URL: e.srv.WHMURL, Kind: "whm", User: "root", Auth: "token",
		TokenCommand: "echo " + simulator.SampleRootToken, CACert: e.srv.CAFile}
	if err := cfg.Save(e.cfgPath); err != nil {
		t.Fatal(err)
	}
	e.f.Viper.Set(cmdutil.KeyProfile, "tc")
	err = runRotate(context.Background(), &Options{Deps: depsOf(e.f), Verb: "rotate"})
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "set token-store-command") {
		t.Fatalf("single profile: %v", err)
	}
	if n := e.srv.Sim.Stats().Requests; n != 0 {
		t.Errorf("%d requests before the refusal", n)
	}
	e.f.Viper.Set(cmdutil.KeyProfile, "")
	e.f.Viper.Set(cmdutil.KeyOutput, "json")
	e.out.Reset() // the refusal's table row
	if err := runRotate(context.Background(), &Options{Deps: depsOf(e.f), Verb: "rotate", AllProfiles: true}); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	if err := json.Unmarshal(e.out.Bytes(), &rows); err != nil {
		t.Fatalf("%v\n%s", err, e.out)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r["profile"]] = r["result"]
	}
	if !reflect.DeepEqual(got, map[string]string{"tc": "skipped", "whm": "rotated"}) {
		t.Errorf("results %v", got)
	}
}

// Every message the token commands write on stderr starts with "cpctl:", as
// docs/scripting.md promises scripts that tell cpctl's lines from their own:
// the confirmations of create and revoke included.
func TestMessagesStartWithCpctl(t *testing.T) {
	e := newSimEnv(t)
	for _, args := range [][]string{
		{"create", "ci-1"},
		{"create", "ci-2", "--save-to-profile", "ci"},
		{"revoke", "ci-1"},
		{"revoke", "ci-1", "ci-2", "--ignore-not-found"},
	} {
		e.err.Reset()
		cmd := NewCmdToken(e.f, nil)
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("token %s: %v", strings.Join(args, " "), err)
		}
		lines := strings.Split(strings.TrimSuffix(e.err.String(), "\n"), "\n")
		if len(lines) == 0 || lines[0] == "" {
			t.Fatalf("token %s: nothing said on stderr", strings.Join(args, " "))
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, "cpctl: ") {
				t.Errorf("token %s: stderr line %q does not start with \"cpctl: \"", strings.Join(args, " "), l)
			}
		}
	}
}
