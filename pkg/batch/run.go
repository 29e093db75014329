package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/cpctl/cpctl/pkg/fate"
)

// DefaultConcurrency is the number of rows in flight per profile when
// RunConfig.Concurrency is 0: real servers are slow and shared.
const DefaultConcurrency = 4

// Outcome is what the executor reports for one row. Message must not contain
// the password; it is written to the journal and shown by Show.
type Outcome struct {
	// State is the row's fate, decided by the executor where the reply was
	// analysed. It decides whether the row is final: applied and refused
	// are; not-sent and unknown rows are sent again on resume with the same
	// password, and once an attempt was unknown the row stays maybe applied
	// (never final) until an attempt is applied. An empty or unrecognised
	// state is recorded as unknown: the change may have been applied.
	State fate.State
	// Auth says the credentials were refused or unusable (exit 3).
	Auth bool
	// Network says a not-sent row failed on the network (exit 4, not 2).
	Network bool
	// StopsProfile says the failure holds for every row of the row's
	// profile, not for this row alone: the server refused the profile's
	// credentials as a whole, or cannot be reached with it (its certificate
	// is not trusted, its name does not resolve, it has refused connections
	// for a while). The runner sends no more rows of that profile in this
	// run: they are recorded not-sent, with this outcome's auth and network,
	// and a resume sends them once the cause is fixed. A bad or expired
	// token would otherwise be tried once per row, thousands of failed
	// logins that a server's brute-force protection (cPHulk) counts against
	// this host; a server that is down, waited for once per row.
	StopsProfile bool
	Class        string
	Message      string
	Services     []string
	// Verified is set when the executor proved the new password works.
	Verified *bool
	// Owner is the account the change acted for when the row named none
	// and the executor found it (cpctl looks it up through WHM). The
	// journal keeps it with the outcome, so that the secrets file, journal
	// export and the delivery carry it; "" when the row named its owner.
	Owner string
}

// OK reports whether the change was applied.
func (o Outcome) OK() bool { return o.State == fate.Applied }

// ExitCode is the exit code this row alone would give (pkg/fate maps it).
func (o Outcome) ExitCode() int { return fate.ExitCode(o.State, o.Auth, o.Network) }

// Result is one finished row, handed to RunConfig.OnResult.
type Result struct {
	Row Row
	// Password is the password sent. Generated says it came from the
	// generator (in this run or an earlier one), so the caller may need to
	// show it once; a password from the input file is the caller's own.
	Password  string
	Generated bool
	Attempt   int
	Outcome   Outcome
	Duration  time.Duration
}

// Delivery is one changed row's password handed to RunConfig.Deliver.
type Delivery struct {
	Row      Row
	Password string
	// Owner is the row's owner: its own, else the one found when it was
	// changed (Outcome.Owner).
	Owner string
	// State is fate.Applied, or fate.Unknown when an attempt's reply was
	// lost and the server may have the password: such a row is delivered
	// then, and again once an attempt is applied.
	State   fate.State
	Attempt int
}

// Progress is a snapshot of a run, handed to RunConfig.OnProgress.
type Progress struct {
	Total     int // rows in the journal
	Done      int // rows with a final outcome, including those of earlier runs
	Succeeded int
	Failed    int // final failures only
	Skipped   int // rows already finished when this run started
	Rate      float64
	ETA       time.Duration // 0 when unknown
	Elapsed   time.Duration
	Final     bool // the last call of the run
	// Note, when set by the caller, is shown at the end of the progress
	// line (a paced run's current concurrency).
	Note string
}

