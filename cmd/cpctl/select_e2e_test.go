package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/simulator"
	"github.com/cpctl/cpctl/pkg/simulator/simtest"
)

// listed is one target of a selection's --dry-run -o json.
type listed struct{ Kind, Target, Owner, Source string }

func (e *env) listing(r result) []listed {
	e.t.Helper()
	var l []listed
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		e.t.Fatalf("the listing is not a JSON list: %v\n%s", err, r.stdout)
	}
	return l
}

func targetsOf(l []listed) string {
	var s []string
	for _, x := range l {
		s = append(s, x.Kind+" "+x.Target)
	}
	return strings.Join(s, ", ")
}

// A dry run lists every target of bob's with where it came from, in the
// order a rotation changes them, says what it left out, and changes
// nothing.
func TestSelectDryRunListsTargets(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call("", "rotate", "--owner", "bob", "--dry-run", "-o", "json")
	e.wantCode(r, 0)
	got := e.listing(r)
	want := []listed{
		{"account", "bob", "", "listaccts user=bob"},
		{"ftp", "files@bob.example", "bob", "Ftp/list_ftp of bob"},
		{"webdisk", "dav@bob.example", "bob", "WebDisk::listwebdisks of bob"},
		{"email", "info@bob.example", "bob", "Email/list_pops of bob"},
		{"mysql", "bob_wp", "bob", "Mysql/list_users of bob"},
		{"postgresql", "bob_app", "bob", "Postgresql/list_users of bob"},
	}
	if len(got) != len(want) {
		t.Fatalf("listed %s", targetsOf(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, l := range []string{
		"cpctl: left out ftp bob (Ftp/list_ftp of bob): the account's main FTP login: it has the account's password\n",
		"cpctl: left out email bob (Email/list_pops of bob): the account's default mailbox: it has the account's password\n",
		"cpctl: --owner bob: 6 targets of 1 account (listaccts user=bob); nothing was changed\n",
	} {
		if !strings.Contains(r.stderr, l) {
			t.Errorf("stderr lacks %q:\n%s", l, r.stderr)
		}
	}
	if n := e.srv.Sim.Stats().PasswordChanges; n != 0 {
		t.Errorf("a dry run changed %d passwords", n)
	}
	if m, _ := filepath.Glob(filepath.Join(e.dir, "*.journal")); len(m) != 0 {
		t.Errorf("a dry run left journals: %v", m)
	}
	// A special login named exactly is taken; a glob never takes one.
	r = e.call("", "ftp", "passwd", "--owner", "bob", "--generate", "--validate", "--match", "BOB", "--match", "files*", "-o", "json")
	e.wantCode(r, 0)
	if got := targetsOf(e.listing(r)); got != "ftp bob, ftp files@bob.example" {
		t.Errorf("--match BOB files*: %s", got)
	}
	r = e.call("", "ftp", "passwd", "--owner", "bob", "--generate", "--validate", "--match", "bob*", "-o", "json")
	e.wantCode(r, 0)
	if got := targetsOf(e.listing(r)); got != "" {
		t.Errorf("--match bob*: %s", got)
	}
}

// --owner alone selects every mailbox of the account; without --generate
// it is the usage error it always was (a forgotten address must not
// become a change of every mailbox).
func TestSelectOwnerAlone(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call("", "email", "passwd", "--owner", "bob")
	e.wantCode(r, 2)
	if !strings.Contains(r.stderr, "add --generate") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	r = e.call("", "email", "passwd", "--owner", "bob", "--password-stdin", "--generate")
	e.wantCode(r, 2)
	if n := e.srv.Sim.Stats().PasswordChanges; n != 0 {
		t.Fatalf("%d passwords changed by refused command lines", n)
	}

	r = e.call("", "email", "passwd", "--owner", "bob", "--generate", "-o", "json")
	e.wantCode(r, 0)
	var rows []struct {
		Kind, Target, Owner, Source, Password string
		OK                                    bool
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(rows) != 1 || rows[0].Target != "info@bob.example" || rows[0].Owner != "bob" || rows[0].Source != "Email/list_pops of bob" || !rows[0].OK {
		t.Fatalf("rows %+v", rows)
	}
	if !e.srv.Sim.CheckPasswordOf(simulator.KindEmail, "info@bob.example", rows[0].Password) {
		t.Error("the printed password is not the server's")
	}
	if !e.srv.Sim.CheckPasswordOf(simulator.KindAccount, "bob", simulator.SampleBobPassword) {
		t.Error("the default mailbox (the account's password) changed")
	}
	e.noSecrets(r)
}

// A reseller's --all is what the server lets it see; an account that is
// not its own is not found, and nothing changes.
func TestSelectResellerSeesItsOwn(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call("", "-p", "res", "rotate", "--all", "--kinds", "account,email", "--dry-run", "-o", "json")
	e.wantCode(r, 0)
	if got := targetsOf(e.listing(r)); got != "account alice, email office@alice.example" {
		t.Errorf("res1's --all: %s", got)
	}
	r = e.call("", "-p", "res", "rotate", "--owner", "bob")
	e.wantCode(r, 1)
	if !strings.Contains(r.stderr, "no account bob among the accounts this profile may see") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	// root's --reseller res1 finds the same account.
	r = e.call("", "rotate", "--reseller", "res1", "--kinds", "account", "--dry-run", "-o", "json")
	e.wantCode(r, 0)
	if got := e.listing(r); len(got) != 1 || got[0].Source != "listaccts owner=res1" || got[0].Target != "alice" {
		t.Errorf("--reseller res1: %+v", got)
	}
}

// A --reseller that finds no account: listaccts answers the same for a
// mistyped name and for a reseller without accounts, so cpctl asks the
// server's listresellers. A name the server does not have fails (exit 2,
// with the nearest name), so a cron job with a typo does not "succeed"
// forever; a reseller without accounts is exit 0; a reseller's profile,
// which may not call listresellers, gets the line saying where to check
// the name, exit 0, and no word of the refused check.
func TestSelectResellerNameChecked(t *testing.T) {
	st := simulator.SampleState()
	st.AddReseller("hosting", "Hosting-Pass-2024!xyz") // owns no account
	e := newEnv(t, st, simulator.Options{})
	e.writeConfig()
	journal := filepath.Join(e.dir, "J")
	tests := []struct {
		name string
		args []string
		code int
		line string
	}{
		{"a mistyped name", []string{"account", "passwd", "--reseller", "hostng", "--generate", "--journal", journal}, 2,
			"cpctl: --reseller hostng: the server has no reseller named hostng (did you mean hosting?); nothing was changed"},
		{"its dry run", []string{"rotate", "--reseller", "hostng", "--dry-run", "-o", "json"}, 2,
			"cpctl: --reseller hostng: the server has no reseller named hostng (did you mean hosting?); nothing was changed"},
		{"a reseller without accounts", []string{"account", "passwd", "--reseller", "hosting", "--generate", "--journal", journal}, 0,
			"cpctl: --reseller hosting: reseller hosting owns no account; nothing was changed"},
		{"a reseller's profile cannot check", []string{"-p", "res", "account", "passwd", "--reseller", "hostng", "--generate", "--journal", journal}, 0,
			"cpctl: --reseller hostng: the server lists no account owned by hostng (is the name right? 'cpctl whmapi1 listresellers' lists the resellers); nothing was changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.with(t)
			r := e.call("", tt.args...)
			e.wantCode(r, tt.code)
			if r.stderr != tt.line+"\n" {
				t.Errorf("stderr\n%s\nwant the one line\n%s", r.stderr, tt.line)
			}
			if n := e.srv.Sim.Stats().PasswordChanges; n != 0 {
				t.Errorf("%d passwords changed", n)
			}
			if _, err := os.Stat(journal); !os.IsNotExist(err) {
				t.Errorf("a journal was left: %v", err)
			}
			e.noSecrets(r)
		})
	}
	// The hint's own command works against the simulator for root.
	r := e.call("", "whmapi1", "listresellers", "-o", "json")
	e.wantCode(r, 0)
	if !strings.Contains(r.stdout, `"reseller"`) || !strings.Contains(r.stdout, `"hosting"`) || !strings.Contains(r.stdout, `"res1"`) {
		t.Errorf("whmapi1 listresellers:\n%s", r.stdout)
	}
}

// --domain finds the domain's owner and its targets on that domain;
// --match and --exclude narrow without case.
func TestSelectDomainMatchExclude(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call("", "rotate", "--domain", "bob.example", "--dry-run", "-o", "json", "--exclude", "INFO@*", "--exclude", "*_app")
	e.wantCode(r, 0)
	got := e.listing(r)
	if targetsOf(got) != "account bob, ftp files@bob.example, webdisk dav@bob.example, mysql bob_wp" || got[0].Source != "getdomainowner bob.example" {
		t.Errorf("--domain bob.example: %+v", got)
	}
	r = e.call("", "rotate", "--all", "--kinds", "ftp,webdisk", "--match", "*@ALICE.example", "--dry-run", "-o", "json")
	e.wantCode(r, 0)
	if got := targetsOf(e.listing(r)); got != "ftp uploads@alice.example, webdisk dav@alice.example" {
		t.Errorf("--match *@ALICE.example: %s", got)
	}
	r = e.call("", "rotate", "--domain", "nowhere.example", "--dry-run")
	e.wantCode(r, 1)
	r = e.call("", "email", "passwd", "--match", "x*", "--generate")
	e.wantCode(r, 2)
	r = e.call("", "email", "passwd", "info@bob.example", "--all", "--generate")
	e.wantCode(r, 2)
}

// A rotation killed mid-run is resumed against a server whose lists have
// changed meanwhile (a mailbox added, an FTP login removed): the resume
// lists nothing, finishes exactly the planned rows, and touches nothing
// else.
func TestSelectFrozenOnResume(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{Latency: 100 * time.Millisecond})
	e.writeConfig()
	journal := filepath.Join(e.dir, "bob.journal")
	cmd := exec.Command(binPath, "rotate", "--owner", "bob", "--journal", journal, "--concurrency", "1", "-o", "jsonl")
	cmd.Env, cmd.Dir = e.vars, e.dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed once the account row is done and before the last row is: a
	// row's line is printed after its outcome is in the journal.
	printed := make(chan error, 1)
	go func() {
		_, err := bufio.NewReader(stdout).ReadString('\n')
		printed <- err
	}()
	select {
	case err := <-printed:
		if err != nil {
			t.Fatalf("no row printed: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no row printed in 20 s")
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	data, _ := os.ReadFile(journal)
	if strings.Count(string(data), `"t":"outcome"`) >= 6 {
		t.Fatal("the run finished before the kill: the simulator's latency is too short for this machine")
	}

	// The same server, restarted with other lists.
	st := e.srv.Sim.State()
	bob := st.Accounts["bob"]
	bob.Mail = append(bob.Mail, simulator.MailUser{Address: "late@bob.example", Password: "Late-Pass-2024!xyz"})
	bob.FTP = nil
	srv := simtest.NewServer(t, st, simulator.Options{})
	f, err := config.Load(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.Profiles["whm"].URL, f.Profiles["whm"].TLSFingerprint, f.Profiles["whm"].CPanelURL = srv.WHMURL, srv.Fingerprint, srv.CPanelURL
	if err := f.Save(e.cfg); err != nil {
		t.Fatal(err)
	}
	e.srv = srv

	r := e.call("", "rotate", "--resume", journal, "-o", "jsonl")
	// files@bob.example is gone: its row, if it was not done, is refused.
	if r.code != 0 && r.code != 5 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	// (WebDisk::listwebdisks is not among them: a Web Disk change reads it
	// to keep the login's Digest setting.)
	for fn := range srv.Sim.Stats().ByFunction {
		for _, listing := range []string{"listaccts", "getdomainowner", "list_pops", "list_ftp", "list_users"} {
			if strings.Contains(fn, listing) {
				t.Errorf("the resume listed the server: %s", fn)
			}
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if strings.Contains(l, "late@bob.example") {
			t.Errorf("the resume changed a target that was not planned: %s", l)
		}
	}
	if !srv.Sim.CheckPasswordOf(simulator.KindEmail, "late@bob.example", "Late-Pass-2024!xyz") {
		t.Error("late@bob.example's password changed")
	}
	r = e.call("", "journal", "show", journal, "-o", "json")
	e.wantCode(r, 0)
	var show struct{ Total, Pending int }
	if err := json.Unmarshal([]byte(r.stdout), &show); err != nil || show.Total != 6 || show.Pending != 0 {
		t.Errorf("journal show: %+v %v\n%s", show, err, r.stdout)
	}
}
