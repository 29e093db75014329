package cpanel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
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
