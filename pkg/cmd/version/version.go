// Package version implements `cpctl version`.
package version

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
)

// Info is set by the release build through -ldflags on package main.
type Info struct {
	Version, Commit, Date string
}

// NewCmd returns `cpctl version`. It reads no configuration, so it stays as
// fast as the binary can start.
func NewCmd(f *cmdutil.Factory, info Info) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		// Only prints: it needs no Ctrl-C handling, so it overrides the
		// root's hook that installs one (and starts a thread for it).
		PersistentPreRun: func(*cobra.Command, []string) {},
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(f.IO.Out, "cpctl %s (commit %s, built %s, %s %s/%s)\n",
				info.Version, info.Commit, info.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
