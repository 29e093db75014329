package passwd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/fate"
	"github.com/cpctl/cpctl/pkg/output"
	"github.com/cpctl/cpctl/pkg/pace"
	"github.com/cpctl/cpctl/pkg/secret"
	"github.com/cpctl/cpctl/pkg/secret/strength"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// BulkOptions are the flags of a bulk run.
type BulkOptions struct {
	From    string
	Resume  string
	Journal string
	// ConcurrencyFlag is --concurrency as given: "auto" or a number.
	ConcurrencyFlag string
	// Concurrency is the ceiling of rows in flight per profile: the fixed
	// number, or --max-concurrency when Adaptive.
	Concurrency int
	// Adaptive paces each server with a pace limiter (--concurrency auto).
	Adaptive       bool
	MaxConcurrency int
	Rate           string
	Validate       bool
}

// Active reports whether a bulk flag was given.
func (b *BulkOptions) Active() bool { return b.From != "" || b.Resume != "" }

func addBulkFlags(cmd *cobra.Command, o *Options) {
	cmd.Flags().StringVar(&o.Bulk.From, "from", "", "bulk: rows from `FILE` (CSV with a header row, or JSON Lines; - for standard input)")
	addRunFlags(cmd, o)
	cmd.MarkFlagsMutuallyExclusive("from", "resume")
	addSelectFlags(cmd, o)
	cmd.MarkFlagsMutuallyExclusive("all", "reseller", "domain", "from", "resume")
}

// addRunFlags declares the flags of every bulk run, from a file or a
// selection.
func addRunFlags(cmd *cobra.Command, o *Options) {
	fl := cmd.Flags()
	fl.StringVar(&o.Bulk.Resume, "resume", "", "bulk: finish the run recorded in `JOURNAL`")
	fl.StringVar(&o.Bulk.Journal, "journal", "", "bulk: journal `FILE` (default: cpctl-KIND-TIMESTAMP.journal in the working directory)")
	fl.StringVar(&o.Bulk.ConcurrencyFlag, "concurrency", "auto", "bulk: requests in flight per server: auto (find the server's pace) or a number `N`")
	fl.IntVar(&o.Bulk.MaxConcurrency, "max-concurrency", pace.DefaultMax, "bulk: with --concurrency auto, never more than `N` requests in flight per server")
	fl.StringVar(&o.Bulk.Rate, "rate", "", "bulk: at most this many requests, e.g. 10/s or 600/m")
	fl.BoolVar(&o.Bulk.Validate, "validate", false, "bulk: only check the input file, or list a selection's targets; change nothing")
}

// bulkGCPercent is the GOGC of a bulk run (the Go default is 100).
const bulkGCPercent = 400

// minBulkGCPercent bounds GOGC from below as a run reaches more servers.
// Each server keeps its own connections and the calls in flight on them
// alive: 200 servers at 6 calls each are 1,200 TLS connections and 3,600
// goroutines, 50 MB that GOGC 400 would let grow fivefold before a
// collection (230 MB in cpctl-bench 7d). The collector's headroom is shared
// among the servers instead: 400 with one, 100 with four, at least 25
// (about 85 MB there, for no measurable CPU).
const minBulkGCPercent = 25

// Journal meta keys: a resume takes the run's settings from the journal, so
// it needs no flags but --resume.
const (
	metaKind        = "kind"
	metaProfile     = "profile"
	metaAPI         = "api"
	metaOwner       = "owner"
	metaDBPass      = "db-pass-update"
	metaDigest      = "digest"
	metaEnableMySQL = "enable-mysql"
	metaVerify      = "verify"
	metaForce       = "force"
	metaLength      = "length"
	metaSimple      = "simple-charset"
	metaSecretsOut  = "secrets-out"
	metaSelection   = "selection" // a selection's flags, for people: its rows are in the plan
	metaKinds       = "kinds"     // a rotation's kinds
)

// batchKind is the batch.Kind of the same name.
func batchKind(k Kind) batch.Kind {
	bk, err := batch.ParseKind(string(k))
	if err != nil {
		return batch.KindAccount
	}
	return bk
}

// ownerOf is the owner of a row's target: own (the row's, or the one
// found), else --owner; a selected row's owner is its own, even "".
func (o *Options) ownerOf(own string, row batch.Row) string {
	if own == "" && row.Source == "" {
		return o.Owner
	}
	return own
}

// rowOptions are the options a row runs with: in a mixed run, the run's
// with the row's own kind.
func (o *Options) rowOptions(row batch.Row) *Options {
	if row.Kind == 0 {
		return o
	}
	ro := *o
	ro.Kind = Kind(row.Kind.String())
	return &ro
}

