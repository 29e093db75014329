// Package pace decides how many calls a bulk run keeps in flight to one
// server at a time.
//
// Nobody knows in advance how many password changes a server takes at once:
// a large idle server takes many, a small or busy one few, and sending more
// than it can serve only builds a queue on the server (or gets 503). New
// returns a per-server controller that finds the pace itself, the way TCP
// Vegas finds a path's capacity: it starts low, grows while the reply
// latency stays near the best it has seen, and backs off when latency rises
// (a queue is forming) or the server says it is overloaded (429 or 503),
// honouring Retry-After by starting nothing new until then. Fixed keeps a
// constant number, for --concurrency N.
//
// Both are safe for concurrent use. A caller takes a Token before each call
// and reports the call's outcome on it:
//
//	tok, err := lim.Acquire(ctx)
//	if err != nil { ... }            // the context ended
//	start := time.Now()
//	reply, err := send(ctx)
//	tok.Done(time.Since(start), overloaded(reply), retryAfter(reply))
package pace

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// Limiter bounds the calls in flight to one server.
type Limiter interface {
	// Acquire waits until a call may start: fewer calls than the limit
	// are in flight and no Retry-After pause is running. It fails only
	// when ctx ends.
	Acquire(ctx context.Context) (Token, error)
	// Limit is the current number of calls allowed in flight.
	Limit() int
}

// Token is one started call. Done must be called exactly once (later calls
// are ignored).
type Token interface {
	// Done ends the call. latency is the time from sending to the
	// reply (Transport measures to its first byte); 0 means no reply came (the call never reached the
	// server or was cancelled), and then it says nothing about the
	// server's pace. overloaded marks a reply that said the server is too
	// busy (HTTP 429 or 503), and retryAfter is its Retry-After (0 if
	// none): no new call starts before it has passed.
	Done(latency time.Duration, overloaded bool, retryAfter time.Duration)
}

