package batch

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/cpctl/cpctl/pkg/fate"
)

// TestInterruptRecordsNotSent interrupts runs (Ctrl-C, as a cancelled
// context) with rows queued, held by the dispatcher and waiting for the
// rate limiter: the server received exactly the rows recorded as finished,
// so journal show must count none in flight; the rows never sent are
// recorded as not-sent (pending, not failed), and a resume sends each of
// them once, with the password its intent fixed.
func TestInterruptRecordsNotSent(t *testing.T) {
	tests := []struct {
		name     string
		cfg      RunConfig
		profiles []string
	}{
		{"queued rows", RunConfig{Concurrency: 4}, []string{"p"}},
		{"several profiles", RunConfig{Concurrency: 2}, []string{"a", "b", "c"}},
		{"waiting for the rate limiter", RunConfig{Concurrency: 4, Rate: rate.Limit(2000), Burst: 1}, []string{"p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(0)
			path := filepath.Join(t.TempDir(), "j")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n := 0
			cfg := tt.cfg
			cfg.Journal, cfg.Input, cfg.Kind, cfg.Exec, cfg.Generate = path, strings.NewReader(csvRows(200, tt.profiles...)), KindAccount, srv.exec, counterGen()
			cfg.OnResult = func(Result) {
				if n++; n == 10 {
					cancel()
				}
			}
			sum, err := Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			total := 200 * len(tt.profiles)
			if !sum.Interrupted || sum.Succeeded != srv.calls || sum.Pending != total-sum.Succeeded {
				t.Fatalf("summary %+v, %d calls", sum, srv.calls)
			}
			st, err := Show(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.InFlight != 0 || st.Succeeded != srv.calls || st.Pending != total-srv.calls || st.Failed != 0 || len(st.Failures) != 0 {
				t.Errorf("status in flight %d, succeeded %d, pending %d, failed %d, failures %v; the server got %d",
					st.InFlight, st.Succeeded, st.Pending, st.Failed, st.Failures, srv.calls)
			}
			intents, applied, notSent := journalSeqs(t, path)
			for seq := range intents {
				if applied[seq] == notSent[seq] {
					t.Errorf("row %d: applied %v, not-sent %v: want exactly one", seq, applied[seq], notSent[seq])
				}
			}
			if len(notSent) == 0 {
				t.Error("no row was recorded as not sent: the test interrupted nothing")
			}
			sum, err = Resume(context.Background(), path, RunConfig{Exec: srv.exec, Generate: counterGen(), Concurrency: 4})
			if err != nil || sum.Succeeded != total {
				t.Fatalf("resume: %+v %v", sum, err)
			}
			for key, h := range srv.history {
				if len(h) != 1 {
					t.Errorf("%s received %v: want one password, once", key, h)
				}
			}
		})
	}
}

// journalSeqs reads which rows have intents, applied outcomes and not-sent
// outcomes.
func journalSeqs(t *testing.T, path string) (intents, applied, notSent map[int]bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	intents, applied, notSent = map[int]bool{}, map[int]bool{}, map[int]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		switch {
		case r.T == recIntent:
			intents[r.Seq] = true
		case r.T == recOutcome && r.State == string(fate.Applied):
			applied[r.Seq] = true
		case r.T == recOutcome && r.State == string(fate.NotSent):
			notSent[r.Seq] = true
		}
	}
	return intents, applied, notSent
}
