package batch

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cpctl/cpctl/pkg/fate"
)

// journalVersion is the "v" of the header record; readers refuse newer ones.
// Version 2 records each outcome's state; version 1 journals (whose outcomes
// say only ok and an exit code) are still read and resumed. Version 3 adds
// the delivery records (deliver, delivered, delivery-failed), which a
// version-2 reader would take for damage; journals of versions 1 and 2 are
// still read, resumed and delivered.
const journalVersion = 3

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Record types, the "t" field of every journal line.
const (
	recHeader  = "header"
	recRow     = "row"
	recPlanned = "planned"
	recIntent  = "intent"
	recOutcome = "outcome"
	// Delivery (format 3): deliver marks a journal whose changed rows are
	// handed to a command from then on; delivered and delivery-failed
	// record each try.
	recDeliver        = "deliver"
	recDelivered      = "delivered"
	recDeliveryFailed = "delivery-failed"
)

// The write-side shapes keep "t" first and say ok:false explicitly, so that a
// person reading a journal after a disaster sees plain facts.
type headerRec struct {
	T       string            `json:"t"`
	V       int               `json:"v"`
	Kind    string            `json:"kind"`
	Created string            `json:"created"`
	Meta    map[string]string `json:"meta,omitempty"`
}

type rowRec struct {
	T        string `json:"t"`
	Seq      int    `json:"seq"`
	Line     int    `json:"line"`
	Target   string `json:"target"`
	Owner    string `json:"owner,omitempty"`
	Profile  string `json:"profile,omitempty"`
	Password string `json:"password,omitempty"`
	Kind     string `json:"kind,omitempty"`   // a mixed run's rows only
	Source   string `json:"source,omitempty"` // selected rows only
}

type plannedRec struct {
	T    string `json:"t"`
	Rows int    `json:"rows"`
}

type intentRec struct {
	T        string `json:"t"`
	Seq      int    `json:"seq"`
	Attempt  int    `json:"attempt"`
	Password string `json:"password"`
	At       string `json:"at"`
}

type outcomeRec struct {
	T        string   `json:"t"`
	Seq      int      `json:"seq"`
	Line     int      `json:"line"`
	Target   string   `json:"target"`
	Owner    string   `json:"owner,omitempty"`
	Profile  string   `json:"profile,omitempty"`
	Attempt  int      `json:"attempt"`
	State    string   `json:"state"`
	Auth     bool     `json:"auth,omitempty"`
	Network  bool     `json:"network,omitempty"`
	OK       bool     `json:"ok"`   // derived from state, for people reading the journal
	Exit     int      `json:"exit"` // derived from state, auth and network, likewise
	Class    string   `json:"class,omitempty"`
	Msg      string   `json:"msg,omitempty"`
	Services []string `json:"services,omitempty"`
	Verified *bool    `json:"verified,omitempty"`
	At       string   `json:"at"`
	Kind     string   `json:"kind,omitempty"` // a mixed run's rows only
	// FoundOwner is Outcome.Owner: the owner found for a row that named
	// none. Journals written before it read as having found none.
	FoundOwner string `json:"found_owner,omitempty"`
}

type deliverRec struct {
	T  string `json:"t"`
	At string `json:"at"`
}

// deliveryRec is a delivered or a delivery-failed record. State is the
// row's as delivered: applied, or unknown (maybe applied).
type deliveryRec struct {
	T       string `json:"t"`
	Seq     int    `json:"seq"`
	Target  string `json:"target"`
	Attempt int    `json:"attempt"`
	State   string `json:"state"`
	Msg     string `json:"msg,omitempty"`
	At      string `json:"at"`
}

// record is the read-side union of every record type.
type record struct {
	T        string            `json:"t"`
	V        int               `json:"v"`
	Kind     string            `json:"kind"`
	Created  string            `json:"created"`
	Meta     map[string]string `json:"meta"`
	Rows     int               `json:"rows"`
	Seq      int               `json:"seq"`
	Line     int               `json:"line"`
	Target   string            `json:"target"`
	Owner    string            `json:"owner"`
	Profile  string            `json:"profile"`
	Password string            `json:"password"`
	Attempt  int               `json:"attempt"`
	State    string            `json:"state"`
	Auth     bool              `json:"auth"`
	Network  bool              `json:"network"`
	OK       bool              `json:"ok"`
	Exit     int               `json:"exit"`
	Class    string            `json:"class"`
	Msg      string            `json:"msg"`
	Services []string          `json:"services"`
	Verified *bool             `json:"verified"`
	At       string            `json:"at"`
	Source   string            `json:"source"`
	// FoundOwner: an outcome's owner found (outcomeRec).
	FoundOwner string `json:"found_owner"`
}

