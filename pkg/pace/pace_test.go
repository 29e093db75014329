package pace

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeClock is moved by hand; After fires when Advance passes its time.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.ch <- c.now
	}
	c.timers = kept
}

// recorder keeps every Change a limiter reports.
type recorder struct {
	mu      sync.Mutex
	changes []Change
}

func (r *recorder) add(c Change) {
	r.mu.Lock()
	r.changes = append(r.changes, c)
	r.mu.Unlock()
}

func (r *recorder) reasons() []Reason {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Reason, len(r.changes))
	for i, c := range r.changes {
		out[i] = c.Reason
	}
	return out
}

func mustAcquire(t *testing.T, l Limiter) Token {
	t.Helper()
	tok, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	return tok
}

// round runs a closed-loop client until the limiter has made one decision:
// it starts as many calls as the limit allows, ends them all with the same
// latency, and repeats.
func round(t *testing.T, l Limiter, latency time.Duration) {
	t.Helper()
	li, ok := l.(*limiter)
	if !ok || !li.adaptive {
		// A fixed limiter decides nothing: one round trip.
		li = nil
	}
	before := li.decisions()
	for {
		toks := make([]Token, l.Limit())
		for i := range toks {
			toks[i] = mustAcquire(t, l)
		}
		for _, tok := range toks {
			tok.Done(latency, false, 0)
		}
		if li == nil || li.decisions() > before {
			return
		}
	}
}

func (l *limiter) decisions() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rounds
}

const ms = time.Millisecond

