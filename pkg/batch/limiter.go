package batch

import (
	"context"
	"fmt"
	"time"
)

// Limiter bounds the requests of one profile (one server) in flight, and
// may change the bound while a run goes on: an adaptive controller learns
// from what Release reports. The runner calls Acquire before sending a row
// and Release once its outcome is known, from up to RunConfig.Concurrency
// workers at once.
type Limiter interface {
	// Acquire waits for room for one more request. It returns an error
	// only when ctx ends first; the row is then not sent.
	Acquire(ctx context.Context) error
	// Release gives the room back, with the time the row took and nil when
	// the change was applied or an *OutcomeError saying what became of it.
	// A row the run stopped before sending (it waited for the rate limit
	// when interrupted) is released with latency 0 and a not-sent outcome
	// of class "interrupted".
	Release(latency time.Duration, err error)
}

// OutcomeError is what a Limiter is released with for a row that was not
// applied: a refusal is an answer (the server is fine), an unknown or
// network failure a sign that it may be overloaded.
type OutcomeError struct {
	Outcome Outcome
}

func (e *OutcomeError) Error() string {
	if e.Outcome.Class == "" {
		return string(e.Outcome.State)
	}
	return fmt.Sprintf("%s (%s)", e.Outcome.State, e.Outcome.Class)
}

// fixedLimiter allows n requests in flight, always.
type fixedLimiter chan struct{}

// NewFixedLimiter returns a Limiter that allows n requests in flight (at
// least one), what a run without RunConfig.Limiter uses.
func NewFixedLimiter(n int) Limiter { return make(fixedLimiter, max(n, 1)) }

func (l fixedLimiter) Acquire(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l fixedLimiter) Release(time.Duration, error) { <-l }