// Summary counts a run's rows over the whole journal, so a resumed run's
// summary covers the rows finished before it too.
type Summary struct {
	Total     int
	Succeeded int
	Failed    int // final failures only
	Skipped   int // rows finished before this run started
	// Pending counts rows without a final outcome, resume to finish them:
	// rows never sent, rows whose reply was lost (maybe applied) and rows
	// that failed before sending (not-sent).
	Pending int
	// Interrupted: ctx was cancelled before every row was done.
	Interrupted bool

	// Delivered counts the deliveries of this run that succeeded.
	// Undelivered counts, over the whole journal, the rows owed a delivery
	// at the end of the run (see RunConfig.Deliver): changed, or maybe
	// changed, and not handed to the command yet. It is 0 for a journal
	// that does not deliver. DeliveryStopped: deliveries failed
	// MaxDeliveryFailures times in a row, so the run tried no more.
	Delivered       int
	Undelivered     int
	DeliveryStopped bool

	// FailedExit is set when no row succeeded: the exit code all the rows
	// share (fate.Failures: every row refused 1, the credentials 3, the
	// network or an unreadable reply 4), or fate.ExitPartial when they
	// failed for different reasons. 0 when not worked out.
	FailedExit int
}

// ExitCode is cpctl's exit code for the run: 0 when every row succeeded
// (and was delivered); 5 when some did, or some changed row is owed a
// delivery; when none did, the code the rows' failures share (FailedExit),
// or 5 when they differ. Pending rows count as not succeeded.
func (s Summary) ExitCode() int {
	switch {
	case s.Succeeded == s.Total && s.Undelivered == 0:
		return fate.ExitOK
	case s.Succeeded == 0 && s.Undelivered == 0 && s.FailedExit != 0:
		return s.FailedExit
	}
	return fate.ExitPartial
}

// RunConfig configures Run and Resume.
type RunConfig struct {
	// Journal is the path of the journal Run creates (it must not exist).
	Journal string
	// Input, Kind, Meta and Validate are used by Run's plan phase only; a
	// resume takes them from the journal (a non-zero Kind must match it).
	Input    io.Reader
	Kind     Kind
	Meta     map[string]string
	Validate ValidateOptions // its Generate is set from Generate != nil

	// Exec changes one row's password. Its ctx is not cancelled when the
	// run is: a row once sent is allowed to finish and be recorded.
	Exec func(ctx context.Context, row Row, password string) Outcome
	// Generate makes a password for a row without one, at the moment its
	// intent is written; it gets the row so that the password can avoid
	// containing the user name, which servers refuse.
	Generate func(row Row) (string, error)
	// Only, when set, limits this call to the rows it accepts; the others
	// are left as they are, for a later call on the same journal (a mixed
	// run sends its account rows first, then the rest). The Summary still
	// counts every row of the journal.
	Only func(Row) bool
	// Concurrency bounds the rows in flight per profile (DefaultConcurrency
	// when 0); rows of different profiles run at the same time. The plan is
	// read once whatever the number of profiles, and workers exist only for
	// profiles with rows at hand or still to come (idle between them). A caller
	// that paces a server (pkg/pace) does it below, on the client's
	// transport: this is then the ceiling.
	Concurrency int
	// DefaultProfile is the profile that rows without one go to. Its rows
	// and those that name it share one queue and one Concurrency: they
	// reach the same server. Empty means rows without a profile are a
	// profile of their own.
	DefaultProfile string
	// Workers, when set, is how many rows of a profile may be in flight at
	// the moment, at most Concurrency (a paced server's current limit): a
	// profile then has that many workers rather than Concurrency, the rest
	// waiting for their turn with a row each. It is asked whenever a worker
	// could start or end, so it must be quick and must not call into the
	// run.
	Workers func(profile string) int
	// Rate limits how many rows start per second over the whole run
	// (0: no limit), with bursts up to Burst (1 when 0). See ParseRate.
	Rate  rate.Limit
	Burst int

	// OnResult gets every finished row, in completion order, one call at
	// a time (from the workers, under a lock: it needs no locking of its
	// own, and a slow OnResult holds the workers back).
	OnResult func(Result)
	// OnProgress gets a snapshot at most ten times a second, and a final one.
	OnProgress func(Progress)

	// Deliver, when set, hands a changed row's new password to where it
	// belongs (cpctl's --secrets-command). It is called one row at a time,
	// in the order rows finish, for every row applied in this run, every
	// row whose reply was lost (it may have been applied) and not yet
	// delivered, and, first, every row applied in an earlier run and not
	// delivered then. Each call is journalled after the row's outcome: a
	// delivered record for a nil error, a delivery-failed record with the
	// error's text otherwise (which must not hold the password; any copy
	// of it is replaced). A crash or a failure leaves the row owed a
	// delivery, and a later Resume with Deliver delivers it again: delivery
	// is at least once. A journal once delivered from cannot be resumed
	// without Deliver. Its ctx is not cancelled with the run's; no new
	// delivery starts once the run is.
	Deliver func(ctx context.Context, d Delivery) error

	// syncFn replaces (*os.File).Sync for the group committer (tests).
	syncFn func(*os.File) error
	// onWorker, when set, is told each worker started (tests).
	onWorker func(profile string)
}

