package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

func planFile(t *testing.T, kind Kind, in string, opts ValidateOptions) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.journal")
	if _, err := Plan(path, strings.NewReader(in), kind, map[string]string{"profile": "prod", "api": "whmapi1"}, opts); err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return path
}

func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "")); err != nil {
		t.Fatal(err)
	}
}

func TestPlanJournal(t *testing.T) {
	path := planFile(t, KindFTP, "user,owner\nftp1,bob\nftp2,bob\n", ValidateOptions{Generate: true})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	h, err := ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	if h.Kind != KindFTP || h.Version != journalVersion || h.Meta["api"] != "whmapi1" || time.Since(h.Created) > time.Minute {
		t.Errorf("header %+v", h)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], `{"t":"header","v":3,"kind":"ftp"`) ||
		lines[1] != `{"t":"row","seq":1,"line":2,"target":"ftp1","owner":"bob"}` || lines[3] != `{"t":"planned","rows":2}` {
		t.Errorf("journal:\n%s", data)
	}
}

func TestPlanRefusesExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Plan(path, strings.NewReader("user,password\nbob,x\n"), KindAccount, nil, ValidateOptions{})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err = %v, want already exists", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Fatalf("existing file changed to %q", b)
	}
}

func TestPlanInvalidLeavesNoJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	_, err := Plan(path, strings.NewReader("user,password\nbob,x\nbob,y\n"), KindAccount, nil, ValidateOptions{})
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Line != 3 {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("journal left behind: %v", err)
	}
}

type call struct {
	target, password string
}

type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) exec(_ context.Context, row Row, pw string) Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{row.Target, pw})
	return Outcome{State: fate.Applied, Message: "changed", Services: []string{"system"}}
}

