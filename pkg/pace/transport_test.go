package pace

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// doneRecorder is a Limiter that records what each token was told.
type doneRecorder struct {
	mu    sync.Mutex
	calls []doneCall
}

type doneCall struct {
	latency    time.Duration
	overloaded bool
	retryAfter time.Duration
}

func (r *doneRecorder) Acquire(context.Context) (Token, error) { return recToken{r}, nil }
func (r *doneRecorder) Limit() int                             { return 1 }

type recToken struct{ r *doneRecorder }

func (t recToken) Done(l time.Duration, o bool, ra time.Duration) {
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	t.r.calls = append(t.r.calls, doneCall{l, o, ra})
}

// TestTransportReports checks what the pacing transport tells the limiter:
// one Done per request, after the body, with the server's overload signal
// and Retry-After; nothing about the pace when no reply came.
func TestTransportReports(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/busy":
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/slow-down":
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			_, _ = io.WriteString(w, `{"metadata":{"result":1}}`)
		}
	}))
	defer srv.Close()

	tests := []struct {
		path       string
		overloaded bool
		retryAfter time.Duration
	}{
		{"/ok", false, 0},
		{"/busy", true, 2 * time.Second},
		{"/slow-down", true, 0},
	}
	for _, tt := range tests {
		rec := &doneRecorder{}
		c := &http.Client{Transport: Transport(http.DefaultTransport, rec)}
		resp, err := c.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.calls) != 0 {
			t.Errorf("%s: the token ended before the body was read", tt.path)
		}
		_, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if len(rec.calls) != 1 {
			t.Fatalf("%s: %d Done calls, want 1", tt.path, len(rec.calls))
		}
		got := rec.calls[0]
		if got.overloaded != tt.overloaded || got.retryAfter != tt.retryAfter || got.latency <= 0 {
			t.Errorf("%s: Done(%v, %v, %v), want overloaded %v retry-after %v and a latency",
				tt.path, got.latency, got.overloaded, got.retryAfter, tt.overloaded, tt.retryAfter)
		}
	}

	// A refused connection: the token ends with no latency, which says
	// nothing about the server's pace.
	srv.Close()
	rec := &doneRecorder{}
	c := &http.Client{Transport: Transport(http.DefaultTransport, rec)}
	if resp, err := c.Get(srv.URL); err == nil {
		_ = resp.Body.Close()
		t.Fatal("want an error from a closed server")
	}
	if len(rec.calls) != 1 || rec.calls[0].latency != 0 || rec.calls[0].overloaded {
		t.Errorf("after a failed round trip: %+v, want one Done with no latency", rec.calls)
	}
}

// fullLimiter never has room: Acquire fails as it does when the caller's
// context ends while waiting.
type fullLimiter struct{}

var errNoRoom = errors.New("no room")

func (fullLimiter) Acquire(context.Context) (Token, error) { return nil, errNoRoom }
func (fullLimiter) Limit() int                             { return 0 }

// TestTransportWaitsForLimit checks that nothing reaches the server unless
// the limiter lets the request start.
func TestTransportWaitsForLimit(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("pass=x"))
	resp, err := Transport(http.DefaultTransport, fullLimiter{}).RoundTrip(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	if !errors.Is(err, errNoRoom) {
		t.Fatalf("err = %v, want the limiter's", err)
	}
	if hits.Load() != 0 {
		t.Error("the request reached the server without a token")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"1", time.Second},
		{" 30 ", 30 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"999999999", maxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.in, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestTransportLatencyToFirstByte checks what the latency spans: from the
// request written to the reply's first byte, not to the end of a body that
// the caller reads later (on a busy client, after waiting to be scheduled).
func TestTransportLatencyToFirstByte(t *testing.T) {
	var clock atomic.Int64 // nanoseconds, moved by hand
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		clock.Store(int64(10 * time.Millisecond))
		_, _ = io.WriteString(w, `{"metadata":`)
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, `{"result":1}}`)
	}))
	defer srv.Close()
	rec := &doneRecorder{}
	c := &http.Client{Transport: &transport{base: http.DefaultTransport, lim: rec, now: now}}
	resp, err := c.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader("pass=x"))
	if err != nil {
		t.Fatal(err)
	}
	clock.Store(int64(time.Second)) // the caller gets round to the body late
	close(release)
	_, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if len(rec.calls) != 1 || rec.calls[0].latency != 10*time.Millisecond {
		t.Fatalf("Done calls %+v, want one with a latency of 10ms", rec.calls)
	}
}

