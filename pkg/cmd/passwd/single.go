package passwd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/fate"
	"github.com/cpctl/cpctl/pkg/output"
	"github.com/cpctl/cpctl/pkg/secret"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

func (o *Options) secretEnv() secret.Env {
	return secret.Env{In: o.IO.In, CanPrompt: o.CanPrompt, Prompter: o.Prompter, Warn: o.IO.ErrOut}
}

func runSingle(ctx context.Context, o *Options) (retErr error) {
	t, p, err := o.singlePlan()
	if err != nil {
		return err
	}

	var oldPassword string
	if p.needsOldPassword() {
		oldPassword, err = o.oldPassword(ctx, t)
		if err != nil {
			return err
		}
	}
	password, generated, err := o.newPassword(p)
	if err != nil {
		return err
	}

	if o.DryRun {
		return dryRun(ctx, o, p, password, oldPassword)
	}

	c, err := o.Client(ctx, t)
	if err != nil {
		return err
	}
	// c may be replaced by a client with a two-factor code: close that one.
	defer func() { _ = c.Close(ctx) }()

	if err := o.findOwner(ctx, &c, t, p); err != nil {
		return err
	}

	if !generated && !o.Force {
		// A generated password scores 100, so the minimum cannot refuse it:
		// reading it would cost a round trip for nothing.
		if err := checkStrength(o, p, password, o.minimum(ctx, c, t, p.app())); err != nil {
			return err
		}
	}

	if generated && o.SecretsOut != "" {
		// The target's column is named as in a bulk run's input (user, address, login).
		header := []string{batchKind(p.kind).TargetColumn(), "password", "owner", "profile"}
		if err := writeSecretsOut(o.SecretsOut, header, [][]string{{p.display, password, p.owner, p.target.Name}}); err != nil {
			return err
		}
	}

	res, err := o.sendWithTwoFactor(ctx, &c, t, p, password, oldPassword)
	r := result(p, res, err)
	r.MaybeApplied = cpanel.StateOf(err).MaybeApplied()
	delivered, derr := o.deliverSingle(ctx, p, password, &r)
	defer func() { retErr = o.singleUndelivered(retErr, derr, p, generated) }()
	if generated && o.SecretsOut == "" && (r.OK || r.MaybeApplied) && !delivered {
		// Shown once: when it is the server's password now, or may be
		// (the reply was lost), so that it is never set and unknown;
		// not when --secrets-command took it.
		r.Password = password
	}
	var verr error
	if err == nil && res != nil && res.OK && o.Verify {
		verr = o.verify(ctx, c, t, p, password, &r)
	}
	pr, perr := o.Printer()
	if perr != nil {
		return perr
	}
	if err := pr.Results([]output.PasswdResult{r}); err != nil {
		return fmt.Errorf("print: %w", err)
	}
	if err != nil {
		return o.singleFailed(cmdutil.CredentialsHint(err, t.Name), generated)
	}
	if p.needsOldPassword() && (t.Profile.Auth == string(cpanel.AuthPassword) || t.Profile.Auth == string(cpanel.AuthSession)) && t.Name != "" {
		o.refreshProfilePassword(t, p, password)
	}
	if verr != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitRefused, Err: fmt.Errorf(
			"the server accepted the new password for %s but it could not be verified: %w", p.display, verr)}
	}
	if r.Verified != nil && !*r.Verified {
		return &cmdutil.ExitError{Code: cmdutil.ExitRefused, Err: fmt.Errorf(
			"the server accepted the new password for %s but verification failed: the new password does not work yet", p.display)}
	}
	return nil
}

