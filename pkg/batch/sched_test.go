package batch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cpctl/cpctl/pkg/fate"
)

// TestRunManyProfiles spreads rows over many profiles: the plan is read once
// and goroutines exist only for the rows at hand, not Concurrency per profile.
// On synctest's clock every row's latency ends at the same instant, so all
// rows are in flight at once, deterministically: the count of goroutines is
// then the rows in flight plus the run's own few.
func TestRunManyProfiles(t *testing.T) { synctest.Test(t, testRunManyProfiles) }

func testRunManyProfiles(t *testing.T) {
	profiles := 3000
	if testing.Short() {
		profiles = 1000
	}
	var in strings.Builder
	in.WriteString("user,profile\n")
	for i := range profiles {
		fmt.Fprintf(&in, "u%d,p%d\n", i, i)
	}
	base := runtime.NumGoroutine()
	var peak atomic.Int64
	srv := newFakeServer(200 * time.Microsecond)
	exec := func(ctx context.Context, row Row, pw string) Outcome {
		if g := int64(runtime.NumGoroutine()); g > peak.Load() {
			peak.Store(g)
		}
		return srv.exec(ctx, row, pw)
	}
	sum, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(in.String()),
		Kind: KindAccount, Exec: exec, Generate: counterGen(), Concurrency: 4})
	if err != nil || sum.Succeeded != profiles {
		t.Fatalf("sum %+v err %v", sum, err)
	}
	// A worker exists only for a row it runs; a design with workers per
	// profile would add Concurrency × profiles (12,000) idle ones.
	const own = 16 // the dispatcher, the progress ticker, the journal's committer
	if limit := int64(base + srv.maxTotal + own); peak.Load() > limit {
		t.Errorf("%d goroutines at the peak for %d rows in flight at most, want at most %d", peak.Load(), srv.maxTotal, limit)
	}
	t.Logf("%d profiles: %d goroutines at the peak (%d before the run, %d rows in flight)", profiles, peak.Load(), base, srv.maxTotal)
}

// TestRunSlowProfileDoesNotBlockOthers holds every row of one profile until
// the rows of another profile, which come after them in the input, are done.
func TestRunSlowProfileDoesNotBlockOthers(t *testing.T) {
	var in strings.Builder
	in.WriteString("user,profile\n")
	const slowRows, fastRows = 40, 300
	for i := range slowRows {
		fmt.Fprintf(&in, "s%d,slow\n", i)
	}
	for i := range fastRows {
		fmt.Fprintf(&in, "f%d,fast\n", i)
	}
	var fastDone atomic.Int64
	release := make(chan struct{})
	var once sync.Once
	timeout := time.After(10 * time.Second)
	var stuck atomic.Bool
	exec := func(_ context.Context, row Row, _ string) Outcome {
		if row.Profile == "fast" {
			if fastDone.Add(1) == fastRows {
				once.Do(func() { close(release) })
			}
			return Outcome{State: fate.Applied}
		}
		select {
		case <-release:
		case <-timeout:
			stuck.Store(true)
			once.Do(func() { close(release) })
		}
		return Outcome{State: fate.Applied}
	}
	sum, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(in.String()),
		Kind: KindAccount, Exec: exec, Generate: counterGen(), Concurrency: 2})
	if err != nil || sum.Succeeded != slowRows+fastRows {
		t.Fatalf("sum %+v err %v", sum, err)
	}
	if stuck.Load() {
		t.Fatalf("the fast profile waited for the slow one: %d of %d fast rows done while it was stuck", fastDone.Load(), fastRows)
	}
}

// TestWorkersFollowLimit: with RunConfig.Workers (a paced server's limit) a
// profile has as many rows in flight as the limit allows, not Concurrency,
// and more once the limit grows. On synctest's clock every row's latency
// ends at the same instant, so the workers there are always all busy.
func TestWorkersFollowLimit(t *testing.T) { synctest.Test(t, testWorkersFollowLimit) }

