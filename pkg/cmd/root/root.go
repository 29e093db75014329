// Package root assembles the cpctl command tree and maps its errors onto
// the exit codes in docs/scripting.md.
package root

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cpctl/cpctl/pkg/cmd/account"
	"github.com/cpctl/cpctl/pkg/cmd/api"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/db"
	"github.com/cpctl/cpctl/pkg/cmd/demo"
	"github.com/cpctl/cpctl/pkg/cmd/email"
	"github.com/cpctl/cpctl/pkg/cmd/ftp"
	"github.com/cpctl/cpctl/pkg/cmd/journal"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
	"github.com/cpctl/cpctl/pkg/cmd/profile"
	"github.com/cpctl/cpctl/pkg/cmd/rotate"
	"github.com/cpctl/cpctl/pkg/cmd/token"
	"github.com/cpctl/cpctl/pkg/cmd/version"
	"github.com/cpctl/cpctl/pkg/cmd/webdisk"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/secret"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

const exitCodesHelp = `Exit codes:
  0  every change succeeded
  1  the server answered and refused (weak password, unknown user, ...)
  2  usage error: bad flags, missing value, unreadable input file
  3  authentication or authorization failed (bad token, 401/403, access denied)
  4  could not talk to the server, or the outcome is unknown: DNS, connection,
     TLS, timeout, unreadable reply (retry later; a bulk run: --resume)
  5  partly done: a bulk run whose rows partly failed or failed for different
     reasons, or changed passwords --secrets-command did not deliver
  6  bulk run: every change succeeded, but --secrets-out could not be written
     (export the passwords from the journal)
130  interrupted (Ctrl-C), at a prompt or during a run; a bulk run prints how to resume`

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
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.UsageError{Err: fmt.Errorf("%w; see '%s --help'", err, c.CommandPath())}
	})

	pf := cmd.PersistentFlags()
	f.Flags = pf
	pf.StringP("profile", "p", "", "profile `NAME` (several, comma-separated, where a command allows) [CPCTL_PROFILE]")
	pf.String("config", "", "config `FILE` (default $XDG_CONFIG_HOME/cpctl/config.yaml) [CPCTL_CONFIG]")
	pf.StringP("output", "o", "", "output format: table, json, jsonl or yaml (default table) [CPCTL_OUTPUT]")
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
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "jsonl", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
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

// NewCmd builds the whole command tree on the factory.
func NewCmd(f *cmdutil.Factory, info version.Info) *cobra.Command {
	return newCmd(f, info, runFuncs{})
}

// newLineCmd builds the tree for one command line: the flags a command
// declares through FlagsFor are declared once setArgs has found it.
func newLineCmd(f *cmdutil.Factory, info version.Info) *cobra.Command {
	f.DeferFlags()
	return NewCmd(f, info)
}

// runFuncs stand in for commands' own run functions in tests, which check
// what a command line parses into without running it.
type runFuncs struct {
	passwd  passwd.RunFunc
	api     func(*api.Options) error
	journal func(*journal.Options) error
}

func newCmd(f *cmdutil.Factory, info version.Info, runs runFuncs) *cobra.Command {
	cmd := newRoot(f, info)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			cmd.AddCommand(c)
		}
	}
	add("passwd", account.NewCmd(f, runs.passwd), ftp.NewCmd(f, runs.passwd), email.NewCmd(f, runs.passwd),
		db.NewCmd(f, runs.passwd), webdisk.NewCmd(f, runs.passwd), rotate.NewCmd(f, runs.passwd), journal.NewCmd(f, runs.journal))
	add("api", api.NewCmd(f, cpanel.WHMAPI1, runs.api), api.NewCmd(f, cpanel.CPAPI2, runs.api), api.NewCmd(f, cpanel.UAPI, runs.api))
	add("setup", profile.NewCmd(f, nil), token.NewCmdToken(f, nil), demo.NewCmd(f, runArgs(info), nil), version.NewCmd(f, info, nil))
	guardUnknownCommands(cmd)
	return cmd
}

// setArgs gives the root its command line, combined shorthands spelled
// out, and declares the flags of the command it runs (see
// newLineCmd): the one Cobra finds, after help or a
// completion request as well.
func setArgs(f *cmdutil.Factory, root *cobra.Command, args []string) {
	args = splitShorthands(root.PersistentFlags(), args)
	root.SetArgs(args)
	if len(args) > 0 && (args[0] == "help" || strings.HasPrefix(args[0], cobra.ShellCompRequestCmd)) {
		args = args[1:]
	}
	if c, _, err := root.Find(args); err == nil {
		f.DeclareFlags(c)
	}
}

