package batch

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/cpctl/cpctl/pkg/fate"
)

// ErrIncomplete says that a journal still has rows without a final outcome
// (never sent, in flight, reply lost, failed locally): the passwords of some
// accounts are not known yet, and a resume is needed to learn them.
// ExportSecrets returns an error that is it (errors.Is), with the count, after writing the rows
// that are known; WriteSecretsFile refuses to write anything.
var ErrIncomplete = errors.New("the journal has rows without a final outcome")

// ExportSecrets writes, as CSV with a header row, the password the server now
// has for every row whose change succeeded: columns user,password
// (address,password for mail), then owner and profile when any row has one.
// A row's owner is its own, else the one found when it was changed.
// The output is itself valid input for a later run. Records are streamed; only
// the passwords of rows sent but not yet answered are held in memory.
//
// When some rows are not final (a password may be on the server but is not
// confirmed), the confirmed rows are still written and the error wraps
// ErrIncomplete: callers should warn that the export is partial.
func ExportSecrets(journalPath string, w io.Writer) error {
	return exportSecrets(journalPath, w, false)
}

// ExportUndelivered is ExportSecrets for the applied rows that are owed a
// delivery (RunConfig.Deliver): the passwords the servers have and their
// secrets command has not received, say to store them by other means. It
// writes the header row only for a journal that does not deliver. Like
// ExportSecrets, it wraps ErrIncomplete while some rows are not final.
func ExportUndelivered(journalPath string, w io.Writer) error {
	return exportSecrets(journalPath, w, true)
}

// exportSecrets writes the applied rows, only those owed a delivery when
// undelivered is set. A first read of the journal decides the columns: an
// owner found shows only in outcomes, after the header row is due.
func exportSecrets(journalPath string, w io.Writer, undelivered bool) error {
	pre, err := readStateBefore(journalPath, func(*journalState, *record) error { return nil })
	if err != nil {
		return err
	}
	keep := func(int) bool { return true }
	if undelivered {
		keep = func(seq int) bool {
			state, owed := pre.undelivered(seq)
			return pre.deliver && owed && state == fate.Applied
		}
	}
	cw := csv.NewWriter(w)
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
			withOwner, withProfile = pre.hasOwner, st.hasProfile
			cols := []string{st.header.Kind.TargetColumn(), "password"}
			if st.header.Kind == KindMixed {
				cols = append([]string{"kind"}, cols...) // a mixed run's rows name their kind first
			}
			if withOwner {
				cols = append(cols, "owner")
			}
			if withProfile {
				cols = append(cols, "profile")
			}
			write(cols...)
		case recOutcome:
			s, ok := st.sent[rec.Seq]
			if !rec.outcome().OK() || !ok {
				return nil // apply reports an outcome without an intent
			}
			if !keep(rec.Seq) {
				return nil
			}
			fields := []string{rec.Target, s.password}
			if st.header.Kind == KindMixed {
				fields = append([]string{rec.Kind}, fields...)
			}
			if withOwner {
				fields = append(fields, rec.owner())
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
	return incomplete(journalPath, st)
}

func incomplete(journalPath string, st *journalState) error {
	if n := st.total - st.succeeded - st.failed; n > 0 {
		return &incompleteError{path: journalPath, n: n}
	}
	return nil
}

// incompleteError is ErrIncomplete with the journal and its count of rows
// not final. Its text says so once ("journal J: 2 rows are not final yet"):
// the caller, which knows the command that resumes the journal, says what
// to do.
type incompleteError struct {
	path string
	n    int
}

func (e *incompleteError) Error() string {
	if e.n == 1 {
		return fmt.Sprintf("journal %s: 1 row is not final yet", e.path)
	}
	return fmt.Sprintf("journal %s: %d rows are not final yet", e.path, e.n)
}

// Is makes errors.Is(err, ErrIncomplete) hold.
func (e *incompleteError) Is(target error) bool { return target == ErrIncomplete }

// exportAsidePrefix names the files WriteSecretsFile writes before linking
// them into place.
func exportAsidePrefix(path string) string { return filepath.Base(path) + ".export-" }

// WriteSecretsFile writes ExportSecrets' CSV to a new file at path (mode 0600),
// only when every row of the journal is final; otherwise it returns
// ErrIncomplete and creates nothing. The file is written aside, synced and
// linked into place, so path is either absent or complete; an existing path
// is never replaced.
func WriteSecretsFile(journalPath, path string) (err error) {
	st, err := readStateBefore(journalPath, func(*journalState, *record) error { return nil })
	if err != nil {
		return err
	}
	if !st.planned {
		return fmt.Errorf("journal %s: the plan was never completed, so no password was sent", journalPath)
	}
	if err := incomplete(journalPath, st); err != nil {
		return err
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s already exists: choose another name", path)
	}
	dir := filepath.Dir(path)
	prefix := exportAsidePrefix(path)
	removeStaleAside(dir, func(name string) bool { return strings.HasPrefix(name, prefix) }, nil)
	f, err := os.CreateTemp(dir, exportAsidePrefix(path)+"*")
	if err != nil {
		return fmt.Errorf("create secrets file: %w", err)
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if !closed {
			f.Close()
		}
		_ = os.Remove(tmp) // gone already after success; after a failure, the next run removes it
	}()
	// CreateTemp already uses 0600; the chmod guards against a future change.
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("create secrets file: %w", err)
	}
	if err := lockFile(f); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := ExportSecrets(journalPath, bw); err != nil {
		return err // ErrIncomplete here means a run started meanwhile
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write secrets file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync secrets file: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists: choose another name", path)
		}
		return fmt.Errorf("create secrets file: %w", err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return fmt.Errorf("close secrets file: %w", err)
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("remove %s: %w", tmp, err)
	}
	return syncDir(dir)
}

