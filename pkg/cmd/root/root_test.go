package root

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/version"
)

func TestCommandNamed(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	f := cmdutil.NewFactory(ios)
	root := newRoot(f, version.Info{})
	names := []string{"account", "ftp", "email", "profile", "version"}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"account", "passwd", "bob"}, "account"},
		{[]string{"-p", "ftp", "account", "passwd"}, "account"},
		{[]string{"--profile", "email", "-o", "json", "ftp", "passwd"}, "ftp"},
		{[]string{"--profile=ftp", "email", "passwd"}, "email"},
		{[]string{"--dry-run", "-v", "account", "passwd"}, "account"},
		{[]string{"--help"}, ""},
		{[]string{}, ""},
		{[]string{"help", "account"}, ""},
		{[]string{"__complete", "account", ""}, ""},
		{[]string{"acount"}, ""},
		{[]string{"--", "account"}, ""},
	}
	for _, tt := range tests {
		if got := commandNamed(root, names, tt.args); got != tt.want {
			t.Errorf("commandNamed(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

// The lazy tree must give the same command as the whole tree.
func TestLazyTreeRunsTheSameCommand(t *testing.T) {
	for _, args := range [][]string{{"account", "passwd", "--help"}, {"version"}, {"-o", "json", "profile", "list"}} {
		ios, _, _, _ := cmdutil.Test()
		lazy := newCmdFor(cmdutil.NewFactory(ios), version.Info{}, args)
		full := NewCmd(cmdutil.NewFactory(ios), version.Info{})
		lc, _, err := lazy.Find(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		fc, _, _ := full.Find(args)
		if lc.CommandPath() != fc.CommandPath() {
			t.Errorf("%q: lazy %q, full %q", args, lc.CommandPath(), fc.CommandPath())
		}
		if len(lazy.Commands()) >= len(full.Commands()) {
			t.Errorf("%q: the lazy tree built every command", args)
		}
	}
}

// TestRootHelpStubsMatch holds root help, built from stubs, to the help the
// whole tree prints, and every stub to the command it stands for.
func TestRootHelpStubsMatch(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	f := cmdutil.NewFactory(ios)
	for _, sc := range subcommands(f, version.Info{}) {
		c := sc.build()[0]
		if c.Name() != sc.name || c.Short != sc.short || c.Hidden || !c.IsAvailableCommand() {
			t.Errorf("stub %q %q does not match the command %q %q (hidden %v)", sc.name, sc.short, c.Name(), c.Short, c.Hidden)
		}
	}
	help := func(cmd *cobra.Command, args []string, out *bytes.Buffer) string {
		t.Helper()
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		return out.String()
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {}} {
		ios1, _, out1, _ := cmdutil.Test()
		stubbed := newCmdFor(cmdutil.NewFactory(ios1), version.Info{}, args)
		if !isRootHelp(args) || len(stubbed.Commands()) == 0 || stubbed.Commands()[0].HasSubCommands() {
			t.Fatalf("%q: root help did not use stubs", args)
		}
		got := help(stubbed, args, out1)
		ios2, _, out2, _ := cmdutil.Test()
		want := help(NewCmd(cmdutil.NewFactory(ios2), version.Info{}), args, out2)
		if got != want || !strings.Contains(got, "account     cPanel account passwords") {
			t.Errorf("%q: root help from stubs differs from the whole tree's:\n%s\n---\n%s", args, got, want)
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

// TestCompletionCommandOnlyWhenReachable: cobra's completion command is left
// out when the command line names another command, and still works when it
// is asked for (the lazy tree must not lose it).
func TestCompletionCommandOnlyWhenReachable(t *testing.T) {
	ios, _, out, _ := cmdutil.Test()
	cmd := newCmdFor(cmdutil.NewFactory(ios), version.Info{}, []string{"completion", "bash"})
	cmd.SetArgs([]string{"completion", "bash"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "bash completion") || !strings.Contains(out.String(), "cpctl") {
		t.Errorf("cpctl completion bash wrote no bash completion script: %.200q", out.String())
	}

	ios2, _, _, _ := cmdutil.Test()
	named := newCmdFor(cmdutil.NewFactory(ios2), version.Info{}, []string{"version"})
	named.SetArgs([]string{"version"})
	if err := named.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, c := range named.Commands() {
		if c.Name() == "completion" {
			t.Error("cpctl version built cobra's completion command")
		}
	}
}
