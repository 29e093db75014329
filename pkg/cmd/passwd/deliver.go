package passwd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/credentials"
	"github.com/cpctl/cpctl/pkg/fate"
	"github.com/cpctl/cpctl/pkg/output"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// The environment a --secrets-command gets on top of cpctl's own (without
// CPCTL_TOKEN and CPCTL_PASSWORD): the change it delivers. They are
// CPCTL_ROW_*, not CPCTL_PROFILE or CPCTL_KIND, because those already mean
// cpctl's own settings: a command that calls cpctl itself must not have its
// profile or server kind changed under it. The password is never among
// them: it comes on standard input.
const (
	EnvRowProfile = "CPCTL_ROW_PROFILE" // the profile the change went through ("" with --url and no profile)
	EnvRowServer  = "CPCTL_ROW_SERVER"  // host:port, as the output's server field
	EnvRowKind    = "CPCTL_ROW_KIND"    // account, ftp, email, mysql, postgresql, webdisk
	EnvRowTarget  = "CPCTL_ROW_TARGET"  // user, login or address, as the output's target field
	EnvRowOwner   = "CPCTL_ROW_OWNER"   // the cPanel account owning the target ("" for an account)
	// EnvRowState is applied (the server confirmed the change) or unknown
	// (its reply was lost: the server may have the password; a resume sends
	// the same password again and delivers it again once applied).
	EnvRowState = "CPCTL_ROW_STATE"
)

// metaSecretsCommand keeps --secrets-command in a bulk run's journal, so
// that a resume delivers without being told again. The journal is private
// and journal show leaves the key out (its name says secret).
const metaSecretsCommand = "secrets-command"

// whatDelivers names the command in messages.
const whatDelivers = "secrets-command"

func addDeliverFlags(cmd *cobra.Command, o *Options) {
	cmd.Flags().StringVar(&o.SecretsCommand, "secrets-command", "",
		"run `CMD` (with sh -c) once per changed password: the password on its standard input, the change in "+
			EnvRowProfile+", "+EnvRowServer+", "+EnvRowKind+", "+EnvRowTarget+", "+EnvRowOwner+" and "+EnvRowState+
			"; bulk runs journal each delivery and --resume delivers again what failed (at least once)")
}

// delivery is what a secrets command learns about one change.
type delivery struct {
	profile, server, kind, target, owner string
	state                                fate.State
}

func (d *delivery) env() []string {
	return []string{EnvRowProfile + "=" + d.profile, EnvRowServer + "=" + d.server, EnvRowKind + "=" + d.kind,
		EnvRowTarget + "=" + d.target, EnvRowOwner + "=" + d.owner, EnvRowState + "=" + string(d.state)}
}

// deliver runs --secrets-command for one change, the password and a newline
// on its standard input. The command's output is kept (bounded, the
// password replaced): shown with -v, quoted in the error when it fails, and
// never written to standard output, which carries only results.
func (o *Options) deliver(ctx context.Context, d *delivery, password string) error {
	c := credentials.Child{What: whatDelivers, Cmdline: o.SecretsCommand,
		// Appended last, the row's variables win over any inherited ones.
		Env:   append(slices.Clone(o.Environ), d.env()...),
		Stdin: strings.NewReader(password + "\n"), Secret: password, QuoteStdout: true}
	out, err := c.Run(ctx)
	if o.Verbose {
		o.showDeliveryOutput(d.target, out)
	}
	if err == nil {
		return nil
	}
	var ce *credentials.ChildError
	if errors.As(err, &ce) {
		return fmt.Errorf("%s failed: %s", whatDelivers, ce.Reason())
	}
	return fmt.Errorf("%s failed: %w", whatDelivers, err)
}

// maxShownLines bounds what -v shows of each of a command's streams.
const maxShownLines = 20

// showDeliveryOutput writes what the command printed to stderr (-v), line
// by line, each made safe and prefixed.
func (o *Options) showDeliveryOutput(target string, out credentials.Output) {
	for _, stream := range []struct{ name, text string }{{"stdout", out.Stdout}, {"stderr", out.Stderr}} {
		if stream.text == "" {
			continue
		}
		lines := strings.Split(strings.TrimRight(stream.text, "\r\n"), "\n")
		for i, l := range lines {
			if i == maxShownLines {
				o.note(fmt.Sprintf("%s: %s: %s: ... %d more lines", whatDelivers, termsafe.String(target), stream.name, len(lines)-i))
				break
			}
			o.note(fmt.Sprintf("%s: %s: %s: %s", whatDelivers, termsafe.String(target), stream.name, termsafe.String(strings.TrimSuffix(l, "\r"))))
		}
	}
}

// note writes one line to stderr; at a terminal it first wipes a bulk
// run's progress bar, which is drawn again below it.
func (o *Options) note(line string) {
	wipe := ""
	if o.IO.ErrTTY {
		wipe = "\r\x1b[K"
	}
	fmt.Fprintf(o.IO.ErrOut, "%scpctl: %s\n", wipe, line)
}