// owner is the owner a row or outcome record names: the row's own, else the
// one found when the change was made.
func (r *record) owner() string {
	if r.Owner != "" {
		return r.Owner
	}
	return r.FoundOwner
}

// row reads a row record; its kind (a mixed run's) was checked by apply.
func (r *record) row() Row {
	row := Row{Seq: r.Seq, Line: r.Line, Target: r.Target, Owner: r.Owner, Password: r.Password, Profile: r.Profile, Source: r.Source}
	if r.Kind != "" {
		row.Kind, _ = ParseKind(r.Kind)
	}
	return row
}

// kindName is a row's kind as its records write it: only a mixed run's
// rows have one.
func kindName(k Kind) string {
	if k == 0 {
		return ""
	}
	return k.String()
}

// outcome reads an outcome record. The state decides; a record without one
// (format 1) is read by its ok and exit code, as the release that wrote it
// did. A state this build does not know may hide an applied change, so it
// reads as unknown.
func (r *record) outcome() Outcome {
	o := Outcome{State: fate.State(r.State), Auth: r.Auth, Network: r.Network,
		Class: r.Class, Message: r.Msg, Services: r.Services, Verified: r.Verified, Owner: r.FoundOwner}
	if r.State == "" {
		o.State, o.Auth, o.Network = stateOfV1(r.OK, r.Exit)
	}
	if !o.State.Valid() {
		o.State = fate.Unknown
	}
	return o
}

// stateOfV1 maps a format-1 outcome onto its state: ok is applied, exit 1 a
// refusal and 3 a refusal of the credentials (both final in format 1), 2 a
// failure before sending, 4 a lost reply. Format 1 wrote no other code; one
// read anyway is unknown, never final.
func stateOfV1(ok bool, exit int) (state fate.State, auth, network bool) {
	switch {
	case ok:
		return fate.Applied, false, false
	case exit == fate.ExitRefused:
		return fate.Refused, false, false
	case exit == fate.ExitAuth:
		return fate.Refused, true, false
	case exit == fate.ExitUsage:
		return fate.NotSent, false, false
	}
	return fate.Unknown, false, false
}

// appendRecord appends v as one journal line, newline included.
func appendRecord(b []byte, v any) ([]byte, error) {
	enc, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("encode journal record: %w", err)
	}
	b = append(b, enc...)
	return append(b, '\n'), nil
}

func encodeRecord(v any) ([]byte, error) { return appendRecord(nil, v) }

func rowRecOf(r *Row) rowRec {
	return rowRec{T: recRow, Seq: r.Seq, Line: r.Line, Target: r.Target, Owner: r.Owner, Profile: r.Profile, Password: r.Password,
		Kind: kindName(r.Kind), Source: r.Source}
}

func intentRecOf(seq, attempt int, password string, at time.Time) intentRec {
	return intentRec{T: recIntent, Seq: seq, Attempt: attempt, Password: password, At: at.UTC().Format(timeLayout)}
}

func outcomeRecOf(r *Row, attempt int, o *Outcome, at time.Time) outcomeRec {
	services := o.Services
	if len(services) > maxServices || slices.ContainsFunc(services, func(s string) bool { return len(s) > maxServiceBytes }) {
		services = nil
		for _, sv := range o.Services[:min(len(o.Services), maxServices)] {
			services = append(services, clip(sv, maxServiceBytes))
		}
	}
	return outcomeRec{T: recOutcome, Seq: r.Seq, Line: r.Line, Target: r.Target, Owner: r.Owner, Profile: r.Profile,
		Attempt: attempt, State: string(o.State), Auth: o.Auth, Network: o.Network, OK: o.OK(), Exit: o.ExitCode(),
		Class: clip(o.Class, maxServiceBytes), Msg: clip(o.Message, maxMessageBytes), Services: services, Verified: o.Verified,
		At: at.UTC().Format(timeLayout), Kind: kindName(r.Kind), FoundOwner: clip(o.Owner, maxServiceBytes)}
}

