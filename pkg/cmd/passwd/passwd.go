// Package passwd is the engine behind `cpctl account passwd`, `cpctl ftp
// passwd`, `cpctl email passwd`, `cpctl db passwd` and `cpctl webdisk
// passwd`: it resolves the server, the owning account and the new password,
// checks it against the server's minimum, calls the API through pkg/cpanel,
// optionally proves the change took effect, and prints one row per change.
// The noun packages only declare their flags.
package passwd

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/output"
	"github.com/cpctl/cpctl/pkg/secret"
	"github.com/cpctl/cpctl/pkg/secret/strength"
)

// Kind is what a password belongs to.
type Kind string

// The kinds; the strings are the `kind` field of the output and match
// batch.Kind's names.
const (
	Account    Kind = "account"
	FTP        Kind = "ftp"
	Email      Kind = "email"
	MySQL      Kind = "mysql"
	PostgreSQL Kind = "postgresql"
	WebDisk    Kind = "webdisk"
)

// Deps are what a passwd command needs from the factory. Run fills them
// from it once the flags are parsed (DepsOf); a test may fill its own.
type Deps struct {
	IO *cmdutil.IOStreams
	cmdutil.Targets
	// Client builds a target's client; TwoFactor handles a two-factor
	// refusal (cmdutil.Factory.TwoFactorFallback).
	Client    func(context.Context, *cmdutil.Target) (*cpanel.Client, error)
	TwoFactor func(ctx context.Context, t *cmdutil.Target, callErr error, prompt bool) (*cpanel.Client, error)
	// OutputFormat is -o; Printer prints in it on standard output.
	OutputFormat func() (output.Format, error)
	Printer      func() (*output.Printer, error)
	// CanPrompt says Prompter may ask at the terminal.
	CanPrompt bool
	Prompter  secret.Prompter
	// Environ is what --secrets-command runs with; Now is the clock.
	Environ []string
	Now     func() time.Time
	// DryRun and Verbose are the root's --dry-run and -v.
	DryRun, Verbose bool
}

// DepsOf takes a command's Deps from the factory.
func DepsOf(f *cmdutil.Factory) Deps {
	return Deps{IO: f.IO, Targets: f.Targets(), Client: f.Client, TwoFactor: f.TwoFactorFallback, OutputFormat: f.OutputFormat, Printer: f.Printer,
		CanPrompt: f.CanPrompt(), Prompter: f.Prompter, Environ: f.Environ, Now: f.Now, DryRun: f.DryRun, Verbose: f.Verbose}
}

// warnf prints a warning line on standard error.
func (d *Deps) warnf(format string, a ...any) { cmdutil.Warnf(d.IO.ErrOut, format, a...) }

// Options are the flags of a passwd command, and its Deps.
type Options struct {
	Deps
	Kind Kind

	Target string
	Owner  string
	API    string

	Password        secret.Source
	OldPasswordFile string

	DBPassUpdate   bool
	NoDBPassUpdate bool
	Digest         bool
	NoDigest       bool
	EnableMySQL    bool

	SecretsOut string
	Verify     bool
	Force      bool

	// SecretsCommand receives each new password on its standard input
	// (deliver.go).
	SecretsCommand string

	Bulk BulkOptions
	// Select is a server-side selection of the targets (select.go).
	Select Selection
	// newLister, when set, lists a server's targets instead of its client
	// (tests).
	newLister func(*server) (lister, error)
}

// AddFlags declares the flags every passwd command shares.
func AddFlags(cmd *cobra.Command, o *Options) {
	fl := cmd.Flags()
	fl.BoolVar(&o.Password.Stdin, "password-stdin", false, "read the new password from the first line of standard input")
	fl.StringVar(&o.Password.File, "password-file", "", "read the new password from the first line of `FILE`")
	fl.BoolVar(&o.Password.Generate, "generate", false, "generate a strong password (scores 100 by cPanel's algorithm) and print it once")
	fl.IntVar(&o.Password.Length, "length", 0, fmt.Sprintf("length of a generated password (default %d)", secret.DefaultLength))
	fl.BoolVar(&o.Password.SimpleCharset, "simple-charset", false, "generate from letters, digits and -_. only")
	fl.StringVar(&o.Password.Value, "password", "", "the new password (visible to other users in the process list: prefer --password-stdin)")
	fl.StringVar(&o.SecretsOut, "secrets-out", "", "write generated passwords to `FILE` (mode 0600, created exclusively) instead of printing them")
	fl.BoolVar(&o.Verify, "verify", false, "after the change, prove the new password works (account: a cPanel login; email: Email/verify_password)")
	fl.BoolVar(&o.Force, "force", false, "send a password even when it scores below the server's minimum")
	addDeliverFlags(cmd, o)
	addBulkFlags(cmd, o)
}

