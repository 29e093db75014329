package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cpctl/cpctl/pkg/fate"
)

// store is a Deliver that keeps what it was handed, failing for the
// targets fail names.
type store struct {
	mu    sync.Mutex
	fail  func(Delivery) error
	calls []string // target:state:password, in delivery order
	got   map[string]string
}

func (s *store) deliver(_ context.Context, d Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(d); err != nil {
			return err
		}
	}
	s.calls = append(s.calls, fmt.Sprintf("%s:%s:%s", d.Row.Target, d.State, d.Password))
	if s.got == nil {
		s.got = map[string]string{}
	}
	s.got[d.Row.Target] = d.Password
	return nil
}

// outcomesByTarget is an executor answering each row by its target.
func outcomesByTarget(m map[string]Outcome) func(context.Context, Row, string) Outcome {
	return func(_ context.Context, row Row, _ string) Outcome {
		if o, ok := m[row.Target]; ok {
			return o
		}
		return Outcome{State: fate.Applied}
	}
}

// TestDeliverWhatChanged runs rows ending in each state: applied rows are
// delivered as applied, a row whose reply was lost as unknown (it may have
// the password), refused and not-sent rows not at all; the journal records
// each delivery.
func TestDeliverWhatChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	var st store
	sum, err := Run(context.Background(), RunConfig{Journal: path, Kind: KindAccount, Concurrency: 1,
		Input:   strings.NewReader("user,password\na,pw-a\nr,pw-r\nu,pw-u\nn,pw-n\n"),
		Exec:    outcomesByTarget(map[string]Outcome{"r": {State: fate.Refused}, "u": {State: fate.Unknown}, "n": {State: fate.NotSent}}),
		Deliver: st.deliver})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(st.calls, " "), "a:applied:pw-a u:unknown:pw-u"; got != want {
		t.Errorf("deliveries %q, want %q", got, want)
	}
	if sum.Delivered != 2 || sum.Undelivered != 0 || sum.DeliveryStopped {
		t.Errorf("summary %+v", sum)
	}
	data, _ := os.ReadFile(path)
	for _, want := range []string{`{"t":"deliver","at":`, `{"t":"delivered","seq":1,"target":"a","attempt":1,"state":"applied","at":`,
		`{"t":"delivered","seq":3,"target":"u","attempt":1,"state":"unknown","at":`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("journal lacks %s:\n%s", want, data)
		}
	}
	s, err := Show(path)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Delivery || s.Delivered != 2 || s.Undelivered != 0 || len(s.UndeliveredRows) != 0 {
		t.Errorf("status %+v", s)
	}
}

