// Package token implements `cpctl token list|create|revoke|rotate`: the API
// tokens of the login a profile uses, and their safe rotation.
package token

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/output"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// Options are one token command's parsed flags and arguments. Tests build
// them through NewCmdToken's runF.
type Options struct {
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
			if runF != nil {
				return runF(o)
			}
			if f.DryRun {
				return dryRun(f, o)
			}
			switch o.Verb {
			case "list":
				return runList(c.Context(), f, o)
			case "create":
				return runCreate(c.Context(), f, o)
			case "revoke":
				return runRevoke(c.Context(), f, o)
			}
			return runRotate(c.Context(), f, o)
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

func (s *session) Close(ctx context.Context) { _ = s.client.Close(ctx) }

// open resolves one profile (or --url) and connects with its credentials.
func open(ctx context.Context, f *cmdutil.Factory, name string) (*session, error) {
	t, err := f.ResolveTarget(name)
	if err != nil {
		return nil, err
	}
	cc, err := f.ClientConfig(ctx, t)
	if err != nil {
		return nil, err
	}
	c, err := cpanel.New(cc)
	if err != nil {
		return nil, &cmdutil.UsageError{Err: err}
	}
	return &session{target: t, cfg: cc, client: c}, nil
}

// single returns the one profile the command acts on.
func single(f *cmdutil.Factory) (string, error) {
	names, err := f.ProfileNames()
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
	if err != nil {
		return "", err
	}
	if ok {
		if found {
			return d.Name, nil
		}
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
	Created    string   `json:"created" yaml:"created"`
	Expires    string   `json:"expires" yaml:"expires"`
	Status     string   `json:"status" yaml:"status"`
	InUse      bool     `json:"in-use" yaml:"in-use"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func runList(ctx context.Context, f *cmdutil.Factory, o *Options) error {
	name, err := single(f)
	if err != nil {
		return err
	}
	p, err := f.Printer()
	if err != nil {
		return err
	}
	s, err := open(ctx, f, name)
	if err != nil {
		return err
	}
	defer s.Close(ctx)
	tokens, err := s.client.ListTokens(ctx)
	if err != nil {
		return err
	}
	using, err := inUse(ctx, s)
	if err != nil {
		return err
	}
	now := f.Now()
	warn := time.Duration(o.WarnDays) * 24 * time.Hour
	rows := make([]tokenRow, 0, len(tokens))
	for _, t := range tokens {
		r := tokenRow{Name: termsafe.Bounded(t.Name, 64), FullAccess: t.FullAccess, ACLs: safeList(t.ACLs),
			Whitelist: safeList(t.Whitelist), Created: stamp(t.Created), Expires: stamp(t.Expires), Status: "ok",
			InUse: using != "" && t.Name == using}
		if r.ACLs == nil {
			r.ACLs = []string{}
		}
		if r.Whitelist == nil {
			r.Whitelist = []string{}
		}
		switch {
		case t.Expired(now):
			r.Status = "expired"
			f.Warnf("token %s expired on %s; the server keeps expired tokens until they are revoked: cpctl token revoke %s",
				r.Name, r.Expires, r.Name)
		case !t.Expires.IsZero() && t.Expires.Sub(now) < warn:
			days := int(t.Expires.Sub(now).Hours() / 24)
			r.Status = fmt.Sprintf("expires in %dd", days)
			what := "token " + r.Name
			if r.InUse {
				what += " (the one this profile uses; rotate it with 'cpctl token rotate')"
			}
			f.Warnf("%s expires in %d days (%s)", what, days, r.Expires)
		}
		rows = append(rows, r)
	}
	if fm, _ := f.OutputFormat(); fm != output.Table {
		return p.Value(rows)
	}
	table := make([][]string, len(rows))
	for i, r := range rows {
		access := "full"
		if !r.FullAccess {
			access = strings.Join(r.ACLs, ",")
		}
		wl := strings.Join(r.Whitelist, ",")
		if wl == "" {
			wl = "any"
		}
		exp := r.Expires
		if exp == "" {
			exp = "never"
		}
		use := ""
		if r.InUse {
			use = "yes"
		}
		table[i] = []string{r.Name, access, wl, r.Created, exp, r.Status, use}
	}
	return p.Table([]string{"NAME", "ACCESS", "WHITELIST", "CREATED", "EXPIRES", "STATUS", "IN USE"}, table)
}

func safeList(in []string) []string {
	var out []string
	for _, s := range in {
		out = append(out, termsafe.Bounded(s, 64))
	}
	return out
}

func runCreate(ctx context.Context, f *cmdutil.Factory, o *Options) error {
	name, err := single(f)
	if err != nil {
		return err
	}
	exp, err := ParseExpiry(o.Expires, f.Now())
	if err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	if o.SaveToProfile != "" {
		cfg, _, err := f.Config()
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
	p, err := f.Printer()
	if err != nil {
		return err
	}
	s, err := open(ctx, f, name)
	if err != nil {
		return err
	}
	defer s.Close(ctx)
	if s.target.Kind == cpanel.KindCPanel && (len(o.ACLs) > 0 || len(o.Whitelist) > 0) {
		return cmdutil.Usagef("--acl and --whitelist-ip apply to WHM tokens; a cPanel token has full access")
	}
	nt, err := s.client.CreateToken(ctx, cpanel.TokenSpec{Name: o.Name, ACLs: o.ACLs, Whitelist: o.Whitelist, Expires: exp})
	if err != nil {
		return maybeCreated(err, o.Name)
	}
	if o.SaveToProfile != "" {
		if err := saveNewProfile(f, name, o.SaveToProfile, nt); err != nil {
			return fmt.Errorf("token %s was created but not saved (%w); revoke it: cpctl token revoke %s", o.Name, err, o.Name)
		}
		fmt.Fprintf(f.IO.ErrOut, "Created token %s and saved it in profile %s\n", o.Name, o.SaveToProfile)
		return nil
	}
	out := struct {
		Name    string `json:"name" yaml:"name"`
		Token   string `json:"token" yaml:"token"`
		Created string `json:"created" yaml:"created"`
		Expires string `json:"expires" yaml:"expires"`
	}{nt.Name, nt.Token, stamp(nt.Created), stamp(nt.Expires)}
	if fm, _ := f.OutputFormat(); fm != output.Table {
		return p.Value(out)
	}
	fmt.Fprintln(f.IO.Out, nt.Token)
	fmt.Fprintf(f.IO.ErrOut, "Created token %s; it is shown only this once.\n", o.Name)
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

func saveNewProfile(f *cmdutil.Factory, from, to string, nt *cpanel.NewToken) error {
	cfg, path, err := f.Config()
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

func runRevoke(ctx context.Context, f *cmdutil.Factory, o *Options) error {
	name, err := single(f)
	if err != nil {
		return err
	}
	s, err := open(ctx, f, name)
	if err != nil {
		return err
	}
	defer s.Close(ctx)
	if !o.Force {
		using, err := inUse(ctx, s)
		if err != nil {
			return err
		}
		for _, n := range o.Names {
			if n == using {
				return cmdutil.Usagef("%s is the token profile %s uses: revoking it locks the profile out (use 'cpctl token rotate', or --force)", n, s.target.DisplayName())
			}
		}
	}
	if err := s.client.RevokeTokens(ctx, o.Names...); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "Revoked %s\n", strings.Join(o.Names, ", "))
	return nil
}

// dryRun says what the command would do and sends nothing: a rotation or
// revocation cannot be previewed as one request.
func dryRun(f *cmdutil.Factory, o *Options) error {
	target := "the profile's login"
	if names, err := f.ProfileNames(); err == nil && o.AllProfiles {
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
	fmt.Fprintf(f.IO.Out, "dry run: would %s; nothing sent\n", what)
	return nil
}