// TestDecisions drives a limiter round by round with given latencies and
// checks the limit after each round.
var decisionCases = []struct {
	name      string
	opts      Options
	latencies []time.Duration // one per round
	want      []int           // limit after each round
}{
	{"the start: half as many again once, a round at half, then one more at a time after a hold",
		Options{}, []time.Duration{50 * ms, 50 * ms, 50 * ms, 50 * ms, 50 * ms, 50 * ms, 50 * ms, 50 * ms},
		[]int{6, 3, 6, 6, 6, 7, 8, 9}},
	{"a custom start and max",
		Options{Initial: 3, Max: 6}, []time.Duration{50 * ms, 50 * ms, 50 * ms, 50 * ms, 50 * ms, 50 * ms, 50 * ms},
		[]int{5, 2, 5, 5, 5, 6, 6}},
	{"back off: latency doubled at 12 means 6 are queued; seen twice, straight to 6",
		Options{Initial: 8}, []time.Duration{50 * ms, 50 * ms, 50 * ms, 100 * ms, 100 * ms},
		[]int{12, 6, 12, 12, 6}},
	{"hold: one slow round is not a queue",
		Options{Initial: 8}, []time.Duration{50 * ms, 50 * ms, 50 * ms, 100 * ms, 50 * ms, 100 * ms, 50 * ms},
		[]int{12, 6, 12, 12, 12, 12, 12}},
	{"after the first back-off, one more at a time after a hold",
		Options{}, []time.Duration{50 * ms, 50 * ms, 50 * ms, 75 * ms, 75 * ms, 50 * ms, 50 * ms, 50 * ms, 50 * ms},
		[]int{6, 3, 6, 6, 4, 4, 4, 5, 6}},
	{"hold: a little queueing keeps the limit",
		// At 6, 55 ms over a best of 50 ms is 10% slower: between
		// growing (< 10%) and shrinking (>= 20%).
		Options{}, []time.Duration{50 * ms, 50 * ms, 50 * ms, 75 * ms, 75 * ms, 50 * ms, 50 * ms, 50 * ms, 50 * ms, 55 * ms, 55 * ms, 55 * ms},
		[]int{6, 3, 6, 6, 4, 4, 4, 5, 6, 6, 6, 6}},
	{"back off rounds to the workers busy: 10 calls 26% slow are 8",
		Options{Initial: 7, Max: 10}, []time.Duration{50 * ms, 50 * ms, 50 * ms, 63 * ms, 63 * ms},
		[]int{10, 5, 10, 10, 8}},
	{"hold: 13% slower at 9 is a worker kept busy, not a queue to undo",
		Options{Initial: 6, Max: 9}, []time.Duration{50 * ms, 50 * ms, 50 * ms, 56500 * time.Microsecond, 56500 * time.Microsecond, 56500 * time.Microsecond},
		[]int{9, 4, 9, 9, 9, 9}},
	{"past the first back-off, a slower server is followed one step at a time",
		// Twice as slow at 6: straight back to 3, below the start, so a
		// round at half measures again (1 call, 50 ms: the best
		// stands); then 3 at 100 ms is one step too many, and 2 as well.
		Options{}, []time.Duration{50 * ms, 50 * ms, 50 * ms, 100 * ms, 100 * ms, 100 * ms, 50 * ms, 100 * ms, 100 * ms, 100 * ms, 100 * ms},
		[]int{6, 3, 6, 6, 3, 1, 3, 3, 2, 2, 1}},
	{"noise is not a queue: 4% slower at 12 keeps 12",
		Options{Initial: 8}, []time.Duration{50 * ms, 50 * ms, 50 * ms, 52 * ms, 52 * ms},
		[]int{12, 6, 12, 12, 12}},
	{"the start's measuring round finds the queue a busy client's first rounds hid",
		// The first rounds took 300 ms for the client's own sake; at
		// half of 6 a round takes 200 ms, so 6 at 300 ms has 2 queued:
		// back to round(6 × 200/300) = 4.
		Options{}, []time.Duration{300 * ms, 300 * ms, 200 * ms, 300 * ms, 300 * ms, 200 * ms},
		[]int{6, 3, 6, 6, 4, 4}},
	{"a start the server cannot take: its queue is measured away at once",
		// Capacity 2 at 50 ms: 4 calls take 75 ms on average, and so do
		// 3 in the start's round at half: that becomes the best. 6 take
		// 150 ms: back to round(6 × 75/150) = 3, below the start, so a
		// round at half again (1 call, 50 ms) finds the real best, and 3
		// at 75 ms is then a queue: down to 2.
		Options{}, []time.Duration{75 * ms, 150 * ms, 75 * ms, 150 * ms, 150 * ms, 75 * ms, 50 * ms, 75 * ms, 75 * ms, 50 * ms},
		[]int{6, 3, 6, 6, 3, 1, 3, 3, 2, 2}},
	{"never below 1: at 1 a slower server becomes the new best, and growth resumes from it",
		Options{Initial: 1}, []time.Duration{50 * ms, 200 * ms, 200 * ms, 200 * ms, 200 * ms, 200 * ms, 200 * ms, 200 * ms, 200 * ms, 200 * ms},
		[]int{2, 1, 2, 2, 1, 1, 1, 1, 2, 3}},
}

func TestDecisions(t *testing.T) {
	tests := decisionCases
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Clock = newFakeClock()
			l := New(tt.opts)
			for i, lat := range tt.latencies {
				round(t, l, lat)
				if got := l.Limit(); got != tt.want[i] {
					t.Fatalf("after round %d (%v): limit %d, want %d (all: %v)", i+1, lat, got, tt.want[i], tt.want)
				}
			}
		})
	}
}

