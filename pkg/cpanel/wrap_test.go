package cpanel

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/cpctl/cpctl/pkg/simulator"
)

type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int32
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.base.RoundTrip(req)
}

// TestWrapTransport checks that a caller's wrapper sees every request of
// the client's own TLS transport (a bulk run paces through it), and that the
// client's certificate checks still apply underneath.
func TestWrapTransport(t *testing.T) {
	srv := startSim(t, simState())
	var n atomic.Int32
	c, err := New(Config{URL: srv.WHMURL, Kind: KindWHM, User: "root", Secret: simulator.SampleRootToken, CAFile: srv.CAFile,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, &n} }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(context.Background()) }()
	if _, err := c.AccountPasswd(context.Background(), WHMAPI1, "bob", "vT7#qLz9!mWx2$Rk", AccountPasswdOptions{}); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 1 {
		t.Errorf("the wrapper saw %d requests, want 1", n.Load())
	}

	// Without the CA file the wrapped transport still refuses the simulator's certificate.
	c2, err := New(Config{URL: srv.WHMURL, Kind: KindWHM, User: "root", Secret: simulator.SampleRootToken,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, &n} }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c2.Close(context.Background()) }()
	if _, err := c2.AccountPasswd(context.Background(), WHMAPI1, "bob", "vT7#qLz9!mWx2$Rk", AccountPasswdOptions{}); err == nil {
		t.Error("an untrusted certificate was accepted through the wrapper")
	}
}