// maxJournalLine caps a journal line for readers, so that a file that is not
// a journal (say /dev/zero) fails at once instead of filling memory. The
// writer stays far below it: input records are at most MaxRecordBytes, and
// what an executor reports is clipped to the limits below before it is
// written.
const maxJournalLine = 1 << 20

// Limits on what an outcome record keeps of an executor's report.
const (
	maxMessageBytes = 4 << 10
	maxServices     = 32
	maxServiceBytes = 256
)

// clip cuts s to at most n bytes, at a character boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// Header is what a journal's first record says about its run.
type Header struct {
	Version int
	Kind    Kind
	Created time.Time
	// Meta is the caller's opaque description of the run (profile, API,
	// options), given back on resume.
	Meta map[string]string
}

// ReadHeader reads a journal's header record, so that a resume can rebuild the
// run's settings (and its executor) before calling Resume.
func ReadHeader(journalPath string) (Header, error) {
	f, err := os.Open(journalPath)
	if err != nil {
		return Header{}, openErr(journalPath, err)
	}
	defer f.Close()
	var (
		first record
		seen  bool
	)
	_, _, err = scanRecords(f, func(rec *record) error {
		first, seen = *rec, true
		return errStopped
	})
	if err != nil && !errors.Is(err, errStopped) {
		return Header{}, fmt.Errorf("journal %s: %w", journalPath, err)
	}
	if !seen || first.T != recHeader {
		return Header{}, noHeader(journalPath)
	}
	return headerOf(&first)
}

func headerOf(rec *record) (Header, error) {
	if rec.V < 1 || rec.V > journalVersion {
		return Header{}, fmt.Errorf("journal format version %d is not supported (this build reads up to %d)", rec.V, journalVersion)
	}
	kind, err := ParseKind(rec.Kind)
	if err != nil {
		return Header{}, fmt.Errorf("journal header: %w", err)
	}
	h := Header{Version: rec.V, Kind: kind, Meta: rec.Meta}
	if h.Meta == nil {
		h.Meta = map[string]string{}
	}
	if t, err := time.Parse(timeLayout, rec.Created); err == nil {
		h.Created = t
	}
	return h, nil
}

// errDamaged marks a journal that cannot be trusted beyond a torn tail. Its text follows
// the journal's name ("journal J: damaged: ..."), so it does not say "journal" again.
var errDamaged = errors.New("damaged")

// openErr names the journal that could not be opened once: os.Open's own text ("open
// PATH: ...") would repeat the verb and the path after the name.
func openErr(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("journal %s: %w", path, err)
}

// noHeader is the failure of a file that does not begin with a journal's header: most often
// not a journal at all (an input file given by mistake), or one whose first write never
// completed.
func noHeader(path string) error {
	return fmt.Errorf("journal %s: no header record: not a cpctl journal, or %w", path, errDamaged)
}

// scanRecords calls fn for each record of a journal, in order, up to the first
// line that is incomplete or unreadable (a write cut short by a crash or a
// power loss): it and everything after it is not passed to fn, and
// scanRecords reports the offset just past the last good record and
// tail = true. Records after a hole are dropped too: every acknowledged
// record was fsync'd, and the journal is only appended to, so a record
// written after the first unreadable line was never acknowledged (a power
// loss can persist a later page of an unsynced write and not an earlier one).
func scanRecords(r io.Reader, fn func(*record) error) (good int64, tail bool, err error) {
	br := bufio.NewReaderSize(r, 256<<10)
	var (
		off    int64
		long   []byte
		rec    record
		lineNo int
	)
	for {
		chunk, rerr := br.ReadSlice('\n')
		if errors.Is(rerr, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			if len(long) > maxJournalLine {
				// No journal line is this long (see maxJournalLine):
				// this is not a journal, or not one to cut short.
				return good, false, fmt.Errorf("%w: line %d is longer than %d MiB", errDamaged, lineNo+1, maxJournalLine>>20)
			}
			continue
		}
		lineNo++
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if len(line) == 0 && rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return good, false, nil
			}
			return good, false, fmt.Errorf("read: %w", rerr)
		}
		off += int64(len(line))
		complete := line[len(line)-1] == '\n'
		rec = record{}
		if !complete || json.Unmarshal(line, &rec) != nil || rec.T == "" {
			return good, true, nil
		}
		if err := fn(&rec); err != nil {
			return good, false, err
		}
		good = off
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return good, false, fmt.Errorf("read: %w", rerr)
		}
	}
}

