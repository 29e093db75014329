package passwd

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/fate"
)

// TestFailOutcomeState checks the bulk executor's stand-in for
// cpanel.StateOf: only a server's refusal is final, an unclassified error
// after sending may hide an applied change, and nothing before sending is.
func TestFailOutcomeState(t *testing.T) {
	refused := &cpanel.Error{Kind: cpanel.ErrRefused, Reason: "weak"}
	auth := &cpanel.Error{Kind: cpanel.ErrAuth, Reason: "Access denied"}
	lost := &cpanel.Error{Kind: cpanel.ErrTransport, Reason: "connection reset"}
	tests := []struct {
		name  string
		err   error
		sent  bool
		state fate.State
		exit  int
	}{
		{"refused", refused, true, fate.Refused, 1},
		{"refused, wrapped", fmt.Errorf("row: %w", refused), true, fate.Refused, 1},
		{"auth refused", auth, true, fate.Refused, 3},
		{"reply lost", lost, true, fate.Unknown, 4},
		{"unclassified after sending", errors.New("something odd"), true, fate.Unknown, 4},
		{"usage error while sending", cmdutil.Usagef("bad option"), true, fate.NotSent, 2},
		{"profile unusable", errors.New("no such profile"), false, fate.NotSent, 2},
		{"login failed on the network", lost, false, fate.NotSent, 4},
		{"login refused", auth, false, fate.NotSent, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := failOutcome(tt.err, tt.sent)
			if o.State != tt.state || o.ExitCode() != tt.exit {
				t.Errorf("state %s exit %d, want %s %d", o.State, o.ExitCode(), tt.state, tt.exit)
			}
		})
	}
}
