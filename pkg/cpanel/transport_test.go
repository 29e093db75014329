//go:build unix

package cpanel

// These tests run where connTransport is used (canPeek).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// connCounter counts the connections an httptest server accepted and closed.
type connCounter struct{ opened, closed atomic.Int32 }

func (c *connCounter) hook(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		c.opened.Add(1)
	case http.StateClosed, http.StateHijacked:
		c.closed.Add(1)
	}
}

// countingServer starts an httptest server (TLS when withTLS) that counts its connections.
func countingServer(t *testing.T, withTLS bool, h http.HandlerFunc) (*httptest.Server, *connCounter) {
	t.Helper()
	cc := &connCounter{}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = cc.hook
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if withTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, cc
}

// trustingTLS trusts exactly srv's certificate.
func trustingTLS(srv *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// transportFor is a connTransport for srv, closed at cleanup.
func transportFor(t *testing.T, srv *httptest.Server) *connTransport {
	t.Helper()
	var tr *connTransport
	if srv.TLS != nil {
		tr = newConnTransport(trustingTLS(srv))
	} else {
		tr = newConnTransport(nil)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// traced returns ctx with a trace that records whether WroteHeaders was called.
func traced(ctx context.Context) (context.Context, *atomic.Bool) {
	var wrote atomic.Bool
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }}), &wrote
}

// reply is what one exchange returned.
type reply struct {
	status int
	header http.Header
	body   string
}

// do sends one request through tr and reads the whole reply.
func do(ctx context.Context, tr http.RoundTripper, method, url string, body io.Reader) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return reply{}, err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return reply{}, err
	}
	data, err := io.ReadAll(resp.Body)
	cerr := resp.Body.Close()
	if err == nil {
		err = cerr
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(data)}, err
}

func idleCount(tr *connTransport) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.idle)
}

// rawServer speaks hand-written HTTP/1.1 on a loopback listener. Its answer function gets the
// connection's number, the request's number on that connection and the request, and returns
// the raw reply and whether to close the connection after it.
type rawServer struct {
	ln     net.Listener
	answer func(conn, n int, req *http.Request, body []byte) (string, bool)
	// closedConn receives a connection's number once the server has closed it.
	closedConn chan int
	done       chan struct{}

	mu      sync.Mutex
	perConn []int
	bodies  []string
	conns   []net.Conn
	wg      sync.WaitGroup
}

func newRawServer(t *testing.T, answer func(conn, n int, req *http.Request, body []byte) (string, bool)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, answer: answer, closedConn: make(chan int, 1024), done: make(chan struct{})}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		close(s.done)
		_ = ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() }

func (s *rawServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		id := len(s.perConn)
		s.perConn = append(s.perConn, 0)
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go s.handle(id, c)
	}
}

func (s *rawServer) handle(id int, c net.Conn) {
	defer s.wg.Done()
	defer func() {
		_ = c.Close()
		s.closedConn <- id
	}()
	br := bufio.NewReader(c)
	for n := 0; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.perConn[id]++
		s.bodies = append(s.bodies, string(body))
		s.mu.Unlock()
		out, closeAfter := s.answer(id, n, req, body)
		if _, err := io.WriteString(c, out); err != nil || closeAfter {
			return
		}
	}
}

// requestsPerConn is how many requests each connection carried, in accept order.
func (s *rawServer) requestsPerConn() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.perConn...)
}

// waitClosed waits until the server has closed connection id.
func (s *rawServer) waitClosed(t *testing.T, id int) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case got := <-s.closedConn:
			if got == id {
				return
			}
		case <-timeout:
			t.Fatalf("server did not close connection %d", id)
		}
	}
}

// okReply is a framed reply naming the connection and the request it answers.
func okReply(conn, n int, extra string) string {
	body := fmt.Sprintf("conn=%d req=%d", conn, n)
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s", len(body), extra, body)
}

