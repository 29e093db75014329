package pace

import (
	"io"
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
func Transport(base http.RoundTripper, l Limiter) http.RoundTripper {
	return &transport{base: base, lim: l, now: time.Now}
}

type transport struct {
	base http.RoundTripper
	lim  Limiter
	now  func() time.Time
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.lim.Acquire(req.Context())
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper must close the body, even on error
		}
		return nil, err
	}
	// Latency counts from the request written to the first byte of the
	// reply, both seen by the connection's own goroutines: a new
	// connection's handshake is not the server's queue, and neither is the
	// wait of the goroutines that read the reply to be scheduled, which on
	// a busy client (hundreds of servers at once) is as long as a queue.
	var start, first atomic.Int64
	start.Store(t.now().UnixNano())
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
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
