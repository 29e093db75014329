package simulator

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Server is a running simulator: one loopback listener per role.
type Server struct {
	// Sim is the simulator behind both listeners.
	Sim *Simulator
	// WHMURL and CPanelURL are the base URLs, e.g. https://127.0.0.1:40123.
	WHMURL, CPanelURL string
	// CertPEM is the served certificate (empty with Options.Plain).
	CertPEM []byte
	// CAFile names a temporary PEM file holding CertPEM, removed by Close.
	CAFile string
	// Fingerprint is "sha256:" + lowercase hex of the leaf certificate's DER.
	Fingerprint string

	servers []*http.Server
	tmpDir  string
	// inflight counts handlers running, so Shutdown can wait for calls
	// that http.Server no longer tracks (hijacked or cut connections).
	inflight sync.WaitGroup
}

// Start serves a new simulator of state on two loopback listeners.
func Start(state *State, opts Options) (*Server, error) {
	sim := New(state, opts)
	srv := &Server{Sim: sim}
	var tlsConf *tls.Config
	if !opts.Plain {
		cert, err := loadOrMakeCert(opts)
		if err != nil {
			return nil, err
		}
		srv.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
		sum := sha256.Sum256(cert.Certificate[0])
		srv.Fingerprint = "sha256:" + hex.EncodeToString(sum[:])
		dir, err := os.MkdirTemp("", "cpanel-sim-")
		if err != nil {
			return nil, fmt.Errorf("start simulator: %w", err)
		}
		srv.tmpDir = dir
		srv.CAFile = filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(srv.CAFile, srv.CertPEM, 0o600); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("start simulator: %w", err)
		}
		// cpsrvd speaks HTTP/1.1 only, which also keeps Hijack available
		// for FaultReset.
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	}
	for _, r := range []struct {
		role Role
		addr string
		url  *string
	}{{RoleWHM, opts.WHMAddr, &srv.WHMURL}, {RoleCPanel, opts.CPanelAddr, &srv.CPanelURL}} {
		ln, err := net.Listen("tcp", cmp.Or(r.addr, "127.0.0.1:0"))
		if err != nil {
			srv.abort()
			return nil, fmt.Errorf("start simulator: %w", err)
		}
		scheme := "http"
		if tlsConf != nil {
			ln = tls.NewListener(ln, tlsConf)
			scheme = "https"
		}
		*r.url = scheme + "://" + ln.Addr().String()
		h := sim.Handler(r.role)
		hs := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				srv.inflight.Add(1)
				defer srv.inflight.Done()
				h.ServeHTTP(w, req)
			}),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			// Clients that reject the self-signed certificate would
			// otherwise fill stderr with handshake errors.
			ErrorLog:     log.New(io.Discard, "", 0),
			TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		}
		srv.servers = append(srv.servers, hs)
		go func() { _ = hs.Serve(ln) }()
	}
	return srv, nil
}

// Shutdown stops accepting connections, lets the calls in flight finish
// until ctx ends (then cuts them), waits until every handler has
// returned, and removes the CA file. Afterwards State and Dump hold every
// change a client was told about, and no call can change them any more.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	for _, hs := range s.servers {
		if err := hs.Shutdown(ctx); err != nil {
			errs = append(errs, hs.Close())
		}
	}
	// No handler starts once the servers are shut: Wait cannot race Add.
	s.inflight.Wait()
	if s.tmpDir != "" {
		errs = append(errs, os.RemoveAll(s.tmpDir))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close simulator: %w", err)
	}
	return nil
}

// Close is Shutdown with two seconds' grace for the calls in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

// abort closes a server that failed to start: nothing was served yet, so
// there is nothing to wait for.
func (s *Server) abort() {
	for _, hs := range s.servers {
		_ = hs.Close()
	}
	if s.tmpDir != "" {
		_ = os.RemoveAll(s.tmpDir)
	}
}

func loadOrMakeCert(opts Options) (tls.Certificate, error) {
	if opts.CertFile != "" || opts.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("load certificate: %w", err)
		}
		return cert, nil
	}
	if opts.CertDir != "" {
		return certInDir(opts.CertDir)
	}
	return selfSigned()
}

// certInDir loads dir/cert.pem and dir/key.pem, or makes and saves a new
// self-signed pair when neither exists. The key is created exclusively
// with mode 0600, so an existing file or a planted symlink is never
// written through.
func certInDir(dir string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil {
		return cert, nil
	}
	_, cerr := os.Lstat(certPath)
	_, kerr := os.Lstat(keyPath)
	if !errors.Is(cerr, fs.ErrNotExist) || !errors.Is(kerr, fs.ErrNotExist) {
		return tls.Certificate{}, fmt.Errorf("load certificate from %s: %w", dir, err)
	}
	cert, err = selfSigned()
	if err != nil {
		return tls.Certificate{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("save certificate: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("save certificate: %w", err)
	}
	// The key first: a directory holding a certificate without its key is
	// refused above rather than silently replaced.
	for _, f := range []struct {
		path  string
		block *pem.Block
	}{
		{keyPath, &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}},
		{certPath, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}},
	} {
		if err := writeExclusive(f.path, pem.EncodeToMemory(f.block)); err != nil {
			return tls.Certificate{}, fmt.Errorf("save certificate: %w", err)
		}
	}
	return cert, nil
}

func writeExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// selfSigned makes a certificate for 127.0.0.1, ::1 and localhost. It is its
// own CA, like a fresh cPanel server's, so a client can trust it by file
// or by fingerprint.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"cpanel-sim"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