func TestConnTransportKeepAlive(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", withTLS), func(t *testing.T) {
			srv, cc := countingServer(t, withTLS, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, r.URL.Path)
			})
			tr := transportFor(t, srv)
			ctx := context.Background()
			for i := range 20 {
				path := "/seq/" + strconv.Itoa(i)
				rep, err := do(ctx, tr, http.MethodGet, srv.URL+path, nil)
				if err != nil || rep.status != 200 || rep.body != path {
					t.Fatalf("request %d: %+v, %v", i, rep, err)
				}
			}
			if n := cc.opened.Load(); n != 1 {
				t.Fatalf("20 sequential requests used %d connections, want 1", n)
			}
			if n := idleCount(tr); n != 1 {
				t.Fatalf("%d idle connections pooled, want 1", n)
			}
		})
	}
}

func TestConnTransportConcurrent(t *testing.T) {
	srv, cc := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Path)
	})
	tr := transportFor(t, srv)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				path := fmt.Sprintf("/w%d/r%d", g, i)
				rep, err := do(context.Background(), tr, http.MethodGet, srv.URL+path, nil)
				if err != nil || rep.body != path {
					errs <- fmt.Errorf("%s: %+v, %v", path, rep, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := cc.opened.Load(); n < 1 || n > workers {
		t.Fatalf("%d goroutines used %d connections, want 1..%d", workers, n, workers)
	}
	if n := idleCount(tr); n != int(cc.opened.Load()) {
		t.Fatalf("%d connections pooled after the run, want all %d", n, cc.opened.Load())
	}
}

func TestConnTransportConnectionClose(t *testing.T) {
	t.Run("server", func(t *testing.T) {
		srv, cc := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, r.URL.Path)
		})
		tr := transportFor(t, srv)
		for i := range 3 {
			path := "/c" + strconv.Itoa(i)
			rep, err := do(context.Background(), tr, http.MethodGet, srv.URL+path, nil)
			if err != nil || rep.body != path {
				t.Fatalf("request %d: %+v, %v", i, rep, err)
			}
			if n := idleCount(tr); n != 0 {
				t.Fatalf("a Connection: close reply left %d pooled connections", n)
			}
		}
		if n := cc.opened.Load(); n != 3 {
			t.Fatalf("3 requests after Connection: close used %d connections, want 3", n)
		}
	})
	t.Run("client", func(t *testing.T) {
		srv, cc := countingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, r.URL.Path)
		})
		tr := transportFor(t, srv)
		for i := range 2 {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
			req.Close = true
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if n := idleCount(tr); n != 0 {
				t.Fatalf("request %d with Close set left %d pooled connections", i, n)
			}
		}
		if n := cc.opened.Load(); n != 2 {
			t.Fatalf("%d connections, want 2", n)
		}
	})
}

// TestConnTransportServerClosedIdle checks that a request is never written into a pooled
// connection the server has already closed.
func TestConnTransportServerClosedIdle(t *testing.T) {
	t.Run("raw close after reply", func(t *testing.T) {
		// The reply does not say it will close: only the liveness check can tell.
		rs := newRawServer(t, func(conn, n int, _ *http.Request, _ []byte) (string, bool) {
			return okReply(conn, n, ""), true
		})
		tr := newConnTransport(nil)
		t.Cleanup(tr.CloseIdleConnections)
		for i := range 4 {
			rep, err := do(context.Background(), tr, http.MethodPost, rs.url()+"/p", strings.NewReader("k=v"))
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			if want := fmt.Sprintf("conn=%d req=0", i); rep.body != want {
				t.Fatalf("request %d: body %q, want %q", i, rep.body, want)
			}
			if idleCount(tr) != 1 {
				t.Fatalf("request %d: the unannounced close should look like a poolable connection", i)
			}
			rs.waitClosed(t, i)
		}
		for i, n := range rs.requestsPerConn() {
			if n != 1 {
				t.Fatalf("connection %d carried %d requests, want 1: %v", i, n, rs.requestsPerConn())
			}
		}
	})
	t.Run("tls CloseClientConnections", func(t *testing.T) {
		srv, cc := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, r.URL.Path)
		})
		tr := transportFor(t, srv)
		for i := range 3 {
			path := "/t" + strconv.Itoa(i)
			rep, err := do(context.Background(), tr, http.MethodPost, srv.URL+path, strings.NewReader("a=b"))
			if err != nil || rep.body != path {
				t.Fatalf("request %d: %+v, %v", i, rep, err)
			}
			srv.CloseClientConnections()
			deadline := time.Now().Add(5 * time.Second)
			for cc.closed.Load() != int32(i+1) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
		if n := cc.opened.Load(); n != 3 {
			t.Fatalf("%d connections, want 3", n)
		}
	})
}