func testWorkersFollowLimit(t *testing.T) {
	var limit, done atomic.Int64
	limit.Store(3)
	var mu sync.Mutex
	inFlight, peakBefore, peakAfter := 0, 0, 0
	base := runtime.NumGoroutine()
	var peakG atomic.Int64
	exec := func(_ context.Context, _ Row, _ string) Outcome {
		mu.Lock()
		inFlight++
		if limit.Load() == 3 {
			peakBefore = max(peakBefore, inFlight)
		} else {
			peakAfter = max(peakAfter, inFlight)
		}
		mu.Unlock()
		if g := int64(runtime.NumGoroutine()); g > peakG.Load() {
			peakG.Store(g)
		}
		time.Sleep(time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		if done.Add(1) == 60 {
			limit.Store(6)
		}
		return Outcome{State: fate.Applied}
	}
	sum, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(csvRows(200, "a")),
		Kind: KindAccount, Exec: exec, Generate: counterGen(), Concurrency: 16,
		Workers: func(string) int { return int(limit.Load()) }})
	if err != nil || sum.Succeeded != 200 {
		t.Fatalf("sum %+v err %v", sum, err)
	}
	if peakBefore != 3 {
		t.Errorf("%d rows in flight at a limit of 3", peakBefore)
	}
	if peakAfter != 6 {
		t.Errorf("%d rows in flight at most after the limit grew to 6", peakAfter)
	}
	// Workers beyond the limit, each holding a row, would show here.
	const own = 8 // the dispatcher, the progress ticker, the journal's committer
	if peakG.Load() > int64(base+6+own) {
		t.Errorf("%d goroutines at the peak, %d before the run: more workers than the limit", peakG.Load(), base)
	}
}

// TestWorkersWaitForRows: a worker whose queue is momentarily empty waits
// for its profile's next rows rather than ending and being started again
// (each start of a goroutine that sends a request grows a new stack). Here
// the dispatcher takes a millisecond per row (a slow password generator on
// synctest's clock) and the server none, so the queue is empty after every
// row.
func TestWorkersWaitForRows(t *testing.T) { synctest.Test(t, testWorkersWaitForRows) }

func testWorkersWaitForRows(t *testing.T) {
	gen := counterGen()
	slowGen := func(r Row) (string, error) {
		time.Sleep(time.Millisecond)
		return gen(r)
	}
	started := map[string]int{}
	var mu sync.Mutex
	sum, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(csvRows(150, "a", "b")),
		Kind: KindAccount, Exec: func(context.Context, Row, string) Outcome { return Outcome{State: fate.Applied} },
		Generate: slowGen, Concurrency: 4,
		onWorker: func(p string) {
			mu.Lock()
			started[p]++
			mu.Unlock()
		}})
	if err != nil || sum.Succeeded != 300 {
		t.Fatalf("sum %+v err %v", sum, err)
	}
	for _, p := range []string{"a", "b"} {
		if started[p] > 4 {
			t.Errorf("profile %s: %d workers started for a concurrency of 4", p, started[p])
		}
	}
}

// TestReadAheadCoversProfiles: the dispatcher makes intents durable for
// twice the rows in flight over all profiles at once, not twice one
// profile's concurrency: over 200 profiles that was 64 rows an fsync,
// about one row queued per server.
func TestReadAheadCoversProfiles(t *testing.T) { synctest.Test(t, testReadAheadCoversProfiles) }

func testReadAheadCoversProfiles(t *testing.T) {
	var in strings.Builder
	in.WriteString("user,profile\n")
	const profiles, rows = 200, 2000
	for i := range rows {
		fmt.Fprintf(&in, "u%d,p%d\n", i, i%profiles)
	}
	var syncs atomic.Int64
	sum, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(in.String()),
		Kind: KindAccount, Exec: func(context.Context, Row, string) Outcome { return Outcome{State: fate.Applied} },
		Generate: counterGen(), Concurrency: 4,
		syncFn: func(*os.File) error { syncs.Add(1); return nil }})
	if err != nil || sum.Succeeded != rows {
		t.Fatalf("sum %+v err %v", sum, err)
	}
	// 2,000 rows: the first batch (a row per worker of one profile), two of
	// 1,024 at most, and the outcomes' flushes.
	if n := syncs.Load(); n > 10 {
		t.Errorf("%d fsyncs for %d rows over %d profiles", n, rows, profiles)
	}
}

