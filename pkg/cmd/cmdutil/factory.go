package cmdutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/cpctl/cpctl/pkg/cmd/credentials"
	"github.com/cpctl/cpctl/pkg/cmd/target"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/output"
	"github.com/cpctl/cpctl/pkg/secret"
	"github.com/cpctl/cpctl/pkg/secret/totp"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// Viper keys. Each global setting is declared once here; flags and
// CPCTL_ environment variables are bound to these keys, and a profile's
// values are merged below them, which gives flag > env > profile > default.
const (
	KeyProfile  = "profile"
	KeyConfig   = "config"
	KeyOutput   = "output"
	KeyURL      = "url"
	KeyKind     = "kind"
	KeyUser     = "user"
	KeyAuth     = "auth"
	KeyToken    = "token"
	KeyPassword = "password"
	KeyInsecure = "insecure"
	KeyCACert   = "ca-cert"
	KeyTimeout  = "timeout"
	KeyNoInput  = "no-input"
	// KeyTLSFingerprint pins a certificate without a profile (CI steps
	// against a server with a self-signed certificate).
	KeyTLSFingerprint = "tls-fingerprint"
)

// Factory gives commands what they need without globals: IO streams, the
// configuration, clients for profiles and a prompter. One is made per run
// of the root command.
type Factory struct {
	IO    *IOStreams
	Viper *viper.Viper

	// DryRun and Verbose are set from the root's flags.
	DryRun  bool
	Verbose bool

	// Prompter is used only when CanPrompt says so.
	Prompter secret.Prompter

	// Now is the clock, replaceable in tests.
	Now func() time.Time

	// Environ is the environment given to token and TOTP commands.
	Environ []string

	// Flags are the root's persistent flags, to tell a flag given on the
	// command line from a value that came from the environment.
	Flags *pflag.FlagSet

	cfgOnce sync.Once
	cfg     *config.File
	cfgPath string
	cfgErr  error

	warnOnce sync.Once
	// logMu keeps the -v exchanges of concurrent requests (a bulk run's
	// workers) whole on stderr: each is written at once, under it.
	logMu sync.Mutex

	deferred map[*cobra.Command]func() // see DeferFlags
}

// NewFactory returns a factory on the given streams with a fresh viper
// instance (never viper's package-level global).
func NewFactory(ios *IOStreams) *Factory {
	v := viper.New()
	v.SetEnvPrefix("CPCTL")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	for _, k := range []string{KeyProfile, KeyConfig, KeyOutput, KeyURL, KeyKind, KeyUser, KeyAuth,
		KeyToken, KeyPassword, KeyInsecure, KeyCACert, KeyTimeout, KeyNoInput, KeyTLSFingerprint} {
		_ = v.BindEnv(k)
	}
	// No SetDefault here: viper's IsSet counts defaults as set, and the
	// profile layer must see whether a flag or variable really was given.
	return &Factory{IO: ios, Viper: v, Now: time.Now, Environ: os.Environ()}
}

// NewIsolatedFactory is a factory that reads no CPCTL_ variable and passes
// none to child processes: `cpctl demo` runs real commands on it so that
// nothing in the user's environment (a CPCTL_URL, a CPCTL_TOKEN) can send
// the demo's changes to a real server.
func NewIsolatedFactory(ios *IOStreams) *Factory {
	f := &Factory{IO: ios, Viper: viper.New(), Now: time.Now}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CPCTL_") {
			f.Environ = append(f.Environ, kv)
		}
	}
	return f
}

// CanPrompt reports whether a prompt may be shown: standard input is a
// terminal and --no-input is off. A CPCTL_NO_INPUT that is not a boolean
// counts as on: a script that meant to forbid prompts gets none.
func (f *Factory) CanPrompt() bool {
	noInput, err := f.Bool(KeyNoInput)
	return f.IO.InTTY && f.Prompter != nil && !noInput && err == nil
}

// Bool reads a boolean setting. A flag is a boolean already; a CPCTL_
// variable must be one of the documented spellings (1/0, true/false,
// yes/no, on/off, any case): anything else is a usage error rather than a
// silent false (CPCTL_INSECURE=yes was ignored).
func (f *Factory) Bool(key string) (bool, error) {
	switch v := f.Viper.Get(key).(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "", "0", "false", "no", "off":
			return false, nil
		case "1", "true", "yes", "on":
			return true, nil
		}
		return false, Usagef("CPCTL_%s=%q is not a boolean: use 1 or 0, true or false, yes or no, on or off",
			strings.ToUpper(strings.ReplaceAll(key, "-", "_")), v)
	default:
		return f.Viper.GetBool(key), nil
	}
}

