// Command floor is the start-up yardstick of cpctl-bench: it links the
// libraries cpctl cannot avoid (cobra, viper, tablewriter, survey/v2,
// net/http), so their package initialisers run, and executes an empty root
// command. cpctl's start-up is judged against it: whatever cpctl costs above
// the floor is cpctl's own doing.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/AlecAivazis/survey/v2"
	"github.com/olekukonko/tablewriter"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

func main() {
	v := viper.New()
	root := &cobra.Command{
		Use:           "floor",
		Short:         "an empty root command",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          func(*cobra.Command, []string) error { return nil },
	}
	root.PersistentFlags().String("output", "table", "output format")
	if err := v.BindPFlags(root.PersistentFlags()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Never true in a bench run; it keeps the linker from dropping the
	// libraries' code, so the floor's binary is as big as a real CLI's.
	if os.Getenv("CPCTL_BENCH_FLOOR_USE_ALL") == "yes" {
		t := tablewriter.NewTable(io.Discard)
		t.Header("A")
		_ = t.Append([]string{"b"})
		_ = t.Render()
		var s string
		_ = survey.AskOne(&survey.Password{Message: "x"}, &s)
		resp, err := http.Get(v.GetString("output"))
		if err == nil {
			_ = resp.Body.Close()
		}
	}
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
