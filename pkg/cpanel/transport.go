package cpanel

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"
)

// connTransport is the HTTP/1.1 round tripper of a client that talks to its
// server directly (no proxy). The calling goroutine writes the request and
// reads the reply on a kept-alive connection itself.
//
// net/http's Transport hands every exchange between three goroutines (the
// caller, a writer and a reader per connection), and in a bulk run those
// hand-offs and their wake-ups were a quarter of cpctl's CPU and most of
// its delay in answering a reply with the next request. Serialising the
// request and parsing the reply are still net/http's own (Request.Write,
// http.ReadResponse), so the protocol handling is the standard library's.
//
// What the reader goroutine did besides reading, noticing that the server
// closed an idle connection, is done when a connection is taken from the
// pool (connAlive): a request is never written into a connection the
// server has already closed, which for a password change would leave it
// unknown whether the change was made.
type connTransport struct {
	dialer           net.Dialer
	tls              *tls.Config // nil for plain http
	handshakeTimeout time.Duration
	idleTimeout      time.Duration
	maxIdle          int

	mu   sync.Mutex
	idle []*persistConn // most recently used last
}

// persistConn is one kept-alive connection.
type persistConn struct {
	conn      net.Conn
	raw       net.Conn // the TCP connection under TLS, for the liveness check
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
}

func newConnTransport(tlsCfg *tls.Config) *connTransport {
	t := &connTransport{
		dialer:           net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second},
		handshakeTimeout: 20 * time.Second,
		idleTimeout:      90 * time.Second,
		maxIdle:          128,
	}
	if tlsCfg != nil {
		t.tls = tlsCfg.Clone()
		t.tls.NextProtos = []string{"http/1.1"}
	}
	return t
}

// RoundTrip sends req and reads the reply's head; the body is read from the
// connection as the caller reads it, and closing it hands the connection
// back to the pool when the exchange ended cleanly.
func (t *connTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	addr, err := t.addr(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	pc, err := t.conn(ctx, addr, req.URL.Hostname())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	// A pooled connection needs no dial, which would have noticed a
	// context cancelled before the call: nothing may be sent for it.
	if err := ctx.Err(); err != nil {
		t.put(pc)
		closeBody(req)
		return nil, err
	}
	// A cancelled context interrupts a blocked read or write at once; the
	// deadline of the context bounds the whole exchange. The deadline is
	// set first so that it cannot undo a cancellation that comes between.
	if dl, ok := ctx.Deadline(); ok {
		_ = pc.conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = pc.conn.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		_ = pc.conn.Close()
		return nil, err
	}
	// From here on the server may receive the request: callers read this
	// (httptrace.WroteHeaders) as "it may have run", never retrying a
	// change that may have been made.
	if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.WroteHeaders != nil {
		trace.WroteHeaders()
	}
	if err := req.Write(pc.bw); err != nil {
		return fail(err)
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(err)
	}
	var resp *http.Response
	for {
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			return fail(err)
		}
		// Informational replies (103 Early Hints and the like) precede the
		// real one.
		if resp.StatusCode < 100 || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	resp.Body = &connBody{body: resp.Body, t: t, pc: pc, stop: stop, reuse: !resp.Close && !req.Close}
	return resp, nil
}

// closeBody closes a request body RoundTrip will not send, as the
// RoundTripper contract asks.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

func (t *connTransport) addr(req *http.Request) (string, error) {
	u := req.URL
	port := u.Port()
	switch {
	case u.Scheme == "https" && t.tls != nil:
		if port == "" {
			port = "443"
		}
	case u.Scheme == "http" && t.tls == nil:
		if port == "" {
			port = "80"
		}
	default:
		return "", fmt.Errorf("unsupported URL scheme %q", u.Scheme)
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// conn returns a live idle connection to addr, or a new one.
func (t *connTransport) conn(ctx context.Context, addr, host string) (*persistConn, error) {
	for {
		t.mu.Lock()
		n := len(t.idle)
		if n == 0 {
			t.mu.Unlock()
			break
		}
		pc := t.idle[n-1]
		t.idle[n-1] = nil
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
		if time.Since(pc.idleSince) < t.idleTimeout && pc.br.Buffered() == 0 && connAlive(pc.raw) {
			return pc, nil
		}
		_ = pc.conn.Close()
	}
	raw, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conn := raw
	if t.tls != nil {
		cfg := t.tls
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
		tc := tls.Client(raw, cfg)
		hctx, cancel := context.WithTimeout(ctx, t.handshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			_ = raw.Close()
			return nil, err
		}
		conn = tc
	}
	return &persistConn{conn: conn, raw: raw, br: bufio.NewReaderSize(conn, 4<<10), bw: bufio.NewWriterSize(conn, 4<<10)}, nil
}

// put returns a connection whose exchange ended cleanly to the pool.
func (t *connTransport) put(pc *persistConn) {
	if err := pc.conn.SetDeadline(time.Time{}); err != nil {
		_ = pc.conn.Close()
		return
	}
	pc.idleSince = time.Now()
	t.mu.Lock()
	if len(t.idle) >= t.maxIdle {
		t.mu.Unlock()
		_ = pc.conn.Close()
		return
	}
	t.idle = append(t.idle, pc)
	t.mu.Unlock()
}

// CloseIdleConnections closes the pooled connections.
func (t *connTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, pc := range idle {
		_ = pc.conn.Close()
	}
}

// drainWait bounds how long Close waits for the rest of a body the caller
// did not read to its end.
const drainWait = 100 * time.Millisecond

// connBody is a reply body read straight from the connection.
type connBody struct {
	body  io.ReadCloser
	t     *connTransport
	pc    *persistConn
	stop  func() bool
	eof   bool
	err   error
	reuse bool
}

func (b *connBody) Read(p []byte) (int, error) {
	if b.pc == nil {
		return 0, errors.New("read on a closed reply body")
	}
	n, err := b.body.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		b.eof = true
	case err != nil:
		b.err = err
	}
	return n, err
}

// Close ends the exchange: the connection goes back to the pool only when
// the whole body was read, no read failed, neither side asked to close,
// and the context was not cancelled meanwhile (its deadline poisoned the
// connection).
func (b *connBody) Close() error {
	pc := b.pc
	if pc == nil {
		return nil
	}
	b.pc = nil
	if !b.eof && b.err == nil {
		// A caller that read exactly the announced length has not seen
		// the end yet; a little more is drained, as net/http does, rather
		// than dropping a good connection. A server that stalls meanwhile
		// must not hold up Close: the drain gets a moment, no more.
		_ = pc.conn.SetReadDeadline(time.Now().Add(drainWait))
		if _, err := io.CopyN(io.Discard, b.body, 4<<10); errors.Is(err, io.EOF) {
			b.eof = true
		}
	}
	// b.body.Close is not called: after the end it does nothing, and
	// before it, it would read all the rest of the reply, however long.
	stopped := b.stop()
	if b.eof && b.err == nil && b.reuse && stopped {
		b.t.put(pc)
		return nil
	}
	return pc.conn.Close()
}

// useConnTransport reports whether a client for u talks to its server
// directly, with connTransport; through a proxy it keeps net/http's
// Transport, which speaks CONNECT, and so it does where connections cannot
// be checked before reuse (canPeek).
func useConnTransport(u string) bool {
	if !canPeek {
		return false
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	proxy, err := http.ProxyFromEnvironment(req)
	return err == nil && proxy == nil && (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://"))
}
