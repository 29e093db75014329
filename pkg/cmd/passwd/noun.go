package passwd

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
)

// OwnedNoun describes a noun whose passwords belong to a cPanel account
// (ftp, email, db, webdisk): they share every flag but the argument's name
// and their own few.
type OwnedNoun struct {
	// Noun is the command's name when it is not the kind's ("db").
	Noun    string
	Kind    Kind
	Short   string // the noun's help line
	Use     string // "passwd FTPUSER"
	Verb    string // the verb's help line
	Long    string
	Example string
	// UAPIOnly leaves out --api: the kind has one API.
	UAPIOnly bool
	// Flags declares the noun's own flags.
	Flags func(fl *pflag.FlagSet, o *Options)
	// Prepare completes the options from the noun's own flags before the
	// command (or runF) runs.
	Prepare func(cmd *cobra.Command, o *Options) error
}

// NewOwnedNounCmd builds `cpctl ftp`, `cpctl email`, `cpctl db` or
// `cpctl webdisk` with its passwd verb.
func NewOwnedNounCmd(f *cmdutil.Factory, n OwnedNoun, runF RunFunc) *cobra.Command {
	use := n.Noun
	if use == "" {
		use = string(n.Kind)
	}
	cmd := &cobra.Command{Use: use, Short: n.Short}
	o := &Options{Kind: n.Kind}
	pc := &cobra.Command{
		Use:     n.Use,
		Short:   n.Verb,
		Long:    n.Long,
		Example: n.Example,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if n.Prepare != nil {
				if err := n.Prepare(cmd, o); err != nil {
					return err
				}
			}
			return Run(cmd, args, f, o, runF)
		},
	}
	f.FlagsFor(pc, func() {
		AddFlags(pc, o)
		pc.Flags().StringVar(&o.Owner, "owner", "", "the cPanel account `USER` that owns it (through a WHM profile, looked up from the domain when not given); alone, with no target: select every one of that account's (with --generate)")
		if !n.UAPIOnly {
			pc.Flags().StringVar(&o.API, "api", "", "cpapi2 (default) or uapi")
			_ = pc.RegisterFlagCompletionFunc("api", cobra.FixedCompletions([]string{"cpapi2", "uapi"}, cobra.ShellCompDirectiveNoFileComp))
		}
		if n.Flags != nil {
			n.Flags(pc.Flags(), o)
		}
	})
	cmd.AddCommand(pc)
	return cmd
}
