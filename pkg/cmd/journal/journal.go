// Package journal implements `cpctl journal show|export` for the journals
// of bulk runs.
package journal

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
)

// Options are what a journal command was given.
type Options struct {
	Verb       string // "show" or "export"
	Journal    string
	SecretsOut string // export only
}

// NewCmd returns the `journal` noun; runF, when not nil, runs instead of
// the verbs (tests).
func NewCmd(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "Inspect and export the journals of bulk runs",
		Long: `A bulk run (--from) records every row's new password before it is sent and
its outcome after, in a private journal file. 'show' prints a run's progress
without secrets; 'export' writes the passwords the servers now have as CSV.
To finish an interrupted run: cpctl KIND passwd --resume JOURNAL.`,
	}
	cmd.AddCommand(newCmdShow(f, runF), newCmdExport(f, runF))
	return cmd
}

func newCmdShow(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	return &cobra.Command{
		Use:   "show JOURNAL",
		Short: "Show a bulk run's progress and failures (no secrets)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(&Options{Verb: "show", Journal: args[0]})
			}
			st, err := batch.Show(args[0])
			if err != nil {
				// batch's errors already name the journal.
				return cmdutil.Usagef("%w", err)
			}
			pr, err := f.Printer()
			if err != nil {
				return err
			}
			fm, _ := f.OutputFormat()
			if fm != "table" {
				return pr.Value(st)
			}
			w := f.IO.Out
			fmt.Fprintf(w, "journal:   %s\nkind:      %s\ncreated:   %s\nprofile:   %s\n", st.Path, st.Kind, st.Created.Format("2006-01-02 15:04:05 MST"), st.Meta["profile"])
			fmt.Fprintf(w, "rows:      %d\nsucceeded: %d\nfailed:    %d\npending:   %d\n", st.Total, st.Succeeded, st.Failed, st.Pending)
			if len(st.Failures) > 0 {
				rows := make([][]string, 0, len(st.Failures))
				headers := []string{"LINE", "TARGET", "OWNER", "PROFILE", "STATE", "CLASS", "MESSAGE"}
				for _, fl := range st.Failures {
					row := []string{strconv.Itoa(fl.Line), fl.Target, fl.Owner, fl.Profile, string(fl.State), fl.Class, fl.Message}
					if st.Kind == batch.KindMixed { // a rotation's rows each have their kind
						row = append([]string{row[0], fl.Kind.String()}, row[1:]...)
					}
					rows = append(rows, row)
				}
				if st.Kind == batch.KindMixed {
					headers = append([]string{"LINE", "KIND"}, headers[1:]...)
				}
				fmt.Fprintln(w)
				if err := pr.Table(headers, rows); err != nil {
					return err
				}
			}
			if st.Pending > 0 {
				resume := fmt.Sprintf("cpctl %s passwd --resume", st.Kind)
				if st.Kind == batch.KindMixed {
					resume = "cpctl rotate --resume"
				}
				fmt.Fprintf(f.IO.ErrOut, "cpctl: %d rows not done: finish with '%s %s'\n", st.Pending, resume, st.Path)
			}
			return nil
		},
	}
}

// exportResult keeps a partial export (the confirmed rows are worth having,
// say while a server is down) but exits 5 and says why it is partial.
func exportResult(err error) error {
	if errors.Is(err, batch.ErrIncomplete) {
		return &cmdutil.ExitError{Code: cmdutil.ExitPartial, Err: fmt.Errorf("partial export: %w", err)}
	}
	if err != nil {
		return cmdutil.Usagef("journal: %w", err)
	}
	return nil
}

func newCmdExport(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export JOURNAL --secrets-out FILE",
		Short: "Write the passwords the servers now have, as CSV (mode 0600)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(&Options{Verb: "export", Journal: args[0], SecretsOut: out})
			}
			if out == "" {
				return cmdutil.Usagef("give --secrets-out FILE (- for standard output)")
			}
			if out == "-" {
				return exportResult(batch.ExportSecrets(args[0], f.IO.Out))
			}
			fh, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return cmdutil.Usagef("--secrets-out: %w", err)
			}
			err = batch.ExportSecrets(args[0], fh)
			if cerr := fh.Close(); cerr != nil && err == nil {
				err = cerr
			}
			if err != nil && !errors.Is(err, batch.ErrIncomplete) {
				_ = os.Remove(out)
				return cmdutil.Usagef("journal: %w", err)
			}
			return exportResult(err)
		},
	}
	cmd.Flags().StringVar(&out, "secrets-out", "", "`FILE` to create (mode 0600), or - for standard output")
	return cmd
}