// Clock is the time source, injectable for tests.
type Clock interface {
	Now() time.Time
	// After is time.After on this clock.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Reason says why a limit changed.
type Reason string

// Reasons for a Change.
const (
	// ReasonGrow: replies stayed as fast as the best seen, so one more
	// call (half as many again while starting) may be in flight.
	ReasonGrow Reason = "grow"
	// ReasonLatency: replies slowed down, a queue is forming on the server.
	ReasonLatency Reason = "latency"
	// ReasonOverload: the server answered 429 or 503.
	ReasonOverload Reason = "overload"
	// ReasonRetryAfter: the server asked for a pause; the limit may be
	// unchanged (From == To) and Pause says how long no call starts.
	ReasonRetryAfter Reason = "retry-after"
	// ReasonProbe: a round at half the limit to measure the latency
	// without a queue, and the return from it.
	ReasonProbe Reason = "probe"
)

// Change is one decision of a limiter, for -v logs and the progress line.
type Change struct {
	From, To int
	Reason   Reason
	// Latency is the mean reply latency that led to the decision and Best
	// the best mean seen so far (both 0 when not latency-driven).
	Latency, Best time.Duration
	// Pause is the Retry-After pause (ReasonRetryAfter only).
	Pause time.Duration
}

// String formats the change for a log line.
func (c Change) String() string {
	switch {
	case c.Reason == ReasonRetryAfter:
		return fmt.Sprintf("concurrency %d → %d: server asked to retry after %s", c.From, c.To, c.Pause)
	case c.Latency > 0:
		return fmt.Sprintf("concurrency %d → %d (%s: latency %s, best %s)", c.From, c.To, c.Reason,
			c.Latency.Round(100*time.Microsecond), c.Best.Round(100*time.Microsecond))
	}
	return fmt.Sprintf("concurrency %d → %d (%s)", c.From, c.To, c.Reason)
}

// Defaults of Options. The start is the fixed concurrency bulk runs had
// before they paced themselves, so a paced run is never more aggressive at
// first than an unpaced one was; a lower start costs rounds that a short
// run (50 rows on a server of 300 ms calls is nine round trips) cannot make
// up: from 2, a server whose pace is 6 is reached after three rounds and
// eight calls fewer than it could have served, from 4 after one and two.
const (
	DefaultInitial = 4
	DefaultMax     = 16
)

// Options tune a limiter; the zero value of each field picks its default.
type Options struct {
	// Initial is the starting limit of New; 0 means DefaultInitial.
	Initial int
	// Max caps the limit of New; 0 means DefaultMax.
	Max int
	// Clock is the time source; nil means the system clock.
	Clock Clock
	// OnChange, when set, is told every change of the limit and every
	// Retry-After pause. It is called without locks held, but from the
	// goroutine that called Done, so it should be quick.
	OnChange func(Change)
}

// Tuning of the adaptive controller. The queue estimate is Vegas's: with
// limit calls in flight, a mean latency rtt and the best mean seen best,
// about limit × (1 − best/rtt) calls are waiting on the server rather than
// being served.
const (
	// growBelow: grow while latency stays within this factor of the
	// best. Some tolerance is needed: between a reply and the client's
	// next call a worker idles, so a server is only kept busy by a call
	// or so more than its workers, which costs a little latency.
	growBelow = 1.10
	// shrinkAt: shrink when latency is this factor above the best and at
	// least shrinkQueued calls are estimated queued (so that a rise at a
	// small limit, which no call of ours can have caused, is no queue).
	shrinkAt     = 1.20
	shrinkQueued = 0.8
	// minRound is the least number of replies a decision rests on once
	// past the start, so jitter in one reply does not decide.
	minRound = 4
	// holdBase and holdMax bound the rounds waited before probing one
	// more call after a probe found a queue: each failed probe doubles
	// the wait, so a limit found at the server's capacity is left alone
	// for longer and longer, and a queue is rarely built to test it.
	holdBase = 2
	holdMax  = 32
	// holdOverload is the wait after a 429 or 503.
	holdOverload = 8
	// confirmRounds is how many rounds in a row must show a queue before
	// the limit shrinks: one slow round is as often a descheduled client
	// or a stall on a busy machine as a queue, and shrinking on it halves
	// the pace on a small server for no reason.
	confirmRounds = 2
	// probeEvery is how many rounds pass between two measuring rounds at
	// half the limit. The best latency is only a baseline if it was seen
	// without a queue; a limiter that started above the server's capacity
	// (or whose server got faster) would otherwise take a queue for the
	// baseline and keep it. Like BBR's ProbeRTT, the cost is one round in
	// probeEvery at half speed.
	probeEvery = 64
)

// limiter implements both New and Fixed: Fixed just never changes its limit.
type limiter struct {
	clock    Clock
	onChange func(Change)
	adaptive bool
	max      int

	mu         sync.Mutex
	limit      int
	inflight   int
	pauseUntil time.Time
	wake       chan struct{} // closed and replaced when a waiter may go on

	// Adaptive state. epoch counts limit changes: only calls started
	// under the current limit tell how the server copes with it.
	epoch     uint64
	slowStart bool
	best      time.Duration
	sum       time.Duration
	n         int
	hold      int  // rounds to wait before the next probe
	failures  int  // probes in a row that found a queue
	probing   bool // the last growth was a probe (past the start)
	rounds    int  // decisions made
	queueSeen int  // rounds in a row that showed a queue
	restore   int  // limit to return to after a measuring round; 0 when none
	initial   int  // the starting limit
	measure   bool // measure at half the limit after the next round
	direct    bool // no shrink yet: the first goes straight to what the server served
}

// New returns an adaptive limiter for one server.
func New(o Options) Limiter {
	l := newLimiter(o)
	l.adaptive, l.slowStart, l.direct = true, true, true
	l.max = o.Max
	if l.max <= 0 {
		l.max = DefaultMax
	}
	l.limit = o.Initial
	if l.limit <= 0 {
		l.limit = DefaultInitial
	}
	l.limit = min(l.limit, l.max)
	l.initial = l.limit
	return l
}

// Fixed returns a limiter that keeps n calls in flight (at least 1). It
// still honours Retry-After; o.Initial and o.Max are ignored.
func Fixed(n int, o Options) Limiter {
	l := newLimiter(o)
	l.limit = max(n, 1)
	l.max = l.limit
	return l
}

func newLimiter(o Options) *limiter {
	l := &limiter{clock: o.Clock, onChange: o.OnChange, wake: make(chan struct{})}
	if l.clock == nil {
		l.clock = systemClock{}
	}
	return l
}

// Limit implements Limiter.
func (l *limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

// Acquire implements Limiter.
func (l *limiter) Acquire(ctx context.Context) (Token, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("wait for a call slot: %w", err)
		}
		l.mu.Lock()
		wake := l.wake
		var pause <-chan time.Time
		if wait := l.pauseUntil.Sub(l.clock.Now()); wait > 0 {
			pause = l.clock.After(wait)
		} else if l.inflight < l.limit {
			l.inflight++
			t := &token{l: l, epoch: l.epoch}
			l.mu.Unlock()
			return t, nil
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-wake:
		case <-pause:
		}
	}
}

