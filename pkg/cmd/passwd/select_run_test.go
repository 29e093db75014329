package passwd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/pace"
	"github.com/cpctl/cpctl/pkg/simulator"
	"github.com/cpctl/cpctl/pkg/simulator/simtest"
)

// simRun is a selection run in-process against the simulator, whose
// sample state (bob: FTP files@bob.example, mailbox info@bob.example) the
// fake lister describes, main logins included.
type simRun struct {
	t        *testing.T
	srv      *simulator.Server
	f        *cmdutil.Factory
	out, err *bytes.Buffer
	lister   *fakeServer
	dir      string
}

func newSimRun(t *testing.T) *simRun {
	t.Helper()
	srv := simtest.NewServer(t, simulator.SampleState(), simulator.Options{})
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := &config.File{CurrentProfile: "whm", Profiles: map[string]*config.Profile{
		"whm": {URL: srv.WHMURL, Kind: "whm", User: "root", Auth: "token", Token: simulator.SampleRootToken,
			TLSFingerprint: srv.Fingerprint, CPanelURL: srv.CPanelURL},
	}}
	if err := cfg.Save(cfgPath); err != nil {
		t.Fatal(err)
	}
	ios, _, out, errb := cmdutil.Test()
	f := cmdutil.NewFactory(ios)
	f.Viper.Set(cmdutil.KeyConfig, cfgPath)
	f.Viper.Set(cmdutil.KeyOutput, "json")
	l := &fakeServer{
		accounts: []cpanel.AccountInfo{
			{User: "alice", Domain: "alice.example", Owner: "res1"},
			{User: "bob", Domain: "bob.example", Owner: "root"},
			{User: "carol", Domain: "carol.example", Owner: "root", Suspended: true},
		},
		ftp: map[string][]cpanel.FTPLogin{"bob": {
			{Login: "bob", User: "bob", Domain: "bob.example", Type: "main"},
			{Login: "files@bob.example", User: "files", Domain: "bob.example", Type: "sub"},
		}},
		mail: map[string][]cpanel.Mailbox{"bob": {
			{Address: "bob", Local: "bob", Domain: "bob.example", Main: true},
			{Address: "info@bob.example", Local: "info", Domain: "bob.example"},
		}},
	}
	return &simRun{t: t, srv: srv, f: f, out: out, err: errb, lister: l, dir: dir}
}

// options are a passwd command's as its flags would set them.
func (s *simRun) options(kind Kind) *Options {
	o := &Options{Deps: DepsOf(s.f), Kind: kind, Password: pwGen()}
	o.Bulk.ConcurrencyFlag, o.Bulk.MaxConcurrency = "auto", pace.DefaultMax
	o.Bulk.Journal = filepath.Join(s.dir, "run.journal")
	o.newLister = func(*server) (lister, error) { return s.lister, nil }
	return o
}

// run runs a bulk command; main would print its error last on stderr.
func (s *simRun) run(ctx context.Context, o *Options) int {
	s.t.Helper()
	s.out.Reset()
	s.err.Reset()
	err := runBulk(ctx, o)
	if err != nil {
		s.err.WriteString("cpctl: " + err.Error() + "\n")
	}
	return cmdutil.ExitCode(err)
}

// rows parses the JSON list a run printed.
func (s *simRun) rows() []map[string]any {
	s.t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal(s.out.Bytes(), &rows); err != nil {
		s.t.Fatalf("stdout is not a JSON list: %v\n%s", err, s.out)
	}
	return rows
}