// TestConnGate checks that dials beyond the limit wait until a connection
// closes, the limit grows, or the dial's context ends.
func TestConnGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := Fixed(2, Options{Clock: newFakeClock()}).(*limiter)
		g := &connGate{l: lim, freed: make(chan struct{}), dial: func(context.Context, string, string) (net.Conn, error) {
			c, _ := net.Pipe()
			return c, nil
		}}
		dial := func(ctx context.Context) <-chan error {
			got := make(chan error, 1)
			go func() {
				c, err := g.dialContext(ctx, "tcp", "server:2087")
				if err == nil {
					t.Cleanup(func() { _ = c.Close() })
				}
				got <- err
			}()
			return got
		}
		a, err := g.dialContext(context.Background(), "tcp", "server:2087")
		if err != nil {
			t.Fatal(err)
		}
		if err := <-dial(context.Background()); err != nil {
			t.Fatal(err)
		}
		third := dial(context.Background())
		synctest.Wait()
		select {
		case <-third:
			t.Fatal("a third connection was dialled at a limit of 2")
		default:
		}
		_ = a.Close()
		_ = a.Close() // a second Close gives no second place back
		if err := <-third; err != nil {
			t.Fatalf("dial after a connection closed: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		fourth := dial(ctx)
		synctest.Wait()
		cancel()
		if err := <-fourth; !errors.Is(err, context.Canceled) {
			t.Fatalf("dial after its context ended: %v, want context.Canceled", err)
		}
		// A dial whose request was given a connection another request
		// gave back is not needed any more.
		got := &gotConn{ch: make(chan struct{})}
		fifth := dial(context.WithValue(context.Background(), gotConnKey{}, got))
		synctest.Wait()
		close(got.ch)
		if err := <-fifth; !errors.Is(err, errNotNeeded) {
			t.Fatalf("dial after its request got a connection: %v, want errNotNeeded", err)
		}
		if g.conns != 2 {
			t.Fatalf("%d connections counted, want 2", g.conns)
		}
	})
}

// TestTransportConnectionsWithinLimit sends many requests through a
// limiter of 3: the client never has more than 3 connections open or being
// dialled. They are counted where they are made and closed, in the client:
// the server notices a close only when it next reads, so on a busy machine
// its count could see a new connection before the old one's end (it once
// saw 4 at once).
func TestTransportConnectionsWithinLimit(t *testing.T) {
	var open, peak, total atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	srv.StartTLS()
	defer srv.Close()
	base := srv.Client().Transport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 3 // none is closed for want of room in the pool
	base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n := open.Add(1) // counted from the dial's start: "being dialled" counts
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			open.Add(-1)
			return nil, err
		}
		total.Add(1)
		return &countedConn{Conn: conn, open: &open}, nil
	}
	rt := Transport(base, Fixed(3, Options{}))
	c := &http.Client{Transport: rt}
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			for range 20 {
				resp, err := c.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.ReadAll(resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
	wg.Wait()
	// Counted before the idle connections are closed: closing them makes
	// room for the dials that waited, which net/http then cancels.
	p, n := peak.Load(), total.Load()
	c.CloseIdleConnections()
	// The rule is the peak: open or being dialled, at most the limit. A dial
	// net/http abandons once its request got another connection may have
	// reached the server before it was dropped, and its place is then
	// dialled again, so the total may pass the limit now and then on a busy
	// machine (seen once: 4). Many more would be the dial storm the gate
	// stops (811 of 1,785 connections carried no request without it).
	if p > 3 || p < 1 || n > 6 {
		t.Fatalf("%d connections made, %d open or being dialled at once, through a limit of 3", n, p)
	}
}

// countedConn takes itself off a count of open connections when closed.
type countedConn struct {
	net.Conn
	open *atomic.Int32
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// TestReserve checks that a reserved call is the first request's through
// the same limiter, that later requests wait for their own room, and that
// an unused reservation is given back.
func TestReserve(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	get := func(c *http.Client, ctx context.Context) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	lim := Fixed(1, Options{Clock: newFakeClock()}).(*limiter)
	inflight := func() int {
		lim.mu.Lock()
		defer lim.mu.Unlock()
		return lim.inflight
	}
	c := &http.Client{Transport: Transport(http.DefaultTransport, lim)}
	ctx, release, err := Reserve(context.Background(), lim)
	if err != nil {
		t.Fatal(err)
	}
	if inflight() != 1 {
		t.Fatalf("in flight after Reserve: %d, want 1", inflight())
	}
	// At a limit of 1, a request that waited for room of its own would
	// wait forever: this one uses the reservation.
	get(c, ctx)
	if inflight() != 0 {
		t.Fatalf("in flight after the reserved request: %d, want 0", inflight())
	}
	get(c, ctx) // the reservation is used up: this one takes its own room
	release()   // nothing left to give back
	if inflight() != 0 {
		t.Fatalf("in flight after release: %d, want 0", inflight())
	}

	// Unused, the room is given back once.
	_, release, err = Reserve(context.Background(), lim)
	if err != nil {
		t.Fatal(err)
	}
	release()
	release()
	if inflight() != 0 {
		t.Fatalf("in flight after an unused reservation was released: %d, want 0", inflight())
	}

	// Another limiter's transport does not take this one's room.
	other := Fixed(1, Options{Clock: newFakeClock()})
	ctx, release, err = Reserve(context.Background(), lim)
	if err != nil {
		t.Fatal(err)
	}
	get(&http.Client{Transport: Transport(http.DefaultTransport, other)}, ctx)
	if inflight() != 1 {
		t.Fatalf("in flight after another limiter's request: %d, want the reservation still held", inflight())
	}
	release()
}
