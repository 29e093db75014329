package profile

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/output"
)

func newCmdList(run runner) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List profiles (never shows secrets)",
		Args:    cobra.NoArgs,
		RunE:    run,
	}
}

func runList(d *Deps) error {
	cfg, _, err := d.Config()
	if err != nil {
		return err
	}
	pr, err := d.Printer()
	if err != nil {
		return err
	}
	list := make([]listed, 0, len(cfg.Profiles))
	rows := [][]string{}
	for _, n := range cfg.Names() {
		p := cfg.Profiles[n]
		l := listed{n, n == cfg.CurrentProfile, p.URL, kindOf(p), p.User, p.Auth, secretSource(p), pinState(p)}
		current := ""
		if l.Current {
			current = "*"
		}
		list = append(list, l)
		rows = append(rows, []string{n, current, l.URL, l.Kind, l.User, l.Auth, l.Secret, l.TLS})
	}
	if fm, _ := d.OutputFormat(); fm != output.Table {
		return pr.Value(list)
	}
	return pr.Table([]string{"NAME", "CURRENT", "URL", "KIND", "USER", "AUTH", "SECRET", "TLS"}, rows)
}

// kindOf is the profile's kind, or the one its URL implies when the
// profile leaves it out (the port: 2087 is WHM, 2083 cPanel), as a
// command would use it; "" when neither says.
func kindOf(p *config.Profile) string {
	if p.Kind != "" {
		return strings.ToLower(p.Kind)
	}
	if k, ok := cpanel.InferKind(p.URL); ok {
		return string(k)
	}
	return ""
}

// listed is one profile in `profile list -o json|yaml`.
type listed struct {
	Name    string `json:"name" yaml:"name"`
	Current bool   `json:"current" yaml:"current"`
	URL     string `json:"url" yaml:"url"`
	Kind    string `json:"kind" yaml:"kind"`
	User    string `json:"user" yaml:"user"`
	Auth    string `json:"auth" yaml:"auth"`
	Secret  string `json:"secret" yaml:"secret"`
	TLS     string `json:"tls" yaml:"tls"`
}

// secretSource says where the secret comes from without showing it.
func secretSource(p *config.Profile) string {
	switch {
	case p.TokenCommand != "":
		return "token-command"
	case p.PasswordCommand != "":
		return "password-command"
	case p.Token != "", p.Password != "", p.AccessHash != "":
		return "in config"
	}
	return "none"
}

func pinState(p *config.Profile) string {
	switch {
	case p.TLSFingerprint != "": // checked even when insecure is set
		return "pinned"
	case p.Insecure:
		return "insecure"
	case p.CACert != "":
		return "ca-cert"
	}
	return "system"
}

// shown is a profile as `profile show` prints it: the profile's own
// fields, with each secret replaced by "<set>" so that nothing secret is
// ever printed but its presence is visible.
func shown(name string, current bool, p *config.Profile) map[string]any {
	m := map[string]any{"name": name, "current": current}
	add := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set := func(k, v string) {
		if v != "" {
			m[k] = "<set>"
		}
	}
	add("url", p.URL)
	add("kind", p.Kind)
	add("user", p.User)
	add("auth", p.Auth)
	set("token", p.Token)
	add("token-command", p.TokenCommand)
	set("password", p.Password)
	add("password-command", p.PasswordCommand)
	set("accesshash", p.AccessHash)
	add("tls-fingerprint", p.TLSFingerprint)
	add("ca-cert", p.CACert)
	add("cpanel-url", p.CPanelURL)
	set("totp-secret", p.TOTPSecret)
	add("totp-command", p.TOTPCommand)
	add("timeout", p.Timeout)
	if p.Insecure {
		m["insecure"] = true
	}
	if p.MinStrength > 0 {
		m["min-strength"] = p.MinStrength
	}
	return m
}

// newCmdOnProfile is a verb whose argument is a profile name, completed
// from the config file.
func newCmdOnProfile(f *cmdutil.Factory, run runner, use, short string, args cobra.PositionalArgs, aliases ...string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Aliases: aliases, Args: args, RunE: run,
		ValidArgsFunction: cmdutil.CompleteProfiles(f)}
}

// nameOr is the profile named in args, else the current one.
func nameOr(cfg *config.File, args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return cfg.CurrentProfile
}

func runShow(d *Deps, args []string) error {
	cfg, _, err := d.Config()
	if err != nil {
		return err
	}
	name := nameOr(cfg, args)
	p, err := cfg.Profile(name)
	if err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	pr, err := d.Printer()
	if err != nil {
		return err
	}
	return pr.Value(shown(name, name == cfg.CurrentProfile, p))
}

// editProfile applies edit to the config, which must hold the named
// profile, saves it and reports what edit says on stderr.
func editProfile(d *Deps, name string, edit func(*config.File) string) error {
	cfg, path, err := d.Config()
	if err != nil {
		return err
	}
	if _, err := cfg.Profile(name); err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	msg := edit(cfg)
	if err := cfg.Save(path); err != nil {
		return err
	}
	fmt.Fprintln(d.IO.ErrOut, "cpctl: "+msg)
	return nil
}

func runUse(d *Deps, name string) error {
	return editProfile(d, name, func(cfg *config.File) string {
		cfg.CurrentProfile = name
		return "current profile: " + name
	})
}

func runRemove(d *Deps, name string) error {
	return editProfile(d, name, func(cfg *config.File) string {
		delete(cfg.Profiles, name)
		if cfg.CurrentProfile == name {
			cfg.CurrentProfile = ""
		}
		return "removed profile " + name
	})
}

func newCmdTest(f *cmdutil.Factory, run runner) *cobra.Command {
	cmd := newCmdOnProfile(f, run, "test [NAME]", "Check a profile: server reachable, certificate trusted or pinned, credentials accepted",
		cobra.MaximumNArgs(1))
	cmd.Long = `Check a profile with a harmless call (WHM API 1 version, or UAPI
Variables/get_user_information on cPanel) and say which step failed. An
untrusted certificate is shown with its fingerprint and, at a terminal,
offered for pinning; the pin is saved in the profile.`
	return cmd
}

func runTest(ctx context.Context, d *Deps, args []string) error {
	cfg, path, err := d.Config()
	if err != nil {
		return err
	}
	name := nameOr(cfg, args)
	if name == "" {
		return cmdutil.Usagef("which profile? give NAME or set a current profile with 'cpctl profile use NAME'")
	}
	p, err := cfg.Profile(name)
	if err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	before := p.TLSFingerprint
	t, err := d.ResolveTarget(name)
	if err != nil {
		return err
	}
	if err := checkProfile(ctx, d, t, &t.Profile); err != nil {
		return err
	}
	if t.Profile.TLSFingerprint != before {
		p.TLSFingerprint = t.Profile.TLSFingerprint
		if err := cfg.Save(path); err != nil {
			return err
		}
		fmt.Fprintf(d.IO.ErrOut, "cpctl: pinned the certificate in profile %s\n", name)
	}
	fmt.Fprintf(d.IO.Out, "profile %s: ok\n", name)
	return nil
}