func (o *Options) meta(profile string) map[string]string {
	tri := func(yes, no bool) string {
		switch {
		case yes:
			return "1"
		case no:
			return "0"
		}
		return ""
	}
	m := map[string]string{
		metaKind: string(o.Kind), metaProfile: profile, metaAPI: o.API, metaOwner: o.Owner,
		metaDBPass: tri(o.DBPassUpdate, o.NoDBPassUpdate), metaDigest: tri(o.Digest, o.NoDigest),
		metaEnableMySQL: strconv.FormatBool(o.EnableMySQL), metaVerify: strconv.FormatBool(o.Verify),
		metaForce: strconv.FormatBool(o.Force), metaLength: strconv.Itoa(o.Password.Length),
		metaSimple: strconv.FormatBool(o.Password.SimpleCharset), metaSecretsOut: o.SecretsOut,
		metaSecretsCommand: o.SecretsCommand,
	}
	if o.SecretsOut != "" {
		if abs, err := filepath.Abs(o.SecretsOut); err == nil {
			m[metaSecretsOut] = abs
		}
	}
	if o.selecting() {
		m[metaSelection] = o.Select.describe(o.Owner)
	}
	if o.Kind == Mixed {
		var ks []string
		for _, k := range o.Select.Kinds {
			ks = append(ks, string(k))
		}
		m[metaKinds] = strings.Join(ks, ",")
	}
	return m
}

// restore takes the run's settings back from a journal's meta.
func (o *Options) restore(journal string, m map[string]string) (profile string, err error) {
	if Kind(m[metaKind]) != o.Kind {
		return "", cmdutil.Usagef("journal %s belongs to another command: resume it with: cpctl %s --resume %s",
			journal, CommandFor(m[metaKind]), output.ShellQuote(journal))
	}
	o.API, o.Owner = m[metaAPI], m[metaOwner]
	o.DBPassUpdate, o.NoDBPassUpdate = m[metaDBPass] == "1", m[metaDBPass] == "0"
	o.Digest, o.NoDigest = m[metaDigest] == "1", m[metaDigest] == "0"
	o.EnableMySQL = m[metaEnableMySQL] == "true"
	o.Verify = o.Verify || m[metaVerify] == "true"
	o.Force = o.Force || m[metaForce] == "true"
	o.Password.Length, _ = strconv.Atoi(m[metaLength])
	o.Password.SimpleCharset = m[metaSimple] == "true"
	if o.SecretsOut == "" {
		o.SecretsOut = m[metaSecretsOut]
	}
	if o.SecretsCommand == "" {
		o.SecretsCommand = m[metaSecretsCommand]
	}
	return m[metaProfile], nil
}

// servers hands out one resolved target and client per profile, shared by
// every worker so that a run costs one TLS handshake per connection.
type servers struct {
	o      *Options
	def    string
	tuneGC bool // GOGC is the run's: shared among the servers
	mu     sync.Mutex
	m      map[string]*server
}

type server struct {
	once   sync.Once
	target *cmdutil.Target
	client *cpanel.Client
	err    error
	lim    pace.Limiter // with --concurrency auto
	owners *owners      // the owners found through this profile

	// The minimums are read on the first row of each app that brings its
	// own password: a generated one always meets them.
	minMu sync.Mutex
	min   map[string]int

	// downSince is when its rows began to fail on the network without
	// being sent (zero while they reach it); see reach.
	reachMu   sync.Mutex
	downSince time.Time
}

// minimum returns the server's minimum for app, reading it once.
func (sv *server) minimum(ctx context.Context, o *Options, app string) int {
	sv.minMu.Lock()
	defer sv.minMu.Unlock()
	v, ok := sv.min[app]
	if !ok {
		if sv.min == nil {
			sv.min = map[string]int{}
		}
		v = o.minimum(ctx, sv.client, sv.target, app)
		sv.min[app] = v
	}
	return v
}

// limit is how many calls the profile's server may have in flight now
// (batch.RunConfig.Workers): its pace limiter's limit. It makes the
// server's entry, not its client.
func (s *servers) limit(profile string) int {
	return s.entry(profile).lim.Limit()
}

// entry returns the profile's server, made on first use without a client.
func (s *servers) entry(profile string) *server {
	if profile == "" {
		profile = s.def
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, ok := s.m[profile]
	if !ok {
		sv = &server{owners: newOwners()}
		if s.o.Bulk.Adaptive {
			// Made under s.mu, where paceNote reads it.
			sv.lim = pace.New(pace.Options{Max: s.o.Bulk.MaxConcurrency, OnChange: s.logPace(profile)})
		}
		s.m[profile] = sv
		if s.tuneGC {
			debug.SetGCPercent(max(bulkGCPercent/len(s.m), minBulkGCPercent))
		}
	}
	return sv
}

func (s *servers) get(ctx context.Context, profile string) (*server, error) {
	if profile == "" {
		profile = s.def
	}
	sv := s.entry(profile)
	sv.once.Do(func() {
		sv.target, sv.err = s.o.ResolveTarget(profile)
		if sv.err != nil {
			return
		}
		sv.target.MaxConns = s.o.Bulk.Concurrency
		if lim := sv.lim; lim != nil {
			sv.target.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return pace.Transport(rt, lim) }
			sv.target.MaxRetries = pacedRetries
		}
		sv.client, sv.err = s.o.Client(ctx, sv.target)
	})
	return sv, sv.err
}

func (s *servers) close(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.m {
		if sv.client != nil {
			_ = sv.client.Close(ctx)
		}
	}
}

func openInput(in io.Reader, path string) (io.Reader, func(), error) {
	if path == "-" {
		return in, func() {}, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, cmdutil.Usagef("--from: %w", err)
	}
	return fh, func() { fh.Close() }, nil
}

