package cpanel

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/fate"
)

func TestTLSVerification(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		writeJSON(w, 200, `{"data":{"version":"11.136.0.4"},"metadata":{"command":"version","reason":"OK","result":1,"version":1}}`)
	})
	sum := sha256.Sum256(f.Certificate().Raw)
	pin := "sha256:" + hex.EncodeToString(sum[:])
	colonPin := strings.ToUpper(hex.EncodeToString(sum[:1])) + ":" + strings.ToUpper(hex.EncodeToString(sum[1:]))
	wrong := "sha256:" + strings.Repeat("00", 32)
	tests := []struct {
		name      string
		mod       func(*Config)
		ok        bool
		untrusted bool
		mismatch  bool
	}{
		{"untrusted by default", func(c *Config) {}, false, true, false},
		{"extra CA", func(c *Config) { c.CAFile = f.CAFile }, true, false, false},
		{"insecure", func(c *Config) { c.Insecure = true }, true, false, false},
		{"pin matches", func(c *Config) { c.Fingerprint = pin }, true, false, false},
		{"pin matches, other spelling", func(c *Config) { c.Fingerprint = colonPin }, true, false, false},
		{"pin mismatch", func(c *Config) { c.Fingerprint = wrong }, false, false, true},
		{"pin mismatch wins over CA", func(c *Config) { c.Fingerprint = wrong; c.CAFile = f.CAFile }, false, false, true},
		{"pin mismatch wins over insecure", func(c *Config) { c.Fingerprint = wrong; c.Insecure = true }, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{URL: f.URL, Kind: KindWHM, User: "root", Secret: "TOKEN", MaxRetries: 1}
			tt.mod(&cfg)
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			before := len(f.requests())
			v, err := c.Ping(context.Background())
			if tt.ok {
				if err != nil || v != "11.136.0.4" {
					t.Fatalf("Ping = %q, %v", v, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != ErrTransport {
				t.Fatalf("want transport error, got %v", err)
			}
			var ue *UntrustedCertificateError
			if got := errors.As(err, &ue); got != tt.untrusted {
				t.Errorf("UntrustedCertificateError present=%v, want %v (%v)", got, tt.untrusted, err)
			} else if got && ue.Cert.Fingerprint != pin {
				t.Errorf("untrusted cert fingerprint %s, want %s", ue.Cert.Fingerprint, pin)
			}
			var fm *FingerprintMismatchError
			if got := errors.As(err, &fm); got != tt.mismatch {
				t.Errorf("FingerprintMismatchError present=%v, want %v (%v)", got, tt.mismatch, err)
			} else if got && (fm.Got != pin || fm.Want != wrong) {
				t.Errorf("mismatch %+v", fm)
			}
			// Said once, both fingerprints whole: not "certificate does not match the pinned
			// fingerprint: certificate fingerprint mismatch: ...".
			if want := "WHM API 1 version: the certificate does not match the pinned fingerprint (pinned " + wrong +
				", server presented " + pin + "); nothing was sent"; tt.mismatch && err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if n := len(f.requests()) - before; n != 0 {
				t.Errorf("the server got %d requests through a refused TLS connection", n)
			}
		})
	}
}

func TestFetchCertificate(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {})
	sum := sha256.Sum256(f.Certificate().Raw)
	want := "sha256:" + hex.EncodeToString(sum[:])
	info, err := FetchCertificate(context.Background(), f.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Fingerprint != want || info.Trusted {
		t.Errorf("without CA: %+v, want fingerprint %s and untrusted", info, want)
	}
	if info.NotAfter.IsZero() || info.Subject == "" {
		t.Errorf("incomplete info %+v", info)
	}
	info, err = FetchCertificate(context.Background(), f.URL, f.CAFile)
	if err != nil || !info.Trusted {
		t.Fatalf("with CA: %+v, %v", info, err)
	}
	if _, err := FetchCertificate(context.Background(), "http://127.0.0.1:2086", ""); err == nil {
		t.Error("plain http: want error")
	}
}

// certFor makes a certificate (self-signed when parent is nil) from tmpl, with a fresh key.
func certFor(t *testing.T, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (tls.Certificate, *x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, cert, key
}

// TestCertificateReasons: an untrusted certificate's error says the real reason, and the
// certificate's own text reaches the error line only escaped.
func TestCertificateReasons(t *testing.T) {
	now := time.Now()
	base := func(serial int64, cn string) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true}
	}
	expired := base(1, "expired")
	expired.NotBefore, expired.NotAfter = now.Add(-48*time.Hour), time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC)
	future := base(2, "future")
	future.NotBefore = now.Add(24 * time.Hour)
	future.NotAfter = now.Add(48 * time.Hour)
	wrongHost := base(3, "wrong")
	wrongHost.IPAddresses = nil
	wrongHost.DNSNames = []string{"whm.example.com", "evil\x1b]0;pwned\x07.example.net"}
	caTmpl := base(4, "Evil \x1b[2J CA")
	caTmpl.IsCA = true
	_, caCert, caKey := certFor(t, caTmpl, nil, nil)
	// Whoever presents a certificate chooses its names and its issuer's: long ones must not
	// crowd the fingerprint to pin out of the bounded line.
	manyNames := base(7, "many")
	manyNames.IPAddresses = nil
	for i := range 40 {
		manyNames.DNSNames = append(manyNames.DNSNames, fmt.Sprintf("host%02d.a-rather-long-name.example.com", i))
	}
	longCATmpl := base(8, strings.Repeat("Long Issuer Name ", 12))
	longCATmpl.IsCA = true
	_, longCA, longCAKey := certFor(t, longCATmpl, nil, nil)
	pinAdvice := regexp.MustCompile(`; if it is the server's own, pin its fingerprint sha256:[0-9a-f]{64}; nothing was sent$`)
	tests := []struct {
		name   string
		tmpl   *x509.Certificate
		ca     bool
		longCA bool
		want   string
	}{
		{"expired", expired, false, false, "the certificate expired on 2025-03-04 05:06 UTC"},
		{"not yet valid", future, false, false, "the certificate is not valid until " + future.NotBefore.UTC().Format("2006-01-02 15:04 UTC")},
		{"wrong host", wrongHost, false, false, `the certificate is for whm.example.com, evil\x1b]0;pwned\x07.example.net, not for 127.0.0.1`},
		{"self-signed", base(5, "self"), false, false, "the certificate is self-signed; if it is the server's own, pin its fingerprint sha256:"},
		{"unknown authority", base(6, "leaf"), true, false, `the certificate is signed by an unknown authority (CN=Evil \x1b[2J CA); if it is the server's own, pin its fingerprint sha256:`},
		{"self-signed for many other names", manyNames, false, false, "the certificate is for host00.a-rather-long-name.example.com, "},
		{"unknown authority with a long name", base(9, "leaf"), true, true, "the certificate is signed by an unknown authority (CN=Long Issuer Name "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tlsCert tls.Certificate
			switch {
			case tc.longCA:
				tlsCert, _, _ = certFor(t, tc.tmpl, longCA, longCAKey)
			case tc.ca:
				tlsCert, _, _ = certFor(t, tc.tmpl, caCert, caKey)
			default:
				tlsCert, _, _ = certFor(t, tc.tmpl, nil, nil)
			}
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{tlsCert}}
			srv.Config.ErrorLog = quietLog()
			srv.StartTLS()
			t.Cleanup(srv.Close)
			c, err := New(Config{URL: srv.URL, Kind: KindWHM, User: "root", Secret: "T", MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Ping(context.Background())
			e := wantState(t, err, fate.NotSent)
			if !strings.Contains(e.Reason, tc.want) {
				t.Fatalf("reason %q, want %q", e.Reason, tc.want)
			}
			if strings.ContainsAny(e.Error(), "\x1b\x07") {
				t.Fatalf("raw control characters in %q", e.Error())
			}
			if n := strings.Count(e.Error(), "sha256:"); n > 1 {
				t.Errorf("the fingerprint %d times in %q", n, e.Error())
			}
			// Every one of these is pinnable (self-signed, or signed by an unknown authority):
			// the advice ends the line, whole, however long the certificate's names.
			if !pinAdvice.MatchString(e.Error()) {
				t.Errorf("the pin advice is missing or cut: %q", e.Error())
			}
		})
	}
}
