package cpanel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// NormalizeFingerprint turns a SHA-256 fingerprint in any common spelling ("sha256:AB:CD...",
// "SHA256=abcd...", bare hex) into "sha256:<64 lowercase hex>".
func NormalizeFingerprint(s string) (string, error) {
	t := strings.TrimSpace(s)
	lower := strings.ToLower(t)
	for _, p := range []string{"sha256:", "sha256=", "sha-256:", "sha-256="} {
		if strings.HasPrefix(lower, p) {
			t = t[len(p):]
			break
		}
	}
	var b strings.Builder
	b.Grow(len("sha256:") + 64)
	b.WriteString("sha256:")
	n := 0
	for i := 0; i < len(t); i++ {
		ch := t[i]
		switch {
		case ch == ':' || ch == ' ' || ch == '-':
			continue
		case ch >= '0' && ch <= '9', ch >= 'a' && ch <= 'f':
			b.WriteByte(ch)
		case ch >= 'A' && ch <= 'F':
			b.WriteByte(ch + ('a' - 'A'))
		default:
			return "", fmt.Errorf("invalid certificate fingerprint %q: not hexadecimal", s)
		}
		n++
	}
	if n != 64 {
		return "", fmt.Errorf("invalid certificate fingerprint %q: want 64 hex digits of SHA-256, got %d", s, n)
	}
	return b.String(), nil
}

func fingerprintOf(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func certInfo(cert *x509.Certificate) CertInfo {
	return CertInfo{
		Fingerprint: fingerprintOf(cert),
		Subject:     cert.Subject.String(),
		Issuer:      cert.Issuer.String(),
		NotAfter:    cert.NotAfter,
		SelfSigned:  isSelfSigned(cert),
	}
}

func isSelfSigned(cert *x509.Certificate) bool {
	if !bytes.Equal(cert.RawIssuer, cert.RawSubject) {
		return false
	}
	// The signature itself, not CheckSignatureFrom, which also wants the issuer to be a CA:
	// a server's self-signed certificate usually is not.
	return cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) == nil
}

// caPool returns the certificates in caFile alone; nil when there is none.
// The system roots are deliberately not merged in: loading them parses the
// whole system bundle (10-30 ms here), a large share of a one-shot run, and
// a server with its own CA never needs them (see verifyChain).
func caPool(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	return pool, nil
}

// verifyChain verifies the server's chain against the extra CA first and
// only then against the system roots, which Go loads on first use.
func verifyChain(certs []*x509.Certificate, host string, ca *x509.CertPool) error {
	if len(certs) == 0 {
		return errors.New("server presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{DNSName: host, Roots: ca, Intermediates: inter}
	if ca != nil {
		if _, err := certs[0].Verify(opts); err == nil {
			return nil
		}
		opts.Roots = nil
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
	}
	return nil
}

// tlsConfig builds the client TLS configuration. With a pin, chain verification is replaced by
// the fingerprint check, which is what lets a pinned self-signed certificate through.
func tlsConfig(host, caFile string, insecure bool, pin string) (*tls.Config, error) {
	pool, err := caPool(caFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: host,
	}
	switch {
	case pin != "":
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("server presented no certificate")
			}
			got := fingerprintOf(cs.PeerCertificates[0])
			if got != pin {
				return &FingerprintMismatchError{Want: pin, Got: got}
			}
			return nil
		}
	case insecure:
		cfg.InsecureSkipVerify = true
	case pool != nil:
		// Verified by hand so the extra CA is tried before the system roots.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(cs.PeerCertificates, host, pool)
		}
	}
	return cfg, nil
}

// FetchCertificate connects to the server, reads its leaf certificate without trusting it, and
// says whether it would verify. It is the first step of pinning a self-signed certificate.
func FetchCertificate(ctx context.Context, rawURL, caFile string) (*CertInfo, error) {
	u, err := parseBaseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("%s does not use TLS", u.Redacted())
	}
	pool, err := caPool(caFile)
	if err != nil {
		return nil, err
	}
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = "443"
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	d := tls.Dialer{Config: &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         host,
		InsecureSkipVerify: true, // we only read the certificate; trust is decided below
	}}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("fetching the certificate of %s: %w", u.Host, err)
	}
	defer func() { _ = conn.Close() }() // a probe: nothing was sent on it
	cs := conn.(*tls.Conn).ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return nil, fmt.Errorf("%s presented no certificate", u.Host)
	}
	info := certInfo(cs.PeerCertificates[0])
	info.Trusted = verifyChain(cs.PeerCertificates, host, pool) == nil
	return &info, nil
}

// asUntrusted recognises a certificate verification failure and describes the certificate.
func asUntrusted(err error) (*UntrustedCertificateError, bool) {
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) && len(cve.UnverifiedCertificates) > 0 {
		return &UntrustedCertificateError{Cert: certInfo(cve.UnverifiedCertificates[0]), Err: cve.Err}, true
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) && ua.Cert != nil {
		return &UntrustedCertificateError{Cert: certInfo(ua.Cert), Err: ua}, true
	}
	var he x509.HostnameError
	if errors.As(err, &he) && he.Certificate != nil {
		return &UntrustedCertificateError{Cert: certInfo(he.Certificate), Err: he}, true
	}
	var ci x509.CertificateInvalidError
	if errors.As(err, &ci) && ci.Cert != nil {
		return &UntrustedCertificateError{Cert: certInfo(ci.Cert), Err: ci}, true
	}
	return nil, false
}
