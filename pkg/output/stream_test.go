package output

import (
	"bytes"
	"encoding/json"
	"io"
	"runtime"
	"strings"
	"testing"
)

// A bulk run and a single change print the same shape: the stream of N rows
// is byte for byte what Results prints for the same N rows.
func TestStreamMatchesResults(t *testing.T) {
	for _, tc := range cases {
		for _, f := range []Format{JSON, JSONL} {
			var all, streamed bytes.Buffer
			if err := New(f, &all, false).Results(tc.rows); err != nil {
				t.Fatal(err)
			}
			s := New(f, &streamed, false).Stream()
			for _, r := range tc.rows {
				if err := s.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if all.String() != streamed.String() {
				t.Errorf("%s %s: stream\n%s\nResults\n%s", tc.name, f, streamed.String(), all.String())
			}
		}
	}
}

func TestStreamJSONArray(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7} {
		var buf bytes.Buffer
		fw := &flushWriter{w: &buf}
		s := New(JSON, fw, false).Stream()
		for i := range n {
			r := okBob
			r.Target = strings.Repeat("u", i+1)
			if err := s.Write(r); err != nil {
				t.Fatal(err)
			}
			// Each row reaches the reader as it finishes, the list open.
			if fw.flushes != i+1 || !strings.HasPrefix(buf.String(), "[\n") || !strings.HasSuffix(buf.String(), "}") {
				t.Fatalf("after row %d: %d flushes, %q", i, fw.flushes, buf.String())
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		var list []PasswdResult
		if err := json.Unmarshal(buf.Bytes(), &list); err != nil {
			t.Fatalf("%d rows: not a JSON list: %v\n%s", n, err, buf.String())
		}
		if len(list) != n || list == nil {
			t.Errorf("%d rows: parsed %d (%v)", n, len(list), list)
		}
		for i, r := range list {
			if r.Target != strings.Repeat("u", i+1) {
				t.Errorf("row %d target %q", i, r.Target)
			}
		}
		if err := s.Write(okBob); err == nil {
			t.Error("a write after Close was accepted")
		}
	}
}

// Streaming keeps memory flat: the heap after 100,000 rows is what it was
// after 1,000, though the output is some 30 MB.
func TestStreamJSONMemoryFlat(t *testing.T) {
	for _, f := range []Format{JSON, JSONL} {
		cw := &countWriter{}
		s := New(f, cw, false).Stream()
		heap := func() uint64 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.HeapAlloc
		}
		write := func(n int) {
			for range n {
				if err := s.Write(failed); err != nil {
					t.Fatal(err)
				}
			}
		}
		write(1000)
		before := heap()
		write(100_000)
		after := heap()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if cw.n < 30_000_000 {
			t.Fatalf("%s: only %d bytes written", f, cw.n)
		}
		t.Logf("%s: %d bytes written; live heap %d bytes after 1,000 rows, %d after 101,000", f, cw.n, before, after)
		if after > before+1<<20 {
			t.Errorf("%s: heap grew from %d to %d bytes over 100,000 rows", f, before, after)
		}
	}
}

func BenchmarkStreamJSON(b *testing.B) {
	s := New(JSON, io.Discard, false).Stream()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(failed); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// A rotation's rows are of several kinds: its table says which, after
// PROFILE, and its JSON carries each row's source.
func TestStreamKindColumn(t *testing.T) {
	rows := []PasswdResult{
		{Profile: "prod", Kind: "account", Target: "bob", OK: true, Message: "Password changed for user “bob”.", Source: "listaccts user=bob"},
		{Profile: "prod", Kind: "mysql", Target: "bob_wp", Owner: "bob", OK: true, Source: "Mysql/list_users of bob"},
	}
	var buf bytes.Buffer
	s := New(Table, &buf, false).Stream(WithKindColumn())
	for _, r := range rows {
		if err := s.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "PROFILE\tKIND\tTARGET\tRESULT") || !strings.HasPrefix(lines[2], "prod\tmysql\tbob_wp\tok") {
		t.Errorf("table:\n%s", buf.String())
	}
	buf.Reset()
	if err := New(JSONL, &buf, false).Results(rows[1:]); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"owner":"bob","source":"Mysql/list_users of bob","api"`) {
		t.Errorf("jsonl: %s", buf.String())
	}
}
