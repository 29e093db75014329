package batch

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/fate"
)

// stepLimiter is an adjustable limiter, as an adaptive controller would be:
// it allows 1 request in flight until `after` rows were released, then
// `to`. It records the most in flight under each limit and what Release
// was told.
type stepLimiter struct {
	mu        sync.Mutex
	changed   chan struct{} // closed, and replaced, whenever room may have appeared
	limit     int
	inUse     int
	released  int
	after, to int
	maxAt     map[int]int // limit → most in flight under it
	errs      []error
	latencies []time.Duration
}

func newStepLimiter(after, to int) *stepLimiter {
	return &stepLimiter{changed: make(chan struct{}), limit: 1, after: after, to: to, maxAt: map[int]int{}}
}

func (l *stepLimiter) Acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.inUse < l.limit {
			l.inUse++
			l.maxAt[l.limit] = max(l.maxAt[l.limit], l.inUse)
			l.mu.Unlock()
			return nil
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (l *stepLimiter) Release(latency time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inUse--
	l.released++
	l.errs = append(l.errs, err)
	l.latencies = append(l.latencies, latency)
	if l.released == l.after {
		l.limit = l.to
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// TestLimiterAdjustsConcurrency runs through a limiter that raises its
// limit from 1 to 3 during the run: the runner never has more in flight
// than the limit of the moment, uses the new room (up to its Concurrency
// ceiling), and reports every row's latency and outcome to Release.
func TestLimiterAdjustsConcurrency(t *testing.T) {
	lim := newStepLimiter(5, 3)
	var (
		mu       sync.Mutex
		inFlight int
		three    = make(chan struct{})
		once     sync.Once
	)
	exec := func(_ context.Context, row Row, _ string) Outcome {
		mu.Lock()
		inFlight++
		if inFlight == 3 {
			once.Do(func() { close(three) })
		}
		mu.Unlock()
		defer func() {
			mu.Lock()
			inFlight--
			mu.Unlock()
		}()
		if row.Seq > 5 && row.Seq <= 8 {
			// The first rows after the raise wait until three are
			// in flight together: the runner must use the room.
			select {
			case <-three:
			case <-time.After(10 * time.Second):
				return Outcome{State: fate.Unknown, Class: "test", Message: "three rows never ran together"}
			}
		}
		if row.Target == "u11" {
			return Outcome{State: fate.Refused, Class: "refused"}
		}
		return Outcome{State: fate.Applied}
	}
	var profiles []string
	sum, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(csvRows(30, "p")),
		Kind: KindAccount, Exec: exec, Generate: counterGen(), Concurrency: 8,
		Limiter: func(profile string) Limiter { profiles = append(profiles, profile); return lim }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Succeeded != 29 || sum.Failed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if lim.maxAt[1] != 1 || lim.maxAt[3] != 3 {
		t.Errorf("most in flight: %v, want 1 under limit 1 and 3 under limit 3", lim.maxAt)
	}
	if len(profiles) != 1 || profiles[0] != "p" {
		t.Errorf("limiters made for %v, want one for p", profiles)
	}
	var refused int
	for _, e := range lim.errs {
		var oe *OutcomeError
		if errors.As(e, &oe) && oe.Outcome.State == fate.Refused {
			refused++
		} else if e != nil {
			t.Errorf("released with %v", e)
		}
	}
	if len(lim.errs) != 30 || refused != 1 || lim.inUse != 0 {
		t.Errorf("%d releases, %d refused, %d still in use", len(lim.errs), refused, lim.inUse)
	}
}

// TestFixedLimiterCeiling checks that the default limiter keeps today's
// bound, Concurrency per profile, and that a limiter allowing more is held
// to that ceiling.
func TestFixedLimiterCeiling(t *testing.T) {
	for _, tt := range []struct {
		name    string
		limiter func(string) Limiter
	}{
		{"default", nil},
		{"generous", func(string) Limiter { return NewFixedLimiter(100) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(time.Millisecond)
			_, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(csvRows(40, "a", "b")),
				Kind: KindAccount, Exec: srv.exec, Generate: counterGen(), Concurrency: 2, Limiter: tt.limiter})
			if err != nil {
				t.Fatal(err)
			}
			if srv.maxFlight["a"] > 2 || srv.maxFlight["b"] > 2 {
				t.Errorf("most in flight %v, want at most 2 per profile", srv.maxFlight)
			}
		})
	}
}