// broadcast lets every waiter look again; callers hold mu.
func (l *limiter) broadcast() {
	close(l.wake)
	l.wake = make(chan struct{})
}

type token struct {
	l     *limiter
	epoch uint64
	done  bool // guarded by l.mu
}

// Done implements Token.
func (t *token) Done(latency time.Duration, overloaded bool, retryAfter time.Duration) {
	l := t.l
	l.mu.Lock()
	if t.done {
		l.mu.Unlock()
		return
	}
	t.done = true
	l.inflight--
	var changes []Change
	if retryAfter > 0 {
		if until := l.clock.Now().Add(retryAfter); until.After(l.pauseUntil) {
			l.pauseUntil = until
			changes = append(changes, Change{From: l.limit, To: l.limit, Reason: ReasonRetryAfter, Pause: retryAfter})
		}
	}
	if l.adaptive && t.epoch == l.epoch {
		// A call started under an older limit describes that limit; and
		// a burst of 503s from one window counts as one signal, as TCP
		// halves once per window of losses.
		if c, ok := l.observe(latency, overloaded); ok {
			changes = append(changes, c)
		}
	}
	l.broadcast()
	l.mu.Unlock()
	if l.onChange != nil {
		for _, c := range changes {
			l.onChange(c)
		}
	}
}

// observe takes one reply into account; callers hold mu. It returns the
// change it made, if any.
func (l *limiter) observe(latency time.Duration, overloaded bool) (Change, bool) {
	if overloaded {
		l.slowStart, l.probing, l.direct = false, false, false
		l.hold = holdOverload
		return l.setLimit(l.limit/2, ReasonOverload, 0)
	}
	if latency <= 0 {
		return Change{}, false
	}
	l.sum += latency
	l.n++
	round := l.limit
	if !l.slowStart {
		round = max(round, minRound)
	}
	if l.n < round {
		return Change{}, false
	}
	rtt := l.sum / time.Duration(l.n)
	l.sum, l.n = 0, 0
	l.rounds++
	if l.restore > 0 {
		// The measuring round at half the limit is over: take its
		// latency as a baseline and go back; the next round judges
		// the old limit against it.
		l.best = min(l.best, rtt)
		back := l.restore
		l.restore = 0
		return l.setLimit(back, ReasonProbe, rtt)
	}
	if l.slowStart && (l.limit > l.initial || l.limit >= l.max) && l.limit > 1 {
		// The start ends after its first growth, with a round at half:
		// the best latency so far comes from the first rounds, which on
		// a client busy opening connections to many servers at once are
		// slow for the client's sake, and the queue that more growth
		// builds on the server would replace that delay unseen. Each
		// further call is a connection (a TLS handshake on both ends and
		// memory until the end of the run) and another half as many
		// again could overrun a short queue in front of a server of this
		// size with 503s: from here growth is one call at a time, and
		// the first shrink still goes straight to what the server
		// served.
		l.slowStart, l.hold = false, holdBase
		l.restore = l.limit
		return l.setLimit(l.limit/2, ReasonProbe, rtt)
	}
	if !l.slowStart && (l.measure || l.rounds%probeEvery == 0) && l.limit > 1 {
		l.measure = false
		l.restore = l.limit
		return l.setLimit(l.limit/2, ReasonProbe, rtt)
	}
	return l.decide(rtt)
}

