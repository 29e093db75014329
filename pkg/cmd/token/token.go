// Package token implements `cpctl token list|create|revoke|rotate`: the API
// tokens of the login a profile uses, and their safe rotation.
package token

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/output"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// Deps are what the token commands need from the factory.
type Deps struct {
	IO *cmdutil.IOStreams
	cmdutil.Targets
	// Printer prints -o's format on standard output; OutputFormat names it.
	Printer      func() (*output.Printer, error)
	OutputFormat func() (output.Format, error)
	// RunSecretCommand runs token-command; Environ is what a
	// token-store-command runs with.
	RunSecretCommand func(ctx context.Context, what, cmdline string) (string, error)
	Environ          []string
	Now              func() time.Time
	// DryRun is the root's --dry-run.
	DryRun bool
}

func depsOf(f *cmdutil.Factory) Deps {
	return Deps{IO: f.IO, Targets: f.Targets(), Printer: f.Printer, OutputFormat: f.OutputFormat,
		RunSecretCommand: f.RunSecretCommand, Environ: f.Environ, Now: f.Now, DryRun: f.DryRun}
}

// Options are one token command's parsed flags and arguments, and its
// Deps. Tests build them through NewCmdToken's runF.
type Options struct {
	Deps

	// Verb is list, create, revoke or rotate.
	Verb string

	// WarnDays is how close an expiry must be for list to warn.
	WarnDays int
	// Name is the token to create.
	Name string
	// ACLs and Whitelist limit a created WHM token.
	ACLs      []string
	Whitelist []string
	// Expires is --expires as given: 90d, 12h, 2027-03-01, RFC 3339, or never.
	Expires string
	// SaveToProfile names a new profile that gets the created token
	// instead of standard output.
	SaveToProfile string
	// Names are the tokens to revoke.
	Names []string
	// Force allows revoking the token the profile itself uses.
	Force bool
	// IgnoreNotFound lets revoke succeed for names the server does not
	// list (a revocation run again).
	IgnoreNotFound bool
	// AllProfiles rotates the token of every token profile.
	AllProfiles bool
	// OldName names the profile's current token where the server cannot
	// look it up (cPanel) and the profile does not record it.
	OldName string
}

