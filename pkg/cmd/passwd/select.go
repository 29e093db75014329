package passwd

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/output"
	"github.com/cpctl/cpctl/pkg/secret"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// Mixed is the Kind of a `cpctl rotate` run: each of its rows has a kind of
// its own. It is never the kind of an output row.
const Mixed Kind = "mixed"

// RotationOrder is the order in which a rotation changes an account's
// passwords, and the order of every selection's rows. The account's own
// password comes first: whoever holds it can log in to cPanel and set any
// other password of the account (or add an FTP login), so a credential
// changed while it is still known to an attacker cannot be trusted. A
// mixed run sends no other row until every account row of the run has
// been tried (see bulk.go). File access (FTP, Web Disk) comes next, then
// mail, and the database users last: changing them breaks the sites that
// use them until their configuration is updated.
var RotationOrder = []Kind{Account, FTP, WebDisk, Email, MySQL, PostgreSQL}

// Selection is a server-side selection (--all, --owner, --reseller,
// --domain, --match, --exclude): the targets of a bulk run listed on the
// server instead of read from a file. The account it names with --owner is
// Options.Owner.
type Selection struct {
	All      bool
	Reseller string
	Domain   string
	Match    []string
	Exclude  []string

	// Kinds are the kinds a rotation changes; KindsGiven says --kinds named
	// them (a listing the server refuses is then an error, not a note).
	Kinds      []Kind
	KindsGiven bool
}

// addSelectFlags declares the selection flags of the bulk commands; the
// caller makes them exclusive with its own. --owner is the noun's own flag
// (ftp, email, db, webdisk) or rotate's.
func addSelectFlags(cmd *cobra.Command, o *Options) {
	fl := cmd.Flags()
	fl.BoolVar(&o.Select.All, "all", false, "select on the server: every target the profile may act on (root: every account; a reseller: its own)")
	fl.StringVar(&o.Select.Reseller, "reseller", "", "select on the server: the targets of the accounts owned by reseller `NAME`")
	fl.StringVar(&o.Select.Domain, "domain", "", "select on the server: the targets of the account that owns `DOMAIN`, on that domain")
	fl.StringArrayVar(&o.Select.Match, "match", nil, "with a selection: keep only targets matching `GLOB` (repeatable; without case; an exact name also takes a special login)")
	fl.StringArrayVar(&o.Select.Exclude, "exclude", nil, "with a selection: leave out targets matching `GLOB` (repeatable; without case)")
}

// AddRotateFlags declares the flags of `cpctl rotate`: a selection (with
// --owner), the generator's, the bulk run's but --from, --secrets-out and
// --verify. --kinds is the command's own.
func AddRotateFlags(cmd *cobra.Command, o *Options) {
	fl := cmd.Flags()
	fl.StringVar(&o.Owner, "owner", "", "select on the server: account `USER` (its own password and all its FTP, Web Disk, mail and database logins)")
	fl.BoolVar(&o.Password.Generate, "generate", true, "generate every password (always: a rotation gives each target its own)")
	fl.IntVar(&o.Password.Length, "length", 0, fmt.Sprintf("length of the generated passwords (default %d)", secret.DefaultLength))
	fl.BoolVar(&o.Password.SimpleCharset, "simple-charset", false, "generate from letters, digits and -_. only")
	fl.StringVar(&o.SecretsOut, "secrets-out", "", "write the new passwords to `FILE` (mode 0600, created exclusively) once every row is settled, instead of printing them")
	fl.BoolVar(&o.Verify, "verify", false, "after each change, prove the new password works where an API can (account: a cPanel login; email: Email/verify_password)")
	addRunFlags(cmd, o)
	addDeliverFlags(cmd, o)
	addSelectFlags(cmd, o)
	cmd.MarkFlagsMutuallyExclusive("all", "owner", "reseller", "domain", "resume")
}