func TestConnTransportReplyFraming(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
	var chunked strings.Builder
	for i := 0; i < len(big); i += 5000 {
		part := big[i:min(i+5000, len(big))]
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", len(part), part)
	}
	chunked.WriteString("0\r\nX-Trailer: t\r\n\r\n")
	tests := []struct {
		name     string
		method   string
		raw      string
		close    bool // the server closes after the reply
		status   int
		body     string
		reusable bool // the next request goes on the same connection
	}{
		{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", false, 200, "hello world", true},
		{"chunked large", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked.String(), false, 200, big, true},
		{"close delimited", "GET", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", true, 200, "until the end", false},
		{"http/1.0", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold", false, 200, "old", false},
		{"early hints", "GET", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </b.js>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200, "ok", true},
		{"100 continue", "POST", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nmade", false, 201, "made", true},
		{"head", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", false, 200, "", true},
		{"204", "GET", "HTTP/1.1 204 No Content\r\n\r\n", false, 204, "", true},
		{"304", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", false, 304, "", true},
		{"large content-length", "GET", fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(big), big), false, 200, big, true},
		{"bytes after the reply", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale", false, 200, "ok", false},
		{"connection close header", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nby", true, 200, "by", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := newRawServer(t, func(conn, n int, req *http.Request, _ []byte) (string, bool) {
				if n == 0 && conn == 0 {
					return tc.raw, tc.close
				}
				return okReply(conn, n, ""), false
			})
			tr := newConnTransport(nil)
			t.Cleanup(tr.CloseIdleConnections)
			var body io.Reader
			if tc.method == "POST" {
				body = strings.NewReader("x=1")
			}
			rep, err := do(context.Background(), tr, tc.method, rs.url()+"/first", body)
			if err != nil {
				t.Fatalf("first request: %v", err)
			}
			if rep.status != tc.status || rep.body != tc.body {
				t.Fatalf("first reply: status %d body %.40q (len %d), want %d %.40q (len %d)",
					rep.status, rep.body, len(rep.body), tc.status, tc.body, len(tc.body))
			}
			if tc.close {
				rs.waitClosed(t, 0)
			}
			rep, err = do(context.Background(), tr, http.MethodGet, rs.url()+"/second", nil)
			if err != nil {
				t.Fatalf("second request: %v", err)
			}
			want := "conn=1 req=0"
			if tc.reusable {
				want = "conn=0 req=1"
			}
			if rep.body != want {
				t.Fatalf("second reply %q, want %q (reusable=%v)", rep.body, want, tc.reusable)
			}
		})
	}
}

// TestConnTransportEarlyClose: a body closed before its end must not leave its rest to be read
// as the next reply.
func TestConnTransportEarlyClose(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		reused bool // a short rest is drained and the connection kept
	}{
		{"large rest", 256 << 10, false},
		{"short rest", 100, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := strings.Repeat("z", tc.size)
			srv, cc := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/big" {
					_, _ = io.WriteString(w, payload)
					return
				}
				_, _ = io.WriteString(w, "small:"+r.URL.Path)
			})
			tr := transportFor(t, srv)
			resp := startBody(t, tr, srv.URL+"/big")
			if err := resp.Body.Close(); err != nil && tc.reused {
				t.Fatalf("Close: %v", err)
			}
			if _, err := resp.Body.Read(make([]byte, 10)); err == nil {
				t.Fatal("Read after Close succeeded")
			}
			for i := range 3 {
				rep, err := do(context.Background(), tr, http.MethodGet, srv.URL+"/n"+strconv.Itoa(i), nil)
				if want := "small:/n" + strconv.Itoa(i); err != nil || rep.body != want {
					t.Fatalf("request after early close: %.60q, %v; want %q", rep.body, err, want)
				}
			}
			want := int32(2)
			if tc.reused {
				want = 1
			}
			if n := cc.opened.Load(); n != want {
				t.Fatalf("%d connections, want %d", n, want)
			}
		})
	}
}