func TestSelectionRunOwnerAlone(t *testing.T) {
	s := newSimRun(t)
	o := s.options(FTP)
	o.Owner = "bob" // --owner alone: every FTP login of bob's
	if code := s.run(context.Background(), o); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.err)
	}
	rows := s.rows()
	if len(rows) != 1 {
		t.Fatalf("%d rows, want files@ alone (the main login is left out):\n%s", len(rows), s.out)
	}
	r := rows[0]
	if r["kind"] != "ftp" || r["target"] != "files@bob.example" || r["owner"] != "bob" || r["source"] != "Ftp/list_ftp of bob" || r["ok"] != true {
		t.Errorf("row %v", r)
	}
	pw, _ := r["password"].(string)
	if pw == "" || !s.srv.Sim.CheckPassword("files@bob.example", pw) {
		t.Errorf("the printed password is not the server's")
	}
	if !s.srv.Sim.CheckPassword("bob", simulator.SampleBobPassword) {
		t.Error("the account's password changed")
	}
	// One of each, said in the singular.
	for _, want := range []string{
		"cpctl: left out 1 special login, which has no password of its own or the account's (main FTP login: 1)",
		"cpctl: 1 target selected; journal ",
		"cpctl: 1 row: 1 succeeded, 0 failed\n",
	} {
		if !strings.Contains(s.err.String(), want) {
			t.Errorf("stderr:\n%s\nwant %q in it", s.err, want)
		}
	}
	if strings.Contains(s.err.String(), "left out ftp bob") {
		t.Errorf("special logins listed without -v:\n%s", s.err)
	}
}

func TestSelectionDryRun(t *testing.T) {
	s := newSimRun(t)
	s.f.DryRun = true
	o := s.options(Mixed)
	o.Owner, o.Select.Kinds = "bob", []Kind{Account, FTP, Email}
	if code := s.run(context.Background(), o); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.err)
	}
	var got []string
	for _, r := range s.rows() {
		got = append(got, r["kind"].(string)+" "+r["target"].(string)+" "+r["owner"].(string)+" "+r["source"].(string))
	}
	want := []string{
		"account bob  listaccts user=bob",
		"ftp files@bob.example bob Ftp/list_ftp of bob",
		"email info@bob.example bob Email/list_pops of bob",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("listed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range []string{
		"cpctl: left out ftp bob (Ftp/list_ftp of bob): the account's main FTP login: it has the account's password",
		"cpctl: left out email bob (Email/list_pops of bob): the account's default mailbox: it has the account's password",
		"cpctl: --owner bob: 3 targets of 1 account (listaccts user=bob); nothing was changed",
	} {
		if !strings.Contains(s.err.String(), l+"\n") {
			t.Errorf("stderr lacks %q:\n%s", l, s.err)
		}
	}
	if _, err := os.Stat(o.Bulk.Journal); !os.IsNotExist(err) {
		t.Errorf("a dry run left a journal: %v", err)
	}
	if s.srv.Sim.Stats().PasswordChanges != 0 {
		t.Errorf("a dry run changed %d passwords", s.srv.Sim.Stats().PasswordChanges)
	}
}

// TestSelectionResellerOwnsNothing: a --reseller the server lists no
// account for is checked against the server's resellers. A name it does
// not have fails (exit 2) with the nearest listed name, in the run and in
// its --dry-run and --validate alike (where a careful user looks first); a
// reseller without accounts, or a name the profile cannot check, says so
// and exits 0. Nothing is changed and no journal is left.
func TestSelectionResellerOwnsNothing(t *testing.T) {
	const hint = "(is the name right? 'cpctl whmapi1 listresellers' lists the resellers); nothing was changed\n"
	tests := []struct {
		name     string
		reseller string
		setup    func(*fakeServer)
		code     int
		line     string
	}{
		{name: "a mistyped name", reseller: "res9", code: cmdutil.ExitUsage,
			line: "cpctl: --reseller res9: the server has no reseller named res9 (did you mean res1?); nothing was changed\n"},
		{name: "a name nothing is near", reseller: "mallory", code: cmdutil.ExitUsage,
			line: "cpctl: --reseller mallory: the server has no reseller named mallory; nothing was changed\n"},
		{name: "a reseller without accounts", reseller: "res2", setup: func(f *fakeServer) { f.resellers = []string{"res1", "res2"} },
			line: "cpctl: --reseller res2: reseller res2 owns no account; nothing was changed\n"},
		{name: "root without accounts", reseller: "root", setup: func(f *fakeServer) { f.accounts = f.accounts[:1] },
			line: "cpctl: --reseller root: root owns no account; nothing was changed\n"},
		{name: "a name the server will not check", reseller: "res9",
			setup: func(f *fakeServer) {
				f.resellersErr = &cpanel.Error{Kind: cpanel.ErrAuth, Op: "WHM API 1 listresellers", Status: 403, Reason: "Access denied"}
			},
			line: "cpctl: --reseller res9: the server lists no account owned by res9 " + hint},
	}
	for _, tt := range tests {
		for _, mode := range []string{"run", "dry run", "validate"} {
			t.Run(tt.name+", "+mode, func(t *testing.T) {
				s := newSimRun(t)
				if tt.setup != nil {
					tt.setup(s.lister)
				}
				s.f.DryRun = mode == "dry run"
				o := s.options(Account)
				o.Bulk.Validate = mode == "validate"
				o.Select.Reseller = tt.reseller
				if code := s.run(context.Background(), o); code != tt.code {
					t.Fatalf("exit %d, want %d\n%s", code, tt.code, s.err)
				}
				if !strings.HasSuffix(s.err.String(), tt.line) || strings.Count(s.err.String(), "\n") != 1 {
					t.Errorf("stderr\n%s\nwant the one line %q", s.err, tt.line)
				}
				if strings.Contains(s.err.String(), "Access denied") {
					t.Errorf("the check's own failure was shown:\n%s", s.err)
				}
				if n := s.srv.Sim.Stats().PasswordChanges; n != 0 {
					t.Errorf("%d passwords changed", n)
				}
				if _, err := os.Stat(o.Bulk.Journal); !os.IsNotExist(err) {
					t.Errorf("a journal was left: %v", err)
				}
			})
		}
	}
}