// ParseKinds reads --kinds: kind names separated by commas, "all" for
// every kind; the result is in RotationOrder.
func ParseKinds(s string) ([]Kind, error) {
	var kinds []Kind
	for _, name := range strings.Split(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case name == "all":
			kinds = append(kinds, RotationOrder...)
		case slices.Contains(RotationOrder, Kind(name)):
			kinds = append(kinds, Kind(name))
		case name == "":
		default:
			return nil, cmdutil.Usagef("--kinds: unknown kind %q (want account, ftp, webdisk, email, mysql, postgresql or all)", name)
		}
	}
	var out []Kind
	for _, k := range RotationOrder {
		if slices.Contains(kinds, k) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, cmdutil.Usagef("--kinds: name at least one kind")
	}
	return out, nil
}

// selectionFlags reports whether a flag that only a selection takes was
// given.
func (o *Options) selectionFlags() bool {
	s := &o.Select
	return s.All || s.Reseller != "" || s.Domain != "" || len(s.Match) > 0 || len(s.Exclude) > 0
}

// selecting reports whether this run's targets are selected on the server:
// a selection flag, or --owner alone (no target, no --from or --resume) on a
// noun whose targets an account owns.
func (o *Options) selecting() bool {
	if o.Bulk.Active() {
		return false
	}
	s := &o.Select
	if s.All || s.Reseller != "" || s.Domain != "" || o.Kind == Mixed {
		return true
	}
	return o.Owner != "" && o.Target == "" && o.Kind != Account
}

// describe is the selection as the command line gave it, for messages and
// the journal.
func (s *Selection) describe(owner string) string {
	var parts []string
	switch {
	case s.All:
		parts = append(parts, "--all")
	case s.Reseller != "":
		parts = append(parts, "--reseller "+s.Reseller)
	case s.Domain != "":
		parts = append(parts, "--domain "+s.Domain)
	case owner != "":
		parts = append(parts, "--owner "+owner)
	}
	for _, m := range s.Match {
		parts = append(parts, "--match "+m)
	}
	for _, m := range s.Exclude {
		parts = append(parts, "--exclude "+m)
	}
	return strings.Join(parts, " ")
}

// checkSelection refuses, before anything is listed, a selection that
// cannot mean one thing.
func (o *Options) checkSelection() error {
	s := &o.Select
	bases := 0
	for _, b := range []bool{s.All, s.Reseller != "", s.Domain != "", o.Owner != ""} {
		if b {
			bases++
		}
	}
	switch {
	case bases == 0 && o.Kind == Mixed:
		return cmdutil.Usagef("say whose passwords to rotate: --all, --owner USER, --reseller NAME or --domain DOMAIN")
	case bases == 0:
		return cmdutil.Usagef("--match and --exclude narrow a selection: give --all, --owner, --reseller or --domain too")
	case bases > 1:
		return cmdutil.Usagef("give one of --all, --owner, --reseller and --domain: each selects the accounts whose passwords change")
	}
	for _, g := range append(slices.Clone(s.Match), s.Exclude...) {
		if _, err := path.Match(strings.ToLower(g), ""); err != nil {
			return cmdutil.Usagef("%q is not a valid pattern: %w", g, err)
		}
	}
	if o.Password.Stdin || o.Password.File != "" || o.Password.Value != "" {
		return cmdutil.Usagef("a selection changes many passwords and gives each its own generated one: --password, --password-stdin and --password-file do not apply")
	}
	if !o.Password.Generate {
		return cmdutil.Usagef("a selection changes every password it finds, each to a generated one: add --generate (or give a %s to change one)", targetWord(o.Kind))
	}
	return nil
}

// The listing functions of the server, as pkg/cpanel's client offers them:
// a selection is resolved through this interface, so that its rules are
// tested against fakes.
var _ lister = (*cpanel.Client)(nil)