// NewCmdToken returns the `token` noun. runF, when set, receives the
// options instead of running the command (flag-parsing tests).
func NewCmdToken(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "List, create, revoke and rotate the API tokens of a profile's login",
		Long: `Manage the API tokens of the login a profile uses: WHM API 1 api_token_*
for a WHM profile (root or a reseller), UAPI Tokens for a cPanel profile.
A token is shown once, when it is created; lists never show one.

'cpctl token rotate' replaces the profile's own token: it creates a new one
with the same ACLs and IP whitelist and a fresh expiry, proves that it works,
stores it, and only then revokes the old one. Each step is journalled next to
the configuration file, so a rotation that was interrupted resumes where it
stopped when run again.`,
	}
	run := func(o *Options) func(*cobra.Command, []string) error {
		return func(c *cobra.Command, _ []string) error {
			o.Deps = depsOf(f)
			if runF != nil {
				return runF(o)
			}
			return Run(c.Context(), o)
		}
	}

	lo := &Options{Verb: "list"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the tokens of the profile's login, with expiry warnings",
		Args:  cobra.NoArgs,
		RunE:  run(lo),
	}
	list.Flags().IntVar(&lo.WarnDays, "warn-days", 14, "warn about tokens that expire within `N` days")

	co := &Options{Verb: "create"}
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a token and print it once",
		Long: `Create an API token for the profile's login and print it once: the server
never shows it again. With --save-to-profile the token goes into a new
profile (a copy of this one) instead of standard output.

NAME is up to 50 letters, digits, - and _, unique among the login's tokens.
--acl and --whitelist-ip apply to WHM tokens; a cPanel token has full access.`,
		Example: `  cpctl token create ci-deploy --acl list-accts --acl passwd --whitelist-ip 203.0.113.0/24 --expires 90d
  cpctl -p prod token create backup --expires 2027-01-31 --save-to-profile prod-backup`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			co.Name = args[0]
			return run(co)(c, args)
		},
	}
	create.Flags().StringArrayVar(&co.ACLs, "acl", nil, "give the token this WHM privilege (repeatable; default: all of the login's)")
	create.Flags().StringArrayVar(&co.Whitelist, "whitelist-ip", nil, "let the token work only from this IP address or CIDR range (repeatable)")
	create.Flags().StringVar(&co.Expires, "expires", "", "expiry: a duration (90d, 36h), a date (2027-01-31), RFC 3339, or never (default)")
	create.Flags().StringVar(&co.SaveToProfile, "save-to-profile", "", "save the token in a new profile `NAME` (a copy of this one) instead of printing it")

	ro := &Options{Verb: "revoke"}
	revoke := &cobra.Command{
		Use:   "revoke NAME...",
		Short: "Revoke tokens by name; they stop working at once",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ro.Names = args
			return run(ro)(c, args)
		},
	}
	revoke.Flags().BoolVar(&ro.Force, "force", false, "revoke even the token the profile itself uses")
	revoke.Flags().BoolVar(&ro.IgnoreNotFound, "ignore-not-found", false, "succeed for a name the server does not list (a revocation run again), revoking the others")

	rto := &Options{Verb: "rotate"}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Replace the profile's own token: create, prove, store, then revoke the old one",
		Long: `Replace the token the profile uses. The new token gets the same ACLs and IP
whitelist and a fresh expiry (the old token's lifetime from now, or --expires).
It is proved with a harmless call and stored (the profile's token, or the
profile's token-store-command, which gets it on standard input) before the
old one is revoked.

A failure before the store revokes the new token and leaves the old one
working. A failure after it keeps both and names the one to revoke. Every step
is journalled (token-rotate.PROFILE.json next to the configuration file, mode
0600), and running the command again resumes an interrupted rotation.`,
		Example: `  cpctl -p prod token rotate
  cpctl token rotate --all-profiles --expires 90d`,
		Args: cobra.NoArgs,
		RunE: run(rto),
	}
	rotate.Flags().BoolVar(&rto.AllProfiles, "all-profiles", false, "rotate the token of every profile that uses one, one line each")
	rotate.Flags().StringVar(&rto.Expires, "expires", "", "expiry of the new token (default: the old token's lifetime from now)")
	rotate.Flags().StringVar(&rto.OldName, "old-name", "", "the server's `NAME` for the profile's current token (cPanel profiles that do not record it)")

	cmd.AddCommand(list, create, revoke, rotate)
	return cmd
}

// Run runs one token command.
func Run(ctx context.Context, o *Options) error {
	if o.DryRun {
		return dryRun(o)
	}
	switch o.Verb {
	case "list":
		return runList(ctx, o)
	case "create":
		return runCreate(ctx, o)
	case "revoke":
		return runRevoke(ctx, o)
	}
	return runRotate(ctx, o)
}

// ParseExpiry reads an --expires value relative to now: "never" or "" is
// the zero time (no expiry).
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "never", "0":
		return time.Time{}, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return time.Time{}, fmt.Errorf("--expires %q: want a positive number of days like 90d", s)
		}
		return now.Add(time.Duration(days) * 24 * time.Hour).Truncate(time.Second), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--expires %q: want a positive duration", s)
		}
		return now.Add(d).Truncate(time.Second), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if !t.After(now) {
				return time.Time{}, fmt.Errorf("--expires %q is not in the future", s)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--expires %q: want a duration (90d, 36h), a date (2027-01-31), RFC 3339 or never", s)
}

// session is a profile resolved to a client on its own token.
type session struct {
	target *cmdutil.Target
	cfg    cpanel.Config
	client *cpanel.Client
}

// withSession resolves one profile (or --url), connects with its
// credentials, runs fn and logs out.
func withSession(ctx context.Context, d *Deps, name string, fn func(*session) error) error {
	t, err := d.ResolveTarget(name)
	if err != nil {
		return err
	}
	cc, err := d.ClientConfig(ctx, t)
	if err != nil {
		return err
	}
	c, err := cmdutil.NewClient(cc)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close(ctx) }()
	return fn(&session{target: t, cfg: cc, client: c})
}

