package root

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/version"
)

// execute runs a command line in-process as Main would, on a config file
// holding profiles named like commands (ftp, email), and returns stdout,
// stderr and the error.
func execute(t *testing.T, stdin string, args ...string) (string, string, error) {
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
	cmd := NewCmd(cmdutil.NewFactory(ios), version.Info{Version: "test"})
	setArgs(cmd, args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

// A profile named like a command, after combined shorthands (-vp), is the
// profile's name, not the command (issue 14).
func TestProfileNamedLikeACommand(t *testing.T) {
	stdout, stderr, err := execute(t, "N3w-Pa55!word-for-2026\n", "-vp", "ftp", "--dry-run", "account", "passwd", "bob", "--password-stdin")
	if err != nil {
		t.Fatalf("cpctl -vp ftp --dry-run account passwd bob --password-stdin: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout+stderr, "ftp.example.test") || strings.Contains(stdout+stderr, "N3w-Pa55") {
		t.Errorf("the dry run did not go to profile ftp's server, or showed the password:\n%s\n%s", stdout, stderr)
	}

	stdout, _, err = execute(t, "", "-vp", "ftp", "account", "passwd", "--help")
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
	stdout, _, err := execute(t, "", "completion", "bash")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "bash completion") || !strings.Contains(stdout, "cpctl") {
		t.Errorf("cpctl completion bash wrote no bash completion script: %.200q", stdout)
	}
}