// Run plans a new run (see Plan: the input is read once and every row checked
// before anything is sent) into cfg.Journal, then runs it as Resume does.
// A *ValidationError means nothing was sent and no journal is left.
func Run(ctx context.Context, cfg RunConfig) (Summary, error) {
	if cfg.Input == nil {
		return Summary{}, errors.New("batch: Run needs an input (use Resume to continue a journal)")
	}
	if cfg.Journal == "" {
		return Summary{}, errors.New("batch: no journal path")
	}
	if cfg.Exec == nil {
		return Summary{}, errors.New("batch: no executor")
	}
	opts := cfg.Validate
	opts.Generate = cfg.Generate != nil
	if _, err := Plan(cfg.Journal, cfg.Input, cfg.Kind, cfg.Meta, opts); err != nil {
		return Summary{}, err
	}
	return Resume(ctx, cfg.Journal, cfg)
}

// Resume finishes the run recorded in an existing journal: rows with a final
// outcome are skipped, rows sent without one are sent again with the same
// password, the others are sent (with a generated password when they have
// none). Rows are streamed from the journal, so memory does not grow with
// their number. When ctx is cancelled no new row starts; rows in flight finish
// and are recorded, and the Summary says Interrupted. An error means the
// journal could not be used or written; rows failing on the server are not
// errors but outcomes.
func Resume(ctx context.Context, journalPath string, cfg RunConfig) (Summary, error) {
	if cfg.Exec == nil {
		return Summary{}, errors.New("batch: no executor")
	}
	if cfg.Concurrency < 0 {
		return Summary{}, fmt.Errorf("batch: concurrency %d", cfg.Concurrency)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	f, st, err := openJournal(journalPath)
	if err != nil {
		return Summary{}, err
	}
	if cfg.Kind != 0 && cfg.Kind != st.header.Kind {
		f.Close()
		return Summary{}, fmt.Errorf("journal %s is a %s run, not %s", journalPath, st.header.Kind, cfg.Kind)
	}
	if st.needGenerate && cfg.Generate == nil {
		f.Close()
		return Summary{}, fmt.Errorf("journal %s has rows without a password: a password generator is needed", journalPath)
	}
	if st.deliver && cfg.Deliver == nil {
		f.Close()
		return Summary{}, fmt.Errorf("journal %s: %w", journalPath, ErrDeliveryNeeded)
	}
	if d := cfg.DefaultProfile; d != "" && st.profiles[""] > 0 {
		st.profiles[d] += st.profiles[""]
		delete(st.profiles, "")
	}
	r := &runner{cfg: cfg, path: journalPath, st: st, j: startJournal(f, cfg.syncFn)}
	var sum Summary
	if cfg.Deliver != nil && !st.deliver {
		err = r.markDeliver()
	}
	if err == nil {
		sum, err = r.run(ctx)
	}
	if cerr := r.j.close(); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil && cfg.Deliver != nil {
		// Read back once the journal is closed, so the count is what
		// journal show says.
		sum.Undelivered, err = countUndelivered(journalPath)
		sum.Interrupted = sum.Interrupted || (ctx.Err() != nil && sum.Undelivered > 0)
	}
	if err == nil && sum.Succeeded == 0 && sum.Total > 0 {
		sum.FailedExit, err = failedExit(journalPath)
	}
	return sum, err
}

type runner struct {
	cfg  RunConfig
	path string
	st   *journalState
	j    *journal
}

type job struct {
	row          Row
	password     string // set when an earlier intent fixed it
	attempt      int    // attempts already recorded
	wasUncertain bool
}

type done struct {
	Result
	wasUncertain bool
	err          error
}

func (r *runner) run(ctx context.Context) (Summary, error) {
	stop, cancelStop := context.WithCancel(ctx)
	defer cancelStop()

	var limiter *rate.Limiter
	if r.cfg.Rate > 0 && r.cfg.Rate != rate.Inf {
		limiter = rate.NewLimiter(r.cfg.Rate, max(r.cfg.Burst, 1))
	}
	var (
		fatalMu  sync.Mutex
		fatalErr error
	)
	fail := func(err error) {
		fatalMu.Lock()
		if fatalErr == nil {
			fatalErr = err
		}
		fatalMu.Unlock()
		cancelStop()
	}

	c := r.newCollector()
	ahead := r.readAhead()
	s := &scheduler{r: r, stop: stop, execCtx: context.WithoutCancel(ctx), limiter: limiter, fail: fail, collect: c.add,
		perProfile: 2 * r.cfg.Concurrency, maxQueued: 4 * ahead, maxHeld: ahead, maxIdle: maxIdle,
		queues: map[string]*profileQueue{}, space: make(chan struct{}, 1)}
	if r.cfg.Deliver != nil {
		s.deliver = r.startDeliverer(stop, ctx, fail)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := r.deliverEarlier(s.deliver); err != nil {
				fail(err)
			}
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := r.dispatch(s); err != nil {
			fail(err)
		}
	}()
	finished, ticked := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ticked)
		c.tick(finished)
	}()
	s.wg.Wait()
	if s.deliver != nil {
		s.deliver.finish()
	}
	close(finished)
	<-ticked // no progress line after the final one
	sum := c.summary()
	if dl := s.deliver; dl != nil {
		sum.Delivered, sum.DeliveryStopped = dl.delivered, dl.stopped
	}
	fatalMu.Lock()
	err := fatalErr
	fatalMu.Unlock()
	sum.Interrupted = ctx.Err() != nil && sum.Pending > 0
	return sum, err
}