type lister interface {
	ListAccounts(ctx context.Context, o cpanel.ListAccountsOptions) ([]cpanel.AccountInfo, error)
	DomainOwner(ctx context.Context, domain string) (string, error)
	ListFTP(ctx context.Context, owner string) ([]cpanel.FTPLogin, error)
	ListMailboxes(ctx context.Context, owner string) ([]cpanel.Mailbox, error)
	ListDBUsers(ctx context.Context, engine cpanel.DBEngine, owner string) ([]string, error)
	ListWebDisks(ctx context.Context, owner string) ([]cpanel.WebDiskLogin, error)
	ListResellers(ctx context.Context) ([]string, error)
}

// picked is one selected target: a row of the plan.
type picked struct {
	kind   Kind
	target string // as the server shows it, and as --match sees it
	owner  string // the account it belongs to ("" for an account row, and through a cPanel profile)
	source string // the listing that named it
}

// special is a login the server lists that a selection leaves out unless it
// is named exactly: it has no password of its own, or has the account's.
type special struct {
	picked
	label string // a short name, for the count of what was left out
	why   string
}

// resolution is a resolved selection.
type resolution struct {
	rows []picked
	left []special
	// notes are kinds left out of a rotation because the server refused to
	// list them (PostgreSQL not installed, a feature the account lacks).
	notes []string
	// accounts is how many accounts the selection covers, and scope how
	// they were found, for the line that ends a listing.
	accounts int
	scope    string
	// ownerKnown: a --reseller selection that found no account named an
	// owner the server has (checkReseller), not a name it may not have.
	ownerKnown bool
}

// resolver resolves one selection against one server.
type resolver struct {
	l     lister
	sel   *Selection
	owner string
	kinds []Kind
	// explicit: the kinds were named (a passwd noun, or rotate --kinds), so
	// a listing the server refuses is an error, not a note.
	explicit bool
	whm      bool
	self     string // a cPanel profile's own user
	conc     int
}

// account is one account a selection covers.
type account struct{ user, source string }

// resolve lists the selection's accounts and then, for each account and
// kind, its targets, with at most r.conc listings in flight; the result is
// in RotationOrder, then by account and target, whatever order the
// listings finished in.
func (r *resolver) resolve(ctx context.Context) (*resolution, error) {
	res := &resolution{}
	kinds := r.kinds
	if !r.whm && slices.Contains(kinds, Account) {
		const why = "a cPanel profile changes its own password with the old one, and the change would end the profile's own login"
		if r.explicit {
			return nil, cmdutil.Usagef("account passwords in a selection need a WHM profile: %s; use 'cpctl account passwd'", why)
		}
		kinds = slices.DeleteFunc(slices.Clone(kinds), func(k Kind) bool { return k == Account })
		res.notes = append(res.notes, "account: left out: "+why+"; change it last with 'cpctl account passwd'")
	}
	accts, scope, err := r.accounts(ctx, slices.Contains(kinds, Account))
	if err != nil {
		return nil, err
	}
	res.accounts, res.scope = len(accts), scope
	if err := r.checkReseller(ctx, res); err != nil {
		return nil, err
	}

	type job struct {
		acct int
		kind Kind
	}
	type result struct {
		rows []picked
		left []special
		note string
		err  error
	}
	var jobs []job
	for _, k := range RotationOrder {
		if !slices.Contains(kinds, k) {
			continue
		}
		for i := range accts {
			jobs = append(jobs, job{i, k})
		}
	}
	results := make([]result, len(jobs))
	sem := make(chan struct{}, max(r.conc, 1))
	var wg sync.WaitGroup
	for i, j := range jobs {
		if j.kind == Account {
			a := accts[j.acct]
			results[i].rows = []picked{{kind: Account, target: a.user, source: a.source}}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rows, left, err := r.list(ctx, j.kind, accts[j.acct].user)
			results[i] = result{rows: rows, left: left, err: err}
			if err != nil && !r.explicit && refused(err) {
				results[i] = result{note: fmt.Sprintf("%s of %s: left out: the server refused to list them: %s", j.kind, accts[j.acct].user, reason(err))}
			}
		}()
	}
	wg.Wait()

	var errs []error
	for _, rs := range results {
		if rs.err != nil {
			errs = append(errs, rs.err)
			continue
		}
		if rs.note != "" {
			res.notes = append(res.notes, rs.note)
		}
		var rows []picked
		for _, p := range rs.rows {
			if !r.excluded(p.target) && r.matched(p.target) {
				rows = append(rows, p)
			}
		}
		for _, s := range rs.left {
			switch {
			case r.excluded(s.target):
			case r.named(s.target):
				rows = append(rows, s.picked)
			case r.matched(s.target):
				res.left = append(res.left, s)
			}
		}
		slices.SortFunc(rows, byTarget)
		res.rows = append(res.rows, rows...)
	}
	if len(errs) > 0 {
		more := ""
		if len(errs) > 1 {
			more = fmt.Sprintf(" (and %d more listings failed)", len(errs)-1)
		}
		return nil, fmt.Errorf("%w%s; nothing was changed", errs[0], more)
	}
	return res, nil
}

