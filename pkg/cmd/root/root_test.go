package root

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/journal"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
	"github.com/cpctl/cpctl/pkg/cmd/version"
)

// run runs a command line in-process as Main would, on a config file
// holding profiles named like commands (ftp, email), and returns stdout,
// stderr and the error.
func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	const profiles = `current-profile: ftp
profiles:
  ftp:
    url: https://ftp.example.test:2087
    token: TESTTOKEN
  email:
    url: https://email.example.test:2087
    token: TESTTOKEN
`
	if err := os.WriteFile(cfg, []byte(profiles), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CPCTL_CONFIG", cfg)
	ios, in, out, errOut := cmdutil.Test()
	in.WriteString(stdin)
	f := cmdutil.NewFactory(ios)
	err := execute(context.Background(), f, newLineCmd(f, version.Info{Version: "test"}), args)
	return out.String(), errOut.String(), err
}

// A profile named like a command, after combined shorthands (-vp), is the
// profile's name, not the command (issue 14).
func TestProfileNamedLikeACommand(t *testing.T) {
	stdout, stderr, err := run(t, "N3w-Pa55!word-for-2026\n", "-vp", "ftp", "--dry-run", "account", "passwd", "bob", "--password-stdin")
	if err != nil {
		t.Fatalf("cpctl -vp ftp --dry-run account passwd bob --password-stdin: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout+stderr, "ftp.example.test") || strings.Contains(stdout+stderr, "N3w-Pa55") {
		t.Errorf("the dry run did not go to profile ftp's server, or showed the password:\n%s\n%s", stdout, stderr)
	}

	stdout, _, err = run(t, "", "-vp", "ftp", "account", "passwd", "--help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "Change a cPanel account's password") {
		t.Errorf("cpctl -vp ftp account passwd --help printed another command's help:\n%s", stdout)
	}
}

func TestSplitShorthands(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	pf := NewCmd(cmdutil.NewFactory(ios), version.Info{}).PersistentFlags()
	tests := []struct{ in, want []string }{
		{[]string{"-vp", "ftp", "account"}, []string{"-v", "-p", "ftp", "account"}},
		{[]string{"-vpftp", "account"}, []string{"-v", "-pftp", "account"}},
		{[]string{"-pv", "account"}, []string{"-pv", "account"}},
		{[]string{"-vo", "json"}, []string{"-v", "-o", "json"}},
		{[]string{"-vx", "y"}, []string{"-vx", "y"}},             // unknown letter: pflag's to judge
		{[]string{"-p=ftp", "-v"}, []string{"-p=ftp", "-v"}},     // with = it is one flag
		{[]string{"--verbose", "-"}, []string{"--verbose", "-"}}, // long flags, stdin
		{[]string{"--", "-vp", "x"}, []string{"--", "-vp", "x"}}, // after --, arguments
		{[]string{"-\xc3\xa9"}, []string{"-\xc3\xa9"}},
	}
	for _, tt := range tests {
		if got := splitShorthands(pf, tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitShorthands(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestOnlyVersionSkipsTheInterruptHook guards the Ctrl-C handler: the root
// installs it in PersistentPreRun, and cobra runs only the nearest such hook,
// so a command with a hook of its own would run without it. Only version,
// which just prints, may.
func TestOnlyVersionSkipsTheInterruptHook(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasParent() && c.Name() != "version" && (c.PersistentPreRun != nil || c.PersistentPreRunE != nil) {
			t.Errorf("%s has its own PersistentPreRun: it would run without the Ctrl-C handler", c.CommandPath())
		}
		for _, sc := range c.Commands() {
			walk(sc)
		}
	}
	walk(NewCmd(cmdutil.NewFactory(ios), version.Info{}))
}

func TestCompletionCommand(t *testing.T) {
	stdout, _, err := run(t, "", "completion", "bash")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "bash completion") || !strings.Contains(stdout, "cpctl") {
		t.Errorf("cpctl completion bash wrote no bash completion script: %.200q", stdout)
	}
}

// An unknown command at any level is one line naming the nearest command,
// and exit 2, never its parent's help and 0 (issue 17).
func TestUnknownCommand(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"account", "pasword", "bob"}, `unknown command "pasword" for "cpctl account"; did you mean "passwd"?`},
		{[]string{"account", "paswd", "bob", "--generate"}, `unknown command "paswd" for "cpctl account"; did you mean "passwd"?`},
		{[]string{"profile", "lst"}, `unknown command "lst" for "cpctl profile"; did you mean "list"?`},
		{[]string{"journal", "sho", "x"}, `unknown command "sho" for "cpctl journal"; did you mean "show"?`},
		{[]string{"accont"}, `unknown command "accont" for "cpctl"; did you mean "account"?`},
		{[]string{"-o", "json", "accont", "--bogus"}, `unknown command "accont" for "cpctl"; did you mean "account"?`},
		{[]string{"help", "nosuch"}, `unknown command "nosuch" for "cpctl"`},
		{[]string{"help", "account", "paswd"}, `unknown command "paswd" for "cpctl account"; did you mean "passwd"?`},
		{[]string{"completion", "bsh"}, `unknown command "bsh" for "cpctl completion"; did you mean "bash" or "zsh"?`},
		{[]string{"-p", "ftp", "ftp", "pass"}, `unknown command "pass" for "cpctl ftp"; did you mean "passwd"?`},
		{[]string{"email", "xyzzy"}, `unknown command "xyzzy" for "cpctl email"`},
	}
	for _, tt := range tests {
		stdout, _, err := run(t, "", tt.args...)
		if err == nil || err.Error() != tt.want || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("cpctl %q: error %v (exit %d), want %q (exit 2)", tt.args, err, cmdutil.ExitCode(err), tt.want)
		}
		if stdout != "" {
			t.Errorf("cpctl %q printed %q", tt.args, stdout)
		}
	}
}

