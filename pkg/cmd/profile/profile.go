// Package profile implements `cpctl profile add|list|show|use|remove|test`.
package profile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/target"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/output"
	"github.com/cpctl/cpctl/pkg/secret"
)

// RunFunc, when given to NewCmd, is called instead of running a verb, so a
// test sees what a command line parsed into without a config or a server.
type RunFunc func(*Invocation) error

// Deps are what the profile verbs need from the factory.
type Deps struct {
	IO *cmdutil.IOStreams
	// Config is the config file and its path.
	Config func() (*config.File, string, error)
	// Printer prints -o's format on standard output; OutputFormat names it.
	Printer      func() (*output.Printer, error)
	OutputFormat func() (output.Format, error)
	// Settings are the global flags and CPCTL_ variables (--url, --kind,
	// --auth-user, ...): what `profile add` saves.
	Settings func() (target.Settings, error)
	// Prompter is nil when no prompt may be shown.
	Prompter func() secret.Prompter
	// TargetFromProfile resolves a profile not yet saved; ResolveTarget a
	// saved one, under flags and environment.
	TargetFromProfile func(name string, p config.Profile) (*cmdutil.Target, error)
	ResolveTarget     func(name string) (*cmdutil.Target, error)
	Client            func(context.Context, *cmdutil.Target) (*cpanel.Client, error)
}

func depsOf(f *cmdutil.Factory) Deps {
	return Deps{IO: f.IO, Config: f.Config, Printer: f.Printer, OutputFormat: f.OutputFormat, Settings: f.Settings,
		Prompter: func() secret.Prompter {
			if !f.CanPrompt() {
				return nil
			}
			return f.Prompter
		},
		TargetFromProfile: f.TargetFromProfile, ResolveTarget: f.ResolveTarget, Client: f.Client}
}

// Invocation is one parsed `profile` command line, and its Deps.
type Invocation struct {
	Deps
	Verb string   // add, list, show, use, remove or test
	Args []string // the verb's arguments (the profile name)
	add  addOptions
}

// runner is a verb's RunE.
type runner func(*cobra.Command, []string) error

// NewCmd returns the `profile` noun; runF is nil except in tests.
func NewCmd(f *cmdutil.Factory, runF RunFunc) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Manage server profiles",
		Long: `Profiles hold servers: URL, kind, login, how to authenticate and which
certificate to trust. They live in $XDG_CONFIG_HOME/cpctl/config.yaml
(mode 0600). Secrets may be kept out of the file with token-command or
password-command, which run at use time and print the secret.`,
	}
	do := func(c *cobra.Command, inv *Invocation) error {
		inv.Deps = depsOf(f)
		if runF != nil {
			return runF(inv)
		}
		return Run(c.Context(), inv)
	}
	run := func(c *cobra.Command, args []string) error {
		return do(c, &Invocation{Verb: c.Name(), Args: args})
	}
	cmd.AddCommand(newCmdAdd(do), newCmdList(run),
		newCmdOnProfile(f, run, "show [NAME]", "Show a profile (secrets are only said to be set)", cobra.MaximumNArgs(1)),
		newCmdOnProfile(f, run, "use NAME", "Make a profile the current one", cobra.ExactArgs(1)),
		newCmdOnProfile(f, run, "remove NAME", "Remove a profile", cobra.ExactArgs(1), "rm"),
		newCmdTest(f, run))
	return cmd
}

// Run runs one parsed profile command.
func Run(ctx context.Context, inv *Invocation) error {
	d := &inv.Deps
	switch inv.Verb {
	case "add":
		return runAdd(ctx, d, &inv.add, inv.Args[0])
	case "list":
		return runList(d)
	case "show":
		return runShow(d, inv.Args)
	case "use":
		return runUse(d, inv.Args[0])
	case "remove":
		return runRemove(d, inv.Args[0])
	}
	return runTest(ctx, d, inv.Args)
}

type addOptions struct {
	tokenStdin      bool
	passwordStdin   bool
	tokenCommand    string
	passwordCommand string
	cpanelURL       string
	minStrength     int
	totpSecretStdin bool
	totpCommand     string
	use             bool
	replace         bool
	skipCheck       bool
}