// refused says the server answered a listing with a refusal: the function
// or the feature is not there for this account.
func refused(err error) bool {
	var e *cpanel.Error
	return errors.As(err, &e) && e.Kind == cpanel.ErrRefused
}

// reason is the server's own words for a refusal, or the error's.
func reason(err error) string {
	var e *cpanel.Error
	if errors.As(err, &e) && e.Reason != "" {
		return e.Reason
	}
	return err.Error()
}

// accounts returns the accounts the selection covers, each with where it
// was found, and a description of the scope. The server decides what the
// profile may see: a reseller's listaccts lists its own accounts only, and
// a listing of another's account is refused.
func (r *resolver) accounts(ctx context.Context, accountRows bool) ([]account, string, error) {
	s := r.sel
	if !r.whm {
		switch {
		case s.Reseller != "":
			return nil, "", cmdutil.Usagef("--reseller needs a WHM profile: a cPanel profile acts for its own account only")
		case r.owner != "" && !strings.EqualFold(r.owner, r.self):
			return nil, "", cmdutil.Usagef("--owner %s: a cPanel profile acts only for its own user %s", r.owner, r.self)
		}
		return []account{{user: r.self, source: "profile"}}, "the profile's own account", nil
	}
	var (
		opts   cpanel.ListAccountsOptions
		source string
		keep   func(cpanel.AccountInfo) bool
	)
	switch {
	case s.Domain != "":
		owner, err := r.l.DomainOwner(ctx, s.Domain)
		if err != nil {
			return nil, "", fmt.Errorf("--domain %s: who owns it: %w", s.Domain, err)
		}
		if owner == "" {
			return nil, "", &cpanel.Error{Kind: cpanel.ErrRefused, Op: "WHM API 1 getdomainowner", Reason: fmt.Sprintf("no account owns %s", s.Domain)}
		}
		src := "getdomainowner " + s.Domain
		return []account{{user: owner, source: src}}, fmt.Sprintf("getdomainowner %s: %s", s.Domain, owner), nil
	case r.owner != "":
		if !accountRows {
			// The listings of its targets name the account; a listing
			// of an account that does not exist (or is not the
			// profile's to see) is refused by the server.
			return []account{{user: r.owner}}, "named by --owner", nil
		}
		opts, source = cpanel.ListAccountsOptions{SearchType: "user", Search: r.owner}, "listaccts user="+r.owner
		keep = func(a cpanel.AccountInfo) bool { return strings.EqualFold(a.User, r.owner) }
	case s.Reseller != "":
		opts, source = cpanel.ListAccountsOptions{SearchType: "owner", Search: s.Reseller}, "listaccts owner="+s.Reseller
		keep = func(a cpanel.AccountInfo) bool { return strings.EqualFold(a.Owner, s.Reseller) }
	default:
		source, keep = "listaccts", func(cpanel.AccountInfo) bool { return true }
	}
	list, err := r.l.ListAccounts(ctx, opts)
	if err != nil && r.owner != "" && refused(err) {
		// listaccts refuses a search that finds nothing ("No accounts found.").
		return nil, "", listingErr("accounts", ownerNotFound(r.owner, err))
	}
	if err != nil {
		return nil, "", listingErr("accounts", err)
	}
	// listaccts' search is a regular expression by default: only exact
	// names count.
	var out []account
	seen := map[string]bool{}
	for _, a := range list {
		u := strings.ToLower(a.User)
		if a.User == "" || seen[u] || !keep(a) {
			continue
		}
		seen[u] = true
		out = append(out, account{user: a.User, source: source})
	}
	slices.SortFunc(out, func(a, b account) int { return strings.Compare(a.user, b.user) })
	if r.owner != "" && len(out) == 0 {
		return nil, "", listingErr("accounts", ownerNotFound(r.owner, nil))
	}
	return out, source, nil
}

