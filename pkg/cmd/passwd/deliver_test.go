package passwd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/simulator"
	"github.com/cpctl/cpctl/pkg/simulator/simtest"
)

// deliverEnv is an in-process cpctl on a simulator (profile "whm", root's
// token) and a store: a secrets command that appends, per delivery, one
// line "TARGET STATE KIND PROFILE OWNER PASSWORD" to a file.
type deliverEnv struct {
	t        *testing.T
	srv      *simulator.Server
	dir      string
	store    string // the store's file
	storeCmd string
	f        *cmdutil.Factory
	in       *bytes.Buffer
	out, err *bytes.Buffer
}

func newDeliverEnv(t *testing.T, st *simulator.State) *deliverEnv {
	t.Helper()
	if st == nil {
		st = simulator.SampleState()
	}
	srv := simtest.NewServer(t, st, simulator.Options{})
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	cfg := &config.File{CurrentProfile: "whm", Profiles: map[string]*config.Profile{
		"whm": {URL: srv.WHMURL, Kind: "whm", User: "root", Auth: "token", Token: simulator.SampleRootToken, CACert: srv.CAFile},
	}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	e := &deliverEnv{t: t, srv: srv, dir: dir, store: filepath.Join(dir, "store.txt")}
	e.storeCmd = `{ printf '%s %s %s %s %s ' "$CPCTL_ROW_TARGET" "$CPCTL_ROW_STATE" "$CPCTL_ROW_KIND" "$CPCTL_ROW_PROFILE" "${CPCTL_ROW_OWNER:--}"; cat; } >> ` + e.store
	e.reset()
	e.f.Viper.Set(cmdutil.KeyConfig, path)
	return e
}

// reset gives the next command fresh streams and options.
func (e *deliverEnv) reset() {
	ios, in, out, errOut := cmdutil.Test()
	var v any
	if e.f != nil {
		v = e.f.Viper.Get(cmdutil.KeyConfig)
	}
	e.f = cmdutil.NewFactory(ios)
	if v != nil {
		e.f.Viper.Set(cmdutil.KeyConfig, v)
	}
	e.f.Viper.Set(cmdutil.KeyOutput, "json")
	e.in, e.out, e.err = in, out, errOut
}

func (e *deliverEnv) options(kind Kind, cmd string) *Options {
	o := &Options{Deps: DepsOf(e.f), Kind: kind, SecretsCommand: cmd}
	o.Bulk.ConcurrencyFlag, o.Bulk.MaxConcurrency = "2", 16
	return o
}

// stored reads the store: target → "STATE KIND PROFILE OWNER PASSWORD", in
// delivery order.
func (e *deliverEnv) stored() []string {
	e.t.Helper()
	data, err := os.ReadFile(e.store)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// printedPassword is the password field of the only JSON row printed.
func (e *deliverEnv) printedPassword() string {
	e.t.Helper()
	var rows []struct {
		Password string `json:"password"`
	}
	if err := json.Unmarshal(e.out.Bytes(), &rows); err != nil || len(rows) != 1 {
		e.t.Fatalf("want one JSON row: %v\n%s", err, e.out)
	}
	return rows[0].Password
}

func TestSecretsCommandSingle(t *testing.T) {
	const given = "Given-Pass-2026!xyz"
	tests := []struct {
		name     string
		target   string
		generate bool
		cmd      string // "" for the store
		fault    simulator.FaultKind
		code     int
		stored   string // the store's line without the password; "" for none
		printed  bool
		msg      string // in the error
	}{
		{name: "generated and delivered: not printed", target: "bob", generate: true, code: 0, stored: "bob applied account whm -"},
		{name: "given and delivered", target: "bob", code: 0, stored: "bob applied account whm -"},
		{name: "refused: nothing to deliver", target: "ghost", generate: true, code: 1},
		{name: "reply lost: delivered as maybe applied", target: "bob", generate: true, fault: simulator.FaultReset, code: 4,
			stored: "bob unknown account whm -"},
		{name: "generated, command fails: printed, exit 5", target: "bob", generate: true, cmd: "cat >/dev/null; echo vault is sealed >&2; exit 2",
			code: 5, printed: true, msg: "the new password of bob was not delivered: secrets-command failed: exit status 2: vault is sealed (it is printed above: store it by hand)"},
		{name: "given, command fails: exit 5", target: "bob", cmd: "exit 1",
			code: 5, msg: "not delivered: secrets-command failed: exit status 1 (you gave it: store it by hand)"},
		{name: "reply lost and command fails: exit 4 and a warning", target: "bob", generate: true, fault: simulator.FaultReset, cmd: "exit 1",
			code: 4, printed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeliverEnv(t, nil)
			if tt.fault != simulator.FaultNone {
				e.srv.Sim.SetFault(tt.target, simulator.Fault{Kind: tt.fault})
			}
			cmd := tt.cmd
			if cmd == "" {
				cmd = e.storeCmd
			}
			o := e.options(Account, cmd)
			o.Target = tt.target
			if tt.generate {
				o.Password.Generate = true
			} else {
				o.Password.Stdin = true
				e.in.WriteString(given + "\n")
			}
			err := runSingle(context.Background(), o)
			if code := cmdutil.ExitCode(err); code != tt.code {
				t.Fatalf("exit %d (%v), want %d\nstderr:\n%s", code, err, tt.code, e.err)
			}
			if tt.msg != "" && (err == nil || !strings.Contains(err.Error(), tt.msg)) {
				t.Errorf("error %v, want one containing %q", err, tt.msg)
			}
			printed := e.printedPassword()
			if (printed != "") != tt.printed {
				t.Errorf("password printed: %v, want %v", printed != "", tt.printed)
			}
			lines := e.stored()
			if tt.stored == "" {
				if len(lines) != 0 {
					t.Errorf("the store got %q, want nothing", lines)
				}
				return
			}
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tt.stored+" ") {
				t.Fatalf("the store holds %q, want one line %q PASSWORD", lines, tt.stored)
			}
			pw := strings.TrimPrefix(lines[0], tt.stored+" ")
			if !tt.generate && pw != given {
				t.Errorf("delivered %q, want the given password", pw)
			}
			if !e.srv.Sim.CheckPassword(tt.target, pw) {
				t.Error("the delivered password is not the server's")
			}
			if strings.Contains(e.err.String(), pw) {
				t.Errorf("stderr shows the password:\n%s", e.err)
			}
		})
	}
}

