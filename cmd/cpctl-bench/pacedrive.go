package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/pace"
	"github.com/cpctl/cpctl/pkg/simulator"
)

// Measurement 7 runs the pace controller in process: until the bulk runner
// takes a pace.Limiter, the rows go through pkg/cpanel's client directly, one
// limiter per server, each call taking a token and reporting its latency and
// any 429/503 on it. This is the loop the bulk runner is to have.

// paceTarget is one server a paced run drives.
type paceTarget struct {
	URL    string `json:"url"`
	CAFile string `json:"ca_file"`
}

// paceSpec is a paced run: the same rows (accounts u000000 …) on every
// target, with an adaptive limiter (Fixed 0) or a fixed one.
type paceSpec struct {
	Targets []paceTarget `json:"targets"`
	Rows    int          `json:"rows"`
	Fixed   int          `json:"fixed"`
	// Log, when set, gets every limit change (as cpctl -v would log it).
	Log io.Writer `json:"-"`
}

// paceReport is what a paced run saw, summed over its targets.
type paceReport struct {
	Wall      time.Duration   `json:"wall"`
	Latencies []time.Duration `json:"latencies"` // successful replies
	Overloads int             `json:"overloads"` // 429/503 replies, each retried
	Failures  int             `json:"failures"`  // rows that did not succeed
	FirstErr  string          `json:"first_error,omitempty"`
	Changes   int             `json:"changes"`    // limit changes
	PeakLimit int             `json:"peak_limit"` // highest limit of any target
	Final     []int           `json:"final"`      // each target's limit at the end
}

// overloadNote carries a reply's status and Retry-After from the transport
// back to the row that made the call: pkg/cpanel reports a 503 as an error
// but does not expose its Retry-After.
type overloadNote struct {
	status     int
	retryAfter time.Duration
	sent       atomic.Int64 // when the request was written, Unix ns; set by the transport's writer
}

type overloadNoteKey struct{}

// noteTransport records the status and Retry-After of each reply in the
// request context's overloadNote.
type noteTransport struct{ base http.RoundTripper }

func (t noteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if n, ok := req.Context().Value(overloadNoteKey{}).(*overloadNote); ok {
		n.status = resp.StatusCode
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			n.retryAfter = time.Duration(secs) * time.Second
		}
	}
	return resp, nil
}

// newPacedClient is a WHM client for one target that leaves 503s to the
// caller (MaxRetries -1): the limiter, not the client, decides when to try
// again.
func newPacedClient(t paceTarget, conns int) (*cpanel.Client, error) {
	pem, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("CA file holds no certificate")
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	c, err := cpanel.New(cpanel.Config{URL: t.URL, Kind: cpanel.KindWHM, Auth: cpanel.AuthToken, User: "root",
		Secret: simulator.SampleRootToken, MaxRetries: -1, Transport: noteTransport{base: tr}, Timeout: time.Minute})
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return c, nil
}

// maxAttempts bounds how often one row is sent while the server answers 503.
const maxAttempts = 100