// TestConnTransportAbandonedBodyClose: closing a body the caller stopped reading must return
// at once, whether the server stalls or keeps streaming, and must not pool the connection.
func TestConnTransportAbandonedBodyClose(t *testing.T) {
	t.Run("stalled", func(t *testing.T) {
		rs := newRawServer(t, func(conn, n int, _ *http.Request, _ []byte) (string, bool) {
			if conn == 0 {
				// Announce 100 bytes, send 10, stall.
				return "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", false
			}
			return okReply(conn, n, ""), false
		})
		tr := newConnTransport(nil)
		t.Cleanup(tr.CloseIdleConnections)
		abandon(t, tr, rs.url()+"/stall")
		rep, err := do(context.Background(), tr, http.MethodGet, rs.url()+"/next", nil)
		if err != nil || rep.body != "conn=1 req=0" {
			t.Fatalf("next request: %q, %v", rep.body, err)
		}
	})
	t.Run("endless stream", func(t *testing.T) {
		stopped := make(chan error, 1)
		srv, _ := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/stream" {
				_, _ = io.WriteString(w, "ok")
				return
			}
			chunk := bytes.Repeat([]byte("s"), 32<<10)
			end := time.Now().Add(10 * time.Second)
			var err error
			for err == nil && time.Now().Before(end) {
				if _, err = w.Write(chunk); err == nil {
					err = http.NewResponseController(w).Flush()
				}
			}
			stopped <- err
		})
		tr := transportFor(t, srv)
		abandon(t, tr, srv.URL+"/stream")
		select {
		case err := <-stopped:
			if err == nil {
				t.Fatal("the server streamed for 10 s into an abandoned body")
			}
		case <-time.After(2 * time.Second):
			t.Fatal("the server could still write 2 s after the body was closed")
		}
		if n := idleCount(tr); n != 0 {
			t.Fatalf("%d connections pooled after an abandoned body", n)
		}
		if rep, err := do(context.Background(), tr, http.MethodGet, srv.URL+"/next", nil); err != nil || rep.body != "ok" {
			t.Fatalf("next request: %+v, %v", rep, err)
		}
	})
}

// startBody GETs url and reads the first 10 bytes of the reply body, leaving the rest unread.
func startBody(t *testing.T, tr *connTransport, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	return resp
}

// abandon reads 10 bytes of url's reply body and closes it, failing if Close takes a second.
func abandon(t *testing.T, tr *connTransport, url string) {
	t.Helper()
	resp := startBody(t, tr, url)
	start := time.Now()
	closed := make(chan struct{})
	go func() {
		_ = resp.Body.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("Close of an abandoned body blocked for 2 s")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close of an abandoned body took %v", d)
	}
}