// readAhead is how many rows the dispatcher makes durable with one fsync
// before handing them to the workers: at least twice the rows in flight
// over all profiles, so every worker stays busy while the next batch is
// synced, and at least 64, so a fast server does not wait on one fsync per
// handful of rows; at most maxReadAhead. A crash only means that rows of the
// batch not yet sent are sent on resume with the password their intent
// fixed. (With twice one profile's concurrency, a run over 200 servers kept
// about one row queued per server: 62 fsyncs a second, and a server whose
// worker found its queue empty during a slow fsync stood idle.)
func (r *runner) readAhead() int {
	return min(max(2*r.cfg.Concurrency*max(len(r.st.profiles), 1), 64), maxReadAhead)
}

// maxReadAhead bounds readAhead: the rows held and queued are at most five
// times it (a few hundred kilobytes).
const maxReadAhead = 1024

// maxIdle bounds the workers that wait for their profile's next row over
// all profiles; beyond it a worker whose queue is empty ends, and the
// profile's next row starts another. Waiting saves a goroutine's start and
// stack growth per row where a server's rows keep coming; a plan that
// interleaves thousands of profiles would otherwise keep a worker per
// profile until its last row (3,000 goroutines for 3,000 profiles of a
// few rows each; TestIdleWorkersBounded).
const maxIdle = 1024

