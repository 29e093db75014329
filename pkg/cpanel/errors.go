package cpanel

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cpctl/cpctl/pkg/fate"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// ErrorKind classifies a failure. For the first four kinds the value is the exit code the CLI
// uses; ErrNotFound exits 1 like a refusal (ExitCode).
type ErrorKind int

// Error kinds.
const (
	// ErrRefused: the server answered and refused (result 0: weak password, unknown user, ...).
	ErrRefused ErrorKind = 1
	// ErrUsage: the request is invalid (unknown API, missing account, bad name); nothing was sent.
	ErrUsage ErrorKind = 2
	// ErrAuth: authentication or authorization failed (bad token, 401/403, access denied).
	ErrAuth ErrorKind = 3
	// ErrTransport: the server could not be reached or its reply could not be read.
	ErrTransport ErrorKind = 4
	// ErrNotFound: the server answered a look-up with its documented "nothing" (getdomainowner:
	// no account the caller controls owns the domain). Its own value keeps it apart from a
	// refusal; it exits 1 all the same.
	ErrNotFound ErrorKind = 6
)

// String names the kind.
func (k ErrorKind) String() string {
	switch k {
	case ErrRefused:
		return "refused"
	case ErrAuth:
		return "authentication failed"
	case ErrUsage:
		return "usage"
	case ErrTransport:
		return "transport"
	case ErrNotFound:
		return "not found"
	}
	return "error " + strconv.Itoa(int(k))
}

// MaxReasonRunes bounds the server's words in Error's text, in runes; Reason keeps them whole.
// A caller that composes a Reason of its own around untrusted text bounds that text so its own
// advice fits.
const MaxReasonRunes = 300

// maxCertNames bounds the names of a certificate quoted in a reason, in runes, so that what
// follows them (the host, how to pin the certificate) stays within MaxReasonRunes.
const maxCertNames = 120

// Error is a failed call. Reason is the server's own words when it gave any; no field ever holds
// a secret.
type Error struct {
	Kind ErrorKind
	// Op names the call, e.g. "WHM API 1 passwd".
	Op string
	// Status is the HTTP status, 0 when no reply came.
	Status int
	// Reason is the server's message exactly as sent (secrets redacted), or a short description
	// of what went wrong. It is untrusted text: Error shows it bounded and escaped for a
	// terminal; JSON output may carry it as is.
	Reason string
	// TwoFactor is true when the server rejected the call for its two-factor policy.
	TwoFactor bool
	// Written is true when the call's own request may have reached the server (its headers were
	// written), so it may have run. A failure before that (DNS, connect, TLS, a pinned
	// fingerprint, a session login, a local check) leaves it false: nothing of the call was sent.
	Written bool
	// Err is the underlying error, if any.
	Err error
}

// Error formats the failure as one line.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	switch e.Kind {
	case ErrAuth:
		b.WriteString("authentication failed: ")
	case ErrRefused:
		b.WriteString("refused: ")
	case ErrNotFound:
		b.WriteString("not found: ")
	}
	reason := termsafe.Bounded(e.Reason, MaxReasonRunes)
	switch {
	case e.Reason != "" && e.Err != nil && !strings.Contains(e.Reason, e.Err.Error()) && !goWordsOnly(e.Err):
		b.WriteString(reason)
		b.WriteString(": ")
		b.WriteString(termsafe.Bounded(e.Err.Error(), MaxReasonRunes))
	case e.Reason != "":
		b.WriteString(reason)
	case e.Err != nil:
		b.WriteString(termsafe.Bounded(e.Err.Error(), MaxReasonRunes))
	default:
		b.WriteString("failed")
	}
	if e.Status != 0 && (e.Status < 200 || e.Status > 299) {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteString(")")
	}
	if e.Kind == ErrTransport && !e.Written {
		b.WriteString("; nothing was sent")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// briefError shows only the cause of a network failure ("connection refused", "no such
// host"), which the Reason's words ("cannot connect to HOST:PORT") leave out: Go's own text
// repeats the address and names the system call ("dial tcp HOST:PORT: connect: connection
// refused"). It unwraps to the whole error, for errors.As and errors.Is.
type briefError struct {
	text string
	err  error
}

func (b *briefError) Error() string { return b.text }
func (b *briefError) Unwrap() error { return b.err }

// rootText is the text of the innermost error err wraps: the cause without the layers that
// name the operation and the address.
func rootText(err error) string {
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return err.Error()
		}
		err = inner
	}
}

// goWordsOnly reports an underlying error whose text is only Go's own name for what the Reason
// already says in words: a context's end ("context deadline exceeded", "context canceled" after
// "timed out after 2m", "cancelled") or a connection's ("EOF", "unexpected EOF" after "the server
// closed the connection ..."). A person reading the line has no use for the jargon; the error
// stays in the chain for errors.Is.
func goWordsOnly(err error) bool {
	switch err.Error() {
	case context.DeadlineExceeded.Error(), context.Canceled.Error(), io.EOF.Error(), io.ErrUnexpectedEOF.Error():
		return true
	}
	return false
}

// usagef is an ErrUsage *Error: the request was refused here and nothing was sent.
func usagef(op, format string, args ...any) *Error {
	return &Error{Kind: ErrUsage, Op: op, Reason: fmt.Sprintf(format, args...)}
}

// ExitCode is the process exit code for this failure (1, 2, 3 or 4).
func (e *Error) ExitCode() int {
	switch e.Kind {
	case 0:
		return int(ErrTransport)
	case ErrNotFound:
		return int(ErrRefused)
	}
	return int(e.Kind)
}

