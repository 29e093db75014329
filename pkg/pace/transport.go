package pace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Transport returns an http.RoundTripper that runs every request through l:
// it waits for a token before the request is sent and ends the token when
// the reply's body is closed or read to the end (or at once when the round
// trip fails), reporting the latency, whether the server said it is
// overloaded (429 or 503) and its Retry-After. Pacing at this layer counts
// what the server sees: every HTTP request, the client's own retries and a
// session's login included.
//
// When base is an *http.Transport and l comes from New or Fixed, Transport
// sends through a copy of base that also keeps the connections to the
// server, open or being dialled, at most l's limit. net/http dials a new
// connection whenever a request finds none idle, and hands the next one
// returned to whichever request has waited longest, so on a busy client,
// where a TLS handshake takes longer than the gap between two replies,
// every reply after a growth can start one more dial: measured on 200
// servers at a limit of 9, 1,785 connections of which 811 never carried a
// request. Each costs a handshake on both ends and memory until the end of
// the run.
func Transport(base http.RoundTripper, l Limiter) http.RoundTripper {
	t := &transport{base: base, lim: l, now: time.Now}
	if hb, ok := base.(*http.Transport); ok {
		if li, ok := l.(*limiter); ok {
			tr := hb.Clone()
			g := &connGate{l: li, dial: tr.DialContext, freed: make(chan struct{})}
			if g.dial == nil {
				g.dial = (&net.Dialer{}).DialContext
			}
			tr.DialContext = g.dialContext
			t.base = tr
		}
	}
	return t
}

type transport struct {
	base http.RoundTripper
	lim  Limiter
	now  func() time.Time
}

// CloseIdleConnections closes the idle connections of the transport below,
// as http.Client.CloseIdleConnections expects of its transport.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Reserve waits for room for one call to l, as Transport does for each
// request, but before the caller has built its request: a caller with more
// workers per server than the limit (a bulk run keeps up to the maximum, most
// of them waiting while the limit is lower) then waits holding nothing, not
// a built request and the deep stack of an HTTP client. The first request
// that Transport sends through l with the returned context uses the room;
// later ones (a retry, a login) wait for their own. release gives the room
// back if no request used it; call it once the call is over.
func Reserve(ctx context.Context, l Limiter) (context.Context, func(), error) {
	tok, err := l.Acquire(ctx)
	if err != nil {
		return ctx, func() {}, err
	}
	r := &reservation{lim: l, tok: tok}
	return context.WithValue(ctx, reservationKey{}, r), r.release, nil
}

type reservationKey struct{}

// reservation is a token taken before its request was built.
type reservation struct {
	lim Limiter
	mu  sync.Mutex
	tok Token // nil once a request took it or it was released
}

func (r *reservation) take() Token {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tok
	r.tok = nil
	return t
}

func (r *reservation) release() {
	if t := r.take(); t != nil {
		t.Done(0, false, 0) // nothing was sent: no news of the server's pace
	}
}

// gotConn is closed when a request got its connection.
type gotConn struct {
	once sync.Once
	ch   chan struct{}
}

type gotConnKey struct{}

// errNotNeeded ends a dial whose request got a connection that another
// request gave back; net/http drops it.
var errNotNeeded = errors.New("pace: the request that wanted this connection got another")

// connGate keeps the connections to one server, open or being dialled, at
// most the limiter's current limit. A dial beyond it waits until one
// closes or the limit grows, or gives up once the request that wanted it
// got a connection another request gave back (it has a call in flight
// fewer than the limit, so one is idle or about to be). Without giving up,
// each such dial would wait to the end of the run: net/http hands a
// returning connection to the request that has waited longest, so after
// one request found none idle, every later one can too.
type connGate struct {
	l    *limiter
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu    sync.Mutex
	conns int
	freed chan struct{} // closed and replaced when a connection closes
}

func (g *connGate) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var served <-chan struct{}
	if got, ok := ctx.Value(gotConnKey{}).(*gotConn); ok {
		served = got.ch
	}
	for {
		g.l.mu.Lock()
		limit, grown := g.l.limit, g.l.wake
		g.l.mu.Unlock()
		g.mu.Lock()
		if g.conns < limit {
			g.conns++
			g.mu.Unlock()
			break
		}
		freed := g.freed
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for room for a connection: %w", ctx.Err())
		case <-served:
			return nil, errNotNeeded
		case <-grown: // any change of the limiter, the limit included
		case <-freed:
		}
	}
	c, err := g.dial(ctx, network, addr)
	if err != nil {
		g.release()
		return nil, err
	}
	return &gatedConn{Conn: c, g: g}, nil
}

func (g *connGate) release() {
	g.mu.Lock()
	g.conns--
	close(g.freed)
	g.freed = make(chan struct{})
	g.mu.Unlock()
}

// gatedConn gives its place back to the gate when closed.
type gatedConn struct {
	net.Conn
	g    *connGate
	once sync.Once
}

func (c *gatedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.g.release)
	return err
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var tok Token
	if r, ok := req.Context().Value(reservationKey{}).(*reservation); ok && r.lim == t.lim {
		tok = r.take()
	}
	if tok == nil {
		var err error
		if tok, err = t.lim.Acquire(req.Context()); err != nil {
			if req.Body != nil {
				_ = req.Body.Close() // a RoundTripper must close the body, even on error
			}
			return nil, err
		}
	}
	// Latency counts from the request written to the first byte of the
	// reply, both seen by the connection's own goroutines: a new
	// connection's handshake is not the server's queue, and neither is the
	// wait of the goroutines that read the reply to be scheduled, which on
	// a busy client (hundreds of servers at once) is as long as a queue.
	var start, first atomic.Int64
	start.Store(t.now().UnixNano())
	// A dial net/http starts for this request keeps its context's values:
	// the gate lets it go once the request got a connection otherwise.
	got := &gotConn{ch: make(chan struct{})}
	ctx := context.WithValue(req.Context(), gotConnKey{}, got)
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn:              func(httptrace.GotConnInfo) { got.once.Do(func() { close(got.ch) }) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { start.Store(t.now().UnixNano()) },
		GotFirstResponseByte: func() { first.Store(t.now().UnixNano()) },
	}))
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		// No reply: nothing is known of the server's pace.
		tok.Done(0, false, 0)
		return nil, err
	}
	overloaded := resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests
	var wait time.Duration
	if overloaded {
		wait = RetryAfter(resp.Header.Get("Retry-After"), t.now())
	}
	resp.Body = &doneBody{ReadCloser: resp.Body, done: func() {
		end := first.Load()
		if end == 0 {
			end = t.now().UnixNano() // a transport that does not trace
		}
		tok.Done(time.Duration(max(end-start.Load(), 1)), overloaded, wait)
	}}
	return resp, nil
}

// doneBody ends a token once, when the body is read to the end or closed.
type doneBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *doneBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.done)
	}
	return n, err
}

func (b *doneBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// RetryAfter reads a Retry-After value given in seconds or as an HTTP date;
// 0 when it is missing, malformed or already past. A server cannot make a
// client pause for more than maxRetryAfter.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return 0
		}
		d = time.Duration(min(n, int(maxRetryAfter/time.Second))) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// maxRetryAfter bounds a pause a server asks for: a hostile or broken
// server must not stall a run for hours.
const maxRetryAfter = 5 * time.Minute
