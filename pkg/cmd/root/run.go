package root

import (
	"context"
	"fmt"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/version"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// Run runs one cpctl command line on f in this process and returns its
// exit code; a failure is one "cpctl: ..." line on f.IO.ErrOut, as from the
// binary. Unlike Main it installs no signal handler: tests run whole
// command lines through it without starting a process.
func Run(ctx context.Context, f *cmdutil.Factory, info version.Info, args []string) int {
	err := execute(ctx, NewCmd(f, info), args)
	if err == nil {
		return cmdutil.ExitOK
	}
	if !cmdutil.IsSilent(err) {
		fmt.Fprintln(f.IO.ErrOut, "cpctl: "+termsafe.String(oneLine(err)))
	}
	return cmdutil.ExitCode(err)
}
