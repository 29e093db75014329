// Package version implements `cpctl version`.
package version

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
)

// Info is set by the release build through -ldflags on package main.
type Info struct {
	Version, Commit, Date string
}

// Options are what `cpctl version` needs: where to print, and what.
type Options struct {
	Out  io.Writer
	Info Info
}

// NewCmd returns `cpctl version`. It reads no configuration, so it stays as
// fast as the binary can start. runF, when set, replaces the run (tests).
func NewCmd(f *cmdutil.Factory, info Info, runF func(*Options) error) *cobra.Command {
	o := &Options{Out: f.IO.Out, Info: info}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		// Only prints: it needs no Ctrl-C handling, so it overrides the
		// root's hook that installs one (and starts a thread for it).
		PersistentPreRun: func(*cobra.Command, []string) {},
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(o)
			}
			return Run(o)
		},
	}
}

// Run prints the version line.
func Run(o *Options) error {
	_, err := fmt.Fprintf(o.Out, "cpctl %s (commit %s, built %s, %s %s/%s)\n",
		o.Info.Version, o.Info.Commit, o.Info.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