func TestConnTransportCancel(t *testing.T) {
	release := make(chan struct{})
	srv, cc := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
		_, _ = io.WriteString(w, r.URL.Path)
	})
	t.Cleanup(func() { close(release) })
	tr := transportFor(t, srv)
	// A pooled connection first, so that the cancelled exchanges below run on a reused one.
	if rep, err := do(context.Background(), tr, http.MethodGet, srv.URL+"/warm", nil); err != nil || rep.body != "/warm" {
		t.Fatalf("warm-up: %+v, %v", rep, err)
	}
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ctx, wrote := traced(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := do(ctx, tr, http.MethodPost, srv.URL+"/slow", strings.NewReader("a=1"))
		if d := time.Since(start); err == nil || d > time.Second {
			t.Fatalf("cancelled exchange: err %v after %v", err, d)
		}
		if !wrote.Load() {
			t.Fatal("WroteHeaders was not called for a request that was sent")
		}
		if n := idleCount(tr); n != 0 {
			t.Fatalf("the cancelled connection was pooled (%d idle)", n)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		ctx, wrote := traced(ctx)
		start := time.Now()
		_, err := do(ctx, tr, http.MethodPost, srv.URL+"/slow", strings.NewReader("a=1"))
		if d := time.Since(start); err == nil || d > time.Second {
			t.Fatalf("exchange past its deadline: err %v after %v", err, d)
		}
		// call.go's deadlinePassed recognises a timeout by this.
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("deadline error %v is not os.ErrDeadlineExceeded", err)
		}
		if !wrote.Load() {
			t.Fatal("WroteHeaders was not called for a request that was sent")
		}
		if n := idleCount(tr); n != 0 {
			t.Fatalf("the timed-out connection was pooled (%d idle)", n)
		}
	})
	t.Run("cancel after reply before close", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/quick", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(resp.Body)
		if err != nil || string(data) != "/quick" {
			t.Fatalf("%q, %v", data, err)
		}
		cancel()
		_ = resp.Body.Close()
		if n := idleCount(tr); n != 0 {
			t.Fatalf("a connection whose context was cancelled was pooled (%d idle)", n)
		}
	})
	before := cc.opened.Load()
	if rep, err := do(context.Background(), tr, http.MethodGet, srv.URL+"/after", nil); err != nil || rep.body != "/after" {
		t.Fatalf("request after the cancellations: %+v, %v", rep, err)
	}
	if cc.opened.Load() != before+1 {
		t.Fatal("the request after the cancellations did not open a new connection")
	}
}

// TestConnTransportCancelledBeforeSend: a context cancelled before RoundTrip must not let the
// request reach the server, even over a pooled connection that needs no dial.
func TestConnTransportCancelledBeforeSend(t *testing.T) {
	var posts atomic.Int32
	srv, _ := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		_, _ = io.WriteString(w, "ok")
	})
	tr := transportFor(t, srv)
	for i := range 20 {
		if _, err := do(context.Background(), tr, http.MethodGet, srv.URL+"/warm", nil); err != nil {
			t.Fatal(err)
		}
		if idleCount(tr) != 1 {
			t.Fatal("warm-up connection not pooled")
		}
		// With a deadline and without one: the deadline must not revive the connection.
		ctx, cancel := context.WithCancel(context.Background())
		if i%2 == 1 {
			ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
		}
		cancel()
		ctx, wrote := traced(ctx)
		_, err := do(ctx, tr, http.MethodPost, srv.URL+"/change", strings.NewReader("pass=x"))
		if err == nil {
			t.Fatalf("round %d: a request with a cancelled context succeeded", i)
		}
		if wrote.Load() {
			t.Fatalf("round %d: WroteHeaders called for a request whose context was already cancelled", i)
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: error %v is not context.Canceled", i, err)
		}
	}
	// Give a request that slipped through time to arrive.
	if _, err := do(context.Background(), tr, http.MethodGet, srv.URL+"/sync", nil); err != nil {
		t.Fatal(err)
	}
	if n := posts.Load(); n != 0 {
		t.Fatalf("the server received %d requests sent with a cancelled context", n)
	}
}

