// Package demo implements `cpctl demo`: the main job of cpctl against a
// simulator started in-process, so a newcomer sees it work with no server.
package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/output"
	"github.com/cpctl/cpctl/pkg/simulator"
)

// Runner runs one cpctl command line on the given factory; the root
// package provides it, so demo runs the real commands without an import
// cycle.
type Runner func(ctx context.Context, f *cmdutil.Factory, args []string) error

// Options are what `cpctl demo` needs: the streams, and a way to run a
// cpctl command line.
type Options struct {
	IO  *cmdutil.IOStreams
	Run Runner
}

// NewCmd returns `cpctl demo`. runF, when set, replaces the run (tests).
func NewCmd(f *cmdutil.Factory, run Runner, runF func(*Options) error) *cobra.Command {
	o := &Options{IO: f.IO, Run: run}
	return &cobra.Command{
		Use:   "demo",
		Short: "Change passwords, then rotate an account's after a compromise, against a built-in simulator (no server needed)",
		Long: `Start the cPanel & WHM simulator in this process with a small sample state
(over TLS, with a self-signed certificate pinned in a temporary profile) and
change an account, an FTP and a mail password with the real commands, as a
user would see them, then try a suspended account that the server refuses.
Then the incident job: list every password account bob has and where each
was found (rotate --dry-run), and rotate its FTP and mail passwords, each
new one handed to a command on its standard input instead of shown.
Nothing outside a temporary directory is touched.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return Run(cmd.Context(), o)
		},
	}
}

// Run starts the simulator and runs the demo's command lines against it,
// each on a factory that ignores the user's CPCTL_ environment.
func Run(ctx context.Context, o *Options) error {
	srv, err := simulator.Start(simulator.SampleState(), simulator.Options{})
	if err != nil {
		return fmt.Errorf("start the simulator: %w", err)
	}
	defer func() {
		// Even after a Ctrl-C the in-process server is shut down, briefly.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	dir, err := os.MkdirTemp("", "cpctl-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := &config.File{CurrentProfile: "demo", Profiles: map[string]*config.Profile{
		"demo": {
			URL: srv.WHMURL, Kind: "whm", User: "root", Auth: "token", Token: simulator.SampleRootToken,
			TLSFingerprint: srv.Fingerprint, CPanelURL: srv.CPanelURL,
		},
	}}
	if err := cfg.Save(cfgPath); err != nil {
		return err
	}

	w := o.IO.Out
	fmt.Fprintf(w, "A cPanel & WHM simulator is running at %s (certificate %s, pinned in a temporary profile \"demo\").\n\n", srv.WHMURL, short(srv.Fingerprint))
	steps := []struct {
		say  string
		args []string
		code int // the exit code the step must have
	}{
		{"Change a cPanel account's password (WHM API 1 passwd), with a generated password:",
			[]string{"account", "passwd", "bob", "--generate"}, 0},
		{"Change an FTP account's password (cPanel API 2 Ftp::passwd through WHM), as JSON for scripts:",
			[]string{"ftp", "passwd", "files@bob.example", "--owner", "bob", "--generate", "-o", "json"}, 0},
		{"Change a mail account's password (UAPI Email/passwd_pop) and prove it works (--verify):",
			[]string{"email", "passwd", "info@bob.example", "--owner", "bob", "--api", "uapi", "--generate", "--verify"}, 0},
		{"A suspended account: the server refuses, cpctl says why and exits 1:",
			[]string{"account", "passwd", "carol", "--generate"}, 1},
		{"After a compromise of bob: every password the account has, found on the server, and where (--dry-run changes nothing):",
			[]string{"rotate", "--owner", "bob", "--dry-run"}, 0},
		// The journal goes in the temporary directory: by default it
		// would be written in the user's working directory.
		{"Rotate bob's FTP and mail passwords, each new one handed to a password store on its standard input, never shown\n" +
			"   ('cat >/dev/null' stands in for 'pass insert -m' or 'vault kv put'):",
			[]string{"rotate", "--owner", "bob", "--kinds", "ftp,email", "--secrets-command", "cat >/dev/null", "--journal", filepath.Join(dir, "bob.journal")}, 0},
	}
	var failed []string
	for i, s := range steps {
		fmt.Fprintf(w, "%d. %s\n$ cpctl %s\n", i+1, s.say, shellJoin(s.args))
		sub := cmdutil.NewIsolatedFactory(o.IO)
		args := append([]string{"--config", cfgPath, "--profile", "demo", "--no-input"}, s.args...)
		err := o.Run(ctx, sub, args)
		code := cmdutil.ExitCode(err)
		if err != nil && !cmdutil.IsSilent(err) {
			fmt.Fprintf(w, "cpctl: %v\n", err)
		}
		fmt.Fprintf(w, "(exit code %d)\n\n", code)
		if code != s.code {
			failed = append(failed, shellJoin(s.args))
		}
	}
	fmt.Fprintln(w, "Next: add your own server with 'cpctl profile add NAME --url https://HOST:2087 --token-stdin', or run the simulator yourself with 'go run ./cmd/cpanel-sim'.")
	if len(failed) > 0 {
		return fmt.Errorf("demo: unexpected result from: %s", strings.Join(failed, "; "))
	}
	return nil
}

// shellJoin writes args as a shell would need them typed.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = output.ShellQuote(a)
	}
	return strings.Join(out, " ")
}

func short(fp string) string {
	if len(fp) > 23 {
		return fp[:23] + "…"
	}
	return fp
}
