package cmdutil

import "github.com/spf13/cobra"

// Deferred flag declarations. Every cpctl process builds the whole command
// tree, the ordinary Cobra way, but six passwd commands declare some thirty
// flags each: half of the tree's cost, and what took `cpctl version` over
// its start-up budget (docs/benchmarks.md, measurement 1). A command line
// runs one command, so in a tree built for one (DeferFlags) a command's
// flags are declared once Cobra has found that it is the one to run
// (DeclareFlags); everywhere else (gen-docs, tests that build a command on
// its own) they are declared at once, as usual.

// DeferFlags makes FlagsFor keep declarations until DeclareFlags; call it
// before each tree is built.
func (f *Factory) DeferFlags() { f.deferred = map[*cobra.Command]func(){} }

// FlagsFor declares cmd's flags with declare, now or, after DeferFlags,
// when DeclareFlags is called for cmd.
func (f *Factory) FlagsFor(cmd *cobra.Command, declare func()) {
	if f.deferred == nil {
		declare()
		return
	}
	f.deferred[cmd] = declare
}

// DeclareFlags declares the flags kept for cmd, once.
func (f *Factory) DeclareFlags(cmd *cobra.Command) {
	if declare, ok := f.deferred[cmd]; ok {
		delete(f.deferred, cmd)
		declare()
	}
}
