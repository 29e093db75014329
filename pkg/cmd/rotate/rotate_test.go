package rotate

import (
	"slices"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
)

// What a rotate command line parses into, in-process, and the usage
// errors that stop it before anything is listed.
func TestParse(t *testing.T) {
	tests := []struct {
		args     []string
		owner    string
		all      bool
		kinds    []passwd.Kind
		given    bool
		match    []string
		generate bool
		err      string
	}{
		{args: []string{"--owner", "bob"}, owner: "bob", generate: true},
		{args: []string{"--all", "--kinds", "email, FTP,account", "--match", "*@bob.example", "--match", "bob"}, all: true,
			kinds: []passwd.Kind{passwd.Account, passwd.FTP, passwd.Email}, given: true, match: []string{"*@bob.example", "bob"}, generate: true},
		{args: []string{"--owner", "bob", "--kinds", "all"}, owner: "bob", kinds: passwd.RotationOrder, given: true, generate: true},
		{args: []string{"--owner", "bob", "--generate"}, owner: "bob", generate: true},
		{args: []string{"--owner", "bob", "--kinds", "ssh"}, err: `--kinds: unknown kind "ssh"`},
		{args: []string{"--owner", "bob", "--kinds", ","}, err: "--kinds: name at least one kind"},
		{args: []string{"--owner", "bob", "--all"}, err: "none of the others can be"},
		{args: []string{"--owner", "bob", "--generate=false"}, err: "--generate=false does not apply"},
		{args: []string{"bob"}, err: `unknown command "bob"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ios, _, _, _ := cmdutil.Test()
			var got *passwd.Options
			cmd := NewCmd(cmdutil.NewFactory(ios), func(o *passwd.Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != passwd.Mixed || got.Owner != tt.owner || got.Select.All != tt.all || !slices.Equal(got.Select.Kinds, tt.kinds) ||
				got.Select.KindsGiven != tt.given || !slices.Equal(got.Select.Match, tt.match) || got.Password.Generate != tt.generate {
				t.Errorf("parsed into %+v", got)
			}
		})
	}
}