// RowRef names a row of a journal in what Show lists, without its password.
type RowRef struct {
	Seq     int    `json:"seq" yaml:"seq"`
	Line    int    `json:"line" yaml:"line"`
	Target  string `json:"target" yaml:"target"`
	Owner   string `json:"owner,omitempty" yaml:"owner,omitempty"`
	Profile string `json:"profile,omitempty" yaml:"profile,omitempty"`
	// Kind is the row's own kind, in a mixed run only.
	Kind Kind `json:"kind,omitempty" yaml:"kind,omitempty"`
}

// Failure is one row whose last outcome was a failure.
type Failure struct {
	RowRef `yaml:",inline"`
	// State is the last attempt's: refused, not-sent or unknown.
	State   fate.State `json:"state" yaml:"state"`
	Exit    int        `json:"exit" yaml:"exit"`
	Class   string     `json:"class" yaml:"class"`
	Message string     `json:"message" yaml:"message"`
	// Retry: the row is not final, so a resume sends it again with the
	// same password: a reply was lost (unknown, now or in an earlier
	// attempt) or it was not sent. Such rows count as Pending, not Failed.
	Retry bool `json:"retry" yaml:"retry"`
	// MaybeApplied: an attempt's reply was lost, so the server may already
	// have the row's password, whatever later attempts said.
	MaybeApplied bool `json:"maybe_applied" yaml:"maybe_applied"`
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
	// InUse says that a run (or a resume) held the journal while it was
	// read: the run was still going, the counts are a snapshot of it, and a
	// resume would be refused until it ends. Always false where journals
	// cannot be locked (see InUse).
	InUse bool `json:"in_use" yaml:"in_use"`
	// Planned is false when the input was never fully read: nothing was sent.
	Planned   bool `json:"planned" yaml:"planned"`
	Total     int  `json:"total" yaml:"total"`
	Succeeded int  `json:"succeeded" yaml:"succeeded"`
	Failed    int  `json:"failed" yaml:"failed"`   // final failures only
	Pending   int  `json:"pending" yaml:"pending"` // rows without a final outcome, Retry ones included
	// InFlight counts rows whose request may have been written when the run
	// stopped, with no answer recorded (a crash, or a journal of format 1,
	// which did not record rows an interrupted run never sent). After a
	// Ctrl-C it is 0: rows in flight finish and are recorded, and the rest
	// are recorded as not sent. While InUse it counts the rows whose intent
	// is written and that have no answer yet: being sent, or queued to be
	// sent, since a run writes the intents of its rows ahead of sending
	// them, a batch at a time (readAhead). So it may exceed the run's
	// concurrency.
	InFlight int       `json:"in_flight" yaml:"in_flight"`
	Failures []Failure `json:"failures" yaml:"failures"`

	// Delivery says the journal's changed rows are delivered to a command
	// (cpctl's --secrets-command): a run or resume was given one.
	Delivery bool `json:"delivery" yaml:"delivery"`
	// Delivered counts the rows owed nothing more: delivered as applied,
	// or as maybe applied while no attempt is applied yet.
	Delivered int `json:"delivered" yaml:"delivered"`
	// Undelivered counts the rows owed a delivery, listed in
	// UndeliveredRows: a resume delivers them (again: at least once).
	Undelivered     int           `json:"undelivered" yaml:"undelivered"`
	UndeliveredRows []Undelivered `json:"undelivered_rows" yaml:"undelivered_rows"`
}