// scheduler routes rows whose intents are durable to one bounded queue per
// profile, each served by its own workers: at most Concurrency, and at most
// what RunConfig.Workers allows at the moment. A worker starts when its
// profile has a row queued and room for one more worker, and stays while
// more rows of its profile are to come, waiting for them when the queue is
// momentarily empty: a worker that exited and was started again for every
// few rows cost a goroutine's start and stack growth each time (8 % of the
// CPU of a run over 200 servers). Once the dispatcher has passed the last
// row of a profile its workers end with its queue. So a plan grouped by
// profile costs goroutines for the rows at hand only; one whose profiles'
// rows are interleaved keeps workers idle between their profile's rows, at
// most maxIdle of them over all profiles.
//
// Memory is bounded three ways: perProfile rows per queue, maxQueued over all
// queues, and held, the durable rows the dispatcher could not queue yet
// because their profile's queue was full. A slow profile fills its own queue
// and some of held, while the rows of other profiles keep flowing; only when
// held is full does the dispatcher wait for a worker to take a row.
type scheduler struct {
	r       *runner
	stop    context.Context
	execCtx context.Context
	limiter *rate.Limiter
	fail    func(error)
	collect func(done) // called by the workers, one row at a time
	deliver *deliverer // nil unless RunConfig.Deliver
	wg      sync.WaitGroup

	perProfile, maxQueued, maxHeld int
	maxIdle                        int64 // see maxIdle

	queued  atomic.Int64
	waiting atomic.Int64  // idle workers over all profiles (see maxIdle)
	space   chan struct{} // a worker took a row: there may be room

	// The dispatcher's own: the profiles seen so far and the rows it
	// could not queue yet.
	queues map[string]*profileQueue
	held   []job
	pass   uint64 // counts the calls of place
}

// profileQueue is one profile's rows and workers. Its workers hold it, the
// dispatcher finds it in scheduler.queues; each locks only its mu, so the
// workers of different profiles never wait for each other.
type profileQueue struct {
	profile string
	keptIn  uint64 // the dispatcher's: the pass of place that kept a row of it

	mu      sync.Mutex
	more    sync.Cond // idle workers wait here for a row; L is &mu
	jobs    []job
	workers int  // started and not ended, idle ones included
	idle    int  // waiting on more and not yet signalled
	ahead   int  // rows of the profile the dispatcher has yet to queue or pass over
	ended   bool // the dispatcher is done: no row comes any more
	// stopped is the outcome that ended the profile's sending
	// (Outcome.StopsProfile); nil while it sends.
	stopped *Outcome
}

// queue returns the profile's queue, making it on first sight. A row
// without a profile goes to the default profile's.
func (s *scheduler) queue(profile string) *profileQueue {
	if profile == "" {
		profile = s.r.cfg.DefaultProfile
	}
	q := s.queues[profile]
	if q == nil {
		q = &profileQueue{profile: profile, ahead: s.r.st.profiles[profile]}
		q.more.L = &q.mu
		s.queues[profile] = q
	}
	return q
}

// workers is how many workers a profile may have now.
func (s *scheduler) workers(profile string) int {
	n := s.r.cfg.Concurrency
	if f := s.r.cfg.Workers; f != nil {
		n = min(max(f(profile), 1), n)
	}
	return n
}

// startWorker starts one more worker for q; callers hold q.mu.
func (s *scheduler) startWorker(q *profileQueue) {
	q.workers++
	s.wg.Add(1) // the dispatcher's own count keeps wg above zero
	if s.r.cfg.onWorker != nil {
		s.r.cfg.onWorker(q.profile)
	}
	go s.work(q)
}

// passed notes that the dispatcher has passed one row of q (queued or not
// to be sent); after the last one, idle workers end. Callers hold q.mu.
func (q *profileQueue) passed() {
	q.ahead--
	if q.ahead <= 0 && q.idle > 0 {
		q.idle = 0
		q.more.Broadcast()
	}
}

// skip notes a row of the plan the dispatcher does not send.
func (s *scheduler) skip(profile string) {
	q := s.queue(profile)
	q.mu.Lock()
	q.passed()
	q.mu.Unlock()
}