// singlePlan resolves the one server and the change to make on it, and
// checks the flags that need neither the server nor the password.
func (o *Options) singlePlan() (*cmdutil.Target, *plan, error) {
	if _, err := o.OutputFormat(); err != nil {
		return nil, nil, err
	}
	names, err := o.ProfileNames()
	if err != nil {
		return nil, nil, err
	}
	if len(names) != 1 {
		return nil, nil, cmdutil.Usagef("one change goes to one server: give one profile (for many, use --from FILE with a profile column)")
	}
	t, err := o.ResolveTarget(names[0])
	if err != nil {
		return nil, nil, err
	}
	p, err := resolvePlan(o, t, o.Target, o.Owner)
	if err != nil {
		return nil, nil, err
	}
	if o.Kind == Account {
		if _, err := o.accountOptions(); err != nil {
			return nil, nil, err
		}
	}
	if o.SecretsOut != "" && !o.Password.Generate {
		return nil, nil, cmdutil.Usagef("--secrets-out records generated passwords: use it with --generate")
	}
	return t, p, nil
}

// singleFailed says what a failed change means for a generated password
// and returns err.
func (o *Options) singleFailed(err error, generated bool) error {
	switch s := cpanel.StateOf(err); {
	case !generated:
	case s.MaybeApplied():
		o.warnf("no usable reply: the server may or may not have the new password; send the same one again to be sure (printf '%%s\\n' PASSWORD | cpctl ... --password-stdin)")
	case o.SecretsOut != "" && (s == fate.Refused || s == fate.NotSent):
		// The server answered no: the recorded password was never set,
		// and keeping it would mislead whoever reads the file. (After a
		// transport failure it may have been, and its record stays.)
		_ = os.Remove(o.SecretsOut)
	}
	return err
}

// refreshProfilePassword keeps a cPanel profile usable after it changed
// its own login password: a password stored in the config file is replaced
// (the file is rewritten atomically, mode 0600); one fetched by a command
// lives elsewhere, so the user is told to update it there.
func (o *Options) refreshProfilePassword(t *cmdutil.Target, p *plan, password string) {
	cfg, path, err := o.Config()
	if err == nil {
		if stored, ok := cfg.Profiles[t.Name]; ok && stored.Password != "" && stored.PasswordCommand == "" {
			stored.Password = password
			if err = cfg.Save(path); err == nil {
				fmt.Fprintf(o.IO.ErrOut, "cpctl: profile %s now logs in with the new password\n", t.Name)
				return
			}
		}
	}
	o.warnf("profile %s logs in with %s's password, which just changed: update the profile's password (or where its password-command reads it) before the next use", t.Name, p.user)
}

// findOwner looks up the account that owns the change's target when it is
// to be found (through WHM without --owner). A two-factor refusal gets the
// same second chance as the change itself.
func (o *Options) findOwner(ctx context.Context, c **cpanel.Client, t *cmdutil.Target, p *plan) error {
	err := o.withTwoFactor(ctx, c, t, func(c *cpanel.Client) error { return newOwners().findOwner(ctx, c, p) })
	var oe ownerError
	if err != nil && !errors.As(err, &oe) {
		// The fallback's own words on two-factor, about the look-up.
		err = ownerError{what: p.ownerWhat(), err: err}
	}
	return annotate(err, t)
}

// withTwoFactor runs call on *c. When the server refuses it for two-factor
// and the profile has no code source, a code is asked for once at a
// terminal and call runs again on a client that sends it (which replaces
// *c); without a terminal the error names the profile key to set.
func (o *Options) withTwoFactor(ctx context.Context, c **cpanel.Client, t *cmdutil.Target, call func(*cpanel.Client) error) error {
	err := call(*c)
	if err == nil {
		return nil
	}
	nc, err := o.TwoFactor(ctx, t, err, true)
	if nc == nil {
		return err
	}
	_ = (*c).Close(ctx)
	*c = nc
	return call(nc)
}

