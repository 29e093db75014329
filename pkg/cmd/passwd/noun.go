package passwd

import (
	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
)

// OwnedNoun describes a noun whose passwords belong to a cPanel account
// (ftp, email): they share every flag but the argument's name.
type OwnedNoun struct {
	Kind    Kind
	Short   string // the noun's help line
	Use     string // "passwd FTPUSER"
	Verb    string // the verb's help line
	Long    string
	Example string
}

// NewOwnedNounCmd builds `cpctl ftp` or `cpctl email` with its passwd verb.
func NewOwnedNounCmd(f *cmdutil.Factory, n OwnedNoun, runF RunFunc) *cobra.Command {
	cmd := &cobra.Command{Use: string(n.Kind), Short: n.Short}
	o := &Options{F: f, Kind: n.Kind}
	pc := &cobra.Command{
		Use:     n.Use,
		Short:   n.Verb,
		Long:    n.Long,
		Example: n.Example,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return Run(cmd, args, o, runF)
		},
	}
	AddFlags(pc, o)
	pc.Flags().StringVar(&o.Owner, "owner", "", "the cPanel account that owns it (required through a WHM profile)")
	pc.Flags().StringVar(&o.API, "api", "", "cpapi2 (default) or uapi")
	_ = pc.RegisterFlagCompletionFunc("api", cobra.FixedCompletions([]string{"cpapi2", "uapi"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.AddCommand(pc)
	return cmd
}
