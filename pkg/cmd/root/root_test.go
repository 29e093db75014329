package root

import (
	"testing"

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