// decide ends a round whose mean latency was rtt; callers hold mu.
func (l *limiter) decide(rtt time.Duration) (Change, bool) {
	if l.best == 0 || rtt < l.best {
		l.best = rtt
	}
	ratio := float64(rtt) / float64(l.best)
	queued := float64(l.limit) * (1 - 1/ratio)
	if l.limit == 1 && ratio >= growBelow {
		// One call at a time cannot queue behind our own calls: the
		// server got slower (other load, a slower step). That is its
		// pace now.
		l.best = rtt
		return Change{}, false
	}
	shrink := ratio >= shrinkAt && queued >= shrinkQueued
	if !shrink {
		l.queueSeen = 0
	}
	switch {
	case shrink:
		l.queueSeen++
		if l.queueSeen < confirmRounds {
			return Change{}, false
		}
		l.queueSeen = 0
		target := l.limit - 1
		switch {
		case l.direct:
			// The start overshot: go straight to what the server served
			// without a queue, limit × best/rtt calls (rounded: 9 calls
			// 13% slower than the best are 8 workers busy, not 7).
			target = min(int(math.Round(float64(l.limit)/ratio)), target)
			l.slowStart, l.direct = false, false
			l.hold = holdBase
			// A server that cannot take the start had a queue in the
			// very first round, which then became the best latency: a
			// measuring round at once replaces it, rather than after
			// probeEvery rounds of a queue taken for no queue.
			l.measure = target < l.initial && target > 1
		case l.probing:
			// The probe found the server's capacity: back to the last
			// good limit, and probe less and less often.
			l.failures++
			l.hold = min(holdBase<<l.failures, holdMax)
		default:
			// The server slowed down without us growing (other load, a
			// stall): one step at a time, since a stall on a busy
			// machine looks the same and passes.
			l.hold = holdBase
		}
		l.probing = false
		return l.setLimit(target, ReasonLatency, rtt)
	case ratio < growBelow:
		if l.probing {
			// A probe that passed may still be noise: it shortens the
			// wait before the next one rather than forgetting the past.
			l.failures, l.probing = max(l.failures-1, 0), false
		}
		if l.hold > 0 {
			l.hold--
			return Change{}, false
		}
		if l.limit >= l.max {
			return Change{}, false
		}
		if l.slowStart {
			// Half as many again, not twice: the overshoot past the
			// server's pace is at most half of it, which a server with a
			// short queue (or the memory of many connections) can take.
			return l.setLimit((l.limit*3+1)/2, ReasonGrow, rtt)
		}
		l.probing = true
		return l.setLimit(l.limit+1, ReasonGrow, rtt)
	}
	// Between the two: a little queueing, keep the limit.
	return Change{}, false
}

// setLimit moves the limit to n within [1, max]; callers hold mu.
func (l *limiter) setLimit(n int, why Reason, rtt time.Duration) (Change, bool) {
	n = min(max(n, 1), l.max)
	l.sum, l.n = 0, 0
	if n == l.limit {
		return Change{}, false
	}
	c := Change{From: l.limit, To: n, Reason: why}
	if rtt > 0 {
		c.Latency, c.Best = rtt, l.best
	}
	l.limit = n
	l.epoch++
	return c, true
}
