package batch

import (
	"bytes"
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

// fakeServer is an executor that remembers every password it was sent. Tests
// that give it a latency run in a synctest bubble, where the latency is
// synctest's time: the rows overlap as on a slow server, and nothing waits.
type fakeServer struct {
	latency time.Duration
	refuse  func(Row) bool
	lost    func(Row) bool // reply lost after applying (ExitTransport)

	mu        sync.Mutex
	passwords map[string]string
	history   map[string][]string
	inFlight  map[string]int
	maxFlight map[string]int
	maxTotal  int
	total     int
	calls     int
	ctxErrs   int
	starts    map[string][]time.Time
	ends      map[string][]time.Time
}

func newFakeServer(latency time.Duration) *fakeServer {
	return &fakeServer{latency: latency, passwords: map[string]string{}, history: map[string][]string{},
		inFlight: map[string]int{}, maxFlight: map[string]int{}, starts: map[string][]time.Time{}, ends: map[string][]time.Time{}}
}

func (s *fakeServer) exec(ctx context.Context, row Row, pw string) Outcome {
	s.mu.Lock()
	s.calls++
	s.inFlight[row.Profile]++
	s.total++
	s.maxFlight[row.Profile] = max(s.maxFlight[row.Profile], s.inFlight[row.Profile])
	s.maxTotal = max(s.maxTotal, s.total)
	s.starts[row.Profile] = append(s.starts[row.Profile], time.Now())
	s.mu.Unlock()
	if s.latency > 0 {
		time.Sleep(s.latency)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight[row.Profile]--
	s.total--
	s.ends[row.Profile] = append(s.ends[row.Profile], time.Now())
	if ctx.Err() != nil {
		s.ctxErrs++
	}
	if s.refuse != nil && s.refuse(row) {
		return Outcome{State: fate.Refused, Class: "refused", Message: fmt.Sprintf("You do not have a user named “%s”.", row.Target)}
	}
	key := row.Profile + "/" + row.Target
	s.passwords[key] = pw
	s.history[key] = append(s.history[key], pw)
	if s.lost != nil && s.lost(row) {
		return Outcome{State: fate.Unknown, Class: "transport", Message: "read: connection reset by peer"}
	}
	return Outcome{State: fate.Applied, Message: "Password changed", Services: []string{"system", "ftp"}}
}

func counterGen() func(Row) (string, error) {
	var n atomic.Int64
	return func(Row) (string, error) { return fmt.Sprintf("gen-%d", n.Add(1)), nil }
}

func csvRows(n int, profiles ...string) string {
	var b strings.Builder
	b.WriteString("user,profile\n")
	for _, p := range profiles {
		for i := range n {
			fmt.Fprintf(&b, "u%d,%s\n", i, p)
		}
	}
	return b.String()
}

func exportMap(t *testing.T, path string) map[string]string {
	t.Helper()
	var out bytes.Buffer
	if err := ExportSecrets(path, &out); err != nil && !errors.Is(err, ErrIncomplete) {
		t.Fatal(err)
	}
	rd := NewReader(&out, KindAccount) // the export is valid input
	m := map[string]string{}
	for {
		row, err := rd.Next()
		if err != nil {
			break
		}
		key := row.Profile + "/" + row.Target
		if _, dup := m[key]; dup {
			t.Fatalf("export lists %s twice", key)
		}
		m[key] = row.Password
	}
	return m
}

func TestRunMixedOutcomes(t *testing.T) {
	srv := newFakeServer(0)
	srv.refuse = func(r Row) bool { return strings.HasPrefix(r.Target, "bad") }
	in := "user,owner,password\nu1,,given1\nbad1,,\nu2,res,\nbad2,res,x\nu3,,\n"
	path := filepath.Join(t.TempDir(), "j")
	var results []Result
	var final []Progress
	sum, err := Run(context.Background(), RunConfig{
		Journal: path, Input: strings.NewReader(in), Kind: KindAccount, Meta: map[string]string{"profile": "prod", "token": "SECRETTOKEN"},
		Exec: srv.exec, Generate: counterGen(), Concurrency: 2,
		OnResult:   func(r Result) { results = append(results, r) },
		OnProgress: func(p Progress) { final = append(final, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Summary{Total: 5, Succeeded: 3, Failed: 2}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	if sum.ExitCode() != 5 {
		t.Errorf("exit code %d", sum.ExitCode())
	}
	if len(results) != 5 {
		t.Fatalf("%d results", len(results))
	}
	for _, r := range results {
		if r.Generated != (r.Row.Password == "") || r.Password == "" || r.Attempt != 1 {
			t.Errorf("result %+v", r)
		}
		if r.Row.Target == "u1" && r.Password != "given1" {
			t.Errorf("u1 sent %q", r.Password)
		}
	}
	if p := final[len(final)-1]; !p.Final || p.Done != 5 || p.Failed != 2 || p.Total != 5 {
		t.Errorf("last progress %+v", p)
	}
	got := exportMap(t, path)
	if len(got) != 3 {
		t.Errorf("export has %d rows: %v", len(got), got)
	}
	for k, pw := range got {
		if srv.passwords[k] != pw {
			t.Errorf("%s: export %q, server %q", k, pw, srv.passwords[k])
		}
	}
	var out bytes.Buffer
	_ = ExportSecrets(path, &out)
	if !strings.HasPrefix(out.String(), "user,password,owner\n") || !strings.Contains(out.String(), "\nu2,gen-") {
		t.Errorf("export:\n%s", out.String())
	}

	st, err := Show(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 5 || st.Succeeded != 3 || st.Failed != 2 || st.Pending != 0 || len(st.Failures) != 2 || st.Kind != KindAccount {
		t.Errorf("status %+v", st)
	}
	if st.Failures[0].Target != "bad1" || st.Failures[0].Line != 3 || st.Failures[0].Exit != 1 || !strings.Contains(st.Failures[0].Message, "bad1") {
		t.Errorf("failure %+v", st.Failures[0])
	}
	if _, ok := st.Meta["token"]; ok || st.Meta["profile"] != "prod" {
		t.Errorf("meta %v", st.Meta)
	}
	if strings.Contains(fmt.Sprintf("%+v", st), "gen-") || strings.Contains(fmt.Sprintf("%+v", st), "given1") {
		t.Errorf("Show leaks a password: %+v", st)
	}
}

func TestRunAllFailed(t *testing.T) {
	srv := newFakeServer(0)
	srv.refuse = func(Row) bool { return true }
	sum, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader("user,password\na,x\nb,y\n"),
		Kind: KindAccount, Exec: srv.exec})
	if err != nil || sum.ExitCode() != 1 || sum.Failed != 2 {
		t.Fatalf("sum %+v err %v", sum, err)
	}
}

func TestRunValidationSendsNothing(t *testing.T) {
	srv := newFakeServer(0)
	path := filepath.Join(t.TempDir(), "j")
	_, err := Run(context.Background(), RunConfig{Journal: path, Input: strings.NewReader("user,password\na,x\nb,\n"), Kind: KindAccount, Exec: srv.exec})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	if srv.calls != 0 {
		t.Fatalf("%d rows sent", srv.calls)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("journal left behind")
	}
}

func TestRunConcurrencyPerProfile(t *testing.T) { synctest.Test(t, testRunConcurrencyPerProfile) }

func testRunConcurrencyPerProfile(t *testing.T) {
	srv := newFakeServer(3 * time.Millisecond)
	// Rows sorted by profile: the second profile must not wait for the first.
	sum, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(csvRows(30, "a", "b")),
		Kind: KindAccount, Exec: srv.exec, Generate: counterGen(), Concurrency: 3})
	if err != nil || sum.Succeeded != 60 {
		t.Fatalf("sum %+v err %v", sum, err)
	}
	for _, p := range []string{"a", "b"} {
		if srv.maxFlight[p] > 3 {
			t.Errorf("profile %s had %d rows in flight, limit 3", p, srv.maxFlight[p])
		}
	}
	if srv.maxTotal < 4 {
		t.Errorf("at most %d rows in flight overall: profiles did not run at once", srv.maxTotal)
	}
	if !srv.starts["b"][0].Before(srv.ends["a"][len(srv.ends["a"])-1]) {
		t.Error("profile b started only after profile a finished")
	}
}

func TestRunCancelAndResume(t *testing.T) { synctest.Test(t, testRunCancelAndResume) }

func testRunCancelAndResume(t *testing.T) {
	srv := newFakeServer(2 * time.Millisecond)
	path := filepath.Join(t.TempDir(), "j")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	sum, err := Run(ctx, RunConfig{Journal: path, Input: strings.NewReader(csvRows(100, "p")), Kind: KindAccount, Exec: srv.exec,
		Generate: counterGen(), Concurrency: 4,
		OnResult: func(Result) {
			if n++; n == 10 {
				cancel()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted || sum.Pending == 0 || sum.Succeeded+sum.Pending != 100 || sum.Succeeded < 10 {
		t.Fatalf("summary %+v", sum)
	}
	if srv.calls != sum.Succeeded {
		t.Fatalf("%d sent, %d recorded: an in-flight row was lost", srv.calls, sum.Succeeded)
	}
	if srv.ctxErrs != 0 {
		t.Errorf("%d in-flight rows saw their context cancelled", srv.ctxErrs)
	}
	first := sum.Succeeded
	sum, err = Resume(context.Background(), path, RunConfig{Exec: srv.exec, Generate: counterGen(), Kind: KindAccount})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Summary{Total: 100, Succeeded: 100, Skipped: first}); sum != want {
		t.Errorf("resume summary %+v, want %+v", sum, want)
	}
	if srv.calls != 100 {
		t.Errorf("%d calls for 100 rows", srv.calls)
	}
	for k, pw := range exportMap(t, path) {
		if srv.passwords[k] != pw {
			t.Errorf("%s: export %q, server %q", k, pw, srv.passwords[k])
		}
	}
}

func TestResumeRetriesLostReplies(t *testing.T) {
	srv := newFakeServer(0)
	lose := true
	srv.lost = func(r Row) bool { return lose && r.Target == "u3" }
	path := filepath.Join(t.TempDir(), "j")
	sum, err := Run(context.Background(), RunConfig{Journal: path, Input: strings.NewReader(csvRows(5, "")), Kind: KindAccount, Exec: srv.exec, Generate: counterGen()})
	if err != nil || sum.Failed != 0 || sum.Pending != 1 || sum.Succeeded != 4 || sum.ExitCode() != 5 {
		t.Fatalf("sum %+v err %v", sum, err)
	}
	st, _ := Show(path)
	if len(st.Failures) != 1 || !st.Failures[0].Retry || !st.Failures[0].MaybeApplied || st.Pending != 1 || st.Failed != 0 {
		t.Fatalf("failures %+v", st.Failures)
	}
	if got := exportMap(t, path); len(got) != 4 {
		t.Fatalf("export before retry: %v", got)
	}
	lose = false
	sum, err = Resume(context.Background(), path, RunConfig{Exec: srv.exec, Generate: func(Row) (string, error) { return "", errors.New("must not be called") }})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Summary{Total: 5, Succeeded: 5, Skipped: 4}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	if h := srv.history["/u3"]; len(h) != 2 || h[0] != h[1] {
		t.Errorf("u3 history %v: want the same password twice", h)
	}
	if got := exportMap(t, path); got["/u3"] != srv.passwords["/u3"] || len(got) != 5 {
		t.Errorf("export %v", got)
	}
	if st, _ := Show(path); len(st.Failures) != 0 || st.Succeeded != 5 || st.Failed != 0 {
		t.Errorf("status %+v", st)
	}
}

func TestRunRateLimit(t *testing.T) { synctest.Test(t, testRunRateLimit) }

func testRunRateLimit(t *testing.T) {
	srv := newFakeServer(0)
	start := time.Now()
	_, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(csvRows(11, "")),
		Kind: KindAccount, Exec: srv.exec, Generate: counterGen(), Rate: 100, Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	// 11 rows at 100/s with a burst of 1: at least 10 intervals of 10 ms.
	if el := time.Since(start); el < 95*time.Millisecond {
		t.Errorf("11 rows at 100/s took %v", el)
	}
}

func TestRunErrors(t *testing.T) {
	exec := newFakeServer(0).exec
	t.Run("generator fails", func(t *testing.T) {
		srv := newFakeServer(0)
		_, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader("user\na\n"), Kind: KindAccount,
			Exec: srv.exec, Generate: func(Row) (string, error) { return "", errors.New("no entropy") }})
		if err == nil || !strings.Contains(err.Error(), "no entropy") || srv.calls != 0 {
			t.Fatalf("err %v, calls %d", err, srv.calls)
		}
	})
	t.Run("resume needs generator", func(t *testing.T) {
		path := planFile(t, KindAccount, "user\na\n", ValidateOptions{Generate: true})
		if _, err := Resume(context.Background(), path, RunConfig{Exec: exec}); err == nil || !strings.Contains(err.Error(), "generator") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("kind mismatch", func(t *testing.T) {
		path := planFile(t, KindAccount, "user,password\na,x\n", ValidateOptions{})
		if _, err := Resume(context.Background(), path, RunConfig{Exec: exec, Kind: KindEmail}); err == nil || !strings.Contains(err.Error(), "account run") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("journal sync fails", func(t *testing.T) {
		srv := newFakeServer(0)
		_, err := Run(context.Background(), RunConfig{Journal: filepath.Join(t.TempDir(), "j"), Input: strings.NewReader(csvRows(20, "")), Kind: KindAccount,
			Exec: srv.exec, Generate: counterGen(), syncFn: func(*os.File) error { return errors.New("EIO") }})
		if err == nil || !strings.Contains(err.Error(), "EIO") || srv.calls != 0 {
			t.Fatalf("err %v, calls %d: a row was sent without a durable intent", err, srv.calls)
		}
	})
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	bar := NewProgressBar(&b, 0)
	bar(Progress{Total: 200, Done: 50, Rate: 12.34, ETA: 12*time.Second + 300*time.Millisecond, Failed: 2})
	bar(Progress{Total: 200, Done: 60})
	bar(Progress{Total: 200, Done: 200, Rate: 20, Elapsed: 10 * time.Second, Final: true})
	want := "\rcpctl: [=====               ] 50/200  25%  12.3 rows/s  ETA 12s  2 failed" +
		"\rcpctl: [======              ] 60/200  30%  0.0 rows/s  ETA -" + strings.Repeat(" ", 13) +
		"\rcpctl: [====================] 200/200 100%  20.0 rows/s  in 10s\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
	if got := progressLine(Progress{Total: 4, Done: 1, Note: "concurrency 3"}); !strings.HasSuffix(got, "  ETA -  concurrency 3") {
		t.Errorf("the caller's note should end the line: %q", got)
	}
	// At a narrow terminal the line never wraps: the note goes first, then
	// the line is cut.
	for _, cols := range []int{80, 60, 30} {
		var nb bytes.Buffer
		NewProgressBar(&nb, cols)(Progress{Total: 10000, Done: 5000, Rate: 1234.5, ETA: time.Hour, Failed: 12, Note: "concurrency 16 (3 servers)"})
		line := strings.TrimPrefix(nb.String(), "\r")
		if len(line) >= cols {
			t.Errorf("at %d columns the line is %d long: %q", cols, len(line), line)
		}
	}
}

// TestRunMemoryFlat runs 100,000 rows (10,000 in -short) and checks the heap
// stays small: rows are streamed from the journal, never all held.
func TestRunMemoryFlat(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "user,owner")
	for i := range n {
		fmt.Fprintf(f, "user%07d,reseller%d\n", i, i%50)
	}
	f.Close()
	path := filepath.Join(dir, "j")
	if _, err := Plan(path, mustOpen(t, in), KindFTP, nil, ValidateOptions{Generate: true}); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peakHeap := sampleHeap(5 * time.Millisecond)
	results := 0
	sum, err := Resume(context.Background(), path, RunConfig{Exec: func(context.Context, Row, string) Outcome { return Outcome{State: fate.Applied} },
		Generate: counterGen(), Concurrency: 8, OnResult: func(Result) { results++ },
		syncFn: func(*os.File) error { return nil }}) // the fsync is not what this test measures
	peak := peakHeap()
	if err != nil || sum.Succeeded != n || results != n {
		t.Fatalf("sum %+v err %v results %d", sum, err, results)
	}
	growth := int64(peak) - int64(base)
	t.Logf("%d rows: heap in use grew by at most %.1f MB", n, float64(growth)/(1<<20))
	if growth > 16<<20 {
		t.Errorf("heap grew by %d MB for %d rows", growth>>20, n)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// sampleHeap records the peak of the heap in use every interval until the
// returned function is called, which stops sampling and gives the peak.
func sampleHeap(interval time.Duration) func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-sampled
		return peak.Load()
	}
}