// journal is an open journal being appended to by one committer goroutine.
//
// Group commit: appenders hand encoded records to the committer and (for
// intents) wait. The committer takes everything queued while its previous
// write+fsync ran, writes it with one write and one fsync, then releases all
// the waiters of that batch. So an intent is acknowledged only once it is on
// disk, and N concurrent rows cost one fsync instead of N.
type journal struct {
	f    *os.File
	sync func(*os.File) error

	mu      sync.Mutex
	pending []byte
	waiters []chan error
	spare   []byte
	spareW  []chan error
	err     error // sticky: after a failed write or fsync nothing more is trusted
	closing bool
	wake    chan struct{}
	done    chan struct{}
}

func defaultSync(f *os.File) error { return f.Sync() }

func startJournal(f *os.File, syncFn func(*os.File) error) *journal {
	if syncFn == nil {
		syncFn = defaultSync
	}
	j := &journal{f: f, sync: syncFn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go j.loop()
	return j
}

// append queues one encoded record. With wait it returns only once the
// record is durable (or the journal failed); without, the record is written
// with the next batch.
func (j *journal) append(rec []byte, wait bool) error {
	var ch chan error
	if wait {
		ch = make(chan error, 1)
	}
	j.mu.Lock()
	if j.err != nil {
		err := j.err
		j.mu.Unlock()
		return err
	}
	if j.closing {
		j.mu.Unlock()
		return errors.New("journal closed")
	}
	j.pending = append(j.pending, rec...)
	if wait {
		j.waiters = append(j.waiters, ch)
	}
	j.mu.Unlock()
	if !wait {
		// A record nobody waits for (an outcome) does not start an fsync
		// of its own: it rides along with the next intents, or is flushed
		// within lazyFlush. Losing it in a crash only means the row is
		// sent again with the same password.
		return nil
	}
	select {
	case j.wake <- struct{}{}:
	default: // already woken; the committer will see this record
	}
	return <-ch
}

// lazyFlush bounds how long a record nobody waits for stays in memory.
const lazyFlush = 50 * time.Millisecond

func (j *journal) loop() {
	defer close(j.done)
	tick := time.NewTicker(lazyFlush)
	defer tick.Stop()
	for {
		ticked := false
		select {
		case <-j.wake:
		case <-tick.C:
			ticked = true
		}
		for {
			j.mu.Lock()
			buf, ws, failed, closing := j.pending, j.waiters, j.err, j.closing
			if len(buf) == 0 && closing {
				j.mu.Unlock()
				return
			}
			// Records nobody waits for (outcomes that arrived during the
			// last fsync) wait for the next intents or the tick: flushing
			// them at once kept the disk busy with one fsync after another,
			// ten times as many as the intents need.
			if len(buf) == 0 || (len(ws) == 0 && !ticked && !closing) {
				j.mu.Unlock()
				break
			}
			ticked = false
			j.pending, j.waiters = j.spare[:0], j.spareW[:0]
			j.mu.Unlock()

			err := failed
			if err == nil {
				err = j.writeSync(buf)
			}

			j.mu.Lock()
			if err != nil && j.err == nil {
				j.err = err
			}
			j.spare = buf[:0]
			j.mu.Unlock()
			for _, w := range ws {
				w <- err
			}
			j.mu.Lock()
			clear(ws)
			j.spareW = ws[:0]
			j.mu.Unlock()
		}
	}
}

func (j *journal) writeSync(buf []byte) error {
	if _, err := j.f.Write(buf); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := j.sync(j.f); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	return nil
}

// close flushes and syncs what is queued, stops the committer and closes the
// file. It returns the first write or sync error the journal met.
func (j *journal) close() error {
	j.mu.Lock()
	j.closing = true
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	// The committer drains everything queued before it sees the flag.
	<-j.done
	j.mu.Lock()
	err := j.err
	j.mu.Unlock()
	if cerr := j.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close journal: %w", cerr)
	}
	return err
}