// Undelivered is one row owed a delivery.
type Undelivered struct {
	RowRef `yaml:",inline"`
	// State is the row's: applied, or unknown (the server may have the
	// password: a reply was lost).
	State fate.State `json:"state" yaml:"state"`
	// Message is why the last delivery failed; "" when none was tried
	// (the run stopped or crashed first).
	Message string `json:"message" yaml:"message"`
}

// Show reads a journal's progress without changing it; a run may be going
// on, and Status.InUse says so.
func Show(journalPath string) (Status, error) {
	// The lock is probed before the journal is read and again after it: a
	// run that ends while it is read leaves a snapshot of its middle, and
	// one that starts would refuse a resume.
	inUse, err := InUse(journalPath)
	if err != nil {
		return Status{}, err
	}
	failures := map[int]Failure{}
	st, err := readStateBefore(journalPath, func(st *journalState, rec *record) error {
		if rec.T != recOutcome {
			return nil
		}
		o := rec.outcome()
		if o.OK() {
			delete(failures, rec.Seq)
			return nil
		}
		if o.State == fate.NotSent && rec.Class == classInterrupted {
			return nil // pending, not failed: the run stopped before sending it
		}
		// Called before apply, so st.sent still says whether an earlier
		// attempt was lost.
		prev := st.sent[rec.Seq]
		kind, _ := ParseKind(rec.Kind) // "" (0) outside a mixed run
		failures[rec.Seq] = Failure{RowRef: RowRef{Seq: rec.Seq, Line: rec.Line, Target: rec.Target, Owner: rec.owner(), Profile: rec.Profile, Kind: kind},
			State: o.State, Exit: o.ExitCode(), Class: rec.Class, Message: rec.Msg,
			Retry: !finalOutcome(o, prev.uncertain), MaybeApplied: prev.uncertain || o.State.MaybeApplied()}
		return nil
	})
	if err != nil {
		return Status{}, err
	}
	s := Status{Path: journalPath, Kind: st.header.Kind, Version: st.header.Version, Created: st.header.Created,
		Meta: publicMeta(st.header.Meta), InUse: inUse, Planned: st.planned, Total: st.total, Succeeded: st.succeeded, Failed: st.failed}
	if !st.planned {
		s.Total = st.rowsSeen
	}
	s.Pending = s.Total - s.Succeeded - s.Failed
	for _, v := range st.sent {
		if !v.answered {
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
	s.UndeliveredRows = []Undelivered{}
	if st.deliver {
		s.Delivery = true
		if err := listUndelivered(journalPath, st, &s); err != nil {
			return Status{}, err
		}
	}
	if !s.InUse {
		// Read already: a journal removed meanwhile is held by no run a
		// resume could wait for.
		s.InUse, _ = InUse(journalPath)
	}
	return s, nil
}

// listUndelivered fills the delivery counts and, in a second read of the
// journal, the rows owed a delivery (their fields from their last outcome,
// the message from their last failed delivery).
func listUndelivered(journalPath string, st *journalState, s *Status) error {
	rows := map[int]*Undelivered{}
	for seq := 1; seq <= st.total; seq++ {
		state, owed := st.undelivered(seq)
		switch {
		case owed:
			rows[seq] = &Undelivered{RowRef: RowRef{Seq: seq}, State: state}
		case st.deliveredAny.has(seq):
			s.Delivered++
		}
	}
	s.Undelivered = len(rows)
	if len(rows) == 0 {
		return nil
	}
	_, err := readStateBefore(journalPath, func(_ *journalState, rec *record) error {
		u := rows[rec.Seq]
		switch {
		case u == nil:
		case rec.T == recRow || rec.T == recOutcome:
			row := rec.row()
			u.Line, u.Target, u.Owner, u.Profile, u.Kind = row.Line, row.Target, rec.owner(), row.Profile, row.Kind
		case rec.T == recDeliveryFailed:
			u.Message = rec.Msg
		}
		return nil
	})
	if err != nil {
		return err
	}
	for seq := 1; seq <= st.total; seq++ {
		if u := rows[seq]; u != nil {
			s.UndeliveredRows = append(s.UndeliveredRows, *u)
		}
	}
	return nil
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
