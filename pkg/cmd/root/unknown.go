package root

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
)

// A command that only groups others (cpctl, account, profile, journal,
// completion) is not runnable, and cobra answers any word after it with its
// help and exit 0: `cpctl account pasword bob` did nothing and succeeded.
// Cobra reaches such a command through flag.ErrHelp and its help function,
// which cannot return an error, so the help function leaves the error in a
// slot that execute reads.

// unknownSlot is the context key of the slot.
type unknownSlot struct{}

// execute runs the root on args (combined shorthands spelled out) and
// returns the error of an unknown command that cobra would have answered
// with help.
func execute(ctx context.Context, f *cmdutil.Factory, root *cobra.Command, args []string) error {
	setArgs(f, root, args)
	if len(args) > 0 && strings.HasPrefix(args[0], cobra.ShellCompRequestCmd) {
		plainCompletions(root)
	}
	var unknown error
	err := root.ExecuteContext(context.WithValue(ctx, unknownSlot{}, &unknown))
	if err == nil {
		err = unknown
	}
	return err
}

// guardUnknownCommands makes an unknown word after a grouping command, at
// any level, a usage error (exit 2) that names the nearest command.
func guardUnknownCommands(root *cobra.Command) {
	// Without Args the root checks its words in Find, with a message of
	// several lines; with it, the root is treated like every other group.
	root.Args = cobra.ArbitraryArgs
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()

	help := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		if isGroup(c) && len(c.Flags().Args()) > 0 {
			if slot, ok := c.Context().Value(unknownSlot{}).(*error); ok {
				*slot = unknownCommand(c, c.Flags().Args()[0])
				return
			}
		}
		help(c, args)
	})

	// `cpctl account paswd bob --generate`: the flag is fine, the command
	// is not; pflag has collected the words before the flag it refused.
	flagErr := root.FlagErrorFunc()
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if isGroup(c) && len(c.Flags().Args()) > 0 {
			return unknownCommand(c, c.Flags().Args()[0])
		}
		return flagErr(c, err)
	})

	walk(root, withUsageLine)
	walk(root, withFlagGroupUsage)
	for _, c := range root.Commands() {
		if c.Name() != "help" {
			continue
		}
		run := c.Run
		c.Run = nil
		c.RunE = func(h *cobra.Command, args []string) error {
			at := root
			for _, word := range args {
				next := subcommand(at, word)
				if next == nil {
					return unknownCommand(at, word)
				}
				at = next
			}
			run(h, args)
			return nil
		}
	}
}

// walk calls fn on c and every command below it.
func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sc := range c.Commands() {
		walk(sc, fn)
	}
}

// withUsageLine makes a wrong number of arguments a usage error (exit 2)
// that shows the command's usage line: `cpctl profile add` alone said only
// "accepts 1 arg(s), received 0" and exited 1.
func withUsageLine(c *cobra.Command) {
	args := c.Args
	if args == nil || c == c.Root() {
		return
	}
	c.Args = func(cmd *cobra.Command, a []string) error {
		if err := args(cmd, a); err != nil {
			return &cmdutil.UsageError{Err: fmt.Errorf("%w; usage: %s", err, cmd.UseLine())}
		}
		return nil
	}
}

// withFlagGroupUsage makes a broken flag rule (two flags that exclude each
// other, a required flag left out) a usage error, exit 2: cobra returns
// them as plain errors, which exit 1, the code for "refused". PreRunE runs
// just before cobra's own check, which then passes.
func withFlagGroupUsage(c *cobra.Command) {
	if !c.Runnable() {
		return
	}
	next := c.PreRunE
	c.PreRunE = func(cmd *cobra.Command, args []string) error {
		for _, check := range []func() error{cmd.ValidateRequiredFlags, cmd.ValidateFlagGroups} {
			if err := check(); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
		}
		if next != nil {
			return next(cmd, args)
		}
		return nil
	}
}

// plainCompletions takes the backticks out of flag descriptions, which
// mark the value's name in help (`FILE`) but are shown as they are by a
// shell's completion menu.
func plainCompletions(root *cobra.Command) {
	walk(root, func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalNonPersistentFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(fl *pflag.Flag) { fl.Usage = strings.ReplaceAll(fl.Usage, "`", "") })
		}
	})
}

func isGroup(c *cobra.Command) bool { return c.HasSubCommands() && !c.Runnable() }

// subcommand is c's available subcommand called word (by name or alias).
func subcommand(c *cobra.Command, word string) *cobra.Command {
	for _, sc := range c.Commands() {
		if sc.Name() == word || sc.HasAlias(word) {
			return sc
		}
	}
	return nil
}

// unknownCommand is the one-line usage error for word after c, suggesting
// the nearest subcommands.
func unknownCommand(c *cobra.Command, word string) error {
	msg := fmt.Sprintf("unknown command %q for %q", word, c.CommandPath())
	if s := suggestions(c, word); len(s) > 0 {
		for i := range s {
			s[i] = strconv.Quote(s[i])
		}
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return &cmdutil.UsageError{Err: errors.New(msg)}
}

// suggestions are the visible subcommands of c nearest to word: those it
// begins, else those at the least edit distance, if that is under half of
// the word's length (pasword → passwd is 3 edits).
func suggestions(c *cobra.Command, word string) []string {
	var prefix, near []string
	best := max(2, (len(word)+1)/2) + 1
	for _, sc := range c.Commands() {
		if !sc.IsAvailableCommand() && sc.Name() != "help" {
			continue
		}
		if word != "" && strings.HasPrefix(sc.Name(), word) {
			prefix = append(prefix, sc.Name())
			continue
		}
		d := cmdutil.EditDistance(word, sc.Name())
		for _, a := range sc.Aliases {
			d = min(d, cmdutil.EditDistance(word, a))
		}
		switch {
		case d < best:
			best, near = d, []string{sc.Name()}
		case d == best:
			near = append(near, sc.Name())
		}
	}
	if len(prefix) > 0 {
		return prefix
	}
	return near
}