// end tells every profile's workers that no more rows come.
func (s *scheduler) end() {
	for _, q := range s.queues {
		q.mu.Lock()
		q.ended, q.idle = true, 0
		q.more.Broadcast()
		q.mu.Unlock()
	}
}

// place moves held rows into their profiles' queues, keeping each profile's
// rows in order, and hands each to an idle worker of its profile, or starts
// one where the profile has room for another.
func (s *scheduler) place() {
	s.pass++
	kept := s.held[:0]
	for i, jb := range s.held {
		if s.queued.Load() >= int64(s.maxQueued) {
			kept = append(kept, s.held[i:]...)
			break
		}
		q := s.queue(jb.row.Profile)
		if q.keptIn == s.pass {
			// An earlier row of the profile waits: this one may not
			// overtake it, though a worker may have made room since.
			kept = append(kept, jb)
			continue
		}
		limit := s.workers(q.profile)
		q.mu.Lock()
		if len(q.jobs) >= s.perProfile {
			q.mu.Unlock()
			q.keptIn = s.pass
			kept = append(kept, jb)
			continue
		}
		q.jobs = append(q.jobs, jb)
		s.queued.Add(1)
		switch {
		case q.idle > 0:
			q.idle--
			q.more.Signal()
		case q.workers < limit:
			s.startWorker(q)
		}
		q.passed()
		q.mu.Unlock()
	}
	clear(s.held[len(kept):])
	s.held = kept
}

// drain places held rows until fewer than limit are left, waiting for the
// workers to make room.
func (s *scheduler) drain(limit int) error {
	for {
		s.place()
		if len(s.held) < limit {
			return nil
		}
		select {
		case <-s.space:
		case <-s.stop.Done():
			return errStopped
		}
	}
}

// work serves one profile's queue while the profile has rows to come and
// no more workers than it may have.
func (s *scheduler) work(q *profileQueue) {
	defer s.wg.Done()
	for {
		limit := s.workers(q.profile)
		q.mu.Lock()
		for len(q.jobs) == 0 && q.workers <= limit && q.ahead > 0 && !q.ended && s.waiting.Load() < s.maxIdle {
			q.idle++
			s.waiting.Add(1)
			q.more.Wait()
			s.waiting.Add(-1)
		}
		if len(q.jobs) == 0 || q.workers > limit {
			// Nothing more to do, or the profile's pace dropped: the
			// others serve the queue.
			q.workers--
			q.mu.Unlock()
			return
		}
		jb := q.jobs[0]
		q.jobs[0] = job{}
		q.jobs = q.jobs[1:]
		s.queued.Add(-1)
		stopped := q.stopped
		if len(q.jobs) > 0 && q.idle == 0 && q.workers < limit {
			s.startWorker(q) // the profile's pace grew
		}
		// The dispatcher is woken once the queue is half empty, not for
		// every row: a goroutine wake-up per row showed in the profiles,
		// and half a queue still keeps every worker busy.
		wake := len(q.jobs) <= s.perProfile/2
		q.mu.Unlock()
		if wake {
			select {
			case s.space <- struct{}{}:
			default: // already signalled
			}
		}
		// After Ctrl-C no new row starts: queued rows keep their durable
		// intents and are sent on resume.
		if s.stop.Err() != nil || (stopped == nil && s.limiter != nil && s.limiter.Wait(s.stop) != nil) {
			s.r.notSent(jb)
			continue
		}
		var d done
		if stopped != nil {
			// Nothing is sent, so --rate does not apply.
			d = s.r.skip(jb, stopped)
		} else {
			d = s.r.do(s.execCtx, jb)
			if d.Outcome.StopsProfile {
				q.stop(d.Outcome)
			}
		}
		if d.err != nil {
			s.fail(d.err)
		}
		s.collect(d)
		if s.deliver != nil {
			s.deliver.offer(&d)
		}
	}
}