// single returns the one profile the command acts on.
func single(d *Deps) (string, error) {
	names, err := d.ProfileNames()
	if err != nil {
		return "", err
	}
	if len(names) != 1 {
		return "", cmdutil.Usagef("token commands act on one profile; got %s", strings.Join(names, ", "))
	}
	return names[0], nil
}

// inUse returns the server's name for the token the session authenticates
// with, or "" when it cannot tell: WHM looks the token up, a cPanel profile
// may record the name.
func inUse(ctx context.Context, s *session) (string, error) {
	if s.cfg.Auth != cpanel.AuthToken {
		return "", nil
	}
	d, found, ok, err := s.client.TokenDetails(ctx, s.cfg.Secret)
	switch {
	case err != nil:
		return "", err
	case ok && found:
		return d.Name, nil
	case ok:
		return "", nil
	}
	return s.target.Profile.TokenName, nil
}

// tokenRow is a token as list prints it in JSON and YAML.
type tokenRow struct {
	Name       string   `json:"name" yaml:"name"`
	FullAccess bool     `json:"full-access" yaml:"full-access"`
	ACLs       []string `json:"acls" yaml:"acls"`
	Whitelist  []string `json:"whitelist-ips" yaml:"whitelist-ips"`
	Created    *string  `json:"created" yaml:"created"`
	Expires    *string  `json:"expires" yaml:"expires"` // null: never
	Status     string   `json:"status" yaml:"status"`
	InUse      bool     `json:"in-use" yaml:"in-use"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// stampOrNil is stamp for JSON and YAML, where an unknown or absent time is null.
func stampOrNil(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := stamp(t)
	return &s
}

func runList(ctx context.Context, o *Options) error {
	name, err := single(&o.Deps)
	if err != nil {
		return err
	}
	p, err := o.Printer()
	if err != nil {
		return err
	}
	return withSession(ctx, &o.Deps, name, func(s *session) error { return list(ctx, o, p, s) })
}

func list(ctx context.Context, o *Options, p *output.Printer, s *session) error {
	tokens, err := s.client.ListTokens(ctx)
	if err != nil {
		return err
	}
	using, err := inUse(ctx, s)
	if err != nil {
		return err
	}
	now := o.Now()
	warn := time.Duration(o.WarnDays) * 24 * time.Hour
	rows := make([]tokenRow, len(tokens))
	table := make([][]string, len(tokens))
	for i, t := range tokens {
		r := tokenRow{Name: termsafe.Bounded(t.Name, 64), FullAccess: t.FullAccess, ACLs: safeList(t.ACLs),
			Whitelist: safeList(t.Whitelist), Created: stampOrNil(t.Created), Expires: stampOrNil(t.Expires), Status: "ok",
			InUse: using != "" && t.Name == using}
		switch {
		case t.Expired(now):
			r.Status = "expired"
			cmdutil.Warnf(o.IO.ErrOut, "token %s expired on %s; the server keeps expired tokens until they are revoked: cpctl token revoke %s",
				r.Name, stamp(t.Expires), r.Name)
		case !t.Expires.IsZero() && t.Expires.Sub(now) < warn:
			days := int(t.Expires.Sub(now).Hours() / 24)
			r.Status = fmt.Sprintf("expires in %dd", days)
			what := "token " + r.Name
			if r.InUse {
				what += " (the one this profile uses; rotate it with 'cpctl token rotate')"
			}
			cmdutil.Warnf(o.IO.ErrOut, "%s expires in %d days (%s)", what, days, stamp(t.Expires))
		}
		rows[i] = r
		access, use := "full", ""
		if !r.FullAccess {
			access = strings.Join(r.ACLs, ",")
		}
		if r.InUse {
			use = "yes"
		}
		table[i] = []string{r.Name, access, cmp.Or(strings.Join(r.Whitelist, ","), "any"), stamp(t.Created),
			cmp.Or(stamp(t.Expires), "never"), r.Status, use}
	}
	if fm, _ := o.OutputFormat(); fm != output.Table {
		return p.Value(rows)
	}
	return p.Table([]string{"NAME", "ACCESS", "WHITELIST", "CREATED", "EXPIRES", "STATUS", "IN USE"}, table)
}

// safeList makes server text safe for a terminal; never nil, so that JSON
// prints [].
func safeList(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = termsafe.Bounded(s, 64)
	}
	return out
}

func runCreate(ctx context.Context, o *Options) error {
	name, err := single(&o.Deps)
	if err != nil {
		return err
	}
	exp, err := ParseExpiry(o.Expires, o.Now())
	if err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	if o.SaveToProfile != "" {
		cfg, _, err := o.Config()
		if err != nil {
			return err
		}
		if _, exists := cfg.Profiles[o.SaveToProfile]; exists {
			return cmdutil.Usagef("profile %q exists already: --save-to-profile makes a new one", o.SaveToProfile)
		}
		if name == "" {
			return cmdutil.Usagef("--save-to-profile copies a profile: give --profile")
		}
	}
	p, err := o.Printer()
	if err != nil {
		return err
	}
	return withSession(ctx, &o.Deps, name, func(s *session) error { return create(ctx, o, p, s, name, exp) })
}

func create(ctx context.Context, o *Options, p *output.Printer, s *session, name string, exp time.Time) error {
	if s.target.Kind == cpanel.KindCPanel && (len(o.ACLs) > 0 || len(o.Whitelist) > 0) {
		return cmdutil.Usagef("--acl and --whitelist-ip apply to WHM tokens; a cPanel token has full access")
	}
	nt, err := s.client.CreateToken(ctx, cpanel.TokenSpec{Name: o.Name, ACLs: o.ACLs, Whitelist: o.Whitelist, Expires: exp})
	if err != nil {
		return maybeCreated(err, o.Name)
	}
	if o.SaveToProfile != "" {
		if err := saveNewProfile(&o.Deps, name, o.SaveToProfile, nt); err != nil {
			return fmt.Errorf("token %s was created but not saved (%w); revoke it: cpctl token revoke %s", o.Name, err, o.Name)
		}
		fmt.Fprintf(o.IO.ErrOut, "cpctl: created token %s and saved it in profile %s\n", o.Name, o.SaveToProfile)
		return nil
	}
	out := struct {
		Name    string `json:"name" yaml:"name"`
		Token   string `json:"token" yaml:"token"`
		Created string `json:"created" yaml:"created"`
		Expires string `json:"expires" yaml:"expires"`
	}{nt.Name, nt.Token, stamp(nt.Created), stamp(nt.Expires)}
	if fm, _ := o.OutputFormat(); fm != output.Table {
		return p.Value(out)
	}
	fmt.Fprintln(o.IO.Out, nt.Token)
	fmt.Fprintf(o.IO.ErrOut, "cpctl: created token %s; it is shown only this once\n", o.Name)
	return nil
}

// maybeCreated words a failed create: a transport-class failure may have
// created the token all the same.
func maybeCreated(err error, name string) error {
	var e *cpanel.Error
	if errors.As(err, &e) && e.Kind == cpanel.ErrTransport {
		return fmt.Errorf("%w; the token %s may have been created: check with 'cpctl token list' and revoke it", err, name)
	}
	return err
}

func saveNewProfile(d *Deps, from, to string, nt *cpanel.NewToken) error {
	cfg, path, err := d.Config()
	if err != nil {
		return err
	}
	src, err := cfg.Profile(from)
	if err != nil {
		return err
	}
	p := *src
	p.Token, p.TokenName, p.TokenCommand, p.TokenStoreCommand = nt.Token, nt.Name, "", ""
	p.Auth = string(cpanel.AuthToken)
	p.Password, p.PasswordCommand, p.AccessHash = "", "", ""
	cfg.Profiles[to] = &p
	return cfg.Save(path)
}

func runRevoke(ctx context.Context, o *Options) error {
	name, err := single(&o.Deps)
	if err != nil {
		return err
	}
	return withSession(ctx, &o.Deps, name, func(s *session) error { return revoke(ctx, o, s) })
}

func revoke(ctx context.Context, o *Options, s *session) error {
	using, err := inUse(ctx, s)
	if err != nil {
		return err
	}
	own := using != "" && slices.Contains(o.Names, using)
	if own && !o.Force {
		return cmdutil.Usagef("%s is the token profile %s uses: revoking it locks the profile out (use 'cpctl token rotate', or --force)", using, s.target.DisplayName())
	}
	names, err := listed(ctx, o, s)
	if err != nil || len(names) == 0 {
		return err
	}
	if err := s.client.RevokeTokens(ctx, names...); err != nil {
		return err
	}
	if own {
		// The profile's own token is gone: nothing can check afterwards.
		fmt.Fprintf(o.IO.ErrOut, "cpctl: revoked %s, including the token profile %s uses\n", strings.Join(names, ", "), s.target.DisplayName())
		return nil
	}
	// Success is the server no longer listing them, whatever it answered.
	tokens, err := s.client.ListTokens(ctx)
	if err != nil {
		return fmt.Errorf("revoked, but the check that followed failed: %w", err)
	}
	for _, t := range tokens {
		if slices.Contains(names, t.Name) {
			return fmt.Errorf("the server still lists token %s after revoking it", termsafe.Bounded(t.Name, 64))
		}
	}
	fmt.Fprintf(o.IO.ErrOut, "cpctl: revoked %s\n", strings.Join(names, ", "))
	return nil
}

// listed returns the names to revoke that the server lists. The server
// answers success for a name it does not have, so without this look-up a
// mistyped name would read "Revoked" while the leaked token kept working: a
// name it does not list fails the command before anything is revoked,
// unless --ignore-not-found.
func listed(ctx context.Context, o *Options, s *session) ([]string, error) {
	tokens, err := s.client.ListTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the tokens before revoking: %w", err)
	}
	var have, missing []string
	for _, n := range o.Names {
		if slices.ContainsFunc(tokens, func(t cpanel.APIToken) bool { return t.Name == n }) {
			have = append(have, n)
		} else {
			missing = append(missing, termsafe.Bounded(n, 64))
		}
	}
	switch {
	case len(missing) > 0 && !o.IgnoreNotFound:
		return nil, &cmdutil.ExitError{Code: cmdutil.ExitRefused, Err: fmt.Errorf(
			"%s has no token named %s: nothing was revoked (cpctl token list shows the names; --ignore-not-found revokes the others)",
			s.target.DisplayName(), strings.Join(missing, ", "))}
	case len(missing) > 0:
		fmt.Fprintf(o.IO.ErrOut, "cpctl: no token named %s; nothing to revoke for it\n", strings.Join(missing, ", "))
	}
	return have, nil
}

// dryRun says what the command would do and sends nothing: a rotation or
// revocation cannot be previewed as one request.
func dryRun(o *Options) error {
	target := "the profile's login"
	if names, err := o.ProfileNames(); err == nil && o.AllProfiles {
		target = "every token profile's login"
	} else if err == nil && len(names) == 1 && names[0] != "" {
		target = "profile " + names[0] + "'s login"
	}
	var what string
	switch o.Verb {
	case "list":
		what = "list the API tokens of " + target
	case "create":
		what = "create API token " + o.Name + " for " + target
		if len(o.ACLs) > 0 {
			what += " with ACLs " + strings.Join(o.ACLs, ",")
		}
		if len(o.Whitelist) > 0 {
			what += " usable from " + strings.Join(o.Whitelist, ",")
		}
		if o.Expires != "" {
			what += " expiring " + o.Expires
		}
	case "revoke":
		what = "revoke API tokens " + strings.Join(o.Names, ", ") + " of " + target
	default:
		what = "rotate the API token of " + target + ": create a new one, prove it, store it, revoke the old one"
	}
	// On stderr, as every dry run's note: stdout keeps to the output format.
	fmt.Fprintf(o.IO.ErrOut, "cpctl: dry run: would %s; nothing sent\n", what)
	return nil
}