func (o *Options) newPassword(p *plan) (string, bool, error) {
	if o.Password.Generate {
		if o.Password.Stdin || o.Password.File != "" || o.Password.Value != "" {
			return "", false, cmdutil.Usagef("--generate cannot be combined with --password-stdin, --password-file or --password")
		}
		user := p.user
		pw, err := secret.GenerateFor(user, o.Password.Length, o.Password.SimpleCharset)
		if err != nil {
			return "", false, &cmdutil.UsageError{Err: err}
		}
		return pw, true, nil
	}
	label := fmt.Sprintf("New password for %s", p.display)
	pw, generated, err := secret.Resolve(o.Password, o.secretEnv(), label)
	if err != nil {
		return "", false, wrapSecretErr(err)
	}
	if err := checkGiven(pw, o.warnf); err != nil {
		return "", false, err
	}
	return pw, generated, nil
}

// checkGiven refuses a given password that cannot be what the user meant:
// invalid UTF-8, or a control character (NUL, CR from a file saved on
// Windows, an escape), which the server would store as it is and no
// keyboard can type at a login. Spaces at either end are allowed but
// warned about: copied text often carries them. Neither message holds the
// password.
func checkGiven(pw string, warnf func(string, ...any)) error {
	if !utf8.ValidString(pw) {
		return cmdutil.Usagef("the new password is not valid UTF-8: nothing was sent")
	}
	for i, r := range pw {
		if unicode.IsControl(r) {
			return cmdutil.Usagef("the new password holds a control character (%U at byte %d): nothing was sent", r, i)
		}
	}
	if strings.TrimSpace(pw) != pw {
		warnf("the new password begins or ends with a space; it is sent as given")
	}
	return nil
}

func (o *Options) oldPassword(ctx context.Context, t *cmdutil.Target) (string, error) {
	if o.OldPasswordFile == "" && (t.Profile.Auth == string(cpanel.AuthPassword) || t.Profile.Auth == string(cpanel.AuthSession)) {
		// The account logs in with its own password: that is the old one.
		cc, err := o.ClientConfig(ctx, t)
		if err == nil && cc.Secret != "" {
			return cc.Secret, nil
		}
	}
	if o.Password.Stdin && o.OldPasswordFile == "" && !o.CanPrompt {
		return "", cmdutil.Usagef("the old password is needed too: give it with --old-password-file (standard input carries the new one)")
	}
	pw, err := secret.ReadOld(o.OldPasswordFile, o.secretEnv(), fmt.Sprintf("Current password for %s", t.Profile.User))
	if err != nil {
		return "", wrapSecretErr(err)
	}
	return pw, nil
}

func wrapSecretErr(err error) error {
	if secret.IsUsage(err) {
		return &cmdutil.UsageError{Err: err}
	}
	return err
}

// sendWithTwoFactor sends the change, with a two-factor code if the server
// asks for one (withTwoFactor).
func (o *Options) sendWithTwoFactor(ctx context.Context, c **cpanel.Client, t *cmdutil.Target, p *plan, password, oldPassword string) (*cpanel.Result, error) {
	var res *cpanel.Result
	err := o.withTwoFactor(ctx, c, t, func(c *cpanel.Client) (err error) {
		res, err = send(ctx, c, o, p, password, oldPassword)
		return err
	})
	return res, annotate(err, t)
}