func runBulk(ctx context.Context, o *Options) error {
	if err := o.checkBulkFlags(); err != nil {
		return err
	}
	journal, defProfile, err := o.bulkStart()
	if err != nil {
		return err
	}
	// A bulk run's live heap is small and flat (rows are streamed), so the
	// collector may let it grow more between cycles: fewer cycles, less CPU
	// per row, and peak memory still far below 50 MB at 100,000 rows.
	tuneGC := os.Getenv("GOGC") == ""
	if tuneGC {
		defer debug.SetGCPercent(debug.SetGCPercent(bulkGCPercent))
	}
	sv := &servers{o: o, def: defProfile, tuneGC: tuneGC, m: map[string]*server{}}
	defer sv.close(ctx)
	vopts := o.validateOptions(defProfile)
	var sel *resolution
	if o.selecting() {
		if sel, err = o.resolveSelection(ctx, sv, defProfile); err != nil {
			return err
		}
		if o.Bulk.Validate || o.DryRun {
			return o.printSelection(sel)
		}
		if len(sel.rows) == 0 {
			o.nothingSelected(sel)
			return nil
		}
	} else if o.Bulk.Validate {
		return o.validateOnly(vopts)
	}
	secretsDone, err := o.secretsOutDone()
	if err != nil {
		return err
	}

	out := newBulkOutput(o)
	showPasswords := o.SecretsOut == "" && o.SecretsCommand == ""
	unverified, printed := 0, 0 // counted by OnResult, which the runner calls one at a time
	var failures output.Failures
	var stopped stoppedProfiles
	writeRow, progress := out.rows(streamOptions(o, showPasswords))
	if progress != nil && o.Bulk.Adaptive {
		bar := progress
		progress = func(p batch.Progress) {
			p.Note = sv.paceNote()
			bar(p)
		}
	}
	cfg := batch.RunConfig{
		Journal:        journal,
		Kind:           batchKind(o.Kind),
		Validate:       vopts,
		Concurrency:    o.Bulk.Concurrency,
		DefaultProfile: defProfile,
		Exec: func(ctx context.Context, row batch.Row, password string) batch.Outcome {
			return o.execRow(ctx, sv, row, password)
		},
		OnResult: func(r batch.Result) {
			if r.Outcome.OK() && r.Outcome.Verified != nil && !*r.Outcome.Verified {
				unverified++
			}
			recordFailure(&failures, r)
			if r.Outcome.StopsProfile {
				stopped.add(cmp.Or(r.Row.Profile, defProfile), r.Outcome)
			}
			writeRow(o.bulkResult(ctx, sv, r, showPasswords))
			printed++
		},
		OnProgress: progress,
	}
	if o.Password.Generate || o.Bulk.Resume != "" {
		cfg.Generate = o.generate
	}
	if o.SecretsCommand != "" {
		cfg.Deliver = o.bulkDeliver(defProfile)
	}
	cfg.Rate, _ = batch.ParseRate(o.Bulk.Rate) // checked by checkBulkFlags
	if o.Bulk.Adaptive {
		// A server's workers follow its pace: those beyond it would only
		// wait, each with a row and a goroutine's stack.
		cfg.Workers = sv.limit
	}

	sum, journal, err := o.bulkRun(ctx, cfg, defProfile, sel)
	outErr := out.close()
	if err == nil {
		err = o.bulkEnd(sum, journal, secretsDone, unverified, &failures, stopped)
	}
	if outErr != nil {
		// The journal has every row; only the printed results were lost.
		lost := fmt.Errorf("writing the results to standard output: %w (every row's outcome is in the journal: cpctl journal show %s)", outErr, output.ShellQuote(journal))
		if err == nil {
			return lost
		}
		if printed > 0 {
			// The run's own failure decides the exit. A run that failed
			// before any row (a bad input: no journal) lost no result.
			o.warnf("%s", lost)
		}
	}
	return err
}

// nothingSelected says that a selection found nothing to change. A
// --reseller that owns no account says so when the server confirmed the
// name (a name it does not have never gets here: checkReseller), and else
// where to check the name.
func (o *Options) nothingSelected(sel *resolution) {
	what := o.Select.describe(o.Owner)
	if o.resellerOwnsNothing(sel) {
		fmt.Fprintf(o.IO.ErrOut, "cpctl: %s: %s; nothing was changed\n", what, ownsNothing(termsafe.String(o.Select.Reseller), sel.ownerKnown))
		return
	}
	fmt.Fprintf(o.IO.ErrOut, "cpctl: %s: nothing selected; nothing was changed\n", what)
}

// resellerOwnsNothing reports a --reseller selection that found no account:
// the server lists none for a reseller without accounts and for a name that
// is no reseller alike.
func (o *Options) resellerOwnsNothing(sel *resolution) bool {
	return sel.accounts == 0 && o.Select.Reseller != ""
}