// bulkDeliver is a bulk run's batch.RunConfig.Deliver. The runner calls it
// one row at a time, so its cache needs no lock.
func (o *Options) bulkDeliver(def string) func(context.Context, batch.Delivery) error {
	servers := map[string]string{}
	return func(ctx context.Context, bd batch.Delivery) error {
		profile := bd.Row.Profile
		if profile == "" {
			profile = def
		}
		server, ok := servers[profile]
		if !ok {
			if t, err := o.ResolveTarget(profile); err == nil {
				server = serverName(t.Profile.URL)
			}
			servers[profile] = server
		}
		d := &delivery{profile: profile, server: server, kind: string(o.rowOptions(bd.Row).Kind), target: bd.Row.Target,
			owner: o.ownerOf(bd.Owner, bd.Row), state: bd.State}
		err := o.deliver(ctx, d, bd.Password)
		if err != nil {
			o.note(fmt.Sprintf("%s (line %d) not delivered: %s", termsafe.String(bd.Row.Target), bd.Row.Line, termsafe.String(err.Error())))
		}
		return err
	}
}

// printDeliveryEnd counts a bulk run's deliveries on stderr, after its
// rows' counts.
func (o *Options) printDeliveryEnd(sum batch.Summary) {
	if o.SecretsCommand == "" {
		return
	}
	if sum.DeliveryStopped {
		o.note(fmt.Sprintf("%s failed %d times in a row: no more deliveries in this run", whatDelivers, batch.MaxDeliveryFailures))
	}
	o.note(fmt.Sprintf("%s delivered by %s in this run; %s not delivered", output.Count(sum.Delivered, "new password"), whatDelivers, output.Count(sum.Undelivered, "row")))
}

// undeliveredToo is what a message about unsettled rows adds when rows
// are owed a delivery too (the same resume delivers them).
func undeliveredToo(sum batch.Summary) string {
	if sum.Undelivered == 0 {
		return ""
	}
	return ", and " + output.CountVerb(sum.Undelivered, "changed row", "is", "are") + " not delivered"
}

// deliveryEnd returns, when rows are owed a delivery, the error (exit 5)
// naming the resume that delivers them.
func (o *Options) deliveryEnd(sum batch.Summary, journal string) error {
	if sum.Undelivered == 0 {
		return nil
	}
	if sum.Interrupted {
		return &cmdutil.ExitError{Code: cmdutil.ExitInterrupted, Err: fmt.Errorf(
			"interrupted with %s not delivered; resume with: %s", output.Count(sum.Undelivered, "changed row"), o.resumeCommand(journal))}
	}
	return &cmdutil.ExitError{Code: cmdutil.ExitPartial, Err: fmt.Errorf(
		"%s not delivered by %s (cpctl journal show %s lists them); once it works, deliver them with: %s",
		output.CountVerb(sum.Undelivered, "changed row", "was", "were"), whatDelivers, output.ShellQuote(journal), o.resumeCommand(journal))}
}

func (o *Options) resumeCommand(journal string) string {
	return fmt.Sprintf("cpctl %s --resume %s", CommandFor(string(o.Kind)), output.ShellQuote(journal))
}

// deliveryNeeded turns batch's refusal to resume a delivering journal
// without a command into advice.
func deliveryNeeded(err error, journal string) error {
	if !errors.Is(err, batch.ErrDeliveryNeeded) {
		return err
	}
	return cmdutil.Usagef("journal %s delivers its new passwords, and no command was given: resume it with --secrets-command CMD", journal)
}

// deliverSingle hands a single change's new password to --secrets-command
// once the server has it, or may have it (its reply was lost). It reports
// whether the password was delivered; a failure is returned for
// singleUndelivered.
func (o *Options) deliverSingle(ctx context.Context, p *plan, password string, r *output.PasswdResult) (bool, error) {
	if o.SecretsCommand == "" || !(r.OK || r.MaybeApplied) {
		return false, nil
	}
	d := &delivery{profile: p.target.Name, server: r.Server, kind: string(p.kind), target: p.display, owner: r.Owner, state: fate.Applied}
	if !r.OK {
		d.state = fate.Unknown
	}
	err := o.deliver(ctx, d, password)
	return err == nil, err
}

// singleUndelivered decides a single change's exit once its delivery
// failed (derr). The password is never lost: printed with the result when
// generated, in --secrets-out when given, or the user's own. A failure of
// the change itself (exit 4 for a lost reply) or of its verification keeps
// its code, with a warning for the delivery; otherwise exit 5: changed, not
// delivered.
func (o *Options) singleUndelivered(err, derr error, p *plan, generated bool) error {
	if derr == nil {
		return err
	}
	where := "you gave it"
	switch {
	case generated && o.SecretsOut != "":
		where = "it is in " + o.SecretsOut
	case generated:
		where = "it is printed above"
	}
	msg := fmt.Sprintf("the new password of %s was not delivered: %s (%s: store it by hand)", p.display, derr, where)
	if err != nil {
		o.warnf("%s", msg)
		return err
	}
	return &cmdutil.ExitError{Code: cmdutil.ExitPartial, Err: errors.New(termsafe.String(msg))}
}
