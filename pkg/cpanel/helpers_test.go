package cpanel

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// seen is one request as the fake server received it.
type seen struct {
	Method string
	Path   string
	Query  url.Values
	Form   url.Values // body only
	Header http.Header
	Body   string
}

// fakeServer is a TLS test server that records requests and answers with a handler.
type fakeServer struct {
	*httptest.Server
	CAFile string
	mu     sync.Mutex
	reqs   []seen
}

func newFake(t *testing.T, h func(w http.ResponseWriter, r *http.Request, s seen)) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		s := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Form: form, Header: r.Header.Clone(), Body: string(body)}
		f.mu.Lock()
		f.reqs = append(f.reqs, s)
		f.mu.Unlock()
		h(w, r, s)
	}))
	f.EnableHTTP2 = true
	// Refused handshakes are what several tests are about; keep them out of the output.
	f.Config.ErrorLog = quietLog()
	f.StartTLS()
	t.Cleanup(f.Close)
	f.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.Certificate().Raw})
	if err := os.WriteFile(f.CAFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeServer) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fakeServer) last(t *testing.T) seen {
	t.Helper()
	r := f.requests()
	if len(r) == 0 {
		t.Fatal("server got no request")
	}
	return r[len(r)-1]
}

func (f *fakeServer) config(kind Kind, auth AuthMethod, user, secret string) Config {
	return Config{URL: f.URL, Kind: kind, Auth: auth, User: user, Secret: secret, CAFile: f.CAFile}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

const (
	whm1PasswdOK = `{"data":{"app":["system","ftp","mail","MySQL"]},"metadata":{"command":"passwd","reason":"Password changed for user “bob”.","result":1,"version":1}}`
	uapiOK       = `{"status":1,"data":null,"errors":null,"messages":null,"warnings":null,"metadata":{}}`
	api2OK       = `{"cpanelresult":{"apiversion":2,"data":[{"reason":"OK","result":1}],"event":{"result":1}}}`
)

// noSleep replaces Client.sleep in tests that retry: the waits are skipped, not taken.
func noSleep(context.Context, time.Duration) error { return nil }

// quietLog discards a test server's log: refused handshakes are what several tests are about.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
