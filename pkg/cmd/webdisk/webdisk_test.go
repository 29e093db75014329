package webdisk

import (
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
)

func TestParse(t *testing.T) {
	tests := []struct {
		args             []string
		login            string
		digest, noDigest bool
		wantErr          bool
	}{
		{[]string{"passwd", "dav@bob.example", "--generate"}, "dav@bob.example", false, false, false},
		{[]string{"passwd", "dav@bob.example", "--digest", "--password-stdin"}, "dav@bob.example", true, false, false},
		{[]string{"passwd", "dav@bob.example", "--no-digest"}, "dav@bob.example", false, true, false},
		{[]string{"passwd", "dav@bob.example", "--api", "cpapi2"}, "", false, false, true},
	}
	for _, tt := range tests {
		ios, _, _, _ := cmdutil.Test()
		var got *passwd.Options
		cmd := NewCmd(cmdutil.NewFactory(ios), func(o *passwd.Options) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		if tt.wantErr {
			if err == nil {
				t.Errorf("%q: want an error", tt.args)
			}
			continue
		}
		if err != nil || got.Kind != passwd.WebDisk || got.Target != tt.login || got.Digest != tt.digest || got.NoDigest != tt.noDigest {
			t.Errorf("%q: %v, parsed into %+v", tt.args, err, got)
		}
	}
}
