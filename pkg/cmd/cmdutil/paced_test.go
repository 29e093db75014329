package cmdutil

import (
	"bytes"
	"sync"
	"testing"
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

func TestPacedWriter(t *testing.T) {
	cw := &countingWriter{}
	pw := NewPacedWriter(cw, 20*time.Millisecond)
	for i := 0; i < 100; i++ {
		pw.Write([]byte("row\n"))
	}
	if s, _ := cw.snapshot(); s != "" {
		t.Fatal("wrote before the interval")
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		s, n := cw.snapshot()
		if len(s) == 400 {
			if n != 1 {
				t.Errorf("100 rows took %d writes, want 1", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("rows never flushed without Close")
		}
		time.Sleep(5 * time.Millisecond)
	}
	pw.Write([]byte("last\n"))
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if s, _ := cw.snapshot(); s[len(s)-5:] != "last\n" {
		t.Error("Close did not flush")
	}
}