// splitShorthands spells out combined shorthand flags of fs (`-vp ftp`
// becomes `-v -p ftp`). pflag reads both the same way, but cobra looks for
// the command's name before pflag runs and, not knowing that the last
// letter of `-vp` takes the next word as its value, would take the profile
// name for a command: `cpctl -vp ftp account passwd` ran `cpctl ftp`.
// Anything that is not a run of known shorthands is left as it is, for
// pflag to judge.
func splitShorthands(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' || strings.Contains(a, "=") {
			out = append(out, a)
			continue
		}
		out = append(out, spellOut(fs, a)...)
	}
	return out
}

// spellOut splits one `-abc` into `-a -b -c` when every letter up to the
// first one that takes a value is a known shorthand; a value glued to its
// letter (`-vpftp`) stays glued, which cobra already handles.
func spellOut(fs *pflag.FlagSet, a string) []string {
	var parts []string
	for j := 1; j < len(a); j++ {
		fl := fs.ShorthandLookup(a[j : j+1])
		if fl == nil {
			return []string{a}
		}
		if fl.NoOptDefVal == "" { // takes a value: the rest of the word, or the next one
			return append(parts, "-"+a[j:])
		}
		parts = append(parts, "-"+a[j:j+1])
	}
	return parts
}

// runArgs runs a command line on a fresh root; `cpctl demo` uses it to run
// the real commands.
func runArgs(info version.Info) demo.Runner {
	return func(ctx context.Context, f *cmdutil.Factory, args []string) error {
		return execute(ctx, f, newLineCmd(f, info), args)
	}
}

// Main runs cpctl with the process's arguments and streams and returns the
// exit code; ctx is the process's root context.
func Main(ctx context.Context, info version.Info) int {
	ios := cmdutil.System()
	f := cmdutil.NewFactory(ios)
	if ios.InTTY {
		f.Prompter = secret.NewSurveyPrompter(ios.InFile, ios.ErrFile, ios.ErrOut)
	}
	cmd := newLineCmd(f, info)

	// The first Ctrl-C cancels the context (bulk runs finish what is in
	// flight); a second one kills the process as usual. The handler is
	// installed only when a command is about to run, not for --help or a
	// usage error: signal.Notify starts a thread of its own, a tenth of
	// the start-up budget of `cpctl --help`.
	stop := func() {}
	defer func() { stop() }()
	var signaled context.Context
	cmd.PersistentPreRun = func(c *cobra.Command, _ []string) {
		ctx, cancel := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
		stop, signaled = cancel, ctx
		go func() {
			<-ctx.Done()
			cancel()
		}()
		c.SetContext(ctx)
	}

	code := report(ios.ErrOut, execute(ctx, f, cmd, os.Args[1:]))
	if code != cmdutil.ExitOK && code != cmdutil.ExitUsage && signaled != nil && signaled.Err() != nil {
		// Whatever the interrupted command made of its canceled context,
		// the user stopped it: scripts see 130, as from any other tool.
		code = cmdutil.ExitInterrupted
	}
	return code
}

// Run runs one cpctl command line on f in this process and returns its
// exit code; a failure is one "cpctl: ..." line on f.IO.ErrOut, as from the
// binary. Unlike Main it installs no signal handler: tests run whole
// command lines through it without starting a process.
func Run(ctx context.Context, f *cmdutil.Factory, info version.Info, args []string) int {
	return report(f.IO.ErrOut, execute(ctx, f, newLineCmd(f, info), args))
}

// report prints a command's error as one line on w, unless its output
// already said it all, and returns the exit code.
func report(w io.Writer, err error) int {
	if err != nil && !cmdutil.IsSilent(err) {
		fmt.Fprintln(w, "cpctl: "+oneLine(err))
	}
	return cmdutil.ExitCode(err)
}

// oneLine keeps an error on one line: server messages sometimes carry
// newlines, and scripts read stderr line by line. What a server or a
// certificate put in the message is shown escaped, never drawn.
func oneLine(err error) string {
	return termsafe.String(strings.Join(strings.Fields(err.Error()), " "))
}
