package profile

import (
	"slices"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
)

// TestParse runs profile command lines in-process through runF: what each
// verb parsed into, and the usage errors that stop it before it runs.
func TestParse(t *testing.T) {
	tests := []struct {
		args  []string
		verb  string
		name  []string
		check func(*testing.T, addOptions)
		usage bool // a usage error before runF
	}{
		{args: []string{"add", "prod", "--token-command", "pass show whm/prod", "--use"}, verb: "add", name: []string{"prod"},
			check: func(t *testing.T, o addOptions) {
				if o.tokenCommand != "pass show whm/prod" || !o.use || o.tokenStdin {
					t.Errorf("add options: %+v", o)
				}
			}},
		{args: []string{"add", "shop", "--token-stdin", "--skip-check", "--replace"}, verb: "add", name: []string{"shop"},
			check: func(t *testing.T, o addOptions) {
				if !o.tokenStdin || !o.skipCheck || !o.replace {
					t.Errorf("add options: %+v", o)
				}
			}},
		{args: []string{"ls"}, verb: "list"},
		{args: []string{"show"}, verb: "show"},
		{args: []string{"show", "prod"}, verb: "show", name: []string{"prod"}},
		{args: []string{"use", "prod"}, verb: "use", name: []string{"prod"}},
		{args: []string{"remove", "prod"}, verb: "remove", name: []string{"prod"}},
		{args: []string{"test"}, verb: "test"},
		{args: []string{"add"}, usage: true},                                               // no name
		{args: []string{"add", "x", "--token-stdin", "--token-command", "c"}, usage: true}, // exclusive secrets
		{args: []string{"use"}, usage: true},
		{args: []string{"list", "extra"}, usage: true},
	}
	for _, tt := range tests {
		t.Run(tt.args[0]+"/"+tt.verb, func(t *testing.T) {
			ios, _, _, _ := cmdutil.Test()
			var got *Invocation
			cmd := NewCmd(cmdutil.NewIsolatedFactory(ios), func(inv *Invocation) error {
				got = inv
				return nil
			})
			cmd.SetArgs(tt.args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.usage {
				if err == nil || got != nil {
					t.Fatalf("%q: want a usage error before running, got err=%v run=%v", tt.args, err, got != nil)
				}
				return
			}
			if err != nil || got == nil {
				t.Fatalf("%q: err=%v, ran=%v", tt.args, err, got != nil)
			}
			if got.Verb != tt.verb || !slices.Equal(got.Args, tt.name) && len(got.Args)+len(tt.name) > 0 {
				t.Errorf("%q: parsed %s %q, want %s %q", tt.args, got.Verb, got.Args, tt.verb, tt.name)
			}
			if tt.check != nil {
				tt.check(t, got.add)
			}
		})
	}
}