// TestRowsInOrderPerProfile: at a concurrency of 1 a profile's rows are sent
// in the input's order. The dispatcher places rows while the workers take
// them: a row it had to hold back (its queue was full) must not be overtaken
// by a later row of the profile that found room a moment after.
func TestRowsInOrderPerProfile(t *testing.T) {
	const rows = 3000
	var got []int
	sum, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(csvRows(rows, "a")),
		Kind: KindAccount, Concurrency: 1,
		Exec: func(_ context.Context, row Row, _ string) Outcome {
			got = append(got, row.Seq) // one worker: no lock needed, and -race says if there were two
			return Outcome{State: fate.Applied}
		},
		Generate: counterGen(), syncFn: func(*os.File) error { return nil }})
	if err != nil || sum.Succeeded != rows {
		t.Fatalf("sum %+v err %v", sum, err)
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Fatalf("row %d sent after row %d", got[i], got[i-1])
		}
	}
}

// TestIdleWorkersBounded: a plan that interleaves thousands of profiles
// does not keep a waiting worker for every profile with rows to come (the
// dispatcher here is the slower side, so each profile's queue is empty
// most of the time).
func TestIdleWorkersBounded(t *testing.T) { synctest.Test(t, testIdleWorkersBounded) }

func testIdleWorkersBounded(t *testing.T) {
	const profiles, perProfile = 3000, 3
	var in strings.Builder
	in.WriteString("user,profile\n")
	for i := range profiles * perProfile {
		fmt.Fprintf(&in, "u%d,p%d\n", i, i%profiles)
	}
	gen := counterGen()
	slowGen := func(r Row) (string, error) {
		time.Sleep(time.Millisecond)
		return gen(r)
	}
	var peak atomic.Int64
	sum, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(in.String()),
		Kind: KindAccount, Generate: slowGen, Concurrency: 4,
		Exec: func(context.Context, Row, string) Outcome {
			for n := int64(runtime.NumGoroutine()); n > peak.Load(); {
				if peak.CompareAndSwap(peak.Load(), n) {
					break
				}
			}
			return Outcome{State: fate.Applied}
		},
		syncFn: func(*os.File) error { return nil }})
	if err != nil || sum.Succeeded != profiles*perProfile {
		t.Fatalf("sum %+v err %v", sum, err)
	}
	// At most maxIdle workers wait, and a read-ahead's rows (each of its
	// own profile here) are in hand at once; without the bound every
	// profile kept its worker (3,007 goroutines).
	if p := peak.Load(); p > maxIdle+maxReadAhead+100 {
		t.Errorf("%d goroutines at the peak for %d interleaved profiles (at most %d workers wait)", p, profiles, maxIdle)
	}
}

// TestDefaultProfileSharesItsQueue mixes rows without a profile and rows
// naming the default one: both reach the same server, so together they get
// Concurrency, not Concurrency each.
func TestDefaultProfileSharesItsQueue(t *testing.T) {
	synctest.Test(t, testDefaultProfileSharesItsQueue)
}

func testDefaultProfileSharesItsQueue(t *testing.T) {
	var in strings.Builder
	in.WriteString("user,profile\n")
	for i := range 20 {
		p := ""
		if i%2 == 1 {
			p = "prod"
		}
		fmt.Fprintf(&in, "u%d,%s\n", i, p)
	}
	for _, tc := range []struct {
		def  string
		want int // the most rows in flight: both profiles are one server only with the default named
	}{{"prod", 2}, {"", 4}} {
		srv := newFakeServer(10 * time.Millisecond)
		sum, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(in.String()),
			Kind: KindAccount, Exec: srv.exec, Generate: counterGen(), Concurrency: 2, DefaultProfile: tc.def})
		if err != nil || sum.Succeeded != 20 {
			t.Fatalf("default %q: sum %+v err %v", tc.def, sum, err)
		}
		if srv.maxTotal != tc.want {
			t.Errorf("default %q: %d rows in flight at most, want %d", tc.def, srv.maxTotal, tc.want)
		}
		if got := srv.maxFlight[""] + srv.maxFlight["prod"]; got < tc.want {
			t.Errorf("default %q: the profiles' own peaks add up to %d", tc.def, got)
		}
	}
}