// RunFunc runs a passwd command on its parsed options; tests give one to
// NewCmd to check what a command line parses into, in-process.
type RunFunc func(*Options) error

// Run is the RunE of every passwd command: it takes the options' Deps from
// f, then runs runF on the options when runF is not nil, else the command
// itself.
func Run(cmd *cobra.Command, args []string, f *cmdutil.Factory, o *Options, runF RunFunc) error {
	if len(args) == 1 {
		o.Target = args[0]
	}
	o.Deps = DepsOf(f)
	if runF != nil {
		return runF(o)
	}
	ctx := cmd.Context()
	if o.SecretsOut == "-" {
		// Standard output already carries the rows (and, without
		// --secrets-out, the generated password); a file named "-" is
		// never what was meant.
		return cmdutil.Usagef("--secrets-out needs a file name: without it a generated password is printed on standard output")
	}
	if o.Bulk.Active() {
		if len(args) > 0 {
			return cmdutil.Usagef("give either %s or --from/--resume, not both", targetWord(o.Kind))
		}
		return runBulk(ctx, o)
	}
	if o.selectionFlags() && len(args) > 0 {
		return cmdutil.Usagef("give either %s or a selection (--all, --owner, --reseller, --domain, --match), not both", targetWord(o.Kind))
	}
	if o.selecting() {
		return runBulk(ctx, o)
	}
	if o.selectionFlags() {
		return o.checkSelection() // --match or --exclude without a selection
	}
	return runSingle(ctx, o)
}

func targetWord(k Kind) string {
	switch k {
	case FTP:
		return "FTPUSER"
	case Email:
		return "ADDRESS"
	case WebDisk:
		return "LOGIN"
	}
	return "USER"
}

// CommandFor is the command line that changes passwords of kind (a journal's
// kind name): "db passwd --engine postgresql" for a PostgreSQL run, for one.
func CommandFor(kind string) string {
	switch Kind(kind) {
	case MySQL:
		return "db passwd"
	case PostgreSQL:
		return "db passwd --engine postgresql"
	case Mixed:
		return "rotate"
	}
	return kind + " passwd"
}

// JournalKind is the kind of the run a journal records.
func JournalKind(path string) (Kind, error) {
	h, err := batch.ReadHeader(path)
	if err != nil {
		return "", err
	}
	return Kind(h.Meta[metaKind]), nil
}

// isDB reports the database kinds.
func (k Kind) isDB() bool { return k == MySQL || k == PostgreSQL }

// plan is one change, resolved and validated, ready to send.
type plan struct {
	target *cmdutil.Target
	kind   Kind
	api    cpanel.API
	user   string // account user, ftp user or mail local part
	domain string // ftp or mail domain
	owner  string
	// display is the target as the user wrote it (address for mail).
	display string
	// find says how the owner is found when it was not given: through WHM,
	// from the domain (getdomainowner), or among the database users.
	find ownerSource
}