// createFile creates a new journal file exclusively with mode 0600 and locks it.
func createFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("journal %s already exists: resume it, or choose another name", path)
		}
		return nil, fmt.Errorf("create journal: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// removeStalePlans deletes the half-written plans that runs killed while
// planning left in path's directory, whatever journal they were for: they hold the
// input's passwords, nothing was sent from them, and with timestamped
// journal names no later run would ever plan into the same name again. A
// plan is a file named JOURNAL.planning-PID that is empty or starts with a
// journal header; it is stale when nobody holds its lock (the lock dies with
// its process).
func removeStalePlans(path string) {
	own := planAsidePrefix(path)
	removeStaleAside(filepath.Dir(path), func(name string) bool {
		_, pid, ok := strings.Cut(name, planInfix)
		// Without locks a live run's plan looks stale: only this
		// journal's own are removed then, as no other run may use its name.
		return ok && pid != "" && strings.Trim(pid, "0123456789") == "" && (canLock || strings.HasPrefix(name, own))
	}, func(f *os.File) bool {
		head := make([]byte, len(planHead))
		n, _ := io.ReadFull(f, head)
		return n == 0 || (n == len(head) && string(head) == planHead)
	})
}

// planHead is how every plan (and journal) starts.
const planHead = `{"t":"header"`

const planInfix = ".planning-"

func planAsidePrefix(path string) string { return filepath.Base(path) + planInfix }

// removeStaleAside deletes the regular files in dir whose names match and
// whose content is (looks) ours, and that nobody holds locked: files written
// aside by runs that were killed. The directory is listed rather than
// globbed, so that a name holding glob characters cannot match other files.
func removeStaleAside(dir string, match func(name string) bool, ours func(*os.File) bool) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !match(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		m := filepath.Join(dir, e.Name())
		f, err := os.OpenFile(m, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		stale := lockFile(f) == nil && (ours == nil || ours(f))
		f.Close() // before the removal, which Windows refuses on an open file
		if stale {
			_ = os.Remove(m) // best effort: the next run tries again
		}
	}
}

// Plan reads the input once, validating every row and writing it into a new
// journal at path, which must not exist. If any row is invalid the journal is
// removed and a *ValidationError lists the rows: nothing is ever sent from a
// file with a bad row. On success the journal is durable (file and directory
// synced) and ready for Resume; Plan returns the number of rows.
func Plan(path string, in io.Reader, kind Kind, meta map[string]string, opts ValidateOptions) (n int, err error) {
	return plan(path, in, kind, meta, opts, true)
}

// PlanRows is Plan for rows the caller already has (a selection listed on
// the server) instead of an input file: they are checked as Plan checks a
// file's rows (a *ValidationError names them by Line) and written, in the
// order given, into a new journal at path. Seq is set from the order; a
// Line of 0 becomes the Seq. In a KindMixed run every row must have a Kind
// of its own; in a run of one kind none may.
func PlanRows(path string, rows []Row, kind Kind, meta map[string]string, opts ValidateOptions) (n int, err error) {
	return planWith(path, kind, meta, true, func(emit func(*Row) error) (int, error) {
		return scanRows(rows, kind, opts, emit)
	})
}

// openPlan creates the file a plan into path is written to, locked, and
// the function that gives it path once complete. Where the system offers
// it (Linux, see createUnnamed) and unnamed is set, the file has no name
// until then, so a process killed while planning leaves nothing behind.
// Otherwise it is written aside as PATH.planning-PID (aside is that name)
// and linked into place; a killed run's aside file is removed by the next
// plan in the directory (removeStalePlans).
func openPlan(path string, unnamed bool) (f *os.File, aside string, link func(string) error, err error) {
	if unnamed {
		if f, link, err := createUnnamed(filepath.Dir(path)); err == nil {
			if err := lockFile(f); err != nil {
				f.Close()
				return nil, "", nil, err
			}
			return f, "", link, nil
		}
	}
	aside = filepath.Join(filepath.Dir(path), fmt.Sprintf("%s%d", planAsidePrefix(path), os.Getpid()))
	f, err = createFile(aside)
	return f, aside, func(p string) error { return os.Link(aside, p) }, err
}

// plan is Plan; unnamed false forces the named file aside (tests).
func plan(path string, in io.Reader, kind Kind, meta map[string]string, opts ValidateOptions, unnamed bool) (n int, err error) {
	return planWith(path, kind, meta, unnamed, func(emit func(*Row) error) (int, error) {
		return scanInput(in, kind, opts, emit)
	})
}

// planWith writes the plan whose rows scan checks and emits.
func planWith(path string, kind Kind, meta map[string]string, unnamed bool, scan func(emit func(*Row) error) (int, error)) (n int, err error) {
	if !kind.valid() {
		return 0, fmt.Errorf("batch: invalid kind %d", int(kind))
	}
	// The plan is written aside and linked into place when complete, so a
	// journal at path is always a whole plan: a run killed while reading its
	// input leaves no journal (nothing was sent) and is simply run again.
	if _, err := os.Lstat(path); err == nil {
		return 0, fmt.Errorf("journal %s already exists: resume it, or choose another name", path)
	}
	removeStalePlans(path)
	linked, closed := false, false
	f, aside, link, err := openPlan(path, unnamed)
	if err != nil {
		return 0, err
	}
	defer func() {
		if !closed {
			f.Close()
		}
		if aside != "" {
			_ = os.Remove(aside) // gone already after success; after a failure, the next run removes it
		}
		if err != nil && linked {
			_ = os.Remove(path) // if it stays, it is a whole plan: resumable, nothing sent
		}
	}()
	w := bufio.NewWriterSize(f, 256<<10)
	write := func(v any) error {
		b, err := encodeRecord(v)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("write journal: %w", err)
		}
		return nil
	}
	if err := write(headerRec{T: recHeader, V: journalVersion, Kind: kind.String(), Created: time.Now().UTC().Format(timeLayout), Meta: meta}); err != nil {
		return 0, err
	}
	n, err = scan(func(r *Row) error { return write(rowRecOf(r)) })
	if err != nil {
		return n, err
	}
	if err := write(plannedRec{T: recPlanned, Rows: n}); err != nil {
		return n, err
	}
	if err := w.Flush(); err != nil {
		return n, fmt.Errorf("write journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		return n, fmt.Errorf("sync journal: %w", err)
	}
	if err := link(path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return n, fmt.Errorf("journal %s already exists: resume it, or choose another name", path)
		}
		return n, fmt.Errorf("create journal: %w", err)
	}
	linked = true
	// The aside name goes before the directory is synced, or a crash could
	// leave it on disk as a second link to the journal, passwords and all.
	// Closed first: Windows does not remove an open file.
	closed = true
	if err := f.Close(); err != nil {
		return n, fmt.Errorf("close journal: %w", err)
	}
	if aside != "" {
		if err := os.Remove(aside); err != nil {
			return n, fmt.Errorf("remove %s: %w", aside, err)
		}
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return n, err
	}
	return n, nil
}

