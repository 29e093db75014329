package simulator

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Capacity models a server with a limited number of workers, the way a busy
// cPanel server (or the proxy in front of it) behaves: at most Limit API
// calls are in service at once, each taking ServiceTime (± ServiceJitter);
// the others wait their turn, and with a QueueLimit a call that finds the
// queue full is answered 503 with Retry-After, without running. Options.Latency
// is the network delay and comes on top of the queue and the service time.
// The zero value (Limit 0) means unlimited capacity and no service time.
type Capacity struct {
	// Limit is how many calls are in service at once; 0 turns the model off.
	Limit int
	// ServiceTime is how long one call keeps a worker busy.
	ServiceTime time.Duration
	// ServiceJitter spreads the service time uniformly over
	// [ServiceTime-ServiceJitter, ServiceTime+ServiceJitter], so its mean
	// stays ServiceTime and an ideal of calls × ServiceTime / Limit holds.
	ServiceJitter time.Duration
	// QueueLimit is how many calls may wait for a worker; 0 means no limit.
	QueueLimit int
	// RetryAfter is the Retry-After of an overflow 503, rounded up to whole
	// seconds; 0 means 1 s.
	RetryAfter time.Duration
}

// gate enforces a Capacity for one simulator: both listeners share it, as
// WHM and cPanel share one machine.
type gate struct {
	c     Capacity
	slots chan *worker  // the idle workers
	queue chan struct{} // one entry per waiting call; nil without QueueLimit
}

// worker is one of the server's workers.
type worker struct {
	// free is when its last call's service ended, on the model's clock:
	// a call that waited for it starts then, not when the runtime got
	// round to waking the waiter, so timer lateness on a busy machine does
	// not lower the modelled capacity (as the latency counts from arrival).
	free time.Time
}

func newGate(c Capacity) *gate {
	if c.Limit <= 0 {
		return nil
	}
	g := &gate{c: c, slots: make(chan *worker, c.Limit)}
	if c.QueueLimit > 0 {
		g.queue = make(chan struct{}, c.QueueLimit)
	}
	for range c.Limit {
		g.slots <- &worker{}
	}
	return g
}

// wrap puts next behind the gate; a nil gate changes nothing.
func (g *gate) wrap(next http.Handler) http.Handler {
	if g == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isAPIPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		arrived := time.Now()
		wk := g.enter(r.Context())
		if wk == nil {
			if r.Context().Err() == nil {
				g.overflow(w)
			}
			return
		}
		g.service(r.Context(), wk, arrived)
		g.slots <- wk
		next.ServeHTTP(w, r)
	})
}

// isAPIPath says whether a request is an API call or a login (work for the
// server) rather than a static page.
func isAPIPath(p string) bool {
	if m := cpsessRE().FindStringSubmatch(p); m != nil {
		p = m[2]
	}
	return isAPICall(p) || strings.HasPrefix(p, "/login")
}

// enter takes a worker, waiting in the queue if all are busy. It returns
// nil when the queue is full or the caller gave up.
func (g *gate) enter(ctx context.Context) *worker {
	select {
	case wk := <-g.slots:
		return wk
	default:
	}
	if g.queue != nil {
		select {
		case g.queue <- struct{}{}:
			defer func() { <-g.queue }()
		default:
			return nil
		}
	}
	// Blocked receivers on a channel are woken in arrival order, so the
	// queue is first come, first served.
	select {
	case wk := <-g.slots:
		return wk
	case <-ctx.Done():
		return nil
	}
}

// service keeps wk busy for one call's service time, which starts when
// the call arrived or when wk became free, whichever is later.
func (g *gate) service(ctx context.Context, wk *worker, arrived time.Time) {
	d := g.c.ServiceTime
	if j := g.c.ServiceJitter; j > 0 {
		d += time.Duration(rand.Int64N(int64(2*j)+1)) - j
	}
	start := arrived
	if wk.free.After(start) {
		start = wk.free
	}
	wk.free = start.Add(max(d, 0))
	sleep(ctx, time.Until(wk.free))
}

// overflow answers a call that found the queue full, as an overloaded
// server or its proxy does: 503 with Retry-After, nothing run.
func (g *gate) overflow(w http.ResponseWriter) {
	ra := g.c.RetryAfter
	if ra <= 0 {
		ra = time.Second
	}
	writeReply(w, unavailable(ra, "The server is too busy to handle the request. Try again later."))
}
