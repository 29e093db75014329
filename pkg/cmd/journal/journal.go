// Package journal implements `cpctl journal show|export` for the journals
// of bulk runs.
package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
	"github.com/cpctl/cpctl/pkg/output"
)

// Options are what a journal command was given, and what it needs from the
// factory.
type Options struct {
	IO *cmdutil.IOStreams
	// OutputFormat is -o; Printer prints in it on standard output.
	OutputFormat func() (output.Format, error)
	Printer      func() (*output.Printer, error)

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
delivered yet; while the run is still going (it holds the journal locked) it
says so, and counts what is done so far. 'export' writes the passwords the
servers now have as CSV (--undelivered: only those not delivered). To finish
an interrupted run, or deliver what was not: cpctl KIND passwd --resume
JOURNAL.`,
	}
	show := &Options{Verb: "show"}
	export := &Options{Verb: "export"}
	run := func(o *Options) func(*cobra.Command, []string) error {
		return func(_ *cobra.Command, args []string) error {
			o.IO, o.OutputFormat, o.Printer, o.Journal = f.IO, f.OutputFormat, f.Printer, args[0]
			if runF != nil {
				return runF(o)
			}
			return Run(o)
		}
	}
	showCmd := &cobra.Command{
		Use:   "show JOURNAL",
		Short: "Show a bulk run's progress, failures and undelivered rows (no secrets)",
		Args:  cobra.ExactArgs(1),
		RunE:  run(show),
	}
	exportCmd := &cobra.Command{
		Use:   "export JOURNAL --secrets-out FILE",
		Short: "Write the passwords the servers now have, as CSV (mode 0600)",
		Args:  cobra.ExactArgs(1),
		RunE:  run(export),
	}
	exportCmd.Flags().StringVar(&export.SecretsOut, "secrets-out", "", "`FILE` to create (mode 0600), or - for standard output")
	exportCmd.Flags().BoolVar(&export.Undelivered, "undelivered", false, "only the changed rows --secrets-command has not delivered yet")
	cmd.AddCommand(showCmd, exportCmd)
	return cmd
}

// Run runs a journal verb.
func Run(o *Options) error {
	if o.Verb == "export" {
		return runExport(o)
	}
	return runShow(o)
}

func runShow(o *Options) error {
	st, err := batch.Show(o.Journal)
	if err != nil {
		// batch's errors already name the journal.
		return cmdutil.Usagef("%w", err)
	}
	pr, err := o.Printer()
	if err != nil {
		return err
	}
	if fm, _ := o.OutputFormat(); fm != output.Table {
		return pr.Value(st)
	}
	w := o.IO.Out
	// While a run holds the journal its counts are a snapshot, and a
	// resume would be refused: no resume advice then.
	soFar, pending := "", ""
	if st.InUse {
		soFar = " so far"
		if st.InFlight > 0 {
			// The run writes a batch's intents before sending them:
			// these rows are being sent or wait their turn.
			pending = fmt.Sprintf(" (%d in flight: sent or queued to be sent, no answer yet)", st.InFlight)
		}
	}
	fmt.Fprintf(w, "journal:   %s\nkind:      %s\ncreated:   %s\nprofile:   %s\n", st.Path, st.Kind, st.Created.Format("2006-01-02 15:04:05 MST"), st.Meta["profile"])
	fmt.Fprintf(w, "rows:      %d\nsucceeded: %d%s\nfailed:    %d%s\npending:   %d%s%s\n", st.Total, st.Succeeded, soFar, st.Failed, soFar, st.Pending, soFar, pending)
	if st.Delivery {
		fmt.Fprintf(w, "delivered: %d%s\nnot delivered: %d%s\n", st.Delivered, soFar, st.Undelivered, soFar)
	}
	if err := failuresTable(pr, w, st); err != nil {
		return err
	}
	if err := undeliveredTable(pr, w, st); err != nil {
		return err
	}
	if st.InUse {
		fmt.Fprintf(o.IO.ErrOut, "cpctl: %s: run journal show again when it ends\n", stillGoing)
		return nil
	}
	resume := fmt.Sprintf("'cpctl %s --resume %s'", passwd.CommandFor(st.Kind.String()), st.Path)
	if st.Pending > 0 {
		fmt.Fprintf(o.IO.ErrOut, "cpctl: %s not done: finish with %s\n", output.Count(st.Pending, "row"), resume)
	}
	if st.Undelivered > 0 {
		fmt.Fprintf(o.IO.ErrOut, "cpctl: %s not delivered: deliver them with %s\n", output.Count(st.Undelivered, "changed row"), resume)
	}
	return nil
}

// failuresTable lists the failed rows; a rotation's rows each with its kind.
func failuresTable(pr *output.Printer, w io.Writer, st batch.Status) error {
	if len(st.Failures) == 0 {
		return nil
	}
	mixed := st.Kind == batch.KindMixed
	headers := []string{"LINE", "TARGET", "OWNER", "PROFILE", "STATE", "CLASS", "MESSAGE"}
	if mixed {
		headers = slices.Insert(headers, 1, "KIND")
	}
	rows := make([][]string, 0, len(st.Failures))
	for _, fl := range st.Failures {
		row := []string{strconv.Itoa(fl.Line), fl.Target, fl.Owner, fl.Profile, string(fl.State), fl.Class, fl.Message}
		if mixed {
			row = slices.Insert(row, 1, fl.Kind.String())
		}
		rows = append(rows, row)
	}
	fmt.Fprintln(w)
	return pr.Table(headers, rows)
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

// stillGoing is what the journal commands say, in place of a resume, of a
// journal a run holds (batch.InUse): a resume would be refused until the
// run ends, which may well finish every row itself.
const stillGoing = "the run is still going (its journal is locked)"

// runExport writes the journal's passwords (with --undelivered, those still
// owed a delivery) to --secrets-out. A partial export is kept (the
// confirmed rows are worth having, say while a server is down) but exits 5
// and says why it is partial. While a run holds the journal, it says to
// export again once the run ends, rather than to resume it.
func runExport(o *Options) error {
	if o.SecretsOut == "" {
		return cmdutil.Usagef("give --secrets-out FILE (- for standard output)")
	}
	if !o.Undelivered {
		defer o.noteUndelivered()
	}
	export := batch.ExportSecrets
	if o.Undelivered {
		export = batch.ExportUndelivered
	}
	// Probed before and after the export, as batch.Show does: a run that
	// ends meanwhile may have finished rows after they were read. A
	// journal that cannot be opened fails the export itself.
	inUse, _ := batch.InUse(o.Journal)
	var err error
	if o.SecretsOut == "-" {
		err = export(o.Journal, o.IO.Out)
	} else {
		fh, oerr := os.OpenFile(o.SecretsOut, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if oerr != nil {
			return cmdutil.Usagef("--secrets-out: %w", oerr)
		}
		err = export(o.Journal, fh)
		if cerr := fh.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil && !errors.Is(err, batch.ErrIncomplete) {
			_ = os.Remove(o.SecretsOut)
		}
	}
	if !inUse {
		inUse, _ = batch.InUse(o.Journal)
	}
	switch {
	case errors.Is(err, batch.ErrIncomplete) && inUse:
		return &cmdutil.ExitError{Code: cmdutil.ExitPartial, Err: fmt.Errorf("partial export: %w; %s: export again when it ends", err, stillGoing)}
	case errors.Is(err, batch.ErrIncomplete):
		return &cmdutil.ExitError{Code: cmdutil.ExitPartial, Err: fmt.Errorf("partial export: %w; finish the run with: %s, then export again", err, resumeCommand(o.Journal))}
	case err != nil:
		// batch's errors already name the journal.
		return cmdutil.Usagef("%w", err)
	case o.Undelivered && inUse:
		// Every row is final, but the run may be delivering some of them.
		fmt.Fprintf(o.IO.ErrOut, "cpctl: %s: it may still deliver some of these rows; export again when it ends\n", stillGoing)
	}
	return nil
}

// noteUndelivered says, after a full export, how many of its rows
// --secrets-command has not delivered; nothing while a run holds the
// journal, which delivers them as it goes (and a resume would be refused).
func (o *Options) noteUndelivered() {
	st, err := batch.Show(o.Journal)
	if err == nil && st.Undelivered > 0 && !st.InUse {
		fmt.Fprintf(o.IO.ErrOut, "cpctl: %s not delivered by --secrets-command: 'cpctl journal export %s --undelivered --secrets-out FILE' writes only them; 'cpctl %s --resume %s' delivers them\n",
			output.CountVerb(st.Undelivered, "changed row", "was", "were"), o.Journal, passwd.CommandFor(st.Kind.String()), o.Journal)
	}
}

// resumeCommand is the command line that resumes the journal at path, ready
// to paste.
func resumeCommand(path string) string {
	cmd := "KIND passwd"
	if h, err := batch.ReadHeader(path); err == nil {
		cmd = passwd.CommandFor(h.Kind.String())
	}
	return "cpctl " + cmd + " --resume " + output.ShellQuote(path)
}