// annotate turns an untrusted-certificate failure into advice: the
// fingerprint and how to pin it.
func annotate(err error, t *cmdutil.Target) error {
	if err == nil {
		return nil
	}
	var uc *cpanel.UntrustedCertificateError
	if errors.As(err, &uc) {
		how := fmt.Sprintf("--tls-fingerprint %s (or CPCTL_TLS_FINGERPRINT)", uc.Cert.Fingerprint)
		if t.Name != "" {
			how = fmt.Sprintf("cpctl profile test %s (at a terminal), or --tls-fingerprint %s", t.Name, uc.Cert.Fingerprint)
		}
		// The advice comes whole: the host and what the certificate says
		// share the room the line has left after it, and are cut to it
		// (the host to leave the certificate's words their first
		// minWhy runes); never the fingerprint to pin.
		suffix := "; if it is the server's own certificate, pin it: " + how
		why := uc.Why()
		if uc.Cert.Subject != "" {
			why += " (subject " + termsafe.Bounded(uc.Cert.Subject, 80) + ")"
		}
		const minWhy, minHost = 30, 20                                                                            // "the certificate is self-signed"
		room := cpanel.MaxReasonRunes - utf8.RuneCountInString("the certificate of  is not trusted: "+suffix) - 2 // 2 for the "…" of two cuts
		host := termsafe.Bounded(serverName(t.Profile.URL), max(room-minWhy, minHost))
		why = termsafe.Bounded(why, max(room-utf8.RuneCountInString(host), minWhy))
		return &cpanel.Error{Kind: cpanel.ErrTransport, Op: "TLS", Reason: "the certificate of " + host + " is not trusted: " + why + suffix}
	}
	var fm *cpanel.FingerprintMismatchError
	if errors.As(err, &fm) {
		// Whole within the bound too: both fingerprints and what they
		// mean; only a very long host name is cut.
		prefix := "the certificate of "
		rest := fmt.Sprintf(" does not match the pin (pinned %s, got %s): the server changed it, or someone is in between", fm.Want, fm.Got)
		room := max(cpanel.MaxReasonRunes-utf8.RuneCountInString(prefix)-utf8.RuneCountInString(rest)-1, 20)
		return &cpanel.Error{Kind: cpanel.ErrTransport, Op: "TLS", Reason: prefix + termsafe.Bounded(serverName(t.Profile.URL), room) + rest}
	}
	return err
}

// dryRun prints the requests the change would send, secrets redacted, and
// sends nothing: the client runs against a transport that records the
// redacted exchange and refuses to go further.
func dryRun(ctx context.Context, o *Options, p *plan, password, oldPassword string) error {
	cc, err := o.ClientConfig(ctx, p.target)
	if err != nil {
		return err
	}
	if cc.Secret == "" {
		cc.Secret = cmdutil.DryRunSecret
	}
	var previews []cpanel.Exchange
	cc.Logger = func(x cpanel.Exchange) { previews = append(previews, x) }
	cc.Transport = refuseTransport{}
	cc.MaxRetries = -1
	cc.OTP = nil
	c, err := cpanel.New(cc)
	if err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	if p.find != ownerGiven {
		// The look-up is shown, and the change acts for what it finds.
		_ = newOwners().findOwner(ctx, c, p)
		p.owner = "OWNER"
		fmt.Fprintf(o.IO.ErrOut, "cpctl: dry run: OWNER stands for %s, looked up when the change is made\n", p.ownerWhat())
	}
	_, _ = send(ctx, c, o, p, password, oldPassword)
	if err := writeDryRun(o, previews); err != nil {
		return err
	}
	fmt.Fprintln(o.IO.ErrOut, "cpctl: dry run: nothing was sent")
	return nil
}

// writeDryRun prints the requests a dry run stopped: as HTTP text, or with
// -o json, jsonl or yaml as a list of cmdutil.DryRequest.
func writeDryRun(o *Options, previews []cpanel.Exchange) error {
	fm, err := o.OutputFormat()
	if err != nil {
		return err
	}
	var print func(any) error
	if fm != output.Table {
		pr, err := o.Printer()
		if err != nil {
			return err
		}
		print = pr.Value
	}
	reqs := make([]cmdutil.DryRequest, len(previews))
	for i, x := range previews {
		reqs[i] = cmdutil.NewDryRequest(x.Method, x.URL, x.RequestHeader, x.RequestBody)
	}
	return cmdutil.WriteDryRun(o.IO.Out, reqs, print)
}

// errDryRun stops a dry run's request at the transport.
var errDryRun = errors.New("dry run: not sent")

// refuseTransport sends nothing. A session login gets a made-up success
// so that the dry run goes on to show the call itself (with its cpsess
// path redacted), which is what the user asked to see.
type refuseTransport struct{}

func (refuseTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/login/") {
		body := `{"status":1,"security_token":"/cpsess0000000000"}`
		return &http.Response{
			StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {"cpsession=dry-run; path=/"}},
			Body:          io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: r,
		}, nil
	}
	return nil, errDryRun
}