func TestConnTransportConnectFailures(t *testing.T) {
	tlsSrv, _ := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "reached")
	})
	// A port that was just free: nothing listens on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	_ = ln.Close()

	untrusted, err := tlsConfig("127.0.0.1", "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := tlsConfig("127.0.0.1", "", false, "sha256:"+strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		tls   *tls.Config
		url   string
		check func(error) bool
	}{
		{"closed port", nil, "http://" + closedAddr + "/", func(err error) bool {
			var op *net.OpError
			return errors.As(err, &op) && op.Op == "dial"
		}},
		{"untrusted certificate", untrusted, tlsSrv.URL + "/", func(err error) bool {
			_, ok := asUntrusted(err)
			return ok
		}},
		{"pin mismatch", pinned, tlsSrv.URL + "/", func(err error) bool {
			var fm *FingerprintMismatchError
			return errors.As(err, &fm) && fm.Got == fingerprintOf(tlsSrv.Certificate())
		}},
		{"scheme mismatch", nil, tlsSrv.URL + "/", func(err error) bool {
			return strings.Contains(err.Error(), "unsupported URL scheme")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newConnTransport(tc.tls)
			t.Cleanup(tr.CloseIdleConnections)
			ctx, wrote := traced(context.Background())
			body := &closeRecorder{Reader: strings.NewReader("pass=secret")}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tc.url, body)
			resp, err := tr.RoundTrip(req)
			if err == nil {
				_ = resp.Body.Close()
				t.Fatal("RoundTrip succeeded")
			}
			if !tc.check(err) {
				t.Fatalf("unexpected error %T: %v", err, err)
			}
			if wrote.Load() {
				t.Fatal("WroteHeaders called although nothing could be sent")
			}
			if !body.closed.Load() {
				t.Fatal("the request body of an unsent request was not closed")
			}
		})
	}
}

type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

