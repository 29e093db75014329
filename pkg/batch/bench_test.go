package batch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/fate"
)

// BenchmarkJournalIntent appends durable intents from 8 goroutines at once
// (a run at concurrency 8): "group" is the group committer, "fsync-each" a
// mutex around one write and one fsync per intent, the naive journal.
func BenchmarkJournalIntent(b *testing.B) {
	rec := []byte(`{"t":"intent","seq":123456,"attempt":1,"password":"Xy7!kP2$qL9@mN4#vB8w","at":"2026-11-29T20:00:00.000Z"}` + "\n")
	open := func(b *testing.B) *os.File {
		f, err := os.OpenFile(filepath.Join(b.TempDir(), "j"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	run := func(b *testing.B, appendOne func() error) {
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((8 + procs - 1) / procs) // RunParallel starts parallelism × GOMAXPROCS goroutines
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := appendOne(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "intents/s")
	}
	b.Run("group", func(b *testing.B) {
		j := startJournal(open(b), nil)
		run(b, func() error { return j.append(rec, true) })
		b.StopTimer()
		if err := j.close(); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("fsync-each", func(b *testing.B) {
		f := open(b)
		var mu sync.Mutex
		run(b, func() error {
			mu.Lock()
			defer mu.Unlock()
			if _, err := f.Write(rec); err != nil {
				return err
			}
			return f.Sync()
		})
		b.StopTimer()
		f.Close()
	})
}

// BenchmarkReader parses and validates rows, as the plan phase does.
func BenchmarkReader(b *testing.B) {
	const rows = 10_000
	var csvIn, jsonIn strings.Builder
	csvIn.WriteString("user,owner,password,profile\n")
	for i := range rows {
		fmt.Fprintf(&csvIn, "user%06d,reseller%d,Pw-%06d-Xy7!kP2$q,prod\n", i, i%20, i)
		fmt.Fprintf(&jsonIn, `{"user":"user%06d","owner":"reseller%d","password":"Pw-%06d-Xy7!kP2$q","profile":"prod"}`+"\n", i, i%20, i)
	}
	for _, in := range []struct{ name, data string }{{"csv", csvIn.String()}, {"jsonl", jsonIn.String()}} {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				n, err := Validate(bytes.NewReader([]byte(in.data)), KindAccount, ValidateOptions{})
				if err != nil || n != rows {
					b.Fatalf("n %d err %v", n, err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkRun runs 10,000 rows through a no-op executor at concurrency 8
// with the real fsync: the journal's own ceiling on a run's speed.
func BenchmarkRun(b *testing.B) {
	const rows = 10_000
	in := csvRows(rows, "")
	noop := func(context.Context, Row, string) Outcome { return Outcome{State: fate.Applied} }
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "j")
		sum, err := Run(context.Background(), RunConfig{Journal: path, Input: strings.NewReader(in), Kind: KindAccount,
			Exec: noop, Generate: counterGen(), Concurrency: 8})
		if err != nil || sum.Succeeded != rows {
			b.Fatalf("sum %+v err %v", sum, err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRunProfiles runs a plan through a no-op executor with the real
// fsync: "3000-profiles" has one row in each of 3,000 profiles (every row on
// its own connection profile), "1-profile" 10,000 rows on one. It reports the
// peak number of goroutines and the peak heap in use.
func BenchmarkRunProfiles(b *testing.B) {
	cases := []struct {
		name           string
		rows, profiles int
	}{
		{"3000-profiles", 3000, 3000},
		{"1-profile", 10_000, 1},
	}
	for _, c := range cases {
		var in strings.Builder
		in.WriteString("user,profile\n")
		for i := range c.rows {
			fmt.Fprintf(&in, "u%d,p%d\n", i, i%c.profiles)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var peakG atomic.Int64
			var calls atomic.Int64
			exec := func(context.Context, Row, string) Outcome {
				if calls.Add(1)%16 == 0 {
					if g := int64(runtime.NumGoroutine()); g > peakG.Load() {
						peakG.Store(g)
					}
				}
				return Outcome{State: fate.Applied}
			}
			peakHeap := sampleHeap(10 * time.Millisecond)
			for b.Loop() {
				path := filepath.Join(b.TempDir(), "j")
				sum, err := Run(context.Background(), RunConfig{Journal: path, Input: strings.NewReader(in.String()), Kind: KindAccount,
					Exec: exec, Generate: counterGen()})
				if err != nil || sum.Succeeded != c.rows {
					b.Fatalf("sum %+v err %v", sum, err)
				}
			}
			peak := peakHeap()
			b.ReportMetric(float64(c.rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peakG.Load()), "peak-goroutines")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}
