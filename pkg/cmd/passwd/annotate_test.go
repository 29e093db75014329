package passwd

import (
	"crypto/x509"
	"fmt"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
)

// An untrusted certificate's failure says once, and whole, how to pin it:
// the certificate's own text (its names, its subject) is cut to the room
// the line has, never the fingerprint (the one-line error is bounded to
// cpanel.MaxReasonRunes).
func TestAnnotateKeepsThePinWhole(t *testing.T) {
	const fp = "sha256:3f9e504e1801f2f28e17af6912154a82cbf0134d3ed3af35fc08a860d187d1a4"
	many := make([]string, 200)
	for i := range many {
		many[i] = fmt.Sprintf("host%d.evil.example", i)
	}
	tests := []struct {
		name  string
		err   *cpanel.UntrustedCertificateError
		words string // the fault's first words, kept whatever else is cut
	}{
		{"self-signed", &cpanel.UntrustedCertificateError{Cert: cpanel.CertInfo{Fingerprint: fp, Subject: "CN=server1.example.com,O=Unknown", SelfSigned: true},
			Err: x509.UnknownAuthorityError{}}, "the certificate is self-signed"},
		{"other names", &cpanel.UntrustedCertificateError{Cert: cpanel.CertInfo{Fingerprint: fp, Subject: "CN=" + strings.Repeat("x", 500)},
			Err: x509.HostnameError{Certificate: &x509.Certificate{DNSNames: many}, Host: "203.0.113.5"}}, "the certificate is for host0"},
	}
	// A host name of a shared-hosting farm's length leaves less room, and a
	// very long one (or a long profile name in the advice) must be cut
	// rather than the advice.
	hosts := []string{"203.0.113.5", "whm-07.shared-hosting.datacenter-east.example.com",
		strings.Repeat("x", 60) + "." + strings.Repeat("y", 60) + ".example"}
	for _, tc := range tests {
		for _, host := range hosts {
			for _, profile := range []string{"", "prod", "customer-shared-hosting-east-07"} {
				tgt := &cmdutil.Target{Name: profile, Profile: config.Profile{URL: "https://" + host + ":2087"}}
				err := annotate(&cpanel.Error{Kind: cpanel.ErrTransport, Op: "WHM API 1 passwd", Reason: "TLS certificate not trusted", Err: tc.err}, tgt)
				msg := err.Error()
				if n := strings.Count(msg, fp); n != 1 {
					t.Errorf("%s, %s, profile %q: the fingerprint %d times in %q", tc.name, host, profile, n, msg)
				}
				want := "pin it: --tls-fingerprint " + fp + " (or CPCTL_TLS_FINGERPRINT); nothing was sent"
				if profile != "" {
					want = "pin it: cpctl profile test " + profile + " (at a terminal), or --tls-fingerprint " + fp + "; nothing was sent"
				}
				if !strings.HasSuffix(msg, want) || !strings.HasPrefix(msg, "TLS: the certificate of ") {
					t.Errorf("%s, %s, profile %q: %q\ndoes not end with %q", tc.name, host, profile, msg, want)
				}
				// An ordinary host stays whole, and the certificate's fault
				// keeps its first words at least.
				if host == hosts[0] && !strings.Contains(msg, " of "+host+":2087 is not trusted: ") {
					t.Errorf("%s, %s, profile %q: the host is cut in %q", tc.name, host, profile, msg)
				}
				if !strings.Contains(msg, " is not trusted: "+tc.words) {
					t.Errorf("%s, %s, profile %q: the certificate's fault %q is cut in %q", tc.name, host, profile, tc.words, msg)
				}
				if cmdutil.ExitCode(err) != cmdutil.ExitTransport {
					t.Errorf("%s: exit %d, want %d", tc.name, cmdutil.ExitCode(err), cmdutil.ExitTransport)
				}
			}
		}
	}
}

// A pinned certificate that changed is said whole, both fingerprints and
// what it means, for an ordinary host name and a very long one alike: the
// one-line error is bounded to cpanel.MaxReasonRunes, and what gets cut is
// the host's name, never the fingerprints or the explanation.
func TestAnnotateMismatchWhole(t *testing.T) {
	const (
		pinned = "sha256:3f9e504e1801f2f28e17af6912154a82cbf0134d3ed3af35fc08a860d187d1a4"
		got    = "sha256:9a41c7d2e0b35f6a8c1d4e7f2b9a0c3d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
	)
	for _, host := range []string{"203.0.113.5", "server1.example.com", "whm-07.shared-hosting.datacenter-east.example.com",
		strings.Repeat("x", 60) + "." + strings.Repeat("y", 60) + ".example"} {
		tgt := &cmdutil.Target{Profile: config.Profile{URL: "https://" + host + ":2087"}}
		err := annotate(&cpanel.Error{Kind: cpanel.ErrTransport, Op: "WHM API 1 passwd", Reason: "x",
			Err: &cpanel.FingerprintMismatchError{Want: pinned, Got: got}}, tgt)
		msg := err.Error()
		want := " does not match the pin (pinned " + pinned + ", got " + got + "): the server changed it, or someone is in between; nothing was sent"
		if !strings.HasSuffix(msg, want) || !strings.HasPrefix(msg, "TLS: the certificate of ") {
			t.Errorf("%s: %q\ndoes not end with %q", host, msg, want)
		}
		if cmdutil.ExitCode(err) != cmdutil.ExitTransport {
			t.Errorf("%s: exit %d, want %d", host, cmdutil.ExitCode(err), cmdutil.ExitTransport)
		}
	}
}
