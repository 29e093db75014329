package cpanel

import (
	"fmt"
	"strconv"
	"strings"
)

// ErrorKind classifies a failure; its value is the exit code the CLI uses.
type ErrorKind int

// Error kinds.
const (
	// ErrRefused: the server answered and refused (result 0: weak password, unknown user, ...).
	ErrRefused ErrorKind = 1
	// ErrAuth: authentication or authorization failed (bad token, 401/403, access denied).
	ErrAuth ErrorKind = 3
	// ErrTransport: the server could not be reached or its reply could not be read.
	ErrTransport ErrorKind = 4
)

// String names the kind.
func (k ErrorKind) String() string {
	switch k {
	case ErrRefused:
		return "refused"
	case ErrAuth:
		return "authentication failed"
	case ErrTransport:
		return "transport"
	}
	return "error " + strconv.Itoa(int(k))
}

// Error is a failed call. Reason is the server's own words when it gave any; no field ever holds
// a secret.
type Error struct {
	Kind ErrorKind
	// Op names the call, e.g. "WHM API 1 passwd".
	Op string
	// Status is the HTTP status, 0 when no reply came.
	Status int
	// Reason is the server's message, or a short description of what went wrong.
	Reason string
	// TwoFactor is true when the server rejected the call for its two-factor policy.
	TwoFactor bool
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
	}
	switch {
	case e.Reason != "" && e.Err != nil:
		b.WriteString(e.Reason)
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	case e.Reason != "":
		b.WriteString(e.Reason)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("failed")
	}
	if e.Status != 0 && (e.Status < 200 || e.Status > 299) {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode is the process exit code for this failure (1, 3 or 4).
func (e *Error) ExitCode() int {
	if e.Kind == 0 {
		return int(ErrTransport)
	}
	return int(e.Kind)
}

// UntrustedCertificateError is wrapped inside an ErrTransport *Error when the server's certificate
// does not verify, so the CLI can show Cert and offer to pin its fingerprint.
type UntrustedCertificateError struct {
	Cert CertInfo
	Err  error
}

// Error says why the certificate was not trusted.
func (e *UntrustedCertificateError) Error() string {
	msg := "untrusted certificate (" + e.Cert.Fingerprint + ")"
	if e.Cert.SelfSigned {
		msg = "untrusted self-signed certificate (" + e.Cert.Fingerprint + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
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
	return fmt.Sprintf("certificate fingerprint mismatch: pinned %s, server presented %s", e.Want, e.Got)
}