// dispatch streams the rows of every profile once from the journal's plan
// section. It fixes each row's password and writes the intents of a batch
// of rows in one durable append (group commit) before any of them is queued:
// a row is never sent before its intent is on disk, and a row whose intent
// is on disk but was never sent is simply sent on resume with that password.
func (r *runner) dispatch(s *scheduler) error {
	defer s.end() // whatever the reason, no row comes any more: idle workers end
	f, err := os.Open(r.path)
	if err != nil {
		return fmt.Errorf("read journal rows: %w", err)
	}
	defer f.Close()
	batch := make([]job, 0, r.readAhead())
	var buf []byte
	first := true
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := r.j.append(buf, true); err != nil {
			return err
		}
		s.held = append(s.held, batch...)
		clear(batch)
		batch, buf = batch[:0], buf[:0]
		return s.drain(s.maxHeld)
	}
	_, _, err = scanRecords(f, func(rec *record) error {
		switch rec.T {
		case recPlanned:
			return errPlanned
		case recRow:
		default:
			return nil
		}
		if r.st.done.has(rec.Seq) {
			s.skip(rec.Profile)
			return nil
		}
		if s.stop.Err() != nil {
			return errStopped
		}
		jb := job{row: rec.row()}
		if r.cfg.Only != nil && !r.cfg.Only(jb.row) {
			s.skip(rec.Profile)
			return nil
		}
		if sr, ok := r.st.sent[rec.Seq]; ok {
			jb.password, jb.attempt, jb.wasUncertain = sr.password, sr.attempt, sr.uncertain
		}
		if err := r.intent(&jb); err != nil {
			return err
		}
		b, err := appendRecord(buf, intentRecOf(jb.row.Seq, jb.attempt, jb.password, time.Now()))
		if err != nil {
			return err
		}
		buf = b
		batch = append(batch, jb)
		// The first batch is just big enough to give every worker a row,
		// so the first requests leave sooner; later ones fill the read-ahead.
		if len(batch) == cap(batch) || (first && len(batch) >= r.cfg.Concurrency) {
			first = false
			return flush()
		}
		return nil
	})
	if err == nil || errors.Is(err, errPlanned) {
		err = flush()
		if err == nil {
			err = s.drain(1)
		}
	}
	if err != nil && !errors.Is(err, errStopped) {
		return fmt.Errorf("read journal rows: %w", err)
	}
	// Stopped: the rows whose intents are durable but that never reached a
	// queue were not sent either.
	for _, jb := range s.held {
		r.notSent(jb)
	}
	clear(s.held)
	s.held = s.held[:0]
	return nil
}

// stop ends the sending of the profile's rows for the rest of the run; the
// first outcome that stops it is the one its other rows report.
func (q *profileQueue) stop(o Outcome) {
	q.mu.Lock()
	if q.stopped == nil {
		q.stopped = &o
	}
	q.mu.Unlock()
}

// skip records a row of a stopped profile as not sent, for the failure of
// an earlier row of its profile, whose auth, network and class it takes
// (they pick its exit code); a resume sends it.
func (r *runner) skip(jb job, stop *Outcome) done {
	why := stop.Message
	if why == "" {
		why = string(stop.State)
	}
	return r.record(jb, Outcome{State: fate.NotSent, Auth: stop.Auth, Network: stop.Network, Class: stop.Class,
		Message: "not sent: an earlier row of this profile failed: " + why}, 0)
}

// classInterrupted is the class of the not-sent outcome of a row the run
// stopped before sending.
const classInterrupted = "interrupted"

// notSent records that a row whose intent is durable was never sent: the
// run stopped first. Without it the row would count as in flight (its
// request possibly written) in journal show. Best effort: a lost record only
// makes the row look in flight, and a resume sends it with the same
// password either way.
func (r *runner) notSent(jb job) Outcome {
	o := Outcome{State: fate.NotSent, Class: classInterrupted, Message: "not sent: the run was interrupted"}
	if rec, err := encodeRecord(outcomeRecOf(&jb.row, jb.attempt, &o, time.Now())); err == nil {
		_ = r.j.append(rec, false)
	}
	return o
}