// TestConnTransportErrorsThroughNew: the failures keep the error kinds call.go gives them.
func TestConnTransportErrorsThroughNew(t *testing.T) {
	srv, cc := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, whm1PasswdOK)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "https://" + ln.Addr().String()
	_ = ln.Close()
	tests := []struct {
		name   string
		cfg    Config
		reason string
		check  func(t *testing.T, err error)
	}{
		{"closed port", Config{URL: closedURL}, "cannot connect", nil},
		{"untrusted", Config{URL: srv.URL}, "not trusted", func(t *testing.T, err error) {
			var u *UntrustedCertificateError
			if !errors.As(err, &u) || u.Cert.Fingerprint != fingerprintOf(srv.Certificate()) {
				t.Fatalf("no UntrustedCertificateError for the server's certificate in %v", err)
			}
		}},
		{"pin mismatch", Config{URL: srv.URL, Fingerprint: "sha256:" + strings.Repeat("0", 64)}, "pinned fingerprint", func(t *testing.T, err error) {
			var fm *FingerprintMismatchError
			if !errors.As(err, &fm) {
				t.Fatalf("no FingerprintMismatchError in %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Kind, cfg.Auth, cfg.User, cfg.Secret = KindWHM, AuthToken, "root", "TOKEN123"
			cfg.MaxRetries = -1
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			if _, ok := c.hc.Transport.(*connTransport); !ok {
				t.Fatalf("client transport is %T, want *connTransport", c.hc.Transport)
			}
			_, err = c.AccountPasswd(context.Background(), WHMAPI1, "bob", newPass, AccountPasswdOptions{})
			e := wantKind(t, err, ErrTransport, tc.reason)
			if strings.Contains(e.Error(), newPass) || strings.Contains(e.Error(), "TOKEN123") {
				t.Fatalf("error text holds a secret: %v", e)
			}
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
	if n := cc.opened.Load(); n != 2 {
		t.Fatalf("the TLS server saw %d connections, want 2 (one refused handshake each)", n)
	}
}

// TestConnTransportRetriesUnsentRequest: a connection refused before anything was written is
// retried by call.go, because WroteHeaders was not called.
func TestConnTransportRetriesUnsentRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close()
	var attempts atomic.Int32
	c, err := New(Config{URL: url, Kind: KindWHM, Auth: AuthToken, User: "root", Secret: "T", MaxRetries: 2,
		Logger: func(Exchange) { attempts.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.AccountPasswd(context.Background(), WHMAPI1, "bob", newPass, AccountPasswdOptions{})
	wantKind(t, err, ErrTransport, "cannot connect")
	if n := attempts.Load(); n != 3 {
		t.Fatalf("%d attempts, want 3 (a refused connection sent nothing, so it is retried)", n)
	}
}

// TestUseConnTransport runs the decision in child processes: http.ProxyFromEnvironment reads
// the environment once per process, so setting variables here would test nothing.
func TestUseConnTransport(t *testing.T) {
	const probe = "CPCTL_TEST_PROXY_PROBE"
	if u, ok := os.LookupEnv(probe); ok {
		fmt.Printf("useConnTransport=%v\n", useConnTransport(u))
		return
	}
	tests := []struct {
		name string
		env  []string
		url  string
		want bool
	}{
		{"direct https", nil, "https://whm.example.com:2087", true},
		{"direct http", nil, "http://whm.example.com:2086", true},
		{"https proxy", []string{"HTTPS_PROXY=http://proxy.example.net:3128"}, "https://whm.example.com:2087", false},
		{"https proxy lower case", []string{"https_proxy=http://proxy.example.net:3128"}, "https://whm.example.com:2087", false},
		{"https proxy with a path prefix", []string{"HTTPS_PROXY=http://proxy.example.net:3128"}, "https://whm.example.com:2087/prefix", false},
		{"https proxy, http URL", []string{"HTTPS_PROXY=http://proxy.example.net:3128"}, "http://whm.example.com:2086", true},
		{"http proxy, http URL", []string{"HTTP_PROXY=http://proxy.example.net:3128"}, "http://whm.example.com:2086", false},
		{"no_proxy exempts the host", []string{"HTTPS_PROXY=http://proxy.example.net:3128", "NO_PROXY=.example.com"}, "https://whm.example.com:2087", true},
		{"no_proxy for another host", []string{"HTTPS_PROXY=http://proxy.example.net:3128", "NO_PROXY=other.org"}, "https://whm.example.com:2087", false},
		{"loopback is never proxied", []string{"HTTPS_PROXY=http://proxy.example.net:3128"}, "https://127.0.0.1:2087", true},
		{"invalid proxy", []string{"HTTPS_PROXY=http://[bad"}, "https://whm.example.com:2087", false},
		{"invalid URL", nil, "https://[::1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestUseConnTransport$", "-test.count=1")
			var env []string
			for _, kv := range os.Environ() {
				k, _, _ := strings.Cut(kv, "=")
				switch strings.ToUpper(k) {
				case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "REQUEST_METHOD", "GORACE":
					continue
				}
				env = append(env, kv)
			}
			// The race detector would otherwise sleep a second before the child exits.
			cmd.Env = append(append(env, probe+"="+tc.url, "GORACE=atexit_sleep_ms=0"), tc.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			want := fmt.Sprintf("useConnTransport=%v\n", tc.want)
			if !bytes.Contains(out, []byte(want)) {
				t.Fatalf("child said %q, want %q", out, want)
			}
		})
	}
}

func TestConnTransportCloseIdle(t *testing.T) {
	srv, cc := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // overlap the two requests so they need two connections
		_, _ = io.WriteString(w, "ok")
	})
	tr := transportFor(t, srv)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := do(context.Background(), tr, http.MethodGet, srv.URL, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := idleCount(tr); n != 2 || cc.opened.Load() != 2 {
		t.Fatalf("%d pooled of %d opened, want 2 of 2", n, cc.opened.Load())
	}
	if n := cc.closed.Load(); n != 0 {
		t.Fatalf("%d connections closed before CloseIdleConnections", n)
	}
	tr.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for cc.closed.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := cc.closed.Load(); n != 2 {
		t.Fatalf("server saw %d of 2 connections close", n)
	}
	if n := idleCount(tr); n != 0 {
		t.Fatalf("%d still pooled", n)
	}
	if rep, err := do(context.Background(), tr, http.MethodGet, srv.URL, nil); err != nil || rep.body != "ok" {
		t.Fatalf("request after CloseIdleConnections: %+v, %v", rep, err)
	}
}

// TestConnTransportRequestOnTheWire checks what the server receives, byte for byte where it
// matters.
func TestConnTransportRequestOnTheWire(t *testing.T) {
	type got struct {
		host, method, uri string
		contentLength     int64
		te                []string
		header            http.Header
		body              string
	}
	var mu sync.Mutex
	var reqs []got
	rs := newRawServer(t, func(conn, n int, req *http.Request, body []byte) (string, bool) {
		mu.Lock()
		reqs = append(reqs, got{req.Host, req.Method, req.RequestURI, req.ContentLength, req.TransferEncoding, req.Header.Clone(), string(body)})
		mu.Unlock()
		return okReply(conn, n, ""), false
	})
	tr := newConnTransport(nil)
	t.Cleanup(tr.CloseIdleConnections)
	bigValue := strings.Repeat("é&=+ %", 3000) // > 4 KiB once encoded
	form := encodeForm([]Param{{Key: "user", Value: "bob"}, {Key: "password", Value: "p&ss=wörd"}, {Key: "note", Value: bigValue}})
	req, _ := http.NewRequest(http.MethodPost, rs.url()+"/json-api/passwd?api.version=1", bytes.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "whm root:TOKEN")
	req.Header.Set("User-Agent", "cpctl-test")
	req.Header.Set("X-Cpanel-Otp", "123456")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if _, err := do(context.Background(), tr, http.MethodGet, rs.url()+"/get", nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) != 2 {
		t.Fatalf("server got %d requests, want 2", len(reqs))
	}
	p := reqs[0]
	if p.host != rs.ln.Addr().String() || p.method != "POST" || p.uri != "/json-api/passwd?api.version=1" {
		t.Fatalf("request line/host: %q %q host %q", p.method, p.uri, p.host)
	}
	if p.contentLength != int64(len(form)) || len(p.te) != 0 {
		t.Fatalf("Content-Length %d (want %d), Transfer-Encoding %v", p.contentLength, len(form), p.te)
	}
	if p.body != string(form) {
		t.Fatal("the form body arrived altered")
	}
	for k, v := range map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"Authorization": "whm root:TOKEN", "User-Agent": "cpctl-test", "X-Cpanel-Otp": "123456"} {
		if p.header.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, p.header.Get(k), v)
		}
	}
	for _, r := range reqs {
		if v, ok := r.header["Accept-Encoding"]; ok {
			t.Errorf("%s request carries Accept-Encoding %q", r.method, v)
		}
	}
	g := reqs[1]
	if g.method != "GET" || g.contentLength != 0 || len(g.te) != 0 || g.body != "" {
		t.Fatalf("GET arrived as %+v", g)
	}
}

// TestConnTransportSimulator: a client made by New uses connTransport against the simulator,
// changes a password and keeps one connection for consecutive calls.
func TestConnTransportSimulator(t *testing.T) {
	srv := startSim(t, simState())
	c := simClient(t, srv, KindWHM, AuthToken, "root", simulator.SampleRootToken)
	tr, ok := c.hc.Transport.(*connTransport)
	if !ok {
		t.Fatalf("client transport is %T, want *connTransport", c.hc.Transport)
	}
	if c.transport != nil {
		t.Fatal("a direct client also built an http.Transport")
	}
	ctx := context.Background()
	var first *persistConn
	for i := range 3 {
		pw := fmt.Sprintf("%s-%d", newPass, i)
		res, err := c.AccountPasswd(ctx, WHMAPI1, "bob", pw, AccountPasswdOptions{})
		if err != nil || !res.OK {
			t.Fatalf("passwd %d: %+v, %v", i, res, err)
		}
		if !srv.Sim.CheckPassword("bob", pw) {
			t.Fatalf("passwd %d did not reach the simulator", i)
		}
		tr.mu.Lock()
		idle := append([]*persistConn(nil), tr.idle...)
		tr.mu.Unlock()
		if len(idle) != 1 {
			t.Fatalf("after call %d: %d pooled connections, want 1", i, len(idle))
		}
		if first == nil {
			first = idle[0]
		} else if idle[0] != first {
			t.Fatalf("call %d used a new connection", i)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if idleCount(tr) != 0 {
		t.Fatal("Close left pooled connections")
	}
}