// checkBulkFlags refuses what a bulk run cannot take, before anything is read.
func (o *Options) checkBulkFlags() error {
	selecting := o.selecting()
	switch {
	case selecting:
		if err := o.checkSelection(); err != nil {
			return err
		}
	case o.Password.Stdin || o.Password.File != "" || o.Password.Value != "":
		return cmdutil.Usagef("in a bulk run passwords come from the file's password column or --generate")
	case len(o.Select.Match) > 0 || len(o.Select.Exclude) > 0:
		return cmdutil.Usagef("--match and --exclude narrow a selection on the server, not --from or --resume")
	case o.DryRun:
		return cmdutil.Usagef("--dry-run does not apply to bulk runs: use --validate to check the file")
	}
	if _, err := o.OutputFormat(); err != nil {
		return err
	}
	if _, err := batch.ParseRate(o.Bulk.Rate); err != nil {
		return cmdutil.Usagef("--rate: %w", err)
	}
	return o.parseConcurrency()
}

// parseConcurrency reads --concurrency (auto or a number) and
// --max-concurrency into the run's ceiling per profile.
func (o *Options) parseConcurrency() error {
	b := &o.Bulk
	if b.MaxConcurrency < 1 {
		return cmdutil.Usagef("--max-concurrency must be at least 1")
	}
	if strings.EqualFold(strings.TrimSpace(b.ConcurrencyFlag), "auto") {
		b.Adaptive, b.Concurrency = true, b.MaxConcurrency
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(b.ConcurrencyFlag))
	if err != nil || n < 1 {
		return cmdutil.Usagef("--concurrency: want auto or a number of at least 1, not %q", b.ConcurrencyFlag)
	}
	b.Adaptive, b.Concurrency = false, n
	return nil
}

// pacedRetries is how often a paced run's client retries a 503 (or a
// request that was never sent): the limiter already waits out Retry-After
// and slows down, so a busy server is waited for rather than failed.
const pacedRetries = 10

// paceNote is the progress line's view of a paced run: the current
// concurrency of its server, or the range over several; "" when fixed.
func (s *servers) paceNote() string {
	s.mu.Lock()
	var limits []int
	for _, sv := range s.m {
		if sv.lim != nil {
			limits = append(limits, sv.lim.Limit())
		}
	}
	s.mu.Unlock()
	switch len(limits) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("concurrency %d", limits[0])
	}
	return fmt.Sprintf("concurrency %d–%d over %d servers", slices.Min(limits), slices.Max(limits), len(limits))
}

// logPace returns the limiter's hook for one profile: with -v, each change
// of its concurrency is logged on stderr.
func (s *servers) logPace(profile string) func(pace.Change) {
	if !s.o.Verbose {
		return nil
	}
	return func(c pace.Change) {
		fmt.Fprintf(s.o.IO.ErrOut, "cpctl: %s: %s\n", profile, c.String())
	}
}

// bulkStart returns the journal (given, or of the run being resumed, whose
// settings it restores) and the default profile.
func (o *Options) bulkStart() (journal, defProfile string, err error) {
	if o.Bulk.Resume != "" {
		h, err := batch.ReadHeader(o.Bulk.Resume)
		if err != nil {
			return "", "", cmdutil.Usagef("--resume: %w", err)
		}
		defProfile, err = o.restore(o.Bulk.Resume, h.Meta)
		return o.Bulk.Resume, defProfile, err
	}
	names, err := o.ProfileNames()
	if err != nil {
		return "", "", err
	}
	if len(names) != 1 {
		return "", "", cmdutil.Usagef("give one default profile; rows may name others in a profile column")
	}
	if o.Kind == Account {
		if _, err := o.accountOptions(); err != nil {
			return "", "", err
		}
	}
	return o.Bulk.Journal, names[0], nil
}

func (o *Options) validateOptions(defProfile string) batch.ValidateOptions {
	return batch.ValidateOptions{
		Generate:       o.Password.Generate,
		DefaultProfile: defProfile,
		DefaultOwner:   o.Owner,
		CheckProfile: func(profile string) error {
			_, err := o.ResolveTarget(profile)
			return err
		},
		// No RequireOwner: through WHM a row's owner is found when it is
		// not given; a row whose owner cannot be found is refused when sent.
	}
}

// validateOnly is --validate: check the input, send nothing.
func (o *Options) validateOnly(vopts batch.ValidateOptions) error {
	in, done, err := openInput(o.IO.In, o.Bulk.From)
	if err != nil {
		return err
	}
	defer done()
	n, err := batch.Validate(in, batchKind(o.Kind), vopts)
	if err != nil {
		return o.validationErr(err)
	}
	fmt.Fprintf(o.IO.ErrOut, "cpctl: %s: %s, all valid\n", o.Bulk.From, output.Count(n, "row"))
	return nil
}

// secretsOutDone reports whether --secrets-out was already written whole by
// an earlier run of the journal being resumed; a fresh run refuses an
// existing file, so no stale password can be mixed in.
func (o *Options) secretsOutDone() (bool, error) {
	if o.SecretsOut == "" {
		return false, nil
	}
	if _, err := os.Lstat(o.SecretsOut); err != nil {
		return false, nil //nolint:nilerr // absent: it will be created
	}
	if o.Bulk.Resume == "" {
		return false, cmdutil.Usagef("--secrets-out %s exists: it is created fresh so no stale password can be mixed in", o.SecretsOut)
	}
	return true, nil
}