// TestRefusedCredentialsStopTheirProfile refuses the credentials of one
// profile on its first row: its other rows are not sent (a bad token is not
// tried once per row) but recorded not-sent, the other profile's rows all go,
// and a resume with the credentials fixed sends the stopped profile's rows,
// the refused one included.
func TestRefusedCredentialsStopTheirProfile(t *testing.T) {
	for _, conc := range []int{1, 3} {
		t.Run(fmt.Sprintf("concurrency %d", conc), func(t *testing.T) {
			var in strings.Builder
			in.WriteString("user,profile\n")
			for i := range 10 {
				fmt.Fprintf(&in, "u%d,%s\n", i, map[bool]string{true: "bad", false: "good"}[i%2 == 0])
			}
			var mu sync.Mutex
			sent := map[string]int{}
			path := filepath.Join(t.TempDir(), "j")
			var results []Result
			sum, err := Run(context.Background(), RunConfig{Journal: path, Input: strings.NewReader(in.String()),
				Kind: KindAccount, Concurrency: conc, Generate: func(r Row) (string, error) { return "pw-" + r.Target, nil },
				Exec: func(_ context.Context, row Row, _ string) Outcome {
					mu.Lock()
					defer mu.Unlock()
					sent[row.Profile]++
					if row.Profile == "bad" {
						return Outcome{State: fate.Refused, Auth: true, Class: "auth", Message: "Access denied", StopsProfile: true}
					}
					return Outcome{State: fate.Applied}
				},
				OnResult: func(r Result) { results = append(results, r) }})
			if err != nil {
				t.Fatal(err)
			}
			// Rows of the bad profile already handed to a worker when the
			// first refusal came back may have been sent too; never more.
			if sent["good"] != 5 || sent["bad"] < 1 || sent["bad"] > conc {
				t.Errorf("sent %v: want every good row and 1..%d bad ones", sent, conc)
			}
			if want := (Summary{Total: 10, Succeeded: 5, Pending: 5}); sum != want || sum.ExitCode() != fate.ExitPartial {
				t.Errorf("summary %+v, want %+v", sum, want)
			}
			skipped := 0
			for _, r := range results {
				if r.Row.Profile == "bad" && r.Outcome.State == fate.NotSent {
					skipped++
					if !r.Outcome.Auth || r.Outcome.ExitCode() != fate.ExitAuth || !strings.Contains(r.Outcome.Message, "Access denied") {
						t.Errorf("stopped row %+v", r.Outcome)
					}
				}
			}
			if skipped != 5-sent["bad"] {
				t.Errorf("%d bad rows recorded not sent, want %d", skipped, 5-sent["bad"])
			}
			var rec recorder
			sum, err = Resume(context.Background(), path, RunConfig{Exec: rec.exec, Concurrency: conc, Generate: func(Row) (string, error) { return "", errors.New("every row has its intent") }})
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.calls) != 5 || sum.Succeeded != 10 || sum.ExitCode() != fate.ExitOK {
				t.Errorf("resume sent %v, summary %+v: want the 5 rows of the stopped profile", rec.calls, sum)
			}
		})
	}
}

// TestStoppedProfileSkipsTheRate: rows of a profile whose credentials were
// refused are recorded without being sent, so they do not wait for --rate
// (10,000 of them at 1/s would take hours to record nothing).
func TestStoppedProfileSkipsTheRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var in strings.Builder
		in.WriteString("user,profile\n")
		for i := range 20 {
			fmt.Fprintf(&in, "u%d,%s\n", i, map[bool]string{true: "bad", false: "good"}[i >= 2])
		}
		start := time.Now()
		sum, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(in.String()),
			Kind: KindAccount, Concurrency: 1, Rate: 1, Burst: 1, Generate: func(r Row) (string, error) { return "pw-" + r.Target, nil },
			Exec: func(_ context.Context, row Row, _ string) Outcome {
				if row.Profile == "bad" {
					return Outcome{State: fate.Refused, Auth: true, Class: "auth", Message: "Access denied", StopsProfile: true}
				}
				return Outcome{State: fate.Applied}
			}})
		if err != nil {
			t.Fatal(err)
		}
		// Three requests at 1/s (the first token is there at once): two
		// good rows and the bad profile's first.
		if took := time.Since(start); sum.Succeeded != 2 || sum.Pending != 18 || took > 3*time.Second {
			t.Errorf("summary %+v after %v: want 2 applied, 18 pending, within 3s", sum, took)
		}
	})
}
