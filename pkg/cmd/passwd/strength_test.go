package passwd

import (
	"strings"
	"testing"
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
