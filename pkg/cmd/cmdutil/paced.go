package cmdutil

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// PacedWriter batches many small writes (a bulk run's JSON Lines) into one
// write at most every interval, so that 10,000 rows do not cost 10,000
// write system calls, while a consumer reading the pipe still sees every
// row within interval of it finishing.
type PacedWriter struct {
	w        io.Writer
	interval time.Duration

	mu    sync.Mutex
	buf   bytes.Buffer
	err   error
	timer *time.Timer
}

// NewPacedWriter returns a PacedWriter on w; Close flushes it.
func NewPacedWriter(w io.Writer, interval time.Duration) *PacedWriter {
	return &PacedWriter{w: w, interval: interval}
}

// Write buffers p and schedules a flush within the interval.
func (pw *PacedWriter) Write(p []byte) (int, error) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.err != nil {
		return 0, pw.err
	}
	pw.buf.Write(p)
	if pw.timer == nil {
		pw.timer = time.AfterFunc(pw.interval, func() {
			pw.mu.Lock()
			defer pw.mu.Unlock()
			pw.flushLocked()
		})
	}
	return len(p), nil
}

func (pw *PacedWriter) flushLocked() {
	if pw.timer != nil {
		pw.timer.Stop()
		pw.timer = nil
	}
	if pw.buf.Len() == 0 || pw.err != nil {
		return
	}
	_, pw.err = pw.w.Write(pw.buf.Bytes())
	pw.buf.Reset()
}

// Close writes what is buffered and reports the first write error.
func (pw *PacedWriter) Close() error {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.flushLocked()
	return pw.err
}
