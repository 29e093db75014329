package cpanel

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/fate"
)

// A server that closes the connection, before its reply or in the middle
// of it, is said so in words: not "request failed: EOF" or "unreadable
// reply: unexpected EOF", Go's names for it.
func TestConnectionClosedInWords(t *testing.T) {
	tests := []struct {
		name   string
		answer func(c net.Conn, req *http.Request)
		want   string
	}{
		{"closed before the reply", func(c net.Conn, _ *http.Request) { _ = c.Close() },
			"WHM API 1 passwd: the server closed the connection without a reply"},
		{"closed in the middle of the reply", func(c net.Conn, _ *http.Request) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"metadata\":")
			_ = c.Close()
		}, "WHM API 1 passwd: unreadable reply: the connection closed before the reply was complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRawServer(t, tt.answer)
			_, err := rawClient(t, s.url(), 5*time.Second).AccountPasswd(context.Background(), WHMAPI1, "bob", newPass, AccountPasswdOptions{})
			e := wantState(t, err, fate.Unknown)
			if got := e.Error(); got != tt.want {
				t.Errorf("error %q, want %q", got, tt.want)
			}
		})
	}
}

// A server out of reach is named once, with the cause: not "cannot connect
// to H:P: dial tcp H:P: connect: connection refused" or "cannot resolve
// host H: dial tcp: lookup H on 10.0.0.53:53: no such host". The whole
// error stays in the chain.
func TestUnreachableInWords(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, err := New(Config{URL: "https://" + addr, Kind: KindWHM, User: "root", Secret: "T", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Ping(context.Background())
	if want := "WHM API 1 version: cannot connect to " + addr + ": connection refused; nothing was sent"; err == nil || err.Error() != want {
		t.Errorf("refused: %v, want %q", err, want)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("refused: the *net.OpError left the chain: %#v", err)
	}

	dnsErr := &net.DNSError{Err: "no such host", Name: "whm.nosuch.example", Server: "10.0.0.53:53", IsNotFound: true}
	e := c.transportError(context.Background(), context.Background(), "WHM API 1 passwd",
		&url.Error{Op: "Post", URL: "https://whm.nosuch.example:2087/json-api/passwd", Err: &net.OpError{Op: "dial", Net: "tcp", Err: dnsErr}})
	if want := "WHM API 1 passwd: cannot resolve host whm.nosuch.example: no such host; nothing was sent"; e.Error() != want {
		t.Errorf("DNS: %q, want %q", e.Error(), want)
	}
	var de *net.DNSError
	if !errors.As(e, &de) || !de.IsNotFound {
		t.Errorf("DNS: the *net.DNSError left the chain: %#v", e)
	}
}