// bitset records which rows are finished: one bit per row keeps a resume of a
// million rows at 125 kB.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, n/64+1) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }

// with is b with bit i set, grown to hold it: for a set whose size is not
// known in advance (the bad lines of an input being read).
func (b bitset) with(i int) bitset {
	if need := i/64 + 1; need > len(b) {
		b = append(b, make(bitset, need-len(b))...)
	}
	b.set(i)
	return b
}

// sentRow is a row whose intent is in the journal without a final outcome: it
// must be retried with this password, which may already be on the server.
type sentRow struct {
	password string
	attempt  int
	// uncertain: an attempt ended in a transport failure, so the server may
	// have applied the password. It sticks until an attempt succeeds: a
	// later refusal (a changed token, a local error) says nothing about
	// what the lost attempt did, so the row is never final while it is set.
	uncertain bool
	// answered: the last intent has an outcome (a non-final one); otherwise
	// the row was in flight when its run stopped.
	answered bool
}

// finalOutcome says whether an outcome ends its row for good: applied, or
// refused when no earlier attempt of the row may have been applied (a
// refusal says nothing about what a lost attempt did) and the refusal was
// not of the credentials. Not-sent and unknown rows are sent again, with the
// same password, on resume; so are rows refused for authentication or
// authorization (exit 3): the server did not run the change, and what fixes
// it is the credentials, not the row, after which a resume finishes the run
// (a token that expired half-way through a run of thousands of rows).
func finalOutcome(o Outcome, wasUncertain bool) bool {
	switch o.State {
	case fate.Applied:
		return true
	case fate.Refused:
		return !wasUncertain && !o.Auth
	}
	return false
}

// journalState is what a scan of a journal knows.
type journalState struct {
	header   Header
	planned  bool
	total    int
	rowsSeen int
	profiles map[string]int // rows per profile ("" = the default profile)

	done       bitset // rows with a final outcome
	sent       map[int]sentRow
	succeeded  int
	failed     int  // final failures: refused, never maybe applied
	hasOwner   bool // a row names its owner, or an outcome the owner found
	hasProfile bool
	headerSeen bool
	// needGenerate: some row has no password of its own.
	needGenerate bool

	// Delivery (format 3). deliver: a deliver record was seen, so every
	// changed row is to be delivered. applied: rows whose final outcome is
	// applied. deliveredAny: rows delivered at least once, in any state;
	// deliveredApplied: rows delivered as applied.
	deliver          bool
	applied          bitset
	deliveredAny     bitset
	deliveredApplied bitset
	// size is the offset of the journal's end when it was opened.
	size int64
}

