package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cpctl/cpctl/pkg/fate"
)

// ErrDeliveryNeeded says that a journal's changed rows are delivered (an
// earlier run had a RunConfig.Deliver), so it is resumed only with one: a
// resume without would finish rows whose passwords reach nobody.
var ErrDeliveryNeeded = errors.New("its new passwords are delivered by a command, and none was given")

// MaxDeliveryFailures is how many deliveries may fail in a row before a run
// stops trying: a store that is down would otherwise cost a failed command
// (up to its time limit) for every row left. The rows stay owed, for a
// resume.
const MaxDeliveryFailures = 3

// deliveryQueue bounds the deliveries waiting for the command; a full queue
// holds the workers back, so a run never changes passwords much faster
// than it can deliver them, and memory stays flat.
const deliveryQueue = 64

// deliverer runs RunConfig.Deliver for one row at a time, in one goroutine:
// stores such as pass commit to git and cannot take concurrent writes.
type deliverer struct {
	r    *runner
	stop context.Context // no new delivery once it is done
	ctx  context.Context // a started delivery is not cancelled
	fail func(error)
	ch   chan Delivery
	done chan struct{}

	// Written by the loop only, read after done is closed.
	delivered int
	inARow    int
	stopped   bool
}

func (r *runner) startDeliverer(stop, ctx context.Context, fail func(error)) *deliverer {
	dl := &deliverer{r: r, stop: stop, ctx: context.WithoutCancel(ctx), fail: fail,
		ch: make(chan Delivery, deliveryQueue), done: make(chan struct{})}
	go dl.loop()
	return dl
}

func (dl *deliverer) loop() {
	defer close(dl.done)
	for d := range dl.ch {
		if dl.stopped || dl.stop.Err() != nil {
			continue // owed: a resume delivers it
		}
		err := dl.r.cfg.Deliver(dl.ctx, d)
		if err != nil {
			dl.inARow++
			dl.stopped = dl.inARow >= MaxDeliveryFailures
		} else {
			dl.inARow = 0
			dl.delivered++
		}
		// Lazily written, like outcomes, and always after the row's
		// outcome: a delivered record lost in a crash only means the row
		// is delivered again.
		rec, eerr := encodeRecord(deliveryRecOf(d, err, time.Now()))
		if eerr == nil {
			eerr = dl.r.j.append(rec, false)
		}
		if eerr != nil {
			dl.fail(eerr)
		}
	}
}

// send queues a delivery; after the run stopped it is dropped (the row
// stays owed).
func (dl *deliverer) send(d Delivery) {
	select {
	case dl.ch <- d:
	case <-dl.stop.Done():
	}
}

// offer queues the delivery a finished row is owed, if any: an applied row,
// or one that may have been applied (this attempt's reply or an earlier
// one's was lost) and was never delivered.
func (dl *deliverer) offer(d *done) {
	state := fate.Applied
	if !d.Outcome.OK() {
		if !(d.Outcome.State.MaybeApplied() || d.wasUncertain) || dl.r.st.deliveredAny.has(d.Row.Seq) {
			return
		}
		state = fate.Unknown
	}
	owner := d.Row.Owner
	if owner == "" {
		owner = d.Outcome.Owner
	}
	dl.send(Delivery{Row: d.Row, Password: d.Password, Owner: owner, State: state, Attempt: d.Attempt})
}

// finish waits for the queued deliveries (or their dropping, once the run
// stopped).
func (dl *deliverer) finish() {
	close(dl.ch)
	<-dl.done
}

func deliveryRecOf(d Delivery, err error, at time.Time) deliveryRec {
	rec := deliveryRec{T: recDelivered, Seq: d.Row.Seq, Target: d.Row.Target, Attempt: d.Attempt, State: string(d.State),
		At: at.UTC().Format(timeLayout)}
	if err != nil {
		msg := err.Error()
		if d.Password != "" {
			msg = strings.ReplaceAll(msg, d.Password, "<redacted>")
		}
		rec.T, rec.Msg = recDeliveryFailed, clip(msg, maxMessageBytes)
	}
	return rec
}

// deliverEarlier queues the rows applied in earlier runs and never
// delivered as applied. It streams the journal as it was when opened: a
// row's password is held from its first intent to its applied outcome
// only, so memory does not grow with the journal.
func (r *runner) deliverEarlier(dl *deliverer) error {
	st := r.st
	owed := func(seq int) bool { return st.applied.has(seq) && !st.deliveredApplied.has(seq) }
	owes := false
	for seq := 1; seq <= st.total && !owes; seq++ {
		owes = owed(seq)
	}
	if !owes {
		return nil
	}
	f, err := os.Open(r.path)
	if err != nil {
		return fmt.Errorf("read journal for delivery: %w", err)
	}
	defer f.Close()
	passwords := map[int]string{}
	queued := newBitset(st.total + 1)
	_, _, err = scanRecords(io.NewSectionReader(f, 0, st.size), func(rec *record) error {
		if dl.stop.Err() != nil {
			return errStopped
		}
		if rec.T != recIntent && rec.T != recOutcome || rec.Seq < 1 || rec.Seq > st.total || !owed(rec.Seq) || queued.has(rec.Seq) {
			return nil
		}
		if rec.T == recIntent {
			if _, ok := passwords[rec.Seq]; !ok {
				passwords[rec.Seq] = rec.Password // every intent of a row has the same
			}
			return nil
		}
		pw, ok := passwords[rec.Seq]
		if !ok || !rec.outcome().OK() {
			return nil
		}
		delete(passwords, rec.Seq)
		queued.set(rec.Seq)
		// An outcome repeats its row's fields (a mixed run's kind too),
		// all a delivery needs.
		dl.send(Delivery{Row: rec.row(), Password: pw, Owner: rec.owner(), State: fate.Applied, Attempt: rec.Attempt})
		return nil
	})
	if err != nil && !errors.Is(err, errStopped) {
		return fmt.Errorf("read journal for delivery: %w", err)
	}
	return nil
}

// markDeliver records, once, that the journal's changed rows are delivered
// from now on, so that journal show counts the rows owed even before the
// first delivery, and no resume goes on without one.
func (r *runner) markDeliver() error {
	rec, err := encodeRecord(deliverRec{T: recDeliver, At: time.Now().UTC().Format(timeLayout)})
	if err != nil {
		return err
	}
	return r.j.append(rec, true)
}

// countUndelivered reads how many rows of a closed journal are owed a
// delivery.
func countUndelivered(path string) (int, error) {
	st, err := readStateBefore(path, func(*journalState, *record) error { return nil })
	if err != nil {
		return 0, err
	}
	return st.undeliveredCount(), nil
}