// Help and a known command are untouched by the guard.
func TestGroupHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "Change passwords:"},
		{[]string{"--help"}, "Change passwords:"},
		{[]string{"help"}, "Change passwords:"},
		{[]string{"account"}, "cpctl account [command]"},
		{[]string{"account", "--help"}, "cpctl account [command]"},
		{[]string{"help", "account", "passwd"}, "Change a cPanel account's password"},
		{[]string{"profile", "ls"}, "ftp"},
	} {
		stdout, stderr, err := run(t, "", tt.args...)
		if err != nil || !strings.Contains(stdout, tt.want) {
			t.Errorf("cpctl %q: %v, printed %q %q, want %q in it", tt.args, err, stdout, stderr, tt.want)
		}
	}
}

// The small contract items of issue 17, each as the user sees it.
func TestSmallContract(t *testing.T) {
	// profile list shows the kind a profile without one gets from its port.
	stdout, _, err := run(t, "", "profile", "list")
	if err != nil || !strings.Contains(stdout, "2087\twhm\t") {
		t.Errorf("profile list: %v, no inferred kind whm:\n%q", err, stdout)
	}
	// Completion menus show FILE, not `FILE`.
	stdout, _, err = run(t, "", "__complete", "account", "passwd", "--password-f")
	if err != nil || !strings.Contains(stdout, "first line of FILE") || strings.Contains(stdout, "`") {
		t.Errorf("completion: %v, descriptions with backticks or missing:\n%s", err, stdout)
	}
	// Help keeps marking the value's name.
	stdout, _, _ = run(t, "", "account", "passwd", "--help")
	if !strings.Contains(stdout, "--password-file FILE") {
		t.Errorf("help lost the value name of --password-file:\n%s", stdout)
	}
	// profile add without a name shows its usage line, exit 2.
	_, _, err = run(t, "", "profile", "add")
	if err == nil || !strings.Contains(err.Error(), "usage: cpctl profile add NAME --url URL") || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("profile add with no name: %v (exit %d)", err, cmdutil.ExitCode(err))
	}
	// The demo shows the password changes and the incident job.
	stdout, _, _ = run(t, "", "help")
	if !strings.Contains(stdout, "Change passwords, then rotate an account's after a compromise") {
		t.Errorf("cpctl help does not say what the demo shows:\n%s", stdout)
	}
	// A flag error is one line that says where to look.
	_, _, err = run(t, "", "account", "passwd", "--bogus")
	if err == nil || err.Error() != "unknown flag: --bogus; see 'cpctl account passwd --help'" {
		t.Errorf("unknown flag: %v", err)
	}
}