// listingErr says which listing failed, in words: the error itself names
// the API function (its Op), which the row's source name would repeat
// ("Ftp/list_ftp of bob: UAPI Ftp/list_ftp: ...").
func listingErr(what string, err error) error {
	return fmt.Errorf("listing %s: %w", what, err)
}

// ownerNotFound is the refusal of an --owner that listaccts does not list:
// no such account, or not the profile's to see (a reseller's listaccts
// lists its own accounts only).
func ownerNotFound(owner string, err error) error {
	why := fmt.Sprintf("no account %s among the accounts this profile may see", owner)
	if err != nil {
		why += " (" + reason(err) + ")"
	}
	return &cpanel.Error{Kind: cpanel.ErrRefused, Op: "WHM API 1 listaccts", Reason: why}
}

// list lists one kind of one account's targets, split into those a
// selection takes and the special logins it leaves out unless named.
func (r *resolver) list(ctx context.Context, kind Kind, owner string) ([]picked, []special, error) {
	source := listingName(kind) + " of " + owner
	rowOwner := owner
	if !r.whm {
		rowOwner, source = "", listingName(kind)
	}
	var (
		rows []picked
		left []special
	)
	add := func(target, domain, label, why string) {
		if r.sel.Domain != "" && domain != "" && !strings.EqualFold(domain, r.sel.Domain) {
			return
		}
		p := picked{kind: kind, target: target, owner: rowOwner, source: source}
		if why != "" {
			left = append(left, special{p, label, why})
			return
		}
		rows = append(rows, p)
	}
	fail := func(err error) ([]picked, []special, error) {
		what := string(kind) + " of " + owner
		if !r.whm {
			what = string(kind)
		}
		return nil, nil, listingErr(what, err)
	}
	switch kind {
	case FTP:
		list, err := r.l.ListFTP(ctx, owner)
		if err != nil {
			return fail(err)
		}
		for _, f := range list {
			label, why := ftpSpecial(f.Type)
			add(f.Login, f.Domain, label, why)
		}
	case Email:
		list, err := r.l.ListMailboxes(ctx, owner)
		if err != nil {
			return fail(err)
		}
		for _, m := range list {
			if m.Main {
				add(m.Address, m.Domain, "default mailbox", "the account's default mailbox: it has the account's password")
				continue
			}
			add(m.Address, m.Domain, "", "")
		}
	case MySQL, PostgreSQL:
		list, err := r.l.ListDBUsers(ctx, dbEngine(kind), owner)
		if err != nil {
			return fail(err)
		}
		for _, u := range list {
			if strings.EqualFold(u, owner) {
				add(u, "", "own database login", "the account's own database login: it follows the account's password")
				continue
			}
			add(u, "", "", "")
		}
	case WebDisk:
		list, err := r.l.ListWebDisks(ctx, owner)
		if err != nil {
			return fail(err)
		}
		for _, w := range list {
			if strings.EqualFold(w.Login, owner) {
				add(w.Login, w.Domain, "own Web Disk login", "the account's own Web Disk login: it has the account's password")
				continue
			}
			add(w.Login, w.Domain, "", "")
		}
	default:
		return nil, nil, fmt.Errorf("no listing for %s", kind)
	}
	slices.SortFunc(left, func(a, b special) int { return byTarget(a.picked, b.picked) })
	return rows, left, nil
}