// resolvePlan checks one target against the server kind and picks the API.
func resolvePlan(o *Options, t *cmdutil.Target, target, owner string) (*plan, error) {
	p := &plan{target: t, kind: o.Kind, display: target, owner: owner}
	var err error
	switch o.Kind {
	case Account:
		err = p.planAccount(o, t, target)
	case FTP, Email:
		err = p.planFTPOrEmail(o, target)
	case MySQL, PostgreSQL:
		err = p.planDB(o, target)
	case WebDisk:
		err = p.planWebDisk(o, target)
	}
	if err != nil {
		return nil, err
	}
	if o.Kind != Account {
		if err := p.setOwner(t, owner); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *plan) planAccount(o *Options, t *cmdutil.Target, target string) error {
	p.user = target
	if t.Kind == cpanel.KindWHM {
		p.api = cpanel.WHMAPI1
		switch o.API {
		case "", "whmapi1":
		case "whmapi0":
			p.api = cpanel.WHMAPI0
		default:
			return cmdutil.Usagef("--api %q: account passwd through WHM uses whmapi1 or whmapi0", o.API)
		}
		if target == "" {
			return cmdutil.Usagef("give the account USER")
		}
		return nil
	}
	if o.API != "" && o.API != "cpapi2" {
		return cmdutil.Usagef("--api %q: through a cPanel profile an account changes its own password with cPanel API 2 only", o.API)
	}
	p.api = cpanel.CPAPI2
	if target == "" {
		p.user = t.Profile.User
	} else if !strings.EqualFold(target, t.Profile.User) {
		return cmdutil.Usagef("a cPanel profile can change only its own user's password (%s), not %s; use a WHM profile", t.Profile.User, target)
	}
	p.display = p.user
	return nil
}

func (p *plan) planFTPOrEmail(o *Options, target string) error {
	p.api = cpanel.CPAPI2
	switch o.API {
	case "", "cpapi2":
	case "uapi":
		p.api = cpanel.UAPI
	default:
		return cmdutil.Usagef("--api %q: use cpapi2 or uapi", o.API)
	}
	if target == "" {
		return cmdutil.Usagef("give the %s", targetWord(o.Kind))
	}
	local, domain, hasAt := strings.Cut(target, "@")
	if o.Kind == Email {
		if !hasAt || local == "" || domain == "" || strings.Contains(domain, "@") {
			return cmdutil.Usagef("%q is not a mail address (local@domain)", target)
		}
	} else if hasAt && (local == "" || domain == "") {
		return cmdutil.Usagef("%q is not an FTP user (user or user@domain)", target)
	}
	p.user, p.domain = local, domain
	return nil
}

func (p *plan) planDB(o *Options, target string) error {
	p.api = cpanel.UAPI
	if o.API != "" && o.API != "uapi" {
		return cmdutil.Usagef("--api %q: database passwords are changed with UAPI only", o.API)
	}
	if target == "" {
		return cmdutil.Usagef("give the database USER")
	}
	if strings.ContainsAny(target, "@ \t\r\n") {
		return cmdutil.Usagef("%q is not a database user name (the full name, with the account's prefix: bob_wp)", target)
	}
	p.user = target
	return nil
}

func (p *plan) planWebDisk(o *Options, target string) error {
	p.api = cpanel.UAPI
	if o.API != "" && o.API != "uapi" {
		return cmdutil.Usagef("--api %q: Web Disk passwords are changed with UAPI only", o.API)
	}
	if o.Digest && o.NoDigest {
		return cmdutil.Usagef("--digest and --no-digest contradict each other")
	}
	local, domain, _ := strings.Cut(target, "@")
	if local == "" || domain == "" || strings.Contains(domain, "@") {
		return cmdutil.Usagef("give the Web Disk LOGIN as user@domain, not %q", target)
	}
	p.user, p.domain = local, domain
	return nil
}

// setOwner settles the owning account of an ftp, email, db or webdisk
// change. Through WHM a change acts for an account: the one given, else the
// one found when the change is made (from the target's domain, or among the
// database users). A cPanel profile acts for its own user only.
func (p *plan) setOwner(t *cmdutil.Target, owner string) error {
	if t.Kind != cpanel.KindWHM {
		if owner != "" && !strings.EqualFold(owner, t.Profile.User) {
			return cmdutil.Usagef("--owner %s: a cPanel profile acts only for its own user %s", owner, t.Profile.User)
		}
		p.owner = ""
		return nil
	}
	switch {
	case owner != "":
	case p.kind.isDB():
		p.find = ownerOfDBUser
	case p.domain != "":
		p.find = ownerOfDomain
	default:
		return &cmdutil.UsageError{Err: needOwnerError{fmt.Sprintf(
			"through WHM profile %s, %s needs --owner CPANEL_USER (the account that owns %s), or the user as user@domain so that the domain's owner is looked up",
			t.DisplayName(), CommandFor(string(p.kind)), p.display)}}
	}
	return nil
}

// app is the password-strength app the server checks this kind against:
// cPanel's minimums for accounts (passwd), databases (mysql, postgres) and
// the virtual users of FTP, mail and Web Disk (virtual).
func (p *plan) app() string {
	switch p.kind {
	case Account:
		return "passwd"
	case MySQL:
		return "mysql"
	case PostgreSQL:
		return "postgres"
	}
	return "virtual"
}

func (p *plan) needsOldPassword() bool {
	return p.kind == Account && p.api == cpanel.CPAPI2
}

func (o *Options) accountOptions() (cpanel.AccountPasswdOptions, error) {
	if o.DBPassUpdate && o.NoDBPassUpdate {
		return cpanel.AccountPasswdOptions{}, cmdutil.Usagef("--db-pass-update and --no-db-pass-update contradict each other")
	}
	if o.Digest && o.NoDigest {
		return cpanel.AccountPasswdOptions{}, cmdutil.Usagef("--digest and --no-digest contradict each other")
	}
	return cpanel.AccountPasswdOptions{DBPassUpdate: tri(o.DBPassUpdate, o.NoDBPassUpdate), Digest: tri(o.Digest, o.NoDigest)}, nil
}

func boolPtr(b bool) *bool { return &b }

// tri is a --flag/--no-flag pair as an optional boolean of the API: nil
// when neither was given, so that the server keeps its setting.
func tri(yes, no bool) *bool {
	if !yes && !no {
		return nil
	}
	return boolPtr(yes)
}

// send performs one change with an already resolved password.
func send(ctx context.Context, c *cpanel.Client, o *Options, p *plan, password, oldPassword string) (*cpanel.Result, error) {
	switch p.kind {
	case Account:
		if p.api == cpanel.CPAPI2 {
			return c.ChangeOwnPassword(ctx, oldPassword, password, cpanel.ChangeOwnOptions{EnableMySQL: o.EnableMySQL, Digest: tri(o.Digest, o.NoDigest)})
		}
		ao, err := o.accountOptions()
		if err != nil {
			return nil, err
		}
		return c.AccountPasswd(ctx, p.api, p.user, password, ao)
	case FTP:
		return c.FTPPasswd(ctx, p.api, p.owner, p.user, p.domain, password)
	case MySQL:
		return c.DBPasswd(ctx, cpanel.MySQL, p.owner, p.user, password)
	case PostgreSQL:
		return c.DBPasswd(ctx, cpanel.PostgreSQL, p.owner, p.user, password)
	case WebDisk:
		return c.WebDiskPasswdWith(ctx, p.owner, p.display, password, cpanel.WebDiskPasswdOptions{Digest: tri(o.Digest, o.NoDigest)})
	default:
		return c.EmailPasswd(ctx, p.api, p.owner, p.user, p.domain, password)
	}
}

// serverName is the host:port shown in the `server` field.
func serverName(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return rawURL
	}
	return u.Host
}

