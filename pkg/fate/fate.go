// Package fate names what became of one password change, the one fact a bulk
// run's journal, its resume and its exit code all depend on. The state is
// decided where the server's reply is analysed (pkg/cpanel), recorded by the
// journal (pkg/batch), and mapped onto exit codes here, in one place.
package fate

// State is the fate of one change.
type State string

// The four states a change can end in.
const (
	// Applied: the server answered with the API's documented success marker.
	Applied State = "applied"
	// Refused: the server answered and did not apply the change (weak
	// password, unknown user, authentication refused). Final, but for a
	// refusal of the credentials (exit 3), which a bulk run's resume sends
	// again once they are fixed (pkg/batch).
	Refused State = "refused"
	// NotSent: the change failed before any byte of the request could have
	// been written (bad input, DNS, connect, TLS, pin, local checks). A resume
	// sends it.
	NotSent State = "not-sent"
	// Unknown: the request may have been written but no readable answer came
	// (connection lost, timeout, an unreadable or unrecognised reply). The
	// change may have been applied: a resume sends the same password again.
	Unknown State = "unknown"
)

// Valid reports whether s is one of the four states.
func (s State) Valid() bool {
	switch s {
	case Applied, Refused, NotSent, Unknown:
		return true
	}
	return false
}

// Final reports whether a change in this state is settled for good by its
// state alone: applied or refused. The others are sent again on resume, and
// so is a refusal of the credentials (pkg/batch's finalOutcome).
func (s State) Final() bool { return s == Applied || s == Refused }

// MaybeApplied reports whether the server may hold the new password although
// no success was seen.
func (s State) MaybeApplied() bool { return s == Unknown }

// Exit codes, as docs/scripting.md documents them; scripts depend on them.
const (
	ExitOK        = 0
	ExitRefused   = 1
	ExitUsage     = 2
	ExitAuth      = 3
	ExitTransport = 4
	ExitPartial   = 5
)

// ExitCode maps a single change's state onto the process exit code. auth
// distinguishes a refusal of the credentials (3) from a refusal of the change
// itself (1). NotSent is a usage-level failure (2) unless the cause was the
// network (4), which the caller says with network.
func ExitCode(s State, auth, network bool) int {
	switch s {
	case Applied:
		return ExitOK
	case Refused:
		if auth {
			return ExitAuth
		}
		return ExitRefused
	case NotSent:
		if auth {
			return ExitAuth
		}
		if network {
			return ExitTransport
		}
		return ExitUsage
	case Unknown:
		return ExitTransport
	}
	// A state nobody recognises may hide an applied change: fail closed.
	return ExitTransport
}

// Failures gathers the exit codes of the rows of a run that did not
// succeed, for the run's own exit code when none did: a run whose rows all
// failed for one reason exits with that reason's code, so that a script can
// tell "fix the input" (every row refused, 1) from "check the credentials"
// (3) and "retry later" (every row lost to the network or an unreadable
// reply, 4). Rows that failed for different reasons give ExitPartial. The
// zero value holds no code.
type Failures struct{ seen uint16 }

// Add records one row's exit code (ExitCode's). A code outside the table
// counts as ExitPartial.
func (f *Failures) Add(code int) {
	if code <= ExitOK || code > ExitPartial {
		code = ExitPartial
	}
	f.seen |= 1 << code
}

// ExitCode is the code every row added shares, ExitPartial when they
// differ, and ExitOK when none was added.
func (f Failures) ExitCode() int {
	if f.seen == 0 {
		return ExitOK
	}
	if f.seen&(f.seen-1) != 0 {
		return ExitPartial
	}
	for code := ExitRefused; code < ExitPartial; code++ {
		if f.seen == 1<<code {
			return code
		}
	}
	return ExitPartial
}