func (o *Options) generate(row batch.Row) (string, error) {
	user := row.Target
	if o.rowOptions(row).Kind != Account {
		user, _, _ = strings.Cut(row.Target, "@")
	}
	return secret.GenerateFor(user, o.Password.Length, o.Password.SimpleCharset)
}

// bulkRun plans a fresh run into its journal (every row read and checked
// first, so a bad file leaves no journal) or resumes one, and runs it.
func (o *Options) bulkRun(ctx context.Context, cfg batch.RunConfig, defProfile string, sel *resolution) (batch.Summary, string, error) {
	if o.Bulk.Resume != "" {
		fmt.Fprintf(o.IO.ErrOut, "cpctl: resuming %s\n", cfg.Journal)
	} else {
		if cfg.Journal == "" {
			cfg.Journal = fmt.Sprintf("cpctl-%s-%s.journal", o.Kind, time.Now().UTC().Format("20060102T150405Z"))
		}
		if err := o.plan(cfg, defProfile, sel); err != nil {
			return batch.Summary{}, cfg.Journal, err
		}
	}
	sum, err := o.resume(ctx, cfg.Journal, cfg)
	if err != nil {
		return sum, cfg.Journal, deliveryNeeded(runErr(err, cfg.Journal), cfg.Journal)
	}
	return sum, cfg.Journal, nil
}

// runErr says which journal a run that could not go on was running: most of
// batch's errors name it already ("journal J: in use by another process"),
// and naming it again would say it twice.
func runErr(err error, journal string) error {
	if strings.Contains(err.Error(), "journal "+journal) {
		return fmt.Errorf("bulk run: %w", err)
	}
	return fmt.Errorf("bulk run: %w (journal %s)", err, journal)
}

// plan writes a fresh run's plan into its journal: the selected rows, or
// the input's.
func (o *Options) plan(cfg batch.RunConfig, defProfile string, sel *resolution) error {
	vo := cfg.Validate
	var n int
	var err error
	if sel != nil {
		vo.Generate = true
		vo.RequireOwner, vo.DefaultOwner = nil, ""
		n, err = batch.PlanRows(cfg.Journal, sel.planRows(cfg.Kind), cfg.Kind, o.meta(defProfile), vo)
	} else {
		in, done, oerr := openInput(o.IO.In, o.Bulk.From)
		if oerr != nil {
			return oerr
		}
		defer done()
		vo.Generate = cfg.Generate != nil
		n, err = batch.Plan(cfg.Journal, in, cfg.Kind, o.meta(defProfile), vo)
	}
	var ve *batch.ValidationError
	switch {
	case errors.As(err, &ve):
		return o.validationErr(err)
	case err != nil:
		return cmdutil.Usagef("bulk run: %w", err)
	case sel != nil:
		fmt.Fprintf(o.IO.ErrOut, "cpctl: %s selected; journal %s (it holds the new passwords: keep it private)\n", output.Count(n, "target"), cfg.Journal)
	default:
		fmt.Fprintf(o.IO.ErrOut, "cpctl: %s; journal %s (it holds the new passwords: keep it private)\n", output.Count(n, "row"), cfg.Journal)
	}
	return nil
}

// bulkEnd prints the summary, writes --secrets-out once every row is
// settled, and returns the run's exit.
func (o *Options) bulkEnd(sum batch.Summary, journal string, secretsDone bool, unverified int, failures *output.Failures, stopped stoppedProfiles) error {
	o.printRunEnd(journal, sum, failures)
	o.printDeliveryEnd(sum)
	stopped.print(o.IO.ErrOut)
	if sum.Pending > 0 {
		// Rows not done, or not settled: a lost reply (the server may have
		// the new password) or a local failure before sending. Only a
		// resume, which sends the same passwords again, settles them, and
		// until then the secrets file would miss passwords: it waits.
		resume := o.resumeCommand(journal)
		if sum.Interrupted {
			return &cmdutil.ExitError{Code: cmdutil.ExitInterrupted, Err: fmt.Errorf(
				"interrupted; resume with: %s", resume)}
		}
		why := "no usable reply, or not sent"
		if stopped.auth() {
			why = "credentials refused, no usable reply, or not sent"
		}
		return &cmdutil.ExitError{Code: sum.ExitCode(), Err: fmt.Errorf(
			"%s not settled (%s)%s; once the cause is fixed, finish with: %s", output.CountVerb(sum.Pending, "row", "is", "are"), why, undeliveredToo(sum), resume)}
	}
	if o.SecretsOut != "" && !secretsDone {
		if err := batch.WriteSecretsFile(journal, o.SecretsOut); err != nil {
			return &cmdutil.ExitError{Code: cmdutil.ExitSecretsNotSaved, Err: fmt.Errorf(
				"--secrets-out: %w; the changes were made and the journal holds the new passwords: cpctl journal export %s --secrets-out FILE",
				err, output.ShellQuote(journal))}
		}
		fmt.Fprintf(o.IO.ErrOut, "cpctl: new passwords written to %s\n", o.SecretsOut)
	}
	if err := o.deliveryEnd(sum, journal); err != nil {
		return err
	}
	if unverified > 0 {
		code := cmdutil.ExitPartial
		if unverified == sum.Succeeded && sum.Failed == 0 && sum.Skipped == 0 {
			code = cmdutil.ExitRefused
		}
		return &cmdutil.ExitError{Code: code, Err: fmt.Errorf(
			"%d rows were changed but their new password could not be verified (they are in the journal and the secrets file)", unverified)}
	}
	if code := sum.ExitCode(); code != 0 {
		return &cmdutil.ExitError{Code: code}
	}
	return nil
}