// --secrets-out - is refused in both modes, not a file named "-" (issue 15).
func TestSecretsOutDashRefused(t *testing.T) {
	for _, args := range [][]string{
		{"account", "passwd", "bob", "--generate", "--secrets-out", "-"},
		{"account", "passwd", "--from", "users.csv", "--generate", "--secrets-out", "-"},
	} {
		_, _, err := run(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), "--secrets-out needs a file name") || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("cpctl %q: %v", args, err)
		}
	}
}

// A secret typed as an API argument warns like --password, and a dry run
// redacts every parameter whose name says it is a secret (issue 15).
func TestAPIArgumentSecrets(t *testing.T) {
	const value = "Typed-Secret-8311"
	for _, key := range []string{"password", "pw_new", "credential", "new_passwd_confirm", "client_secret"} {
		stdout, stderr, err := run(t, "", "--dry-run", "whmapi1", "somefunc", "user=bob", key+"="+value)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if strings.Contains(stdout+stderr, value) {
			t.Errorf("%s: the dry run shows the value:\n%s\n%s", key, stdout, stderr)
		}
		if want := "cpctl: warning: " + key + "=VALUE is visible to other users in the process list"; !strings.Contains(stderr, want) {
			t.Errorf("%s: no warning %q:\n%s", key, want, stderr)
		}
	}
	_, stderr, _ := run(t, "", "--dry-run", "whmapi1", "somefunc", "user=bob", "db_pass_update=1")
	if strings.Contains(stderr, "warning") {
		t.Errorf("db_pass_update is not a secret:\n%s", stderr)
	}
}

// The error line keeps a server's or a certificate's text, escaped, on one
// line (issue 15).
func TestOneLineIsTerminalSafe(t *testing.T) {
	got := oneLine(errors.New("refused: \x1b]0;TITLE\x07\nFake\tline \u202egnp.exe"))
	if want := `refused: \x1b]0;TITLE\x07 Fake line \u202egnp.exe`; got != want {
		t.Errorf("oneLine = %q, want %q", got, want)
	}
}

// What a command line parses into, through the whole tree, without running
// the command: the profile after -vp is a profile wherever it is named like
// a command (issue 14).
func TestParsedOptions(t *testing.T) {
	tests := []struct {
		args                  []string
		kind                  passwd.Kind
		target, owner, prof   string
		stdin, generate, verb bool
	}{
		{[]string{"-vp", "ftp", "account", "passwd", "bob", "--password-stdin"}, passwd.Account, "bob", "", "ftp", true, false, true},
		{[]string{"-p", "email", "ftp", "passwd", "files", "--owner", "bob", "--generate"}, passwd.FTP, "files", "bob", "email", false, true, false},
		{[]string{"email", "passwd", "-vpftp", "info@bob.example", "--generate"}, passwd.Email, "info@bob.example", "", "ftp", false, true, true},
		{[]string{"--profile=account", "-v", "account", "passwd", "bob", "--generate"}, passwd.Account, "bob", "", "account", false, true, true},
	}
	for _, tt := range tests {
		ios, _, _, _ := cmdutil.Test()
		f := cmdutil.NewFactory(ios)
		f.DeferFlags()
		var got *passwd.Options
		cmd := newCmd(f, version.Info{}, runFuncs{passwd: func(o *passwd.Options) error { got = o; return nil }})
		if err := execute(context.Background(), f, cmd, tt.args); err != nil {
			t.Errorf("cpctl %q: %v", tt.args, err)
			continue
		}
		if got == nil || got.Kind != tt.kind || got.Target != tt.target || got.Owner != tt.owner ||
			got.Password.Stdin != tt.stdin || got.Password.Generate != tt.generate {
			t.Errorf("cpctl %q parsed into %+v", tt.args, got)
			continue
		}
		if p := f.Viper.GetString(cmdutil.KeyProfile); p != tt.prof || f.Verbose != tt.verb {
			t.Errorf("cpctl %q: profile %q, verbose %v; want %q, %v", tt.args, p, f.Verbose, tt.prof, tt.verb)
		}
	}
}