// OutputFormat returns the -o format.
func (f *Factory) OutputFormat() (output.Format, error) {
	name := f.Viper.GetString(KeyOutput)
	if name == "" {
		name = string(output.Table)
	}
	fm, err := output.ParseFormat(name)
	if err != nil {
		return "", &UsageError{Err: err}
	}
	return fm, nil
}

// Printer returns the printer for -o on standard output.
func (f *Factory) Printer() (*output.Printer, error) {
	fm, err := f.OutputFormat()
	if err != nil {
		return nil, err
	}
	return output.New(fm, f.IO.Out, f.IO.OutTTY, output.WithWidth(output.TerminalWidth(f.IO.OutFile))), nil
}

// Warnf prints a warning line on w, standard error.
func Warnf(w io.Writer, format string, a ...any) {
	fmt.Fprintln(w, "cpctl: warning: "+termsafe.String(fmt.Sprintf(format, a...)))
}

// Targets are what a command that reaches servers needs to find them:
// Config is the config file and its path; ProfileNames are the profiles
// --profile (or the current profile) selects; ResolveTarget merges one with
// flags and environment; ClientConfig fetches a target's secret and
// describes its client. Commands hold these, not the factory, so a test can
// fill its own.
type Targets struct {
	Config        func() (*config.File, string, error)
	ProfileNames  func() ([]string, error)
	ResolveTarget func(name string) (*Target, error)
	ClientConfig  func(context.Context, *Target) (cpanel.Config, error)
}

// Targets returns the factory's own.
func (f *Factory) Targets() Targets {
	return Targets{Config: f.Config, ProfileNames: f.ProfileNames, ResolveTarget: f.ResolveTarget, ClientConfig: f.ClientConfig}
}

// Config loads the configuration file (--config, CPCTL_CONFIG or the XDG
// default) once. It does not check permissions: that happens when a secret
// from the file is about to be used.
func (f *Factory) Config() (*config.File, string, error) {
	f.cfgOnce.Do(func() {
		f.cfgPath = f.Viper.GetString(KeyConfig)
		if f.cfgPath == "" {
			f.cfgPath = config.DefaultPath()
		}
		f.cfg, f.cfgErr = config.Load(f.cfgPath)
		if f.cfgErr != nil {
			f.cfgErr = &UsageError{Err: f.cfgErr}
		}
	})
	return f.cfg, f.cfgPath, f.cfgErr
}

// Target is a server resolved from a profile, flags and environment.
type Target = target.Target

