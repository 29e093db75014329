// Package root assembles the cpctl command tree and maps its errors onto
// the exit codes in DESIGN.md.
package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cpctl/cpctl/pkg/cmd/account"
	"github.com/cpctl/cpctl/pkg/cmd/api"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/demo"
	"github.com/cpctl/cpctl/pkg/cmd/email"
	"github.com/cpctl/cpctl/pkg/cmd/ftp"
	"github.com/cpctl/cpctl/pkg/cmd/journal"
	"github.com/cpctl/cpctl/pkg/cmd/profile"
	"github.com/cpctl/cpctl/pkg/cmd/token"
	"github.com/cpctl/cpctl/pkg/cmd/version"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/secret"
)

const exitCodesHelp = `Exit codes:
  0  every change succeeded
  1  the server answered and refused (weak password, unknown user, ...)
  2  usage error: bad flags, missing value, unreadable input file
  3  authentication or authorization failed (bad token, 401/403, access denied)
  4  could not talk to the server: DNS, connection, TLS, timeout, unreadable reply
  5  bulk run: some rows succeeded and some failed`

// newRoot builds the root command with its flags and no subcommands.
func newRoot(f *cmdutil.Factory, info version.Info) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cpctl",
		Short: "Change cPanel & WHM passwords remotely",
		Long: `cpctl changes passwords on cPanel & WHM servers from anywhere: cPanel accounts,
FTP accounts and mail accounts, one at a time or in bulk, against many servers
held as profiles. It also mirrors the server-side whmapi1, cpapi2 and uapi commands.

Try it without a server: cpctl demo

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       info.Version,
	}
	cmd.SetVersionTemplate("cpctl {{.Version}}\n")
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &cmdutil.UsageError{Err: err}
	})

	pf := cmd.PersistentFlags()
	f.Flags = pf
	pf.StringP("profile", "p", "", "profile `NAME` (several, comma-separated, where a command allows) [CPCTL_PROFILE]")
	pf.String("config", "", "config `FILE` (default $XDG_CONFIG_HOME/cpctl/config.yaml) [CPCTL_CONFIG]")
	pf.StringP("output", "o", "", "output format: table, json or yaml (default table) [CPCTL_OUTPUT]")
	pf.String("url", "", "server `URL` without a profile, e.g. https://host:2087 [CPCTL_URL]")
	pf.String("kind", "", "server kind: whm or cpanel (inferred from the port or host) [CPCTL_KIND]")
	pf.String("auth-user", "", "login `USER` for the server [CPCTL_USER]")
	pf.String("auth", "", "auth method: token, password, accesshash or session [CPCTL_AUTH]")
	pf.Bool("insecure", false, "skip TLS certificate verification (warns on every use) [CPCTL_INSECURE]")
	pf.String("ca-cert", "", "extra trusted CA certificate `FILE` (PEM) [CPCTL_CA_CERT]")
	pf.String("timeout", "", "per-request timeout (default 2m) [CPCTL_TIMEOUT]")
	pf.String("tls-fingerprint", "", "pin the server certificate: sha256:HEX (a profile keeps it as tls-fingerprint) [CPCTL_TLS_FINGERPRINT]")
	pf.Bool("no-input", false, "never prompt; a missing value is a usage error [CPCTL_NO_INPUT]")
	pf.BoolVar(&f.DryRun, "dry-run", false, "print the request that would be sent, secrets redacted, and send nothing")
	pf.BoolVarP(&f.Verbose, "verbose", "v", false, "log each request and reply to stderr, secrets redacted")
	for key, flag := range map[string]string{
		cmdutil.KeyProfile: "profile", cmdutil.KeyConfig: "config", cmdutil.KeyOutput: "output",
		cmdutil.KeyURL: "url", cmdutil.KeyKind: "kind", cmdutil.KeyUser: "auth-user", cmdutil.KeyAuth: "auth",
		cmdutil.KeyInsecure: "insecure", cmdutil.KeyCACert: "ca-cert", cmdutil.KeyTimeout: "timeout",
		cmdutil.KeyNoInput: "no-input", cmdutil.KeyTLSFingerprint: "tls-fingerprint",
	} {
		_ = f.Viper.BindPFlag(key, pf.Lookup(flag))
	}
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions([]string{"whm", "cpanel"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("auth", cobra.FixedCompletions([]string{"token", "password", "accesshash", "session"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("profile", cmdutil.CompleteProfiles(f))

	cmd.AddGroup(&cobra.Group{ID: "passwd", Title: "Change passwords:"},
		&cobra.Group{ID: "api", Title: "Call any API function (like the server-side tools):"},
		&cobra.Group{ID: "setup", Title: "Set up and try:"})
	cmd.SetHelpCommandGroupID("setup")
	cmd.SetCompletionCommandGroupID("setup")
	return cmd
}

// subcommand is a top-level command, built only when needed. short is its
// one-line description, which root help shows without building it
// (TestRootHelpStubsMatch holds it to the built command's).
type subcommand struct {
	name, group, short string
	build              func() []*cobra.Command
}

func subcommands(f *cmdutil.Factory, info version.Info) []subcommand {
	one := func(c func() *cobra.Command) func() []*cobra.Command {
		return func() []*cobra.Command { return []*cobra.Command{c()} }
	}
	apiCmd := func(a cpanel.API) func() []*cobra.Command {
		return one(func() *cobra.Command { return api.NewCmd(f, a, nil) })
	}
	return []subcommand{
		{"account", "passwd", "cPanel account passwords", one(func() *cobra.Command { return account.NewCmd(f) })},
		{"ftp", "passwd", "FTP account passwords", one(func() *cobra.Command { return ftp.NewCmd(f) })},
		{"email", "passwd", "Mail account passwords", one(func() *cobra.Command { return email.NewCmd(f) })},
		{"journal", "passwd", "Inspect and export the journals of bulk runs", one(func() *cobra.Command { return journal.NewCmd(f) })},
		{"whmapi1", "api", "Call any WHM API 1 function, like the server's whmapi1", apiCmd(cpanel.WHMAPI1)},
		{"cpapi2", "api", "Call any cPanel API 2 function, like the server's cpapi2", apiCmd(cpanel.CPAPI2)},
		{"uapi", "api", "Call any UAPI function, like the server's uapi", apiCmd(cpanel.UAPI)},
		{"profile", "setup", "Manage server profiles", one(func() *cobra.Command { return profile.NewCmd(f) })},
		{"token", "setup", "List, create, revoke and rotate the API tokens of a profile's login", one(func() *cobra.Command { return token.NewCmdToken(f, nil) })},
		{"demo", "setup", "Run the three password changes against a built-in simulator (no server needed)",
			one(func() *cobra.Command { return demo.NewCmd(f, runArgs(info)) })},
		{"version", "setup", "Print the version, commit and build date", one(func() *cobra.Command { return version.NewCmd(f, info) })},
	}
}

// isRootHelp reports whether args only ask for the root's help, which
// lists the top-level commands by name and description and nothing more.
func isRootHelp(args []string) bool {
	switch len(args) {
	case 0:
		return true
	case 1:
		return args[0] == "--help" || args[0] == "-h" || args[0] == "help"
	}
	return false
}

// NewCmd builds the whole command tree on the factory.
func NewCmd(f *cmdutil.Factory, info version.Info) *cobra.Command {
	return newCmdFor(f, info, nil)
}

// newCmdFor builds the root with only the top-level command that args run
// (all of them when args is nil or names none): a cron job that runs one
// command pays for the flag sets of that command alone.
func newCmdFor(f *cmdutil.Factory, info version.Info, args []string) *cobra.Command {
	cmd := newRoot(f, info)
	subs := subcommands(f, info)
	only := ""
	if args != nil {
		names := make([]string, len(subs))
		for i, sc := range subs {
			names[i] = sc.name
		}
		only = commandNamed(cmd, names, args)
	}
	if only != "" {
		// The named command neither shows nor reaches cobra's completion
		// command, which cobra would otherwise build, with a subcommand per
		// shell, on every run.
		cmd.CompletionOptions.DisableDefaultCmd = true
	}
	rootHelp := args != nil && isRootHelp(args)
	for _, sc := range subs {
		if only != "" && sc.name != only {
			continue
		}
		if rootHelp {
			// Root help shows names and descriptions: building the real
			// commands (flag sets and all) would triple the cost of
			// `cpctl --help`. Run makes a stub "available" to cobra's help.
			cmd.AddCommand(&cobra.Command{Use: sc.name, Short: sc.short, GroupID: sc.group, Run: func(*cobra.Command, []string) {}})
			continue
		}
		for _, c := range sc.build() {
			c.GroupID = sc.group
			cmd.AddCommand(c)
		}
	}
	return cmd
}

// commandNamed returns the top-level command that args run, or "" when
// the whole tree is needed (root help, completion, an unknown word). Flag
// values are skipped using the root's own flag definitions, so
// `cpctl -p ftp account passwd` is still an account command.
func commandNamed(root *cobra.Command, names []string, args []string) string {
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	pf := root.PersistentFlags()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return ""
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			if strings.Contains(a, "=") {
				continue
			}
			var fl *pflag.Flag
			if strings.HasPrefix(a, "--") {
				fl = pf.Lookup(a[2:])
			} else if len(a) == 2 {
				fl = pf.ShorthandLookup(a[1:])
			}
			if fl != nil && fl.NoOptDefVal == "" {
				i++ // the flag's value
			}
			continue
		}
		if known[a] {
			return a
		}
		return ""
	}
	return ""
}

// runArgs runs a command line on a fresh root; `cpctl demo` uses it to run
// the real commands.
func runArgs(info version.Info) demo.Runner {
	return func(ctx context.Context, f *cmdutil.Factory, args []string) error {
		cmd := NewCmd(f, info)
		cmd.SetArgs(args)
		return cmd.ExecuteContext(ctx)
	}
}

// Main runs cpctl with the process's arguments and streams and returns the
// exit code.
func Main(info version.Info) int {
	ios := cmdutil.System()
	f := cmdutil.NewFactory(ios)
	if ios.InTTY {
		f.Prompter = secret.NewSurveyPrompter(ios.InFile, ios.ErrFile, ios.ErrOut)
	}
	args := os.Args[1:]
	cmd := newCmdFor(f, info, args)
	cmd.SetArgs(args)

	// The first Ctrl-C cancels the context (bulk runs finish what is in
	// flight); a second one kills the process as usual. The handler is
	// installed only when a command is about to run, not for --help or a
	// usage error: signal.Notify starts a thread of its own, a tenth of
	// the start-up budget of `cpctl --help`.
	stop := func() {}
	defer func() { stop() }()
	cmd.PersistentPreRun = func(c *cobra.Command, _ []string) {
		ctx, cancel := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
		stop = cancel
		go func() {
			<-ctx.Done()
			cancel()
		}()
		c.SetContext(ctx)
	}

	err := cmd.ExecuteContext(context.Background())
	if err == nil {
		return cmdutil.ExitOK
	}
	if !cmdutil.IsSilent(err) {
		fmt.Fprintln(ios.ErrOut, "cpctl: "+oneLine(err))
		var usage *cmdutil.UsageError
		if errors.As(err, &usage) && strings.Contains(err.Error(), "flag") {
			fmt.Fprintln(ios.ErrOut, "Run 'cpctl --help' or add --help to the command for usage.")
		}
	}
	return cmdutil.ExitCode(err)
}

// oneLine keeps an error on one line: server messages sometimes carry
// newlines, and scripts read stderr line by line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}