// stoppedProfiles are the profiles whose rows a run stopped sending, in the
// order it did, each with the outcome that stopped it
// (batch.Outcome.StopsProfile): its credentials refused, or its server out
// of reach.
type stoppedProfiles []stoppedProfile

type stoppedProfile struct {
	profile string
	outcome batch.Outcome
}

func (ss *stoppedProfiles) add(profile string, o batch.Outcome) {
	if !slices.ContainsFunc(*ss, func(s stoppedProfile) bool { return s.profile == profile }) {
		*ss = append(*ss, stoppedProfile{profile, o})
	}
}

// auth reports a profile stopped for its credentials.
func (ss stoppedProfiles) auth() bool {
	return slices.ContainsFunc(ss, func(s stoppedProfile) bool { return s.outcome.Auth })
}

// print says, for each stopped profile, why its rows stopped and, for
// refused credentials, how to check them; the run's last line then says how
// to resume.
func (ss stoppedProfiles) print(w io.Writer) {
	for _, s := range ss {
		reason := termsafe.Bounded(s.outcome.Message, cpanel.MaxReasonRunes)
		switch {
		case s.profile == "" && s.outcome.Auth:
			fmt.Fprintf(w, "cpctl: the server refused the credentials (%s): no more rows were sent with them\n", reason)
		case s.profile == "":
			fmt.Fprintf(w, "cpctl: %s: no more rows were sent to the server\n", reason)
		case s.outcome.Auth:
			fmt.Fprintf(w, "cpctl: profile %s: the server refused its credentials (%s): no more of its rows were sent; check them with: cpctl profile test %s\n",
				termsafe.String(s.profile), reason, output.ShellQuote(s.profile))
		default:
			fmt.Fprintf(w, "cpctl: profile %s: %s: no more of its rows were sent\n", termsafe.String(s.profile), reason)
		}
	}
}

// recordFailure keeps a failed row for the summary at the end of the run.
func recordFailure(fs *output.Failures, r batch.Result) {
	if !r.Outcome.OK() {
		fs.Add(output.FailedRow{Line: r.Row.Line, Target: r.Row.Target, Profile: r.Row.Profile, Message: r.Outcome.Message})
	}
}

// printRunEnd prints the counts of a run on stderr; at a terminal, the
// summary also names the failed rows, the journal and the commands to
// resume, list the failures and export the passwords.
func (o *Options) printRunEnd(journal string, sum batch.Summary, failures *output.Failures) {
	if o.IO.ErrTTY {
		_ = output.Summary(o.IO.ErrOut, output.SummaryInput{
			Journal: journal, Total: sum.Total, Succeeded: sum.Succeeded, Failed: sum.Failed,
			Skipped: sum.Skipped, Pending: sum.Pending, Interrupted: sum.Interrupted, Failures: failures,
			SecretsOut: o.SecretsOut, Width: output.TerminalWidth(o.IO.ErrFile),
		})
		return
	}
	fmt.Fprintf(o.IO.ErrOut, "cpctl: %s: %d succeeded, %d failed", output.Count(sum.Total, "row"), sum.Succeeded, sum.Failed)
	if sum.Skipped > 0 {
		fmt.Fprintf(o.IO.ErrOut, " (%d finished in an earlier run)", sum.Skipped)
	}
	fmt.Fprintln(o.IO.ErrOut)
}

// bulkOutput is where a bulk run's rows go: standard output, paced when it
// is not a terminal, and a progress bar on a terminal's stderr.
type bulkOutput struct {
	o      *Options
	paced  *cmdutil.PacedWriter // nil at a terminal
	pr     *output.Printer
	stream *output.Stream

	mu sync.Mutex // the progress bar and the rows share the terminal

	writeErr error // the first failed row write (the runner writes one row at a time)
}

func newBulkOutput(o *Options) *bulkOutput {
	fm, _ := o.OutputFormat() // checked by checkBulkFlags
	b := &bulkOutput{o: o}
	w := o.IO.Out
	if !o.IO.OutTTY {
		// Rows still reach a reading pipe within 50 ms, but thousands of
		// them cost a handful of writes instead of one each.
		b.paced = cmdutil.NewPacedWriter(w, 50*time.Millisecond)
		w = b.paced
	}
	b.pr = output.New(fm, w, o.IO.OutTTY, output.WithWidth(output.TerminalWidth(o.IO.OutFile)))
	return b
}

