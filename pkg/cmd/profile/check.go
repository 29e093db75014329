package profile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// checkProfile proves, in order, that the server answers, that its
// certificate is trusted (or pinned), and that the credentials work, and
// says which step failed. An untrusted certificate is shown with its
// fingerprint and, at a terminal, offered for pinning in p.
func checkProfile(ctx context.Context, d *Deps, t *cmdutil.Target, p *config.Profile) error {
	w := d.IO.ErrOut
	if strings.HasPrefix(strings.ToLower(p.URL), "https://") && !p.Insecure {
		info, err := cpanel.FetchCertificate(ctx, p.URL, p.CACert)
		if err != nil {
			return &cpanel.Error{Kind: cpanel.ErrTransport, Op: "connect", Reason: fmt.Sprintf("cannot reach %s", p.URL), Err: err}
		}
		switch {
		case p.TLSFingerprint != "":
			pin, err := cpanel.NormalizeFingerprint(p.TLSFingerprint)
			if err != nil {
				return cmdutil.Usagef("tls-fingerprint %q: %w", p.TLSFingerprint, err)
			}
			if info.Fingerprint != pin {
				// The new certificate is shown as an untrusted one is (its
				// issuer and dates say a renewal from an impostor), and the
				// one-line error stays short enough for its bound to keep
				// the pin whole.
				showCertificate(w, fmt.Sprintf("The certificate of %s does not match the pin", p.URL), info)
				return &cpanel.Error{Kind: cpanel.ErrTransport, Op: "TLS", Reason: fmt.Sprintf(
					"the certificate of %s (shown above) does not match the pin %s: the server changed it, or someone is in between",
					termsafe.Bounded(p.URL, 100), pin)}
			}
			fmt.Fprintf(w, "certificate: pinned (%s)\n", info.Fingerprint)
		case info.Trusted:
			fmt.Fprintf(w, "certificate: trusted (%s, issued by %s)\n", termsafe.String(info.Subject), termsafe.String(info.Issuer))
		default:
			heading := fmt.Sprintf("The certificate of %s is not trusted", p.URL)
			if info.SelfSigned {
				heading += " (self-signed)"
			}
			showCertificate(w, heading, info)
			prompter := d.Prompter()
			if prompter == nil {
				return &cpanel.Error{Kind: cpanel.ErrTransport, Op: "TLS", Reason: fmt.Sprintf(
					"the certificate of %s is not trusted (shown above); if it is the server's own, pin it with --tls-fingerprint %s",
					p.URL, info.Fingerprint)}
			}
			ok, err := prompter.Confirm("Compare the fingerprint with the server's (WHM » SSL/TLS, or openssl x509 -fingerprint -sha256 on the server). Pin this certificate?", false)
			if err != nil {
				return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Err: fmt.Errorf("certificate not pinned: %w", err)}
			}
			if !ok {
				return &cpanel.Error{Kind: cpanel.ErrTransport, Op: "TLS", Reason: "certificate not trusted and not pinned"}
			}
			p.TLSFingerprint = info.Fingerprint
			t.Profile.TLSFingerprint = info.Fingerprint
			fmt.Fprintf(w, "certificate: pinned (%s)\n", info.Fingerprint)
		}
	}
	c, err := d.Client(ctx, t)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close(ctx) }()
	what, err := c.Ping(ctx)
	if err != nil {
		var apiErr *cpanel.Error
		if errors.As(err, &apiErr) && apiErr.TwoFactor {
			return &cpanel.Error{Kind: cpanel.ErrAuth, Op: "credentials", TwoFactor: true, Reason: fmt.Sprintf(
				"%s: the server wants a two-factor code: give the profile --totp-secret-stdin (the base32 secret) or --totp-command", apiErr.Reason)}
		}
		if errors.As(err, &apiErr) && apiErr.Kind == cpanel.ErrAuth {
			return fmt.Errorf("credentials: %w", err)
		}
		return err
	}
	fmt.Fprintf(w, "credentials: ok (%s as %s: %s)\n", t.Kind, termsafe.String(t.Profile.User), termsafe.Bounded(what, 200))
	return nil
}

// showCertificate prints a certificate for a person to compare with the
// server's: its names, issuer, expiry and fingerprint, under heading.
func showCertificate(w io.Writer, heading string, info *cpanel.CertInfo) {
	fmt.Fprintf(w, "%s:\n  subject:     %s\n  issuer:      %s\n  expires:     %s\n  fingerprint: %s\n",
		heading, termsafe.String(info.Subject), termsafe.String(info.Issuer), info.NotAfter.Format("2006-01-02"), info.Fingerprint)
}