// byTarget orders one listing's targets by name, without case.
func byTarget(a, b picked) int {
	return strings.Compare(strings.ToLower(a.target), strings.ToLower(b.target))
}

// ftpSpecial says why an FTP login of the server's type is left out: only
// "sub" logins have a password of their own. A type this build does not
// know is left out too, rather than changed blind.
func ftpSpecial(typ string) (label, why string) {
	switch typ {
	case "sub":
		return "", ""
	case "main":
		return "main FTP login", "the account's main FTP login: it has the account's password"
	case "anonymous":
		return "anonymous FTP", "anonymous FTP: it has no password"
	case "logaccess":
		return "log-access FTP login", "the account's log-access FTP login: it has the account's password"
	}
	return "FTP login of unknown type", fmt.Sprintf("an FTP login of type %q, which cpctl does not know", typ)
}

// listingName is the server function that lists a kind's targets.
func listingName(k Kind) string {
	return map[Kind]string{
		FTP: "Ftp/list_ftp", Email: "Email/list_pops", MySQL: "Mysql/list_users",
		PostgreSQL: "Postgresql/list_users", WebDisk: "WebDisk::listwebdisks",
	}[k]
}

// matched: no --match, or one matches. Globs are path.Match patterns
// compared without case, as cPanel's names are lower case (and the journal
// compares them so).
func (r *resolver) matched(target string) bool {
	return len(r.sel.Match) == 0 || anyMatch(r.sel.Match, target)
}

func (r *resolver) excluded(target string) bool { return anyMatch(r.sel.Exclude, target) }

