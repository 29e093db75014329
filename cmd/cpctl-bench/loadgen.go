package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// loadgen is the yardstick client: Go's net/http with keep-alive, HTTP/1.1
// like cpsrvd, a fixed number of workers each with one call in flight.
type loadgen struct {
	client *http.Client
	url    string
	auth   string
}

func newLoadgen(u string, pool *x509.CertPool, auth string, conc int) *loadgen {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConns:        conc,
		MaxIdleConnsPerHost: conc,
		MaxConnsPerHost:     conc,
		DisableCompression:  true,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	return &loadgen{client: &http.Client{Transport: tr, Timeout: time.Minute}, url: u, auth: auth}
}

func (l *loadgen) close() { l.client.CloseIdleConnections() }

// run sends n calls, body(i) for the i-th, from conc workers, and returns the
// wall time. Every reply must be a success: a yardstick that counts refusals
// as work would flatter itself.
func (l *loadgen) run(ctx context.Context, n, conc int, body func(i int) []byte) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, conc)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ok := []byte(`"result":1`)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 512)
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body(i)))
				if err != nil {
					errc <- err
					cancel()
					return
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", l.auth)
				resp, err := l.client.Do(req)
				if err != nil {
					errc <- fmt.Errorf("call %d: %w", i, err)
					cancel()
					return
				}
				buf = buf[:0]
				b := bytes.NewBuffer(buf)
				_, err = b.ReadFrom(resp.Body)
				_ = resp.Body.Close()
				if err == nil && (resp.StatusCode != http.StatusOK || !bytes.Contains(b.Bytes(), ok)) {
					err = fmt.Errorf("call %d: HTTP %d, not a success", i, resp.StatusCode)
				}
				if err != nil {
					errc <- err
					cancel()
					return
				}
				buf = b.Bytes()
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	close(errc)
	if err := <-errc; err != nil {
		return d, err
	}
	return d, nil
}

// minimal is the simulator's yardstick: the least a net/http TLS server can
// do for a passwd call, the same form parse and a JSON reply of the same
// shape, with no state behind it.
type minimal struct {
	srv  *http.Server
	url  string
	pool *x509.CertPool
}

type minimalReply struct {
	Data struct {
		App []string `json:"app"`
	} `json:"data"`
	Metadata struct {
		Command string `json:"command"`
		Reason  string `json:"reason"`
		Result  int    `json:"result"`
		Version int    `json:"version"`
	} `json:"metadata"`
}

func minimalHandler(auth string) http.Handler {
	want := []byte(auth)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			http.Error(w, "Access denied", http.StatusForbidden)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		user, pw := r.PostForm.Get("user"), r.PostForm.Get("password")
		var rep minimalReply
		rep.Metadata.Command, rep.Metadata.Version = "passwd", 1
		if user == "" || pw == "" {
			rep.Metadata.Reason = "No user name supplied: “user” is a required argument."
		} else {
			rep.Data.App = []string{"system", "ftp", "mail", "MySQL"}
			rep.Metadata.Reason, rep.Metadata.Result = "Password changed for user “"+user+"”.", 1
		}
		body, err := json.Marshal(&rep)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
}

// selfSigned makes a self-signed ECDSA P-256 certificate for 127.0.0.1, the
// simulator's kind of key, and a pool trusting it.
func selfSigned() (tls.Certificate, *x509.CertPool, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, der, nil
}

// startMinimal serves minimalHandler over TLS on loopback with a fresh
// self-signed certificate.
func startMinimal(auth string) (*minimal, error) {
	cert, pool, _, err := selfSigned()
	if err != nil {
		return nil, fmt.Errorf("minimal server: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("minimal server: %w", err)
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	m := &minimal{pool: pool, url: "https://" + ln.Addr().String() + "/json-api/passwd?api.version=1"}
	m.srv = &http.Server{
		Handler:           minimalHandler(auth),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go func() {
		if err := m.srv.Serve(tls.NewListener(ln, tlsConf)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("minimal server: %v", err)
		}
	}()
	return m, nil
}

func (m *minimal) close() { _ = m.srv.Close() }