// undelivered says whether row seq is owed a delivery, and in which state:
// an applied row until it was delivered as applied, a row that may have
// been applied (an attempt's reply was lost) until it was delivered at all.
// Delivery is at least once: a row delivered as maybe applied is delivered
// again once an attempt is applied.
func (s *journalState) undelivered(seq int) (fate.State, bool) {
	if s.applied.has(seq) {
		return fate.Applied, !s.deliveredApplied.has(seq)
	}
	if sr, ok := s.sent[seq]; ok && sr.uncertain {
		return fate.Unknown, !s.deliveredAny.has(seq)
	}
	return "", false
}

// undeliveredCount counts the rows owed a delivery.
func (s *journalState) undeliveredCount() int {
	n := 0
	for seq := 1; seq <= s.total; seq++ {
		if _, owed := s.undelivered(seq); owed {
			n++
		}
	}
	return n
}

// apply folds one record into the state, checking the journal's structure.
func (s *journalState) apply(rec *record) error {
	damaged := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", errDamaged, fmt.Sprintf(format, args...))
	}
	if !s.headerSeen {
		if rec.T != recHeader {
			return damaged("the first record is %q, not a header", rec.T)
		}
		h, err := headerOf(rec)
		if err != nil {
			return err
		}
		s.header, s.headerSeen = h, true
		s.profiles = map[string]int{}
		s.sent = map[int]sentRow{}
		return nil
	}
	switch rec.T {
	case recRow:
		if s.planned || rec.Seq != s.rowsSeen+1 {
			return damaged("row record %d out of order", rec.Seq)
		}
		if err := s.checkRowKind(rec); err != nil {
			return damaged("row record %d: %v", rec.Seq, err)
		}
		s.rowsSeen++
		s.profiles[rec.Profile]++
		s.hasOwner = s.hasOwner || rec.Owner != ""
		s.hasProfile = s.hasProfile || rec.Profile != ""
		s.needGenerate = s.needGenerate || rec.Password == ""
	case recPlanned:
		if s.planned || rec.Rows != s.rowsSeen {
			return damaged("planned record says %d rows, %d were recorded", rec.Rows, s.rowsSeen)
		}
		s.planned, s.total = true, rec.Rows
		s.done = newBitset(s.total + 1)
		s.applied = newBitset(s.total + 1)
		s.deliveredAny = newBitset(s.total + 1)
		s.deliveredApplied = newBitset(s.total + 1)
	case recIntent:
		if !s.planned || rec.Seq < 1 || rec.Seq > s.total {
			return damaged("intent for row %d outside the plan", rec.Seq)
		}
		if s.done.has(rec.Seq) {
			return damaged("intent for row %d after its final outcome", rec.Seq)
		}
		prev, ok := s.sent[rec.Seq]
		if ok && prev.password != rec.Password {
			return damaged("row %d has intents with different passwords", rec.Seq)
		}
		s.sent[rec.Seq] = sentRow{password: rec.Password, attempt: rec.Attempt, uncertain: prev.uncertain}
	case recOutcome:
		prev, ok := s.sent[rec.Seq]
		if !s.planned || !ok {
			return damaged("outcome for row %d without an intent", rec.Seq)
		}
		o := rec.outcome()
		s.hasOwner = s.hasOwner || o.Owner != ""
		if !finalOutcome(o, prev.uncertain) {
			prev.uncertain = prev.uncertain || o.State.MaybeApplied()
			prev.answered = true
			s.sent[rec.Seq] = prev
			return nil
		}
		if o.OK() {
			s.succeeded++
			s.applied.set(rec.Seq)
		} else {
			s.failed++
		}
		delete(s.sent, rec.Seq)
		s.done.set(rec.Seq)
	case recDeliver, recDelivered, recDeliveryFailed:
		return s.applyDelivery(rec)
	case recHeader:
		return damaged("a second header record")
	default:
		return damaged("unknown record type %q", rec.T)
	}
	return nil
}

