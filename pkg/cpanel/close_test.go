package cpanel

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/pace"
)

// Close closes the idle connections of the transport that carried the
// calls, also when WrapTransport sends through a transport of its own
// (pace.Transport dials through a clone of the client's): a process that
// runs many commands (tests, cpctl demo) keeps no connection open.
func TestCloseClosesAWrappedTransportsConnections(t *testing.T) {
	closed := make(chan struct{}, 64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, whm1PasswdOK)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{URL: srv.URL, Kind: KindWHM, Auth: AuthToken, User: "root", Secret: "TOKEN", CAFile: ca,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			return pace.Transport(rt, pace.New(pace.Options{Max: 4}))
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.AccountPasswd(ctx, WHMAPI1, "bob", "N3w-Pass-2026!xyz", AccountPasswdOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection is still open 10 s after Close")
	}
}