// journal verbs parse their argument and flag, in-process.
func TestParsedJournalOptions(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want journal.Options
	}{
		{[]string{"journal", "show", "run.journal"}, journal.Options{Verb: "show", Journal: "run.journal"}},
		{[]string{"-o", "json", "journal", "export", "j", "--secrets-out", "-"}, journal.Options{Verb: "export", Journal: "j", SecretsOut: "-"}},
	} {
		ios, _, _, _ := cmdutil.Test()
		var got journal.Options
		f := cmdutil.NewFactory(ios)
		f.DeferFlags()
		cmd := newCmd(f, version.Info{}, runFuncs{journal: func(o *journal.Options) error { got = *o; return nil }})
		err := execute(context.Background(), f, cmd, tt.args)
		if got.IO == nil || got.Printer == nil || got.OutputFormat == nil {
			t.Errorf("cpctl %q: the options lack the factory's streams or printer", tt.args)
		}
		same := got.Verb == tt.want.Verb && got.Journal == tt.want.Journal && got.SecretsOut == tt.want.SecretsOut && got.Undelivered == tt.want.Undelivered
		if err != nil || !same {
			t.Errorf("cpctl %q: %v, parsed into %+v, want %+v", tt.args, err, got, tt.want)
		}
	}
}

// Flags that exclude each other are a usage error (exit 2), not "refused".
func TestFlagGroupIsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"account", "passwd", "bob", "--generate", "--db-pass-update", "--no-db-pass-update"},
		{"account", "passwd", "--from", "a.csv", "--resume", "j"},
	} {
		_, _, err := run(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), "none of the others can be") || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("cpctl %q: %v (exit %d), want a usage error", args, err, cmdutil.ExitCode(err))
		}
	}
}

// TestFlagsDeclaredForTheCommandRun: in a tree built as Main builds it, the
// passwd commands' flags are declared for the command a line runs (after
// help or a completion request too), and only for it.
func TestFlagsDeclaredForTheCommandRun(t *testing.T) {
	lookup := func(root *cobra.Command, path ...string) *cobra.Command {
		t.Helper()
		c, _, err := root.Find(path)
		if err != nil || c.Name() != path[len(path)-1] {
			t.Fatalf("no command %v: %v", path, err)
		}
		return c
	}
	for _, tt := range []struct {
		args     []string
		want     string // in stdout
		declared []string
	}{
		{[]string{"version"}, "test", nil},
		{[]string{"help", "ftp", "passwd"}, "--owner USER", []string{"ftp"}},
		{[]string{"email", "passwd", "--help"}, "--password-stdin", []string{"email"}},
		{[]string{cobra.ShellCompNoDescRequestCmd, "account", "passwd", "--api", ""}, "whmapi0", []string{"account"}},
		{[]string{cobra.ShellCompNoDescRequestCmd, "rotate", "--ki"}, "--kinds", []string{"rotate"}},
	} {
		ios, _, out, _ := cmdutil.Test()
		f := cmdutil.NewFactory(ios)
		root := newLineCmd(f, version.Info{Version: "test"})
		if err := execute(context.Background(), f, root, tt.args); err != nil {
			t.Errorf("cpctl %q: %v", tt.args, err)
			continue
		}
		if !strings.Contains(out.String(), tt.want) {
			t.Errorf("cpctl %q printed %q, want %q in it", tt.args, out.String(), tt.want)
		}
		for _, noun := range []string{"account", "ftp", "email", "db", "webdisk", "rotate"} {
			path := []string{noun, "passwd"}
			if noun == "rotate" {
				path = path[:1]
			}
			declared := lookup(root, path...).Flags().Lookup("generate") != nil
			if want := slices.Contains(tt.declared, noun); declared != want {
				t.Errorf("cpctl %q: %v's flags declared: %v, want %v", tt.args, path, declared, want)
			}
		}
	}
	// Built otherwise (gen-docs, a command's own tests), every flag is
	// declared at once.
	ios, _, _, _ := cmdutil.Test()
	if lookup(NewCmd(cmdutil.NewFactory(ios), version.Info{}), "db", "passwd").Flags().Lookup("engine") == nil {
		t.Error("db passwd has no --engine in a tree built for documentation")
	}
}
