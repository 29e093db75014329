package cmdutil

import (
	"bytes"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type countingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.buf.Write(p)
}

func (c *countingWriter) snapshot() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String(), c.writes
}

// TestPacedWriter runs on synctest's clock: the interval passes in an
// instant, and the test sees exactly what was written before and after it.
func TestPacedWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cw := &countingWriter{}
		pw := NewPacedWriter(cw, 20*time.Millisecond)
		for range 100 {
			_, _ = pw.Write([]byte("row\n"))
		}
		time.Sleep(19 * time.Millisecond)
		synctest.Wait()
		if s, _ := cw.snapshot(); s != "" {
			t.Fatal("wrote before the interval")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if s, n := cw.snapshot(); len(s) != 400 || n != 1 {
			t.Fatalf("after the interval: %d bytes in %d writes, want 400 in 1", len(s), n)
		}
		_, _ = pw.Write([]byte("last\n"))
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		if s, _ := cw.snapshot(); s[len(s)-5:] != "last\n" {
			t.Error("Close did not flush")
		}
	})
}