// rows starts the stream and returns the row writer and, at a terminal,
// the progress callback. The progress bar lives on the last line of
// stderr; when stdout is the same terminal, each row first wipes the bar
// and then redraws it below the row, so the two never share a line.
func (b *bulkOutput) rows(opts []output.StreamOption) (func(output.PasswdResult), func(batch.Progress)) {
	o := b.o
	b.stream = b.pr.Stream(opts...)
	write := func(r output.PasswdResult) {
		if err := b.stream.Write(r); err != nil && b.writeErr == nil {
			b.writeErr = err
		}
	}
	if !o.IO.ErrTTY {
		return write, nil
	}
	var last *batch.Progress
	bar := batch.NewProgressBar(o.IO.ErrOut, output.TerminalWidth(o.IO.ErrFile))
	progress := func(p batch.Progress) {
		b.mu.Lock()
		defer b.mu.Unlock()
		last = &p
		bar(p)
	}
	if !o.IO.OutTTY {
		return write, progress
	}
	return func(r output.PasswdResult) {
		b.mu.Lock()
		defer b.mu.Unlock()
		showing := last != nil && !last.Final
		if showing {
			fmt.Fprint(o.IO.ErrOut, "\r\x1b[K")
		}
		write(r)
		if showing {
			bar(*last)
		}
	}, progress
}