// result builds the output row for a finished (or failed) change.
func result(p *plan, res *cpanel.Result, err error) output.PasswdResult {
	r := output.PasswdResult{
		Profile:  p.target.Name,
		Server:   serverName(p.target.Profile.URL),
		Kind:     string(p.kind),
		Target:   p.display,
		Owner:    p.owner,
		API:      string(p.api),
		Services: []string{},
	}
	if p.kind == Account && p.api == cpanel.CPAPI2 {
		r.Owner = ""
	}
	if res != nil {
		r.OK = res.OK
		r.Message = res.Message
		if res.Services != nil {
			r.Services = res.Services
		}
	}
	if err != nil {
		r.OK = false
		r.ExitCode = cmdutil.ExitCode(err)
		r.Message = reason(err)
	}
	return r
}

// checkStrength refuses, before anything is sent, a password that scores
// below the server's minimum for the app, unless --force.
func checkStrength(o *Options, p *plan, password string, min int) error {
	if min <= 0 {
		return nil
	}
	score := strength.ScoreFor(password, p.user)
	if score >= min {
		return nil
	}
	if o.Force {
		o.warnf("the password scores %d, below the server's minimum of %d for %s passwords; sending it anyway (--force)", score, min, kindWords(p.kind))
		return nil
	}
	return &cmdutil.ExitError{Code: cmdutil.ExitRefused, Err: fmt.Errorf(
		"the new password scores %d, below the server's minimum of %d for %s passwords; nothing was sent (use a stronger one, --generate, or --force to send it anyway)",
		score, min, kindWords(p.kind))}
}

// kindWords names a kind of password as a person says it. The server's
// own name for the minimum's class ("passwd", "virtual") is jargon in a
// message: "the minimum of 50 for passwd passwords".
func kindWords(k Kind) string {
	switch k {
	case Account:
		return "account"
	case FTP:
		return "FTP"
	case Email:
		return "mail"
	case WebDisk:
		return "Web Disk"
	case MySQL:
		return "MySQL"
	case PostgreSQL:
		return "PostgreSQL"
	}
	return string(k)
}

// writeSecretsOut creates FILE exclusively with mode 0600 and writes the
// header and rows; used before the call so a generated password is never
// set without being recorded.
func writeSecretsOut(path string, header []string, rows [][]string) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(header)
	_ = w.WriteAll(rows) // flushes; writing to a buffer cannot fail
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return cmdutil.Usagef("--secrets-out: %w", err)
	}
	if _, err := fh.Write(buf.Bytes()); err != nil {
		fh.Close()
		return fmt.Errorf("--secrets-out: %w", err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("--secrets-out: %w", err)
	}
	return fh.Close()
}
