package passwd

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/output"
)

// verifyUnsupported is reported for FTP: no API proves an FTP password, and
// pretending would be worse than saying so.
const verifyUnsupported = "unsupported"

// verify proves that the new password works and records it in r: Verified,
// or Verify "unsupported" for a kind no API can prove. The error says why
// verification could not be done at all (r.Verified is then false too: the
// change is unproven).
func (o *Options) verify(ctx context.Context, c *cpanel.Client, t *cmdutil.Target, p *plan, password string, r *output.PasswdResult) error {
	var ok bool
	var err error
	switch p.kind {
	case Email:
		ok, err = c.VerifyEmailPassword(ctx, p.owner, p.display, password)
	case Account:
		ok, err = o.verifyLogin(ctx, t, p, password)
	default:
		r.Verify = verifyUnsupported
		return nil
	}
	r.Verified = boolPtr(ok && err == nil)
	return err
}

// verifyLogin proves an account's new password with a cPanel login.
func (o *Options) verifyLogin(ctx context.Context, t *cmdutil.Target, p *plan, password string) (bool, error) {
	cpURL := t.Profile.URL
	if t.Kind == cpanel.KindWHM {
		cpURL = t.Profile.CPanelURL
		if cpURL == "" {
			u, err := cpanel.CPanelURLFromWHM(t.Profile.URL)
			if err != nil {
				return false, fmt.Errorf("cannot derive the cPanel URL (set cpanel-url in the profile): %w", err)
			}
			cpURL = u
		}
	}
	cc, err := o.ClientConfig(ctx, t)
	if err != nil {
		return false, err
	}
	cc.Kind = cpanel.KindCPanel
	cc.OTP = nil // the account's own two-factor is not the admin's
	if hostOf(cpURL) != hostOf(t.Profile.URL) {
		// cPanel and WHM share one certificate on one host; a
		// cpanel-url elsewhere (a proxy) has its own, which the WHM pin
		// would refuse: let the CA file or the system roots judge it.
		cc.Fingerprint = ""
	}
	return cpanel.CheckLogin(ctx, cc, cpURL, p.user, password)
}

// hostOf is the host name of a URL, without the port.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return strings.ToLower(u.Hostname())
}