// TestRotationAccountFirstAndFrozen: a rotation sends every account row
// before any other (its journal shows the account's outcome before the
// other rows' intents), and a resume finishes exactly the planned rows
// without listing again, whatever the server's lists say by then.
func TestRotationAccountFirstAndFrozen(t *testing.T) {
	s := newSimRun(t)
	o := s.options(Mixed)
	o.Owner, o.Select.Kinds = "bob", []Kind{Account, FTP, Email}
	// Interrupted at once: the plan is written, nothing is sent.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := s.run(ctx, o); code != cmdutil.ExitInterrupted {
		t.Fatalf("exit %d, want %d\n%s", code, cmdutil.ExitInterrupted, s.err)
	}
	if !strings.Contains(s.err.String(), "cpctl rotate --resume") {
		t.Errorf("stderr:\n%s", s.err)
	}
	s.lister.ftp["bob"] = append(s.lister.ftp["bob"], cpanel.FTPLogin{Login: "late@bob.example", User: "late", Domain: "bob.example", Type: "sub"})
	calls := len(s.lister.calls)

	r := s.options(Mixed)
	r.Bulk.Resume, r.Bulk.Journal = o.Bulk.Journal, ""
	if code := s.run(context.Background(), r); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, s.err)
	}
	if len(s.lister.calls) != calls {
		t.Errorf("the resume listed the server again: %v", s.lister.calls[calls:])
	}
	got := map[string]string{}
	for _, row := range s.rows() {
		got[row["kind"].(string)+" "+row["target"].(string)], _ = row["password"].(string)
		if want := map[bool]string{true: "", false: "bob"}[row["kind"] == "account"]; row["owner"] != want {
			t.Errorf("%v: owner %q, want %q (an account row has none, whatever --owner selected)", row["target"], row["owner"], want)
		}
	}
	if len(got) != 3 {
		t.Fatalf("rows %v, want the 3 planned", got)
	}
	for key, login := range map[string]string{"account bob": "bob", "ftp files@bob.example": "files@bob.example", "email info@bob.example": "info@bob.example"} {
		if got[key] == "" || !s.srv.Sim.CheckPassword(login, got[key]) {
			t.Errorf("%s: the printed password is not the server's", key)
		}
	}

	// In the journal, the account's outcome comes before any other intent
	// of the resume.
	fh, err := os.Open(o.Bulk.Journal)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	accountDone := false
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var rec struct {
			T, State string
			Seq      int
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		switch {
		case rec.T == "outcome" && rec.Seq == 1 && rec.State == "applied":
			accountDone = true
		case rec.T == "intent" && rec.Seq != 1 && !accountDone && rec.State == "":
			// The interrupted first run recorded intents of nothing: it
			// stopped before its first batch. Any intent of another row
			// before the account's outcome breaks the order.
			t.Errorf("row %d was sent before the account's password was changed", rec.Seq)
		}
	}
}