// applyDelivery folds a record of format 3 into the state.
func (s *journalState) applyDelivery(rec *record) error {
	if !s.planned {
		return fmt.Errorf("%w: %s record before the plan is complete", errDamaged, rec.T)
	}
	if rec.T == recDeliver {
		s.deliver = true
		return nil
	}
	if rec.Seq < 1 || rec.Seq > s.total {
		return fmt.Errorf("%w: %s record for row %d outside the plan", errDamaged, rec.T, rec.Seq)
	}
	if rec.T == recDelivered {
		s.deliveredAny.set(rec.Seq)
		if fate.State(rec.State) == fate.Applied {
			s.deliveredApplied.set(rec.Seq)
		}
	}
	return nil
}

// checkRowKind insists that a mixed run's rows each name a kind of row and
// that the rows of a run of one kind name none: a row read as another kind
// than it was planned as would change the wrong password.
func (s *journalState) checkRowKind(rec *record) error {
	if s.header.Kind != KindMixed {
		if rec.Kind != "" {
			return fmt.Errorf("kind %q in a run of kind %s", rec.Kind, s.header.Kind)
		}
		return nil
	}
	k, err := ParseKind(rec.Kind)
	if err != nil || !k.single() {
		return fmt.Errorf("a mixed run's row needs a kind of row, not %q", rec.Kind)
	}
	return nil
}

// openJournal opens an existing journal for appending: it checks the file's
// mode, locks it, reads its state, cuts away a torn tail and leaves the file
// offset at the end. The file is not opened with O_APPEND, because Windows
// cannot truncate through such a handle; the journal's only writer is the
// committer, which appends from that offset.
func openJournal(path string) (*os.File, *journalState, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, openErr(path, err)
	}
	fail := func(err error) (*os.File, *journalState, error) {
		f.Close()
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(openErr(path, err))
	}
	if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("journal %s is not a regular file", path))
	}
	if err := checkPrivate(fi); err != nil {
		return fail(fmt.Errorf("journal %s: %w", path, err))
	}
	if err := lockJournal(f); err != nil {
		return fail(fmt.Errorf("journal %s: %w", path, err))
	}
	removePlanLinks(path, fi)
	st := &journalState{}
	good, tail, err := scanRecords(io.NewSectionReader(f, 0, fi.Size()), st.apply)
	if err != nil {
		return fail(fmt.Errorf("journal %s: %w", path, err))
	}
	if !st.headerSeen {
		return fail(noHeader(path))
	}
	if !st.planned {
		return fail(fmt.Errorf("journal %s: the plan was never completed (the input was not fully read), so nothing was sent: start the run again", path))
	}
	if tail {
		// Whatever follows the last good record was never acknowledged,
		// so no row was sent on its strength.
		if err := f.Truncate(good); err != nil {
			return fail(fmt.Errorf("journal %s: cut torn tail: %w", path, err))
		}
		if err := f.Sync(); err != nil {
			return fail(fmt.Errorf("journal %s: sync: %w", path, err))
		}
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fail(fmt.Errorf("journal %s: %w", path, err))
	}
	st.size = end
	return f, st, nil
}

// removePlanLinks removes the aside names of a plan that a crash left as
// second links to the journal (Plan removes them before syncing the
// directory, but an older build did not): each holds every password.
func removePlanLinks(path string, journal os.FileInfo) {
	dir, prefix := filepath.Dir(path), planAsidePrefix(path)
	entries, _ := os.ReadDir(dir)
	removed := false
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		m := filepath.Join(dir, e.Name())
		if fi, err := os.Lstat(m); err == nil && os.SameFile(fi, journal) && os.Remove(m) == nil {
			removed = true
		}
	}
	if removed {
		_ = syncDir(dir) // best effort: the next resume removes it again
	}
}

// readStateBefore scans a journal without changing it (Show, ExportSecrets),
// calling fn with each record before the record is folded into the state, so
// that fn sees, say, an outcome's intent password before it is dropped. A torn
// tail (a run may be writing) is ignored.
func readStateBefore(path string, fn func(*journalState, *record) error) (*journalState, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, openErr(path, err)
	}
	defer f.Close()
	st := &journalState{}
	_, _, err = scanRecords(f, func(rec *record) error {
		if st.headerSeen {
			if err := fn(st, rec); err != nil {
				return err
			}
		}
		return st.apply(rec)
	})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if !st.headerSeen {
		return nil, noHeader(path)
	}
	return st, nil
}