// runPaced drives spec's rows on every target at once and returns the
// wall time until the last row of the last target finished.
func runPaced(ctx context.Context, spec paceSpec) (paceReport, error) {
	workers := pace.DefaultMax
	if spec.Fixed > 0 {
		workers = spec.Fixed
	}
	pws, err := passwordPool(spec.Rows)
	if err != nil {
		return paceReport{}, err
	}
	clients := make([]*cpanel.Client, len(spec.Targets))
	for i, t := range spec.Targets {
		if clients[i], err = newPacedClient(t, workers); err != nil {
			return paceReport{}, err
		}
	}
	defer func() {
		for _, c := range clients {
			_ = c.Close(ctx)
		}
	}()
	var (
		mu  sync.Mutex
		rep paceReport
		wg  sync.WaitGroup
	)
	rep.Final = make([]int, len(clients))
	var start time.Time // set before any call can change a limit
	start = time.Now()
	for ti, c := range clients {
		var lim pace.Limiter
		peak := 0
		opts := pace.Options{OnChange: func(ch pace.Change) {
			mu.Lock()
			if spec.Log != nil {
				fmt.Fprintf(spec.Log, "%7.3fs %s: %s\n", time.Since(start).Seconds(), spec.Targets[ti].URL, ch)
			}
			rep.Changes++
			peak = max(peak, ch.To)
			rep.PeakLimit = max(rep.PeakLimit, peak)
			mu.Unlock()
		}}
		if spec.Fixed > 0 {
			lim = pace.Fixed(spec.Fixed, opts)
		} else {
			lim = pace.New(opts)
		}
		var next atomic.Int64
		for range workers {
			wg.Go(func() {
				var lats []time.Duration
				var over, fails int
				var firstErr error
				for {
					i := int(next.Add(1) - 1)
					if i >= spec.Rows || ctx.Err() != nil {
						break
					}
					lat, n, err := pacedRow(ctx, c, lim, accountName(i), pws[i])
					over += n
					if err != nil {
						fails++
						firstErr = firstOf(firstErr, err)
						continue
					}
					lats = append(lats, lat)
				}
				mu.Lock()
				rep.Latencies = append(rep.Latencies, lats...)
				rep.Overloads += over
				rep.Failures += fails
				if firstErr != nil && rep.FirstErr == "" {
					rep.FirstErr = firstErr.Error()
				}
				rep.Final[ti] = lim.Limit()
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	rep.Wall = time.Since(start)
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("paced run: %w", err)
	}
	return rep, nil
}

func firstOf(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// pacedRow changes one account's password, sending again after each
// 429/503 (the call did not run) or a failure before the request was
// written, once the limiter lets it. It
// returns the latency of the successful reply and the number of overloads.
func pacedRow(ctx context.Context, c *cpanel.Client, lim pace.Limiter, user, pw string) (time.Duration, int, error) {
	for attempt := range maxAttempts {
		tok, err := lim.Acquire(ctx)
		if err != nil {
			return 0, attempt, err
		}
		note := &overloadNote{}
		cctx := context.WithValue(ctx, overloadNoteKey{}, note)
		// The latency runs from the request written to the reply read: a
		// new connection's TLS handshake says nothing about the server's
		// queue, and counting it would make every growth look like one.
		start := time.Now()
		cctx = httptrace.WithClientTrace(cctx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { note.sent.Store(time.Now().UnixNano()) },
		})
		res, err := c.AccountPasswd(cctx, cpanel.WHMAPI1, user, pw, cpanel.AccountPasswdOptions{})
		if ns := note.sent.Load(); ns != 0 {
			start = time.Unix(0, ns)
		}
		lat := time.Since(start)
		if err != nil && (note.status == http.StatusServiceUnavailable || note.status == http.StatusTooManyRequests) {
			tok.Done(lat, true, note.retryAfter)
			continue
		}
		if err != nil && note.sent.Load() == 0 && ctx.Err() == nil {
			// The request was never written (no connection, or the
			// handshake failed): nothing ran, so it is safe to send again,
			// and a server that cannot take a connection is overloaded.
			tok.Done(0, true, 0)
			continue
		}
		if err != nil {
			// Written and no readable reply: the change may have been
			// applied, so the row is not sent again.
			tok.Done(0, false, 0)
			return 0, attempt, fmt.Errorf("%s: %w", user, err)
		}
		tok.Done(lat, false, 0)
		if !res.OK {
			return 0, attempt, fmt.Errorf("%s: not a success: %s", user, res.Message)
		}
		return lat, attempt, nil
	}
	return 0, maxAttempts, fmt.Errorf("%s: still overloaded after %d attempts", user, maxAttempts)
}

// medianLatency is the median of a report's reply latencies.
func (r paceReport) medianLatency() time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.Latencies)
	slices.Sort(s)
	return s[len(s)/2]
}