// TestDeliveryFailedThenResumed: a failing command leaves its rows owed,
// listed by Show and ExportUndelivered, with a reason that never holds
// the password; the run exits 5, and a resume delivers those rows only.
func TestDeliveryFailedThenResumed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	broken := store{fail: func(d Delivery) error {
		if d.Row.Target == "bob" {
			return fmt.Errorf("vault: permission denied writing %s", d.Password)
		}
		return nil
	}}
	sum, err := Run(context.Background(), RunConfig{Journal: path, Kind: KindAccount, Concurrency: 2,
		Input: strings.NewReader("user,owner\nalice,\nbob,res1\ncarol,\n"), Validate: ValidateOptions{},
		Generate: counterGen(), Exec: outcomesByTarget(nil), Deliver: broken.deliver})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Succeeded != 3 || sum.Delivered != 2 || sum.Undelivered != 1 || sum.ExitCode() != fate.ExitPartial {
		t.Errorf("summary %+v, exit %d", sum, sum.ExitCode())
	}
	bobPassword := exportMap(t, path)["/bob"]
	s, err := Show(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Undelivered{RowRef: RowRef{Seq: 2, Line: 3, Target: "bob", Owner: "res1"}, State: fate.Applied, Message: "vault: permission denied writing <redacted>"}
	if s.Undelivered != 1 || s.Delivered != 2 || len(s.UndeliveredRows) != 1 || s.UndeliveredRows[0] != want {
		t.Errorf("status %+v, want the row %+v", s, want)
	}
	if data, _ := os.ReadFile(path); bytes.Contains(data, []byte("writing "+bobPassword)) {
		t.Error("the failure's message kept the password")
	}
	var out bytes.Buffer
	if err := ExportUndelivered(path, &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "user,password,owner\nbob,"+bobPassword+",res1\n"; got != want {
		t.Errorf("ExportUndelivered wrote %q, want %q", got, want)
	}

	// Without a command the journal is not resumed: bob would stay owed.
	if _, err := Resume(context.Background(), path, RunConfig{Exec: outcomesByTarget(nil), Generate: counterGen()}); !errors.Is(err, ErrDeliveryNeeded) {
		t.Errorf("resume without Deliver: %v, want ErrDeliveryNeeded", err)
	}
	var fixed store
	var rec recorder
	sum, err = Resume(context.Background(), path, RunConfig{Exec: rec.exec, Generate: counterGen(), Deliver: fixed.deliver})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(fixed.calls, " "), "bob:applied:"+bobPassword; got != want || len(rec.calls) != 0 {
		t.Errorf("resume delivered %q and sent %v; want %q and nothing sent", got, rec.calls, want)
	}
	if sum.Delivered != 1 || sum.Undelivered != 0 || sum.ExitCode() != fate.ExitOK {
		t.Errorf("summary after resume %+v", sum)
	}
	if s, _ := Show(path); s.Undelivered != 0 || s.Delivered != 3 {
		t.Errorf("status after resume %+v", s)
	}
}

// TestMaybeAppliedDeliveredAgain: a row whose reply was lost is delivered
// as unknown; when a resume applies it (with the same password) it is
// delivered again, as applied. A later lost reply delivers nothing new.
func TestMaybeAppliedDeliveredAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	var st store
	lost := outcomesByTarget(map[string]Outcome{"bob": {State: fate.Unknown}})
	if _, err := Run(context.Background(), RunConfig{Journal: path, Kind: KindAccount, Input: strings.NewReader("user\nbob\n"),
		Generate: counterGen(), Exec: lost, Deliver: st.deliver}); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(context.Background(), path, RunConfig{Generate: counterGen(), Exec: lost, Deliver: st.deliver}); err != nil {
		t.Fatal(err)
	}
	sum, err := Resume(context.Background(), path, RunConfig{Generate: counterGen(), Exec: outcomesByTarget(nil), Deliver: st.deliver})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(st.calls, " "), "bob:unknown:gen-1 bob:applied:gen-1"; got != want || sum.Undelivered != 0 {
		t.Errorf("deliveries %q (undelivered %d), want %q", got, sum.Undelivered, want)
	}
}

// TestDeliveryStopsAfterFailuresInARow: a store that is down is tried
// MaxDeliveryFailures times, not once per row; every row stays owed.
func TestDeliveryStopsAfterFailuresInARow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	tries := 0
	down := store{fail: func(Delivery) error { tries++; return errors.New("connection refused") }}
	sum, err := Run(context.Background(), RunConfig{Journal: path, Kind: KindAccount, Input: strings.NewReader(csvRows(10, "")),
		Generate: counterGen(), Exec: outcomesByTarget(nil), Deliver: down.deliver})
	if err != nil {
		t.Fatal(err)
	}
	if tries != MaxDeliveryFailures || !sum.DeliveryStopped || sum.Undelivered != 10 || sum.Succeeded != 10 || sum.ExitCode() != fate.ExitPartial {
		t.Errorf("%d tries, summary %+v", tries, sum)
	}
}