var (
	errPlanned = errors.New("planned")
	errStopped = errors.New("stopped")
)

// intent fixes the password of the job's next attempt: the one an earlier
// intent recorded, the input's, or a new one.
func (r *runner) intent(jb *job) error {
	if jb.password == "" {
		jb.password = jb.row.Password
	}
	if jb.password == "" {
		pw, err := r.cfg.Generate(jb.row)
		if err == nil && pw == "" {
			err = errors.New("empty password")
		}
		if err != nil {
			return fmt.Errorf("generate a password for row %d: %w", jb.row.Seq, err)
		}
		jb.password = pw
	}
	jb.attempt++
	return nil
}

// do sends one row whose intent the dispatcher has made durable, then
// records the outcome.
func (r *runner) do(execCtx context.Context, jb job) done {
	start := time.Now()
	out := r.cfg.Exec(execCtx, jb.row, jb.password)
	if !out.State.Valid() {
		out.State = fate.Unknown
	}
	return r.record(jb, out, time.Since(start))
}

// record journals a row's outcome (without waiting for the disk: a lost
// outcome only means the row is sent again) and makes its result.
func (r *runner) record(jb job, out Outcome, elapsed time.Duration) done {
	d := done{Result: Result{Row: jb.row, Password: jb.password, Generated: jb.row.Password == "", Attempt: jb.attempt, Outcome: out, Duration: elapsed},
		wasUncertain: jb.wasUncertain}
	rec, err := encodeRecord(outcomeRecOf(&jb.row, jb.attempt, &out, time.Now()))
	if err == nil {
		err = r.j.append(rec, false)
	}
	d.err = err
	return d
}

// collector counts finished rows and reports them. Workers call add
// directly, under its lock: a channel to a collecting goroutine cost a
// goroutine wake-up per row, a few per cent of a fast run.
type collector struct {
	r                *runner
	mu               sync.Mutex
	succ, failed     int
	skipped          int
	finished         int
	start, lastShown time.Time
}

func (r *runner) newCollector() *collector {
	st := r.st
	c := &collector{r: r, succ: st.succeeded, failed: st.failed, start: time.Now()}
	for _, w := range st.done {
		c.skipped += bits.OnesCount64(w)
	}
	c.progress(false)
	return c
}

// progress reports, at most every 100 ms unless final; c.mu is held or
// not yet shared.
func (c *collector) progress(final bool) {
	if c.r.cfg.OnProgress == nil {
		return
	}
	t := time.Now()
	if !final && t.Sub(c.lastShown) < 100*time.Millisecond {
		return
	}
	c.lastShown = t
	total := c.r.st.total
	p := Progress{Total: total, Done: c.succ + c.failed, Succeeded: c.succ, Failed: c.failed, Skipped: c.skipped, Elapsed: t.Sub(c.start), Final: final}
	if secs := p.Elapsed.Seconds(); secs > 0 && c.finished > 0 {
		p.Rate = float64(c.finished) / secs
		p.ETA = time.Duration(float64(total-p.Done) / p.Rate * float64(time.Second))
	}
	c.r.cfg.OnProgress(p)
}

func (c *collector) add(d done) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d.Outcome.OK() {
		c.succ++
	} else if finalOutcome(d.Outcome, d.wasUncertain) {
		c.failed++
	}
	c.finished++
	if c.r.cfg.OnResult != nil {
		c.r.cfg.OnResult(d.Result)
	}
	c.progress(false)
}

// tick reports progress every second while no row finishes, until
// finished is closed.
func (c *collector) tick(finished <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-finished:
			return
		case <-t.C:
			c.mu.Lock()
			c.lastShown = time.Time{}
			c.progress(false)
			c.mu.Unlock()
		}
	}
}

// summary reports the final progress and the run's counts, once every
// worker has stopped.
func (c *collector) summary() Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.progress(true)
	total := c.r.st.total
	return Summary{Total: total, Succeeded: c.succ, Failed: c.failed, Skipped: c.skipped, Pending: total - c.succ - c.failed}
}
