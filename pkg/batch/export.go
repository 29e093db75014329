package batch

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// ExportSecrets writes, as CSV with a header row, the password the server now
// has for every row whose change succeeded: columns user,password
// (address,password for mail), then owner and profile when any row has one.
// The output is itself valid input for a later run. Records are streamed; only
// the passwords of rows sent but not yet answered are held in memory.
func ExportSecrets(journalPath string, w io.Writer) error {
	cw := csv.NewWriter(w)
	var st *journalState
	var withOwner, withProfile bool
	var werr error
	write := func(fields ...string) {
		if werr == nil {
			werr = cw.Write(fields)
		}
	}
	st, err := readStateBefore(journalPath, func(st *journalState, rec *record) error {
		switch rec.T {
		case recPlanned:
			withOwner, withProfile = st.hasOwner, st.hasProfile
			cols := []string{st.header.Kind.TargetColumn(), "password"}
			if withOwner {
				cols = append(cols, "owner")
			}
			if withProfile {
				cols = append(cols, "profile")
			}
			write(cols...)
		case recOutcome:
			s, ok := st.sent[rec.Seq]
			if !rec.OK || !ok {
				return nil // apply reports an outcome without an intent
			}
			fields := []string{rec.Target, s.password}
			if withOwner {
				fields = append(fields, rec.Owner)
			}
			if withProfile {
				fields = append(fields, rec.Profile)
			}
			write(fields...)
		}
		return werr
	})
	if err != nil {
		return err
	}
	if !st.planned {
		return fmt.Errorf("journal %s: the plan was never completed, so no password was sent", journalPath)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write secrets: %w", err)
	}
	return nil
}

// Failure is one row whose last outcome was a failure.
type Failure struct {
	Seq     int    `json:"seq" yaml:"seq"`
	Line    int    `json:"line" yaml:"line"`
	Target  string `json:"target" yaml:"target"`
	Owner   string `json:"owner,omitempty" yaml:"owner,omitempty"`
	Profile string `json:"profile,omitempty" yaml:"profile,omitempty"`
	Exit    int    `json:"exit" yaml:"exit"`
	Class   string `json:"class" yaml:"class"`
	Message string `json:"message" yaml:"message"`
	// Retry: the reply was lost (ExitTransport), so a resume sends the row
	// again with the same password.
	Retry bool `json:"retry" yaml:"retry"`
}

// Status is a journal's progress, without any secret.
type Status struct {
	Path    string    `json:"path" yaml:"path"`
	Kind    Kind      `json:"kind" yaml:"kind"`
	Version int       `json:"version" yaml:"version"`
	Created time.Time `json:"created" yaml:"created"`
	// Meta is the header's Meta without keys that look like they hold
	// secrets (password, token, hash, cookie, ...).
	Meta map[string]string `json:"meta" yaml:"meta"`
	// Planned is false when the input was never fully read: nothing was sent.
	Planned   bool      `json:"planned" yaml:"planned"`
	Total     int       `json:"total" yaml:"total"`
	Succeeded int       `json:"succeeded" yaml:"succeeded"`
	Failed    int       `json:"failed" yaml:"failed"`
	Pending   int       `json:"pending" yaml:"pending"`     // rows without a final outcome
	InFlight  int       `json:"in_flight" yaml:"in_flight"` // rows sent when the run stopped, awaiting their answer
	Failures  []Failure `json:"failures" yaml:"failures"`
}

// Show reads a journal's progress without changing it; a run may be going on.
func Show(journalPath string) (Status, error) {
	failures := map[int]Failure{}
	st, err := readStateBefore(journalPath, func(_ *journalState, rec *record) error {
		if rec.T != recOutcome {
			return nil
		}
		if rec.OK {
			delete(failures, rec.Seq)
			return nil
		}
		o := rec.outcome()
		failures[rec.Seq] = Failure{Seq: rec.Seq, Line: rec.Line, Target: rec.Target, Owner: rec.Owner, Profile: rec.Profile,
			Exit: rec.Exit, Class: rec.Class, Message: rec.Msg, Retry: o.uncertain()}
		return nil
	})
	if err != nil {
		return Status{}, err
	}
	s := Status{Path: journalPath, Kind: st.header.Kind, Version: st.header.Version, Created: st.header.Created,
		Meta: publicMeta(st.header.Meta), Planned: st.planned, Total: st.total, Succeeded: st.succeeded, Failed: st.failed}
	if !st.planned {
		s.Total = st.rowsSeen
	}
	s.Pending = s.Total - s.Succeeded - s.Failed
	for _, v := range st.sent {
		if !v.uncertain {
			s.InFlight++
		}
	}
	for _, f := range failures {
		s.Failures = append(s.Failures, f)
	}
	sort.Slice(s.Failures, func(i, j int) bool { return s.Failures[i].Seq < s.Failures[j].Seq })
	if s.Failures == nil {
		s.Failures = []Failure{} // a list in JSON, never null
	}
	return s, nil
}

// secretWords mark Meta keys that Show leaves out, in case a caller put a
// credential there.
var secretWords = []string{"pass", "token", "secret", "hash", "cookie", "session", "cpsess", "otp", "key", "credential"}

// publicKeys are Meta keys known to hold settings, not secrets, although
// their names contain one of secretWords.
var publicKeys = map[string]bool{"db-pass-update": true, "secrets-out": true}

func publicMeta(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		lk := strings.ToLower(k)
		secret := false
		if publicKeys[lk] {
			out[k] = v
			continue
		}
		for _, w := range secretWords {
			if strings.Contains(lk, w) {
				secret = true
				break
			}
		}
		if !secret {
			out[k] = v
		}
	}
	return out
}
