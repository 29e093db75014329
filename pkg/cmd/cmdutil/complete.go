package cmdutil

import (
	"strings"

	"github.com/spf13/cobra"
)

// CompleteProfiles completes profile names from the config file, after the
// last comma for flags that take a list.
func CompleteProfiles(f *Factory) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		cfg, _, err := f.Config()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		prefix := ""
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			prefix = toComplete[:i+1]
		}
		var out []string
		for _, n := range cfg.Names() {
			if strings.HasPrefix(prefix+n, toComplete) {
				out = append(out, prefix+n+"\t"+cfg.Profiles[n].URL)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