// close ends the stream and flushes standard output, returning the first
// write error: rows lost on the way to a closed pipe or a full disk are
// reported, not dropped.
func (b *bulkOutput) close() error {
	errs := []error{b.writeErr}
	if b.stream != nil {
		errs = append(errs, b.stream.Close())
	}
	if b.paced != nil {
		errs = append(errs, b.paced.Close())
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func streamOptions(o *Options, showPasswords bool) []output.StreamOption {
	var opts []output.StreamOption
	if showPasswords && (o.Password.Generate || o.Bulk.Resume != "") {
		opts = append(opts, output.WithPasswordColumn())
	}
	if o.Verify {
		opts = append(opts, output.WithVerifiedColumn())
	}
	if o.Kind == Mixed {
		opts = append(opts, output.WithKindColumn())
	}
	return opts
}

// validationErr lists every bad row on its own line of stderr and returns
// the one-line summary that main prints last.
func (o *Options) validationErr(err error) error {
	var ve *batch.ValidationError
	if !errors.As(err, &ve) {
		return &cmdutil.UsageError{Err: err}
	}
	if len(ve.Errors) == 1 && ve.Errors[0].Line <= 0 && ve.More == 0 {
		// The input as a whole (an empty file), not a row: one line says it.
		return cmdutil.Usagef("%s; nothing was sent", ve.Errors[0].Msg)
	}
	for _, re := range ve.Errors {
		fmt.Fprintf(o.IO.ErrOut, "cpctl: %s\n", re.Error())
	}
	if ve.More > 0 {
		fmt.Fprintf(o.IO.ErrOut, "cpctl: ... and %d more\n", ve.More)
	}
	return cmdutil.Usagef("%s in the input; nothing was sent", output.Count(len(ve.Errors)+ve.More, "invalid row"))
}

// execRow changes one row's password; it never returns the password in
// the outcome, which goes to the journal and to Show.
func (o *Options) execRow(ctx context.Context, sv *servers, row batch.Row, password string) batch.Outcome {
	o = o.rowOptions(row)
	s, err := sv.get(ctx, row.Profile)
	if err != nil {
		return failOutcome(err, false)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	return s.reach(o.execOn(ctx, s, row, password), now())
}

// unreachableFor is how long a server may refuse connections (every row
// not sent for the network) before a bulk run stops sending it rows: long
// enough for cpsrvd to restart, short of waiting once per row for a server
// that is down.
const unreachableFor = 30 * time.Second

// reach watches whether the server can be reached: once its rows have
// failed on the network without anything sent, and nothing else, for
// unreachableFor, the outcome stops the profile (batch.Outcome.StopsProfile)
// and the run's other rows for it are recorded not sent.
func (sv *server) reach(out batch.Outcome, now time.Time) batch.Outcome {
	sv.reachMu.Lock()
	defer sv.reachMu.Unlock()
	if out.State != fate.NotSent || !out.Network {
		sv.downSince = time.Time{}
		return out
	}
	if sv.downSince.IsZero() {
		sv.downSince = now
	}
	if d := now.Sub(sv.downSince); d >= unreachableFor && !out.StopsProfile {
		out.StopsProfile = true
		out.Message += fmt.Sprintf(" (for %s)", d.Round(time.Second))
	}
	return out
}

// execOn sends one row to its server.
func (o *Options) execOn(ctx context.Context, s *server, row batch.Row, password string) batch.Outcome {
	owner := o.ownerOf(row.Owner, row)
	p, err := resolvePlan(o, s.target, row.Target, owner)
	if err != nil {
		return unsentOutcome(err)
	}
	if err := s.owners.findOwner(ctx, s.client, p); err != nil {
		return stopsOn(unsentOutcome(annotate(err, s.target)), err)
	}
	out := o.changeRow(ctx, s, p, row, password)
	if p.find != ownerGiven {
		out.Owner = p.owner // found, not given: the journal keeps it for the secrets and the delivery
	}
	return out
}

// changeRow sends one row's change once its owner is known.
func (o *Options) changeRow(ctx context.Context, s *server, p *plan, row batch.Row, password string) batch.Outcome {
	// A generated password scores 100, so only the file's own passwords
	// are checked against the server's minimum.
	if row.Password != "" && !o.Force {
		if min := s.minimum(ctx, o, p.app()); min > 0 && strength.ScoreFor(password, p.user) < min {
			return batch.Outcome{State: fate.Refused, Class: "refused",
				Message: fmt.Sprintf("not sent: the password scores %d, below the server's minimum of %d", strength.ScoreFor(password, p.user), min)}
		}
	}
	var old string
	var err error
	if p.needsOldPassword() {
		old, err = o.oldPassword(ctx, s.target)
		if err != nil {
			return failOutcome(err, false)
		}
	}
	sctx := ctx
	if s.lim != nil {
		// The worker waits for its server's pace here, before the
		// request is built (pace.Reserve).
		var release func()
		if sctx, release, err = pace.Reserve(ctx, s.lim); err != nil {
			return unsentOutcome(err)
		}
		defer release()
	}
	res, err := send(sctx, s.client, o, p, password, old)
	if err != nil {
		return stopsOn(failOutcome(annotate(err, s.target), true), err)
	}
	out := batch.Outcome{State: fate.Applied, Message: res.Message, Services: res.Services, Class: "ok"}
	if !res.OK {
		// send reports a refusal as an error; a reply that is neither may
		// hide an applied change.
		out.State, out.Class = fate.Unknown, "transport"
	}
	if o.Verify {
		var r output.PasswdResult
		// The row stays OK in the journal: the server has this password now,
		// so it must be exported. The run's exit code counts it as failed.
		verr := o.verify(ctx, s.client, s.target, p, password, &r)
		out.Verified = r.Verified
		switch {
		case verr != nil:
			out.Message = "changed, but could not be verified: " + verr.Error()
		case r.Verified != nil && !*r.Verified:
			out.Message = "changed, but the new password does not work yet (verification failed)"
		}
	}
	return out
}

// failOutcome turns a failed row's error into its outcome. sent says the
// password change itself may have been sent.
func failOutcome(err error, sent bool) batch.Outcome {
	code := cmdutil.ExitCode(err)
	class := map[int]string{cmdutil.ExitRefused: "refused", cmdutil.ExitUsage: "usage", cmdutil.ExitAuth: "auth", cmdutil.ExitTransport: "transport"}[code]
	return batch.Outcome{State: rowState(err, sent), Auth: code == cmdutil.ExitAuth, Network: code == cmdutil.ExitTransport,
		Class: class, Message: strings.TrimSpace(reason(err)), StopsProfile: failsEveryRow(err)}
}

// stopsOn marks an outcome whose original error (before annotate, which
// rewords a certificate's failure) fails every row of the profile.
func stopsOn(out batch.Outcome, err error) batch.Outcome {
	out.StopsProfile = out.StopsProfile || failsEveryRow(err)
	return out
}

// failsEveryRow reports a failure that the profile's other rows would meet
// as well, whatever their target: the server refused the credentials as a
// whole, its certificate is not trusted or does not match the pin, or its
// name does not resolve. The run sends no more rows with the profile
// (batch.Outcome.StopsProfile). A server that refuses connections may be
// restarting: servers.reach stops it only after a while.
func failsEveryRow(err error) bool {
	var uc *cpanel.UntrustedCertificateError
	var fm *cpanel.FingerprintMismatchError
	var dns *net.DNSError
	return cpanel.CredentialsRefused(err) || errors.As(err, &uc) || errors.As(err, &fm) ||
		(errors.As(err, &dns) && dns.IsNotFound)
}

// rowState decides a failed row's fate. Before the change was sent (the
// profile, the login, a local check) nothing can have been applied; after,
// cpanel.StateOf reads the error: only a server's refusal is final, and a
// lost or unreadable reply, or an error nobody classified, is unknown.
func rowState(err error, sent bool) fate.State {
	if !sent || cmdutil.ExitCode(err) == cmdutil.ExitUsage {
		return fate.NotSent
	}
	return cpanel.StateOf(err)
}

func (o *Options) bulkResult(ctx context.Context, sv *servers, r batch.Result, showPasswords bool) output.PasswdResult {
	o = o.rowOptions(r.Row)
	profile := r.Row.Profile
	if profile == "" {
		profile = sv.def
	}
	owner := o.ownerOf(r.Row.Owner, r.Row)
	out := output.PasswdResult{
		Profile: profile, Kind: string(o.Kind), Target: r.Row.Target, Owner: owner,
		OK: r.Outcome.OK(), Services: r.Outcome.Services, Message: r.Outcome.Message,
		Verified: r.Outcome.Verified, ExitCode: r.Outcome.ExitCode(), Source: r.Row.Source,
	}
	if out.Owner == "" {
		out.Owner = r.Outcome.Owner
	}
	if out.Services == nil {
		out.Services = []string{}
	}
	if s, err := sv.get(ctx, r.Row.Profile); err == nil {
		out.Server = serverName(s.target.Profile.URL)
		if p, err := resolvePlan(o, s.target, r.Row.Target, owner); err == nil {
			out.API = string(p.api)
		}
	}
	// A row that may have been applied carries its password too (a resume
	// sends the same one): a generated password is never set and unknown.
	out.MaybeApplied = r.Outcome.State.MaybeApplied()
	if showPasswords && r.Generated && (r.Outcome.OK() || out.MaybeApplied) {
		out.Password = r.Password
	}
	return out
}
