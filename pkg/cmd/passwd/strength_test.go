package passwd

import (
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
)

// TestCheckStrengthUsesDictionary checks that the local pre-check refuses
// what a server's dictionary step refuses (a common password, the user's own
// name dressed up), not only what the length-and-classes estimate refuses.
func TestCheckStrengthUsesDictionary(t *testing.T) {
	tests := []struct {
		password, user string
		refused        bool
	}{
		{"password1", "bob", true},         // in every common-passwords list; a server scores it 1
		{"Bobby2024!", "bobby", true},      // the user's own name with digits and a symbol
		{"vT7#qLz9!mWx2$Rk", "bob", false}, // random: passes a minimum of 50
	}
	for _, tt := range tests {
		p := &plan{kind: Account, user: tt.user}
		err := checkStrength(&Options{Kind: Account}, p, tt.password, 50)
		if (err != nil) != tt.refused {
			t.Errorf("%q for %s: err=%v, want refused=%v", tt.password, tt.user, err, tt.refused)
		}
		if err != nil && !strings.Contains(err.Error(), "nothing was sent") {
			t.Errorf("refusal should say nothing was sent: %v", err)
		}
	}
}

// The refusal and the --force warning name the kind of password in words,
// not the server's class of minimum ("for passwd passwords").
func TestCheckStrengthNamesTheKind(t *testing.T) {
	tests := []struct {
		kind Kind
		want string
	}{
		{Account, "account passwords"},
		{FTP, "FTP passwords"},
		{Email, "mail passwords"},
		{WebDisk, "Web Disk passwords"},
		{MySQL, "MySQL passwords"},
		{PostgreSQL, "PostgreSQL passwords"},
	}
	for _, tt := range tests {
		p := &plan{kind: tt.kind, user: "bob"}
		err := checkStrength(&Options{Kind: tt.kind}, p, "abc", 50)
		want := "the new password scores 1, below the server's minimum of 50 for " + tt.want +
			"; nothing was sent (use a stronger one, --generate, or --force to send it anyway)"
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", tt.kind, err, want)
		}
		ios, _, _, errOut := cmdutil.Test()
		o := &Options{Kind: tt.kind, Force: true}
		o.IO = ios
		if err := checkStrength(o, p, "abc", 50); err != nil {
			t.Fatal(err)
		}
		if want := "cpctl: warning: the password scores 1, below the server's minimum of 50 for " + tt.want + "; sending it anyway (--force)\n"; errOut.String() != want {
			t.Errorf("%s: warned %q, want %q", tt.kind, errOut, want)
		}
	}
}