// named: a --match without glob characters is exactly this target, which
// takes a special login into the selection.
func (r *resolver) named(target string) bool {
	for _, g := range r.sel.Match {
		if !strings.ContainsAny(g, `*?[\`) && strings.EqualFold(g, target) {
			return true
		}
	}
	return false
}

func anyMatch(globs []string, target string) bool {
	t := strings.ToLower(target)
	for _, g := range globs {
		if ok, _ := path.Match(strings.ToLower(g), t); ok {
			return true
		}
	}
	return false
}

// listerFor returns the lister of a profile's server: its client.
func (o *Options) listerFor(s *server) (lister, error) {
	if o.newLister != nil {
		return o.newLister(s)
	}
	return s.client, nil
}

// kindsOf is what a run selects: a passwd noun its own kind (asked for by
// name), a rotation its --kinds or every kind.
func (o *Options) kindsOf() (kinds []Kind, explicit bool) {
	if o.Kind != Mixed {
		return []Kind{o.Kind}, true
	}
	if len(o.Select.Kinds) == 0 {
		return RotationOrder, false
	}
	return o.Select.Kinds, o.Select.KindsGiven
}

// resolveSelection lists the selection on the default profile's server and
// says on stderr what it left out.
func (o *Options) resolveSelection(ctx context.Context, sv *servers, defProfile string) (*resolution, error) {
	s, err := sv.get(ctx, defProfile)
	if err != nil {
		return nil, err
	}
	l, err := o.listerFor(s)
	if err != nil {
		return nil, err
	}
	kinds, explicit := o.kindsOf()
	r := &resolver{l: l, sel: &o.Select, owner: o.Owner, kinds: kinds, explicit: explicit,
		whm: s.target.Kind == cpanel.KindWHM, self: s.target.Profile.User, conc: o.Bulk.Concurrency}
	res, err := r.resolve(ctx)
	if err != nil {
		return nil, err
	}
	o.noteSelection(res)
	return res, nil
}

// noteSelection says on stderr what the selection left out: one line with
// the counts of the special logins (each listed with -v, --dry-run or
// --validate), and each kind the server would not list.
func (o *Options) noteSelection(res *resolution) {
	w := o.IO.ErrOut
	for _, n := range res.notes {
		fmt.Fprintf(w, "cpctl: %s\n", termsafe.String(n))
	}
	if len(res.left) == 0 {
		return
	}
	counts := map[string]int{}
	var labels []string
	for _, s := range res.left {
		if counts[s.label] == 0 {
			labels = append(labels, s.label)
		}
		counts[s.label]++
	}
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = fmt.Sprintf("%s: %d", l, counts[l])
	}
	which := "which have no password of their own or the account's"
	if len(res.left) == 1 {
		which = "which has no password of its own or the account's"
	}
	fmt.Fprintf(w, "cpctl: left out %s, %s (%s); --match NAME takes one by its exact name\n",
		output.Count(len(res.left), "special login"), which, strings.Join(parts, ", "))
	if o.Verbose || o.DryRun || o.Bulk.Validate {
		for _, s := range res.left {
			fmt.Fprintf(w, "cpctl: left out %s %s (%s): %s\n", s.kind, termsafe.String(s.target), termsafe.String(s.source), s.why)
		}
	}
}

// printSelection is --validate and --dry-run of a selection: every target,
// its kind, owner and source, on stdout (a table, or -o json/jsonl/yaml
// objects with those keys); nothing is changed.
func (o *Options) printSelection(res *resolution) error {
	pr, err := o.Printer()
	if err != nil {
		return err
	}
	rows := make([][]string, len(res.rows))
	for i, p := range res.rows {
		rows[i] = []string{string(p.kind), p.target, p.owner, p.source}
	}
	if err := pr.Table([]string{"KIND", "TARGET", "OWNER", "SOURCE"}, rows); err != nil {
		return err
	}
	if o.resellerOwnsNothing(res) {
		// Said as the run would say it: a dry run is where a mistyped
		// name is best caught.
		o.nothingSelected(res)
		return nil
	}
	fmt.Fprintf(o.IO.ErrOut, "cpctl: %s: %s of %s (%s); nothing was changed\n",
		o.Select.describe(o.Owner), output.Count(len(res.rows), "target"), output.Count(res.accounts, "account"), termsafe.String(res.scope))
	return nil
}

// planRows are the selection's rows for the journal's plan: in a mixed run
// each with its kind.
func (res *resolution) planRows(run batch.Kind) []batch.Row {
	rows := make([]batch.Row, len(res.rows))
	for i, p := range res.rows {
		rows[i] = batch.Row{Target: p.target, Owner: p.owner, Source: p.source}
		if run == batch.KindMixed {
			rows[i].Kind = batchKind(p.kind)
		}
	}
	return rows
}

// resume runs the journal. A mixed run goes in two passes: every account
// row first, then the rest (see RotationOrder for why), on every resume
// too, so that no other password of an account is sent while its account
// password may still be the one an attacker knows.
func (o *Options) resume(ctx context.Context, journal string, cfg batch.RunConfig) (batch.Summary, error) {
	if cfg.Kind != batch.KindMixed {
		return batch.Resume(ctx, journal, cfg)
	}
	first := cfg
	first.Only = func(r batch.Row) bool { return r.Kind == batch.KindAccount }
	if show := cfg.OnProgress; show != nil {
		first.OnProgress = func(p batch.Progress) {
			if !p.Final {
				show(p)
			}
		}
	}
	s1, err := batch.Resume(ctx, journal, first)
	if err != nil || ctx.Err() != nil || s1.DeliveryStopped {
		// Nor are more passwords changed while none can be delivered.
		return s1, err
	}
	rest := cfg
	rest.Only = func(r batch.Row) bool { return r.Kind != batch.KindAccount }
	s2, err := batch.Resume(ctx, journal, rest)
	s2.Skipped = s1.Skipped // rows finished before this run, not in its first pass
	s2.Delivered += s1.Delivered
	return s2, err
}