// ProfileNames returns the names selected by --profile (which may list
// several, comma-separated) or CPCTL_PROFILE, else the current profile.
func (f *Factory) ProfileNames() ([]string, error) {
	raw := f.Viper.GetString(KeyProfile)
	if raw == "" {
		if f.Viper.GetString(KeyURL) != "" {
			return []string{""}, nil
		}
		cfg, _, err := f.Config()
		if err != nil {
			return nil, err
		}
		if cfg.CurrentProfile == "" {
			if len(cfg.Profiles) == 1 {
				return cfg.Names(), nil
			}
			return nil, Usagef("no server: give --url (or CPCTL_URL), --profile, or set a current profile with 'cpctl profile use NAME'")
		}
		return []string{cfg.CurrentProfile}, nil
	}
	var names []string
	for _, n := range strings.Split(raw, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

// ResolveTarget merges the named profile ("" for none) under flags and
// environment. With --url and no explicit profile the current profile is
// not consulted at all, so its token is never sent to another server.
func (f *Factory) ResolveTarget(name string) (*Target, error) {
	t := &Target{Name: name}
	if name != "" {
		cfg, path, err := f.Config()
		if err != nil {
			return nil, err
		}
		p, err := cfg.Profile(name)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		t.Profile = *p
		t.FromFile = true
		t.ConfigPath = path
	}
	if u := f.Viper.GetString(KeyURL); u != "" && name != "" && u != t.Profile.URL {
		// A profile's credentials belong to its server. Only an explicit
		// --url may redirect them, and only for a single profile: never a
		// CPCTL_URL left in the environment, and never several profiles
		// (or a bulk run's rows) at once, which would all go to one host.
		if f.Flags == nil || !f.Flags.Changed("url") {
			return nil, Usagef("CPCTL_URL is set, and profile %q has its own server and credentials: unset CPCTL_URL, or give --url to send them to %s on purpose", name, u)
		}
		names, err := f.ProfileNames()
		if err != nil {
			return nil, err
		}
		if len(names) != 1 || names[0] != name {
			return nil, Usagef("--url names one server; it cannot apply to several profiles (%s)", strings.Join(names, ", "))
		}
	}
	// Flags and environment win over the profile.
	s, err := f.Settings()
	if err != nil {
		return nil, err
	}
	p, err := target.Merge(t.Profile, s)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	return f.finish(name, p, t.FromFile, t.ConfigPath)
}

// Settings gathers what the global flags and CPCTL_ variables give.
func (f *Factory) Settings() (target.Settings, error) {
	v := f.Viper
	insecure, err := f.Bool(KeyInsecure)
	if err != nil {
		return target.Settings{}, err
	}
	return target.Settings{
		URL: v.GetString(KeyURL), Kind: v.GetString(KeyKind), User: v.GetString(KeyUser),
		Auth: v.GetString(KeyAuth), CACert: v.GetString(KeyCACert),
		Token: v.GetString(KeyToken), Password: v.GetString(KeyPassword),
		Insecure: insecure, TLSFingerprint: v.GetString(KeyTLSFingerprint),
		AuthSet: v.IsSet(KeyAuth),
	}, nil
}

// TargetFromProfile resolves a profile that is not (yet) in the config
// file, as `profile add` checks it before saving; flags are already in it.
func (f *Factory) TargetFromProfile(name string, p config.Profile) (*Target, error) {
	return f.finish(name, p, false, "")
}

// finish infers what was left out and checks what was given.
func (f *Factory) finish(name string, p config.Profile, fromFile bool, cfgPath string) (*Target, error) {
	timeout := ""
	if f.Viper.IsSet(KeyTimeout) {
		timeout = f.Viper.GetString(KeyTimeout)
	}
	t, err := target.Finish(name, p, timeout)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	t.FromFile, t.ConfigPath = fromFile, cfgPath
	return t, nil
}

// ClientConfig turns the target into a client configuration, fetching the
// secret (from the profile, the environment or a command) as late as this.
func (f *Factory) ClientConfig(ctx context.Context, t *Target) (cpanel.Config, error) {
	p := t.Profile
	cc := cpanel.Config{
		URL: p.URL, Kind: t.Kind, Auth: cpanel.AuthMethod(p.Auth), User: p.User,
		CAFile: p.CACert, Insecure: p.Insecure, Fingerprint: p.TLSFingerprint,
		Timeout: t.Timeout, UserAgent: "cpctl", MaxConns: t.MaxConns,
		MaxRetries: t.MaxRetries, WrapTransport: t.WrapTransport,
	}
	if t.FromFile && p.HasSecret() {
		cfg, _, _ := f.Config()
		if err := config.CheckPermissions(t.ConfigPath, cfg); err != nil {
			return cc, &UsageError{Err: err}
		}
	}
	var err error
	switch cc.Auth {
	case cpanel.AuthToken, cpanel.AuthAccessHash:
		cc.Secret = p.Token
		if cc.Auth == cpanel.AuthAccessHash && p.AccessHash != "" {
			cc.Secret = p.AccessHash
		}
		if cc.Secret == "" && p.TokenCommand != "" {
			what := "token-command"
			if cc.Auth == cpanel.AuthAccessHash {
				what = credentials.AccessHashCommand
			}
			cc.Secret, err = f.RunSecretCommand(ctx, what, p.TokenCommand)
		}
	case cpanel.AuthPassword, cpanel.AuthSession:
		cc.Secret = p.Password
		if cc.Secret == "" && p.PasswordCommand != "" {
			cc.Secret, err = f.RunSecretCommand(ctx, "password-command", p.PasswordCommand)
		}
	default:
		return cc, Usagef("auth %q is not token, password, accesshash or session", p.Auth)
	}
	if err != nil {
		return cc, err
	}
	if cc.Secret == "" && !f.DryRun {
		return cc, f.missingSecret(t)
	}
	if cc.User == "" {
		return cc, Usagef("no login user for %s: give --auth-user or set user in the profile", t.DisplayName())
	}
	cc.OTP = f.otpSource(t)
	if p.Insecure && p.TLSFingerprint == "" { // a pin is checked even with --insecure
		f.warnOnce.Do(func() {
			Warnf(f.IO.ErrOut, "TLS certificate verification is off (--insecure): anyone on the network path can read the credentials; pin the certificate with tls-fingerprint instead")
		})
	}
	if f.Verbose {
		cc.Logger = f.logExchange
	}
	return cc, nil
}

func (f *Factory) missingSecret(t *Target) error {
	if t.Name == "" && !f.Viper.IsSet(KeyAuth) {
		// CI mode with no method chosen: an API token is what a script
		// should use (WHM's root token above all), a password the fallback.
		what := "a cPanel API token"
		if t.Kind == cpanel.KindWHM {
			what = "a WHM API token"
		}
		return Usagef("no credentials for %s: set CPCTL_TOKEN (%s), or CPCTL_PASSWORD; or use a profile", t.Profile.URL, what)
	}
	switch cpanel.AuthMethod(t.Profile.Auth) {
	case cpanel.AuthToken, cpanel.AuthAccessHash:
		if t.Name == "" {
			return Usagef("no API token: set CPCTL_TOKEN (or use a profile with token or token-command)")
		}
		return Usagef("profile %q has no token: set token-command (or token) in it, or CPCTL_TOKEN", t.Name)
	default:
		if t.Name == "" {
			return Usagef("no password to log in with: set CPCTL_PASSWORD (or use a profile)")
		}
		return Usagef("profile %q has no password: set password-command (or password) in it, or CPCTL_PASSWORD", t.Name)
	}
}

// otpSource returns the two-factor code source for the target, or nil when
// the profile has none (a refusal then prompts at a terminal).
func (f *Factory) otpSource(t *Target) func(context.Context) (string, error) {
	p := t.Profile
	switch {
	case p.TOTPSecret != "":
		secretB32 := p.TOTPSecret
		return func(context.Context) (string, error) {
			code, err := totp.Code(secretB32, f.Now())
			if err != nil {
				return "", &UsageError{Err: fmt.Errorf("profile %q: totp-secret: %w", t.Name, err)}
			}
			return code, nil
		}
	case p.TOTPCommand != "":
		cmdline := p.TOTPCommand
		otp := credentials.TOTPCommand(f.Now, func(ctx context.Context) (string, error) {
			return f.RunSecretCommand(ctx, "totp-command", cmdline)
		})
		return func(ctx context.Context) (string, error) {
			code, err := otp(ctx)
			if err != nil {
				return "", &UsageError{Err: err}
			}
			return code, nil
		}
	}
	return nil
}

// RunSecretCommand runs a user's command (token-command and friends); see
// credentials.Child.ReadSecret. Its failures are usage errors: the config must
// change.
func (f *Factory) RunSecretCommand(ctx context.Context, what, cmdline string) (string, error) {
	c := credentials.Child{What: what, Cmdline: cmdline, Env: f.Environ, Stderr: f.IO.ErrOut}
	if f.IO.InTTY {
		c.Terminal = f.IO.InFile
	}
	out, err := c.ReadSecret(ctx)
	if err != nil {
		return "", &UsageError{Err: err}
	}
	return out, nil
}

// Client builds a client for the target.
func (f *Factory) Client(ctx context.Context, t *Target) (*cpanel.Client, error) {
	cc, err := f.ClientConfig(ctx, t)
	if err != nil {
		return nil, err
	}
	return NewClient(cc)
}

// NewClient is cpanel.New with its error, a configuration that cannot
// work, as a usage error.
func NewClient(cc cpanel.Config) (*cpanel.Client, error) {
	c, err := cpanel.New(cc)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	return c, nil
}

// maxLoggedError bounds the error line of a -v exchange, in runes.
const maxLoggedError = 500

// logExchange writes one redacted exchange to stderr for -v. The client
// has already replaced every secret.
func (f *Factory) logExchange(x cpanel.Exchange) {
	var w bytes.Buffer
	defer func() {
		f.logMu.Lock()
		defer f.logMu.Unlock()
		_, _ = f.IO.ErrOut.Write(w.Bytes()) // -v is best effort: a broken stderr does not fail the change
	}()
	// The reply is the server's text: shown escaped, never drawn.
	fmt.Fprintf(&w, "> %s %s\n", x.Method, termsafe.String(x.URL))
	writeHeaders(&w, "> ", x.RequestHeader)
	if x.RequestBody != "" {
		fmt.Fprintf(&w, "> %s\n", termsafe.Text(x.RequestBody))
	}
	if x.Err != nil {
		// The transport's own error can quote what the server or its
		// certificate sent (a malformed status line, every name a
		// certificate is valid for): bounded as well as escaped.
		fmt.Fprintf(&w, "< error after %s: %s\n", x.Duration.Round(time.Millisecond), termsafe.Bounded(x.Err.Error(), maxLoggedError))
		return
	}
	fmt.Fprintf(&w, "< %d (%s)\n", x.Status, x.Duration.Round(time.Millisecond))
	writeHeaders(&w, "< ", x.ResponseHeader)
	if x.ResponseBody != "" {
		fmt.Fprintf(&w, "< %s\n", termsafe.Text(strings.TrimRight(x.ResponseBody, "\n")))
	}
}
