// Package journal implements `cpctl journal show|export` for the journals
// of bulk runs.
package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
	"github.com/cpctl/cpctl/pkg/output"
)

// Options are what a journal command was given.
type Options struct {
	Verb       string // "show" or "export"
	Journal    string
	SecretsOut string // export only
	// Undelivered: export only the applied rows whose --secrets-command
	// delivery is still owed.
	Undelivered bool
}

// NewCmd returns the `journal` noun; runF, when not nil, runs instead of
// the verbs (tests).
func NewCmd(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "Inspect and export the journals of bulk runs",
		Long: `A bulk run (--from) records every row's new password before it is sent and
its outcome after, in a private journal file. 'show' prints a run's progress
without secrets, and the rows whose new password --secrets-command has not
delivered yet; 'export' writes the passwords the servers now have as CSV
(--undelivered: only those not delivered). To finish an interrupted run, or
deliver what was not: cpctl KIND passwd --resume JOURNAL.`,
	}
	cmd.AddCommand(newCmdShow(f, runF), newCmdExport(f, runF))
	return cmd
}

func newCmdShow(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	return &cobra.Command{
		Use:   "show JOURNAL",
		Short: "Show a bulk run's progress, failures and undelivered rows (no secrets)",
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
			if st.Delivery {
				fmt.Fprintf(w, "delivered: %d\nnot delivered: %d\n", st.Delivered, st.Undelivered)
			}
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
			if err := undeliveredTable(pr, w, st); err != nil {
				return err
			}
			if st.Pending > 0 {
				fmt.Fprintf(f.IO.ErrOut, "cpctl: %d rows not done: finish with 'cpctl %s --resume %s'\n", st.Pending, passwd.CommandFor(st.Kind.String()), st.Path)
			}
			if st.Undelivered > 0 {
				fmt.Fprintf(f.IO.ErrOut, "cpctl: %d changed rows not delivered: deliver them with 'cpctl %s --resume %s'\n", st.Undelivered, passwd.CommandFor(st.Kind.String()), st.Path)
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

// undeliveredTable lists the rows owed a delivery, after the failures.
func undeliveredTable(pr *output.Printer, w io.Writer, st batch.Status) error {
	if len(st.UndeliveredRows) == 0 {
		return nil
	}
	rows := make([][]string, 0, len(st.UndeliveredRows))
	for _, u := range st.UndeliveredRows {
		rows = append(rows, []string{strconv.Itoa(u.Line), u.Target, u.Owner, u.Profile, string(u.State), u.Message})
	}
	fmt.Fprintln(w, "\nnot delivered:")
	return pr.Table([]string{"LINE", "TARGET", "OWNER", "PROFILE", "STATE", "LAST DELIVERY ERROR"}, rows)
}

// export writes the journal's passwords (or, with undelivered, those still
// owed a delivery) to w.
func export(journal string, w io.Writer, undelivered bool) error {
	if undelivered {
		return batch.ExportUndelivered(journal, w)
	}
	return batch.ExportSecrets(journal, w)
}

// noteUndelivered says, after a full export, how many of its rows
// --secrets-command has not delivered.
func noteUndelivered(f *cmdutil.Factory, journal string) {
	st, err := batch.Show(journal)
	if err == nil && st.Undelivered > 0 {
		fmt.Fprintf(f.IO.ErrOut, "cpctl: %d changed rows were not delivered by --secrets-command: 'cpctl journal export %s --undelivered --secrets-out FILE' writes only them; 'cpctl %s --resume %s' delivers them\n",
			st.Undelivered, journal, passwd.CommandFor(st.Kind.String()), journal)
	}
}

func newCmdExport(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	var out string
	var undelivered bool
	cmd := &cobra.Command{
		Use:   "export JOURNAL --secrets-out FILE",
		Short: "Write the passwords the servers now have, as CSV (mode 0600)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(&Options{Verb: "export", Journal: args[0], SecretsOut: out, Undelivered: undelivered})
			}
			if out == "" {
				return cmdutil.Usagef("give --secrets-out FILE (- for standard output)")
			}
			if !undelivered {
				defer noteUndelivered(f, args[0])
			}
			if out == "-" {
				return exportResult(export(args[0], f.IO.Out, undelivered))
			}
			fh, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return cmdutil.Usagef("--secrets-out: %w", err)
			}
			err = export(args[0], fh, undelivered)
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
	cmd.Flags().BoolVar(&undelivered, "undelivered", false, "only the changed rows --secrets-command has not delivered yet")
	return cmd
}