// TestV2JournalDelivers resumes the format-2 fixture with a command: the
// rows applied by the old release are delivered with their intents'
// passwords, so are the rows this resume applies, and the journal still
// reads as format 2 with format-3 records appended.
func TestV2JournalDelivers(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "v2.journal"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "v2.journal")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Show(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 2 || s.Delivery || s.Succeeded != 2 || s.Failed != 1 || s.Pending != 4 {
		t.Fatalf("the fixture reads as %+v", s)
	}
	var st store
	var rec recorder
	sum, err := Resume(context.Background(), path, RunConfig{Exec: rec.exec, Concurrency: 1, Deliver: st.deliver,
		Generate: func(Row) (string, error) { return "", errors.New("every pending row has an intent") }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"alice:applied:Alice-Pw-1x!", "carol:applied:Gen-carol-pw9!", "dave:applied:Gen-dave-pw9!",
		"erin:applied:Gen-erin-pw9!", "frank:applied:Gen-frank-pw9!", "grace:applied:Gen-grace-pw9!"}
	got := slices.Clone(st.calls)
	slices.Sort(got)
	if !slices.Equal(got, want) || sum.Undelivered != 0 || sum.Delivered != 6 {
		t.Errorf("deliveries %v (summary %+v), want %v", got, sum, want)
	}
	if s, err := Show(path); err != nil || s.Version != 2 || !s.Delivery || s.Delivered != 6 || s.Undelivered != 0 {
		t.Errorf("after the resume: %+v, %v", s, err)
	}
}

// TestDeliveryCrashAtEveryRecord cuts a delivering run's journal after each
// of its records, as a crash there would leave it, and resumes each cut:
// every row ends applied and delivered as applied, with the password its
// intents carry, and no row the cut journal recorded as delivered is
// delivered again.
func TestDeliveryCrashAtEveryRecord(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	lostOnce := map[string]bool{"u2": true}
	var mu sync.Mutex
	exec := func(_ context.Context, row Row, _ string) Outcome {
		mu.Lock()
		defer mu.Unlock()
		if lostOnce[row.Target] {
			lostOnce[row.Target] = false
			return Outcome{State: fate.Unknown}
		}
		return Outcome{State: fate.Applied}
	}
	var first store
	if _, err := Run(context.Background(), RunConfig{Journal: full, Kind: KindAccount, Input: strings.NewReader(csvRows(5, "")),
		Concurrency: 2, Generate: counterGen(), Exec: exec, Deliver: first.deliver}); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(context.Background(), full, RunConfig{Generate: counterGen(), Exec: exec, Deliver: first.deliver}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	planEnd := bytes.Index(data, []byte(`{"t":"planned"`))
	cuts := 0
	for end := planEnd; end < len(data); end++ {
		if data[end] != '\n' {
			continue
		}
		cuts++
		prefix := data[:end+1]
		path := filepath.Join(dir, fmt.Sprintf("cut-%d", end))
		if err := os.WriteFile(path, prefix, 0o600); err != nil {
			t.Fatal(err)
		}
		before, err := Show(path)
		if err != nil {
			t.Fatal(err)
		}
		var again store
		var rec recorder
		sum, err := Resume(context.Background(), path, RunConfig{Exec: rec.exec, Generate: counterGen(), Deliver: again.deliver})
		if err != nil {
			t.Fatalf("cut at %d: %v", end, err)
		}
		if sum.Succeeded != 5 || sum.Undelivered != 0 {
			t.Errorf("cut at %d: summary %+v", end, sum)
		}
		intents := exportMap(t, path)
		for target, pw := range again.got {
			if intents["/"+target] != pw {
				t.Errorf("cut at %d: %s delivered %q, the journal says %q", end, target, pw, intents["/"+target])
			}
		}
		owed := map[string]bool{}
		for _, u := range before.UndeliveredRows {
			owed[u.Target] = u.State == fate.Applied
		}
		for _, c := range again.calls {
			target := strings.SplitN(c, ":", 2)[0]
			if !owed[target] && !slices.ContainsFunc(rec.calls, func(cl call) bool { return cl.target == target }) {
				t.Errorf("cut at %d: %s was delivered again although the cut journal owed it nothing", end, target)
			}
		}
	}
	if cuts < 20 {
		t.Fatalf("only %d cuts", cuts)
	}
}

// TestMixedRunDeliversEachRowsKind: in a mixed run (cpctl rotate) each
// delivery carries its row's kind, whether the row is delivered in the run
// that applied it or by a later resume.
func TestMixedRunDeliversEachRowsKind(t *testing.T) {
	path := planRows(t, KindMixed, mixedRows())
	gen := func(r Row) (string, error) { return "Pw-" + r.Kind.String(), nil }
	ctx, cancel := context.WithCancel(context.Background())
	exec := func(_ context.Context, r Row, _ string) Outcome {
		if r.Seq == 3 {
			cancel() // rows 1-3 applied without delivery; 4-6 wait for the resume
		}
		return Outcome{State: fate.Applied}
	}
	if _, err := Resume(ctx, path, RunConfig{Exec: exec, Generate: gen, Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	deliver := func(_ context.Context, d Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%s/%s/%s", d.Row.Kind, d.Row.Target, d.Password))
		return nil
	}
	sum, err := Resume(context.Background(), path, RunConfig{Exec: exec, Generate: gen, Concurrency: 1, Deliver: deliver})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{"account/bob/Pw-account", "email/info@bob.example/Pw-email", "ftp/files@bob.example/Pw-ftp",
		"mysql/bob/Pw-mysql", "postgresql/bob_pg/Pw-postgresql", "webdisk/dav@bob.example/Pw-webdisk"}
	if !slices.Equal(got, want) || sum.Undelivered != 0 {
		t.Errorf("delivered %v (undelivered %d), want %v", got, sum.Undelivered, want)
	}
}