func newCmdAdd(do func(*cobra.Command, *Invocation) error) *cobra.Command {
	o := &addOptions{}
	cmd := &cobra.Command{
		Use:   "add NAME --url URL",
		Short: "Add a server profile",
		Long: `Add a server profile and check it: the certificate (an untrusted one is shown
with its SHA-256 fingerprint and, at a terminal, offered for pinning) and the
credentials (a harmless API call). Nothing is saved when the check fails,
unless --skip-check.

The secret comes from standard input (--token-stdin, --password-stdin), from
a command run at each use (--token-command, --password-command: pass,
secret-tool, vault, op ...), or from a prompt at a terminal.`,
		Example: `  # WHM with a root API token read from a password manager at each use
  cpctl profile add prod --url https://server1.example.com:2087 --token-command 'pass show whm/prod'

  # a cPanel account with its own API token from standard input
  printf '%s\n' "$TOKEN" | cpctl profile add shop --url https://cpanel.shop.example --auth-user shop --token-stdin

  # a fresh server with a self-signed certificate, pinned without a terminal
  cpctl profile add new --url https://203.0.113.5:2087 --token-stdin --tls-fingerprint sha256:ab12...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return do(cmd, &Invocation{Verb: "add", Args: args, add: *o})
		},
	}
	fl := cmd.Flags()
	// --url, --kind, --auth-user, --auth, --ca-cert and --insecure are the
	// root's persistent flags; add reads them from there.
	fl.BoolVar(&o.tokenStdin, "token-stdin", false, "read the API token (or access hash) from standard input")
	fl.BoolVar(&o.passwordStdin, "password-stdin", false, "read the login password from standard input")
	fl.StringVar(&o.tokenCommand, "token-command", "", "`COMMAND` that prints the token at each use (stored instead of the token)")
	fl.StringVar(&o.passwordCommand, "password-command", "", "`COMMAND` that prints the login password at each use")
	fl.StringVar(&o.cpanelURL, "cpanel-url", "", "cPanel URL of this server, for --verify through WHM (default: derived, 2087→2083)")
	fl.IntVar(&o.minStrength, "min-strength", 0, "the server's minimum password strength (default: read from the server)")
	fl.BoolVar(&o.totpSecretStdin, "totp-secret-stdin", false, "read the two-factor (TOTP) base32 secret from standard input (after the token/password line)")
	fl.StringVar(&o.totpCommand, "totp-command", "", "`COMMAND` that prints the current two-factor code or the TOTP secret")
	fl.BoolVar(&o.use, "use", false, "make it the current profile")
	fl.BoolVar(&o.replace, "replace", false, "replace an existing profile of that name")
	fl.BoolVar(&o.skipCheck, "skip-check", false, "save without contacting the server")
	cmd.MarkFlagsMutuallyExclusive("token-stdin", "password-stdin", "token-command", "password-command")
	return cmd
}

func runAdd(ctx context.Context, d *Deps, o *addOptions, name string) error {
	if strings.ContainsAny(name, ", \t/") || name == "" {
		return cmdutil.Usagef("profile name %q: use letters, digits, - and _", name)
	}
	cfg, path, err := d.Config()
	if err != nil {
		return err
	}
	if _, exists := cfg.Profiles[name]; exists && !o.replace {
		return cmdutil.Usagef("profile %q exists: use --replace, or 'cpctl profile remove %s' first", name, name)
	}
	set, err := d.Settings()
	if err != nil {
		return err
	}
	p := &config.Profile{
		URL: set.URL, Kind: set.Kind, User: set.User, Auth: set.Auth, CACert: set.CACert, Insecure: set.Insecure,
		CPanelURL: o.cpanelURL, MinStrength: o.minStrength, TOTPCommand: o.totpCommand,
		TokenCommand: o.tokenCommand, PasswordCommand: o.passwordCommand,
	}
	if err := checkURL(d, p); err != nil {
		return err
	}
	if fpFlag := set.TLSFingerprint; fpFlag != "" {
		fp, err := cpanel.NormalizeFingerprint(fpFlag)
		if err != nil {
			return cmdutil.Usagef("--tls-fingerprint: %w", err)
		}
		p.TLSFingerprint = fp
	}
	if p.Auth == "" {
		// --auth wins; else the password flags (exclusive with the token
		// flags) say password, and anything else a token.
		p.Auth = string(cpanel.AuthToken)
		if o.passwordStdin || o.passwordCommand != "" {
			p.Auth = string(cpanel.AuthPassword)
		}
	}
	kind := cpanel.Kind(p.Kind)
	if kind == "" {
		kind, _ = cpanel.InferKind(p.URL)
	}
	if p.User == "" {
		if kind == cpanel.KindWHM {
			p.User = "root"
		} else {
			return cmdutil.Usagef("a cPanel profile needs the account's login: give --auth-user USER")
		}
	}
	if err := readSecrets(d, o, p); err != nil {
		return err
	}

	if !o.skipCheck {
		t, err := d.TargetFromProfile(name, *p)
		if err != nil {
			return err
		}
		if err := checkProfile(ctx, d, t, p); err != nil {
			// Said, because a script goes on to use the profile: the
			// next command would fail with "no profile named ...".
			return fmt.Errorf("%w; profile %s was not saved", err, name)
		}
	}
	cfg.Profiles[name] = p
	if o.use || cfg.CurrentProfile == "" {
		cfg.CurrentProfile = name
	}
	if err := cfg.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(d.IO.ErrOut, "cpctl: saved profile %s in %s", name, path)
	if cfg.CurrentProfile == name {
		fmt.Fprint(d.IO.ErrOut, " (current)")
	}
	fmt.Fprintln(d.IO.ErrOut)
	return nil
}

// checkURL checks the new profile's server URL and that its kind is known.
func checkURL(d *Deps, p *config.Profile) error {
	if p.URL == "" {
		return cmdutil.Usagef("give the server with --url, e.g. https://server.example.com:2087")
	}
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return cmdutil.Usagef("--url %q is not an http(s) URL like https://server.example.com:2087", p.URL)
	}
	if u.User != nil {
		return cmdutil.Usagef("--url must not carry credentials; use --auth-user and --token-stdin")
	}
	if u.Scheme == "http" {
		cmdutil.Warnf(d.IO.ErrOut, "%s is plain HTTP: the credentials and every password cross the network unencrypted", p.URL)
	}
	// Stored as the kinds are spelt everywhere else, so that --kind WHM
	// means whm here too (a WHM profile's login defaults to root).
	p.Kind = strings.ToLower(p.Kind)
	if k := cpanel.Kind(p.Kind); k != "" && k != cpanel.KindWHM && k != cpanel.KindCPanel {
		return cmdutil.Usagef("--kind %q is not whm or cpanel", p.Kind)
	}
	if p.Kind == "" {
		if _, ok := cpanel.InferKind(p.URL); !ok {
			return cmdutil.Usagef("cannot tell whether %s is WHM or cPanel from its port or host: give --kind whm|cpanel", p.URL)
		}
	}
	return nil
}

// readSecrets fills the profile's secret from standard input or a prompt,
// unless a command will fetch it at use time.
func readSecrets(d *Deps, o *addOptions, p *config.Profile) error {
	in := bufio.NewReader(d.IO.In)
	readLine := func(what string) (string, error) {
		line, err := in.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read %s from standard input: %w", what, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return "", cmdutil.Usagef("standard input held no %s", what)
		}
		return line, nil
	}
	// The secret's name in messages, and the field it goes in.
	secretWord, field := "API token", &p.Token
	switch cpanel.AuthMethod(p.Auth) {
	case cpanel.AuthPassword, cpanel.AuthSession:
		secretWord, field = "password", &p.Password
	case cpanel.AuthAccessHash:
		secretWord, field = "access hash", &p.AccessHash
	}
	var value string
	var err error
	switch {
	case o.tokenCommand != "" || o.passwordCommand != "":
	case o.tokenStdin && p.Auth == string(cpanel.AuthAccessHash):
		// An access hash spans many lines: all of standard input is the
		// secret, its line breaks dropped (the server ignores them).
		if o.totpSecretStdin {
			return cmdutil.Usagef("--totp-secret-stdin cannot follow a multi-line access hash on standard input: use --totp-command")
		}
		var all []byte
		all, err = io.ReadAll(in)
		value = strings.TrimSpace(strings.NewReplacer("\r", "", "\n", "").Replace(string(all)))
		if err == nil && value == "" {
			err = cmdutil.Usagef("standard input held no access hash")
		}
	case o.tokenStdin || o.passwordStdin:
		value, err = readLine(secretWord)
	case d.Prompter() != nil:
		value, err = d.Prompter().Password(fmt.Sprintf("%s for %s at %s:", strings.ToUpper(secretWord[:1])+secretWord[1:], p.User, p.URL))
		if err == nil && value == "" {
			err = cmdutil.Usagef("no %s given", secretWord)
		}
	default:
		return cmdutil.Usagef("no %s: give --token-stdin, --password-stdin, --token-command or --password-command (no terminal to prompt on)", secretWord)
	}
	if err != nil {
		return err
	}
	*field = value
	if o.totpSecretStdin {
		s, err := readLine("TOTP secret")
		if err != nil {
			return err
		}
		p.TOTPSecret = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	}
	return nil
}