func TestResumeTornTail(t *testing.T) {
	path := planFile(t, KindAccount, "user,password\nr1,\nr2,\nr3,\nr4,given\n", ValidateOptions{Generate: true})
	appendLines(t, path,
		`{"t":"intent","seq":1,"attempt":1,"password":"P1","at":"x"}`+"\n",
		`{"t":"intent","seq":2,"attempt":1,"password":"P2","at":"x"}`+"\n",
		`{"t":"outcome","seq":1,"line":2,"target":"r1","attempt":1,"ok":true,"exit":0,"at":"x"}`+"\n",
		`{"t":"intent","seq":3,"attempt":1,"passw`) // kill -9 mid-write
	var rec recorder
	sum, err := Resume(context.Background(), path, RunConfig{Exec: rec.exec, Generate: func(Row) (string, error) { return "G", nil }, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(rec.calls)
	if got != "[{r2 P2} {r3 G} {r4 given}]" {
		t.Errorf("calls %s, want r2 with its journaled password, r3 generated, r4 from the file", got)
	}
	if sum != (Summary{Total: 4, Succeeded: 4, Skipped: 1}) {
		t.Errorf("summary %+v", sum)
	}
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte(`"passw`+"{")) || !bytes.HasSuffix(data, []byte("\n")) {
		t.Errorf("torn tail not cut:\n%s", data)
	}
	if n := bytes.Count(data, []byte(`"t":"intent","seq":2,"attempt":2,"password":"P2"`)); n != 1 {
		t.Errorf("row 2's retry intent found %d times:\n%s", n, data)
	}
	var out bytes.Buffer
	if err := ExportSecrets(path, &out); err != nil {
		t.Fatal(err)
	}
	if want := "user,password\nr1,P1\nr2,P2\nr3,G\nr4,given\n"; !sameLines(out.String(), want) {
		t.Errorf("export:\n%s\nwant (any order):\n%s", out.String(), want)
	}
}

// A hole in the tail (an unreadable line with records after it) is cut away
// with everything after it: none of it was acknowledged.
func TestResumeHoleInTail(t *testing.T) {
	path := planFile(t, KindAccount, "user\nr1\nr2\n", ValidateOptions{Generate: true})
	appendLines(t, path,
		`{"t":"intent","seq":1,"attempt":1,"password":"P1","at":"x"}`+"\n",
		`{"t":"outcome","seq":1,"line":2,"target":"r1","attempt":1,"ok":true,"exit":0,"at":"x"}`+"\n")
	before, _ := os.ReadFile(path)
	appendLines(t, path,
		"\x00\x00\x00{garbage\n",
		`{"t":"intent","seq":2,"attempt":1,"password":"P2","at":"x"}`+"\n",
		`{"t":"outcome","seq":2,"line":3,"target":"r2","attempt":1,"ok":true,"exit":0,"at":"x"}`+"\n")
	var rec recorder
	sum, err := Resume(context.Background(), path, RunConfig{Exec: rec.exec, Generate: func(Row) (string, error) { return "G", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rec.calls); got != "[{r2 G}]" {
		t.Errorf("calls %s, want r2 only, with a new password", got)
	}
	if sum != (Summary{Total: 2, Succeeded: 2, Skipped: 1}) {
		t.Errorf("summary %+v", sum)
	}
	data, _ := os.ReadFile(path)
	if !bytes.HasPrefix(data, before) || bytes.Contains(data, []byte("garbage")) || bytes.Contains(data, []byte("P2")) {
		t.Errorf("journal not cut at the hole:\n%s", data)
	}
}

func sameLines(a, b string) bool {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(la) != len(lb) || la[0] != lb[0] {
		return false
	}
	seen := map[string]int{}
	for _, l := range la {
		seen[l]++
	}
	for _, l := range lb {
		seen[l]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestJournalDamaged(t *testing.T) {
	exec := func(context.Context, Row, string) Outcome { return Outcome{State: fate.Applied} }
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"intents with different passwords", []string{`{"t":"intent","seq":1,"attempt":1,"password":"a","at":"x"}` + "\n", `{"t":"intent","seq":1,"attempt":2,"password":"b","at":"x"}` + "\n"}, "different passwords"},
		{"outcome without intent", []string{`{"t":"outcome","seq":1,"ok":true}` + "\n"}, "without an intent"},
		{"intent outside the plan", []string{`{"t":"intent","seq":9,"attempt":1,"password":"a","at":"x"}` + "\n"}, "outside the plan"},
		{"delivery outside the plan", []string{`{"t":"delivered","seq":9,"target":"x","attempt":1,"state":"applied","at":"x"}` + "\n"}, "delivered record for row 9 outside the plan"},
		{"failed delivery of row 0", []string{`{"t":"delivery-failed","seq":0,"attempt":1,"state":"applied","at":"x"}` + "\n"}, "delivery-failed record for row 0 outside the plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := planFile(t, KindAccount, "user,password\nbob,x\n", ValidateOptions{})
			appendLines(t, path, tt.lines...)
			_, err := Resume(context.Background(), path, RunConfig{Exec: exec})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestResumeUnplannedJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	if err := os.WriteFile(path, []byte(`{"t":"header","v":1,"kind":"account","created":"x"}`+"\n"+`{"t":"row","seq":1,"line":2,"target":"bob"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Resume(context.Background(), path, RunConfig{Exec: func(context.Context, Row, string) Outcome { return Outcome{State: fate.Applied} }})
	if err == nil || !strings.Contains(err.Error(), "never completed") {
		t.Fatalf("err = %v", err)
	}
	if err := ExportSecrets(path, &bytes.Buffer{}); err == nil {
		t.Fatal("export of an unplanned journal succeeded")
	}
}

// TestGroupCommit checks that no append with wait returns before a sync that
// covers its record, and that concurrent appends share syncs. The slow fsync
// takes synctest's time: the appends queue behind it as they would behind a
// real disk, and the test waits for nothing.
func TestGroupCommit(t *testing.T) {
	synctest.Test(t, testGroupCommit)
}

func testGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		durable []byte // what the last completed sync made durable
		syncs   atomic.Int64
	)
	j := startJournal(f, func(f *os.File) error {
		time.Sleep(500 * time.Microsecond) // an fsync takes a while: others queue meanwhile
		b, err := os.ReadFile(f.Name())
		if err != nil {
			return err
		}
		mu.Lock()
		durable = b
		mu.Unlock()
		syncs.Add(1)
		return nil
	})
	const workers, each = 16, 40
	var wg sync.WaitGroup
	var bad atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				rec := []byte(fmt.Sprintf(`{"t":"intent","seq":%d}`+"\n", w*1000+i))
				if err := j.append(rec, true); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ok := bytes.Contains(durable, rec)
				mu.Unlock()
				if !ok {
					bad.Add(1)
				}
				// an outcome nobody waits for
				if err := j.append([]byte(fmt.Sprintf(`{"t":"outcome","seq":%d}`+"\n", w*1000+i)), false); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	if bad.Load() != 0 {
		t.Fatalf("%d intents acknowledged before they were synced", bad.Load())
	}
	n := syncs.Load()
	if n > workers*each/2 {
		t.Errorf("%d syncs for %d intents: no group commit", n, workers*each)
	}
	data, _ := os.ReadFile(path)
	if c := bytes.Count(data, []byte("\n")); c != 2*workers*each {
		t.Errorf("%d records written, want %d", c, 2*workers*each)
	}
	if !bytes.Equal(data, durable) {
		t.Error("close did not sync the last outcomes")
	}
	t.Logf("%d intents, %d syncs", workers*each, n)
}

// TestOutcomesStartNoSyncs holds the committer to its design: records
// nobody waits for (outcomes) ride with the next intents or the lazyFlush
// tick. It once kept syncing them back to back while they kept arriving, one
// fsync after another for as long as the run was fast. It runs on synctest's
// clock, so the count of syncs is exact however loaded the machine is.
func TestOutcomesStartNoSyncs(t *testing.T) {
	synctest.Test(t, testOutcomesStartNoSyncs)
}

func testOutcomesStartNoSyncs(t *testing.T) {
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "j"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var syncs atomic.Int64
	j := startJournal(f, func(*os.File) error {
		time.Sleep(time.Millisecond) // outcomes keep arriving during each sync
		syncs.Add(1)
		return nil
	})
	start := time.Now()
	done := make(chan struct{})
	go func() { // outcomes flow all along, as workers finish rows
		defer close(done)
		for i := 0; time.Since(start) < 30*time.Millisecond; i++ {
			if err := j.append([]byte(fmt.Sprintf(`{"t":"outcome","seq":%d}`+"\n", i)), false); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	time.Sleep(2 * time.Millisecond) // the dispatcher's intents come meanwhile
	if err := j.append([]byte(`{"t":"intent","seq":0}`+"\n"), true); err != nil {
		t.Fatal(err)
	}
	<-done
	// One sync for the intent and one per lazyFlush tick that came by;
	// syncing outcomes as they come makes ~30.
	elapsed := time.Since(start)
	if n, most := syncs.Load(), int64(1+elapsed/lazyFlush); n > most {
		t.Errorf("%d syncs in %s for one intent and outcomes only, want at most %d", n, elapsed.Round(time.Millisecond), most)
	}
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
}

func TestGroupCommitSyncFailure(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "j")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	j := startJournal(f, func(*os.File) error { return boom })
	if err := j.append([]byte("{}\n"), true); !errors.Is(err, boom) {
		t.Fatalf("append err = %v, want %v", err, boom)
	}
	if err := j.append([]byte("{}\n"), true); !errors.Is(err, boom) {
		t.Fatalf("append after failure err = %v, want sticky %v", err, boom)
	}
	if err := j.close(); !errors.Is(err, boom) {
		t.Fatalf("close err = %v", err)
	}
}

// errAfter fails after n bytes, like an input that breaks mid-file.
type errAfter struct {
	r io.Reader
	n int
}

func (e *errAfter) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errors.New("input broke")
	}
	if len(p) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= n
	return n, err
}

// A plan that fails part-way leaves neither a journal nor its temporary
// file, and a stale temporary file of a killed run is cleaned up.
func TestPlanIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.journal")
	stale := path + ".planning-99999"
	if err := os.WriteFile(stale, []byte(`{"t":"header","v":2,"kind":"account"}`+"\n"+`{"t":"row","seq":1,"line":2,"tar`), 0o600); err != nil {
		t.Fatal(err)
	}
	in := &errAfter{r: strings.NewReader("user,password\nu1,Pass-One-2026!x\nu2,Pass-Two-2026!x\n"), n: 30}
	if _, err := Plan(path, in, KindAccount, nil, ValidateOptions{}); err == nil {
		t.Fatal("want the input's error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("files left behind: %v", entries)
	}
	if _, err := Plan(path, strings.NewReader("user,password\nu1,Pass-One-2026!x\n"), KindAccount, nil, ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Plan(path, strings.NewReader("user,password\nu1,Pass-One-2026!x\n"), KindAccount, nil, ValidateOptions{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second plan into the same journal: %v", err)
	}
}

// A plan's aside name left as a second link to the journal (a crash between
// the link and its removal) is removed when the journal is resumed; a
// stale plan of another journal that is a different file is not touched.
func TestResumeRemovesPlanLink(t *testing.T) {
	path := planFile(t, KindAccount, "user,password\nbob,x\n", ValidateOptions{})
	dir := filepath.Dir(path)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("Plan left %v, want the journal alone", entries)
	}
	link := path + ".planning-4242"
	if err := os.Link(path, link); err != nil {
		t.Fatal(err)
	}
	other := path + ".planning-4343"
	if err := os.WriteFile(other, []byte("someone else's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var rec recorder
	if _, err := Resume(context.Background(), path, RunConfig{Exec: rec.exec}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("second link to the journal survived: %v", err)
	}
	if _, err := os.Lstat(other); err != nil {
		t.Errorf("an unrelated file was removed: %v", err)
	}
}