// TestFindsCapacity runs the controller against a model server with c
// workers and a service time D: with k calls in flight a reply takes
// D × max(1, k/c). Once past the start (two measuring rounds, when a start
// above the capacity has been found out) it must keep every worker busy
// with latency near the best: at c, or a call or two above where that
// costs less than 20 % (the slack that keeps a worker busy while the client
// turns around), probing one more and measuring at half only now and then.
func TestFindsCapacity(t *testing.T) {
	const warmup, rounds = 2 * probeEvery, 500
	for _, tc := range []struct {
		capacity, max int
		wantLimit     int
	}{{1, 16, 1}, {2, 16, 2}, {3, 16, 3}, {4, 16, 4}, {8, 16, 9}, {12, 16, 14}, {30, 16, 16}} {
		l := New(Options{Max: tc.max, Clock: newFakeClock()})
		at := map[int]int{}
		for i := range warmup + rounds {
			k := l.Limit()
			if i >= warmup {
				at[k]++
			}
			round(t, l, time.Duration(float64(50*ms)*max(1, float64(k)/float64(tc.capacity))))
		}
		if settled := at[tc.wantLimit]; settled < rounds*90/100 {
			t.Errorf("capacity %d: %d of %d rounds at %d; rounds per limit %v", tc.capacity, settled, rounds, tc.wantLimit, at)
		}
		for k, n := range at {
			if low := min(tc.capacity, tc.max) / 2; k > tc.wantLimit+1 || k < low {
				t.Errorf("capacity %d: %d rounds at limit %d, want none outside [%d, %d]; rounds per limit %v", tc.capacity, n, k, low, tc.wantLimit+1, at)
			}
		}
	}
}

func TestOverloadHalvesOncePerWindow(t *testing.T) {
	rec := &recorder{}
	// A start at the max ends at once, with a round at half.
	l := New(Options{Initial: 8, Max: 8, Clock: newFakeClock(), OnChange: rec.add})
	round(t, l, 50*ms) // 4
	round(t, l, 50*ms) // back to 8
	if got := l.Limit(); got != 8 {
		t.Fatalf("limit %d after the start, want 8", got)
	}
	toks := make([]Token, 8)
	for i := range toks {
		toks[i] = mustAcquire(t, l)
	}
	// Three 503s from the same window: one halving, not three.
	for _, tok := range toks[:3] {
		tok.Done(5*ms, true, 0)
	}
	if got := l.Limit(); got != 4 {
		t.Fatalf("after a burst of 503s: limit %d, want 4", got)
	}
	for _, tok := range toks[3:] {
		tok.Done(50*ms, false, 0)
	}
	// A 503 on a call started under the new limit halves again.
	mustAcquire(t, l).Done(5*ms, true, 0)
	if got := l.Limit(); got != 2 {
		t.Fatalf("after a 503 in the next window: limit %d, want 2", got)
	}
	want := []Reason{ReasonProbe, ReasonProbe, ReasonOverload, ReasonOverload}
	if got := rec.reasons(); !equal(got, want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
	// Overload ends the start: growth is by one, after a hold.
	for range holdOverload {
		round(t, l, 50*ms)
	}
	if got := l.Limit(); got != 2 {
		t.Fatalf("during the hold after a 503: limit %d, want 2", got)
	}
	round(t, l, 50*ms)
	if got := l.Limit(); got != 3 {
		t.Fatalf("after the hold: limit %d, want 3", got)
	}
}

func equal(a, b []Reason) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRetryAfterPausesNewStarts(t *testing.T) {
	for _, tc := range []struct {
		name string
		mk   func(Options) Limiter
	}{
		{"auto", New},
		{"fixed", func(o Options) Limiter { return Fixed(4, o) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := newFakeClock()
				rec := &recorder{}
				l := tc.mk(Options{Clock: clk, OnChange: rec.add})
				mustAcquire(t, l).Done(5*ms, true, 2*time.Second)
				got := make(chan error, 1)
				go func() {
					tok, err := l.Acquire(context.Background())
					if err == nil {
						tok.Done(50*ms, false, 0)
					}
					got <- err
				}()
				synctest.Wait()
				select {
				case err := <-got:
					t.Fatalf("Acquire returned during the Retry-After pause (err %v)", err)
				default:
				}
				clk.Advance(1999 * ms)
				synctest.Wait()
				select {
				case <-got:
					t.Fatal("Acquire returned 1 ms before the pause ended")
				default:
				}
				clk.Advance(ms)
				if err := <-got; err != nil {
					t.Fatalf("Acquire after the pause: %v", err)
				}
				var pauses int
				for _, r := range rec.reasons() {
					if r == ReasonRetryAfter {
						pauses++
					}
				}
				if pauses != 1 {
					t.Fatalf("changes %v: want one retry-after", rec.reasons())
				}
			})
		})
	}
}

func TestShorterRetryAfterDoesNotShortenPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		l := Fixed(2, Options{Clock: clk})
		a, b := mustAcquire(t, l), mustAcquire(t, l)
		a.Done(ms, true, 3*time.Second)
		b.Done(ms, true, time.Second)
		done := make(chan struct{})
		go func() {
			mustAcquire(t, l).Done(ms, false, 0)
			close(done)
		}()
		clk.Advance(2 * time.Second)
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("a 1 s Retry-After shortened a 3 s pause")
		default:
		}
		clk.Advance(time.Second)
		<-done
	})
}

func TestFixedKeepsItsLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		l := Fixed(3, Options{Clock: newFakeClock(), OnChange: rec.add, Max: 1})
		for range 20 {
			round(t, l, 50*ms)
		}
		mustAcquire(t, l).Done(500*ms, true, 0)
		if got := l.Limit(); got != 3 {
			t.Fatalf("limit %d, want 3", got)
		}
		if len(rec.reasons()) != 0 {
			t.Fatalf("a fixed limiter reported changes %v", rec.reasons())
		}
		// The fourth call waits for one of three to end.
		toks := []Token{mustAcquire(t, l), mustAcquire(t, l), mustAcquire(t, l)}
		got := make(chan Token)
		go func() { got <- mustAcquire(t, l) }()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("a fourth call started with three in flight")
		default:
		}
		toks[0].Done(ms, false, 0)
		(<-got).Done(ms, false, 0)
		if l := Fixed(0, Options{}).Limit(); l != 1 {
			t.Fatalf("Fixed(0) limit %d, want 1", l)
		}
	})
}

func TestDoneTwiceCountsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := Fixed(1, Options{Clock: newFakeClock()})
		tok := mustAcquire(t, l)
		tok.Done(ms, false, 0)
		tok.Done(ms, false, 0) // must not free a second slot
		mustAcquire(t, l)
		got := make(chan struct{})
		go func() { mustAcquire(t, l); close(got) }()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("a second Done freed a slot that was not held")
		default:
		}
		// The goroutine stays blocked; end the bubble by freeing a slot.
		l.(*limiter).mu.Lock()
		l.(*limiter).inflight = 0
		l.(*limiter).broadcast()
		l.(*limiter).mu.Unlock()
		<-got
	})
}

func TestAcquireHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		for _, tc := range []struct {
			name  string
			setup func(Limiter)
		}{
			{"full", func(l Limiter) { mustAcquire(t, l) }},
			{"paused", func(l Limiter) { mustAcquire(t, l).Done(ms, true, time.Hour) }},
		} {
			l := Fixed(1, Options{Clock: clk})
			tc.setup(l)
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error)
			go func() {
				_, err := l.Acquire(ctx)
				errc <- err
			}()
			synctest.Wait()
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("%s: Acquire after cancel: %v, want context.Canceled", tc.name, err)
			}
		}
	})
}

func TestLatencyZeroIsNoSample(t *testing.T) {
	l := New(Options{Clock: newFakeClock()})
	for range 10 {
		mustAcquire(t, l).Done(0, false, 0)
	}
	if got := l.Limit(); got != DefaultInitial {
		t.Fatalf("limit %d after calls without replies, want %d", got, DefaultInitial)
	}
}

func TestChangeString(t *testing.T) {
	tests := []struct {
		c    Change
		want string
	}{
		{Change{From: 8, To: 9, Reason: ReasonGrow, Latency: 50 * ms, Best: 50 * ms}, "concurrency 8 → 9 (grow: latency 50ms, best 50ms)"},
		{Change{From: 8, To: 4, Reason: ReasonOverload}, "concurrency 8 → 4 (overload)"},
		{Change{From: 4, To: 4, Reason: ReasonRetryAfter, Pause: time.Second}, "concurrency 4 → 4: server asked to retry after 1s"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