// TestSecretsCommandWarnsWhenChangeFailedToo: a delivery that failed after
// a lost reply is a warning next to the change's own exit (4).
func TestSecretsCommandWarnsWhenChangeFailedToo(t *testing.T) {
	e := newDeliverEnv(t, nil)
	e.srv.Sim.SetFault("bob", simulator.Fault{Kind: simulator.FaultReset})
	o := e.options(Account, "exit 7")
	o.Target, o.Password.Generate = "bob", true
	err := runSingle(context.Background(), o)
	if cmdutil.ExitCode(err) != cmdutil.ExitTransport {
		t.Fatalf("exit %d (%v), want 4", cmdutil.ExitCode(err), err)
	}
	if want := "cpctl: warning: the new password of bob was not delivered: secrets-command failed: exit status 7 (it is printed above"; !strings.Contains(e.err.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, e.err)
	}
}

// TestSecretsCommandBulkResume: a bulk run delivers every changed row; one
// whose delivery fails makes the run exit 5 with the resume command, and
// the resume, which takes the command from the journal, delivers it.
func TestSecretsCommandBulkResume(t *testing.T) {
	st := simulator.SampleState()
	for i := range 6 {
		st.AddAccount(fmt.Sprintf("user%04d", i), "root", fmt.Sprintf("user%04d.example", i), "Old-Pass-2024!xyz")
	}
	e := newDeliverEnv(t, st)
	in := filepath.Join(e.dir, "users.csv")
	if err := os.WriteFile(in, []byte("user\nuser0000\nuser0001\nuser0002\nuser0003\nuser0004\nuser0005\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fixed := filepath.Join(e.dir, "fixed")
	cmd := fmt.Sprintf(`[ -e %s ] || [ "$CPCTL_ROW_TARGET" != user0003 ] || { echo store refused >&2; exit 1; }; %s`, fixed, e.storeCmd)
	journal := filepath.Join(e.dir, "run.journal")
	o := e.options(Account, cmd)
	o.Password.Generate, o.Bulk.From, o.Bulk.Journal = true, in, journal
	err := runBulk(context.Background(), o)
	if cmdutil.ExitCode(err) != cmdutil.ExitPartial {
		t.Fatalf("exit %d (%v), want 5\n%s", cmdutil.ExitCode(err), err, e.err)
	}
	want := "1 changed row was not delivered by secrets-command (cpctl journal show " + journal + " lists them); once it works, deliver them with: cpctl account passwd --resume " + journal
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	if !strings.Contains(e.err.String(), "cpctl: user0003 (line 5) not delivered: secrets-command failed: exit status 1: store refused\n") ||
		!strings.Contains(e.err.String(), "cpctl: 5 new passwords delivered by secrets-command in this run; 1 row not delivered\n") {
		t.Errorf("stderr:\n%s", e.err)
	}
	if strings.Contains(e.out.String(), `"password"`) {
		t.Errorf("delivered passwords were printed:\n%s", e.out)
	}
	s, err := batch.Show(journal)
	if err != nil || s.Undelivered != 1 || s.UndeliveredRows[0].Target != "user0003" {
		t.Fatalf("journal show: %+v, %v", s, err)
	}
	if _, ok := s.Meta[metaSecretsCommand]; ok {
		t.Error("journal show prints the secrets command")
	}

	if err := os.WriteFile(fixed, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e.reset()
	o = e.options(Account, "")
	o.Bulk.Resume = journal
	if err := runBulk(context.Background(), o); err != nil {
		t.Fatalf("resume: %v\n%s", err, e.err)
	}
	lines := e.stored()
	if len(lines) != 6 {
		t.Fatalf("the store has %d lines, want 6:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 6 || f[1] != "applied" || f[2] != "account" || f[3] != "whm" || !e.srv.Sim.CheckPassword(f[0], f[5]) {
			t.Errorf("store line %q: not an applied account row with the server's password", l)
		}
	}
	if !strings.HasPrefix(lines[5], "user0003 ") {
		t.Errorf("the resume delivered %q, want user0003", lines[5])
	}
}

// A resume of a delivering journal whose command is nowhere (an earlier
// resume was given it; the journal's own meta has none) is a usage error,
// not a run whose passwords reach nobody.
func TestResumeWithoutCommandRefused(t *testing.T) {
	e := newDeliverEnv(t, nil)
	in := filepath.Join(e.dir, "users.csv")
	if err := os.WriteFile(in, []byte("user\nbob\nghost\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(e.dir, "run.journal")
	o := e.options(Account, "")
	o.Password.Generate, o.Bulk.From, o.Bulk.Journal = true, in, journal
	if err := runBulk(context.Background(), o); cmdutil.ExitCode(err) != cmdutil.ExitPartial {
		t.Fatalf("first run: %v", err)
	}
	e.reset()
	o = e.options(Account, e.storeCmd)
	o.Bulk.Resume = journal
	// ghost stays refused (exit 5); bob, applied before, is delivered.
	if err := runBulk(context.Background(), o); cmdutil.ExitCode(err) != cmdutil.ExitPartial {
		t.Fatalf("resume with a command: %v\n%s", err, e.err)
	}
	if lines := e.stored(); len(lines) != 1 || !strings.HasPrefix(lines[0], "bob applied ") {
		t.Errorf("store %q, want bob, applied in the first run", lines)
	}
	e.reset()
	o = e.options(Account, "")
	o.Bulk.Resume = journal
	err := runBulk(context.Background(), o)
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "resume it with --secrets-command CMD") {
		t.Errorf("resume without a command: %v", err)
	}
}

// TestSecretsCommandOutputStaysOffStdout: what the command prints never
// reaches cpctl's standard output, which carries only results; -v shows it
// on stderr, line by line, made safe and without the password.
func TestSecretsCommandOutputStaysOffStdout(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		t.Run(fmt.Sprint("verbose=", verbose), func(t *testing.T) {
			e := newDeliverEnv(t, nil)
			e.f.Verbose = verbose
			o := e.options(Account, `IFS= read -r pw; echo "stored MARK-OUT $pw"; printf 'MARK-ERR \033[2J\n' >&2`)
			o.Target, o.Password.Generate = "bob", true
			if err := runSingle(context.Background(), o); err != nil {
				t.Fatalf("%v\n%s", err, e.err)
			}
			if strings.Contains(e.out.String(), "MARK") {
				t.Errorf("the command's output reached stdout:\n%s", e.out)
			}
			want := "cpctl: secrets-command: bob: stdout: stored MARK-OUT <redacted>\ncpctl: secrets-command: bob: stderr: MARK-ERR \\x1b[2J\n"
			if got := strings.Contains(e.err.String(), want); got != verbose {
				t.Errorf("stderr shows the command's output: %v, want %v (as %q)\n%s", got, verbose, want, e.err)
			}
			if !verbose && strings.Contains(e.err.String(), "MARK") {
				t.Errorf("without -v the command's output is shown:\n%s", e.err)
			}
		})
	}
}