// StateOf says what became of a call from the error it returned (docs/architecture.md): nil is
// Applied; a refusal the server answered to the call itself is Refused; a failure before any byte
// of the call could have been written (a usage error, DNS, connect, TLS handshake, pinned
// fingerprint, session login, two-factor code) is NotSent; a call that was written without a
// readable answer is Unknown. An error this package did not make is Unknown: fail closed.
func StateOf(err error) fate.State {
	if err == nil {
		return fate.Applied
	}
	var e *Error
	if !errors.As(err, &e) {
		return fate.Unknown
	}
	switch {
	case e.Kind == ErrUsage, !e.Written:
		return fate.NotSent
	case (e.Kind == ErrRefused || e.Kind == ErrAuth || e.Kind == ErrNotFound) && e.Status != 0:
		return fate.Refused
	}
	return fate.Unknown
}

// CredentialsRefused reports a failure that every call made with the same
// credentials would meet, not one of a single target: the server refused the
// request as a whole (401 or 403, its login page, a refused session login or
// API token), or no two-factor code could be had. A refusal that names one
// account ("Access Denied to bob" in a 200 reply) is not one. A bulk run stops
// sending a profile's rows after one (batch.Outcome.StopsProfile).
func CredentialsRefused(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrAuth {
		return false
	}
	switch {
	case e.Status == http.StatusUnauthorized, e.Status == http.StatusForbidden,
		e.Reason == msgLoginPage, e.TwoFactor && e.Status == 0:
		return true
	}
	return credentialReason(e.Reason)
}

// msgLoginRefused is the reason of a refused session login that gave none.
const msgLoginRefused = "login refused"

// IsNetworkError reports a failure of the connection or of the reply (exit 4), as opposed to a
// refusal, an authentication failure or a usage error.
func IsNetworkError(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Kind == ErrTransport || e.Kind == 0)
}

// UntrustedCertificateError is wrapped inside an ErrTransport *Error when the server's certificate
// does not verify, so the CLI can show Cert and offer to pin its fingerprint.
type UntrustedCertificateError struct {
	Cert CertInfo
	Err  error
}

// untrustedPrefix leads the Reason of an *Error for an untrusted certificate.
const untrustedPrefix = "TLS certificate not trusted: "

// Error says why the certificate was not trusted and, for one that is self-signed or signed by
// an authority nobody trusts here (which a server's own certificate often is), how to trust it
// all the same: by pinning its fingerprint. The advice comes whole within MaxReasonRunes, after
// untrustedPrefix: what the certificate says (its names, its issuer) is cut to the room left,
// never the fingerprint to pin.
func (e *UntrustedCertificateError) Error() string {
	var ua x509.UnknownAuthorityError
	if e.Cert.SelfSigned || errors.As(e.Err, &ua) {
		advice := "; if it is the server's own, pin its fingerprint " + e.Cert.Fingerprint
		room := MaxReasonRunes - utf8.RuneCountInString(untrustedPrefix) - utf8.RuneCountInString(advice) - 1 // 1 for the "…" of a cut
		return termsafe.Bounded(e.Why(), room) + advice
	}
	return e.Why()
}

// Why says in words why the certificate was not trusted: expired or not yet valid (with the
// date), issued for other names (naming them and the host), or signed by an unknown authority
// or by itself. Text taken from the certificate is made safe for a terminal and bounded:
// whoever presents a certificate chooses its names.
func (e *UntrustedCertificateError) Why() string {
	var inv x509.CertificateInvalidError
	var he x509.HostnameError
	var ua x509.UnknownAuthorityError
	const day = "2006-01-02 15:04 UTC"
	switch {
	case errors.As(e.Err, &inv) && inv.Reason == x509.Expired && inv.Cert != nil:
		if time.Now().Before(inv.Cert.NotBefore) {
			return "the certificate is not valid until " + inv.Cert.NotBefore.UTC().Format(day)
		}
		return "the certificate expired on " + inv.Cert.NotAfter.UTC().Format(day)
	case errors.As(e.Err, &he) && he.Certificate != nil:
		names := certNames(he.Certificate)
		if len(names) == 0 {
			return "the certificate names no host, and the server is " + termsafe.Bounded(he.Host, 255)
		}
		return "the certificate is for " + termsafe.Bounded(strings.Join(names, ", "), maxCertNames) +
			", not for " + termsafe.Bounded(he.Host, 255)
	case e.Cert.SelfSigned:
		return "the certificate is self-signed"
	case errors.As(e.Err, &ua):
		return "the certificate is signed by an unknown authority (" + termsafe.Bounded(e.Cert.Issuer, 100) + ")"
	case e.Err != nil:
		return termsafe.Bounded(e.Err.Error(), MaxReasonRunes)
	}
	return "not trusted"
}

// certNames lists the host names and addresses a certificate is for (the subject's common
// name when it has none, as older certificates do).
func certNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	return names
}

// Unwrap returns the verification error.
func (e *UntrustedCertificateError) Unwrap() error { return e.Err }

// FingerprintMismatchError is returned (wrapped) when the server's certificate does not match the
// pinned fingerprint.
type FingerprintMismatchError struct {
	Want, Got string
}

// Error names both fingerprints; they are public data, not secrets.
func (e *FingerprintMismatchError) Error() string {
	return fmt.Sprintf("the certificate does not match the pinned fingerprint (pinned %s, server presented %s)", e.Want, e.Got)
}
