package simulator

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
	slots chan struct{} // one token per call in service
	sleep func(context.Context, time.Duration)

	mu      sync.Mutex
	waiting int
}

func newGate(c Capacity, sleep func(context.Context, time.Duration)) *gate {
	if c.Limit <= 0 {
		return nil
	}
	return &gate{c: c, slots: make(chan struct{}, c.Limit), sleep: sleep}
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
		if !g.enter(r.Context()) {
			if r.Context().Err() == nil {
				g.overflow(w)
			}
			return
		}
		g.service(r.Context())
		<-g.slots
		next.ServeHTTP(w, r)
	})
}

// isAPIPath says whether a request is an API call or a login (work for the
// server) rather than a static page.
func isAPIPath(p string) bool {
	if m := cpsessRE.FindStringSubmatch(p); m != nil {
		p = m[2]
	}
	return strings.HasPrefix(p, "/json-api/") || strings.HasPrefix(p, "/xml-api/") ||
		strings.HasPrefix(p, "/execute/") || strings.HasPrefix(p, "/login")
}

// enter takes a worker, waiting in the queue if all are busy. It returns
// false when the queue is full or the caller gave up.
func (g *gate) enter(ctx context.Context) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
	}
	g.mu.Lock()
	if g.c.QueueLimit > 0 && g.waiting >= g.c.QueueLimit {
		g.mu.Unlock()
		return false
	}
	g.waiting++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
	}()
	// Blocked senders on a channel are woken in arrival order, so the
	// queue is first come, first served.
	select {
	case g.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// service keeps the worker busy for one call's service time.
func (g *gate) service(ctx context.Context) {
	d := g.c.ServiceTime
	if j := g.c.ServiceJitter; j > 0 {
		d += time.Duration(rand.Int64N(int64(2*j)+1)) - j
	}
	g.sleep(ctx, d)
}

// overflow answers a call that found the queue full, as an overloaded
// server or its proxy does: 503 with Retry-After, nothing run.
func (g *gate) overflow(w http.ResponseWriter) {
	ra := g.c.RetryAfter
	if ra <= 0 {
		ra = time.Second
	}
	secs := int((ra + time.Second - 1) / time.Second)
	writeReply(w, reply{status: http.StatusServiceUnavailable, ctype: ctHTML,
		body:    htmlPage("503 Service Unavailable", "The server is too busy to handle the request. Try again later."),
		headers: map[string]string{"Retry-After": strconv.Itoa(secs)}})
}
