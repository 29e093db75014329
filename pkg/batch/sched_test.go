package batch

import (
	"context"
	"fmt"
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
