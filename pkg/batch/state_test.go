package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func intentLine(seq, attempt int, pw string) string {
	return fmt.Sprintf(`{"t":"intent","seq":%d,"attempt":%d,"password":%q,"at":"x"}`+"\n", seq, attempt, pw)
}

func outcomeLine(seq, attempt, exit int) string {
	return fmt.Sprintf(`{"t":"outcome","seq":%d,"line":%d,"target":"bob","attempt":%d,"ok":%v,"exit":%d,"msg":"m","at":"x"}`+"\n",
		seq, seq+1, attempt, exit == 0, exit)
}

// TestNonFinalOutcomes checks that a row whose reply was once lost never
// becomes a final failure because a later attempt failed for another
// reason, and that local failures (ExitLocal) are sent again on resume.
func TestNonFinalOutcomes(t *testing.T) {
	type counts struct{ succ, failed, pending int }
	tests := []struct {
		name       string
		lines      []string
		wantShow   counts
		wantRetry  bool // Show lists bob as a failure to retry
		wantMaybe  bool
		wantExport bool // ExportSecrets is complete (no ErrIncomplete)
		wantSent   string
		exit       int // what the resumed attempt returns
		wantSum    counts
	}{
		{name: "lost then auth failure", lines: []string{intentLine(1, 1, "P"), outcomeLine(1, 1, 4), intentLine(1, 2, "P"), outcomeLine(1, 2, 3)},
			wantShow: counts{0, 0, 1}, wantRetry: true, wantMaybe: true, wantSent: "P", exit: 3, wantSum: counts{0, 0, 1}},
		{name: "lost then refused", lines: []string{intentLine(1, 1, "P"), outcomeLine(1, 1, 4), intentLine(1, 2, "P"), outcomeLine(1, 2, 1)},
			wantShow: counts{0, 0, 1}, wantRetry: true, wantMaybe: true, wantSent: "P", exit: 0, wantSum: counts{1, 0, 0}},
		{name: "lost then local failure", lines: []string{intentLine(1, 1, "P"), outcomeLine(1, 1, 4), intentLine(1, 2, "P"), outcomeLine(1, 2, 2)},
			wantShow: counts{0, 0, 1}, wantRetry: true, wantMaybe: true, wantSent: "P", exit: 1, wantSum: counts{0, 0, 1}},
		{name: "local failure", lines: []string{intentLine(1, 1, "P"), outcomeLine(1, 1, 2)},
			wantShow: counts{0, 0, 1}, wantRetry: true, wantSent: "P", exit: 1, wantSum: counts{0, 1, 0}},
		{name: "refused is final", lines: []string{intentLine(1, 1, "P"), outcomeLine(1, 1, 1)},
			wantShow: counts{0, 1, 0}, wantExport: true, wantSum: counts{0, 1, 0}},
		{name: "lost then ok", lines: []string{intentLine(1, 1, "P"), outcomeLine(1, 1, 4), intentLine(1, 2, "P"), outcomeLine(1, 2, 0)},
			wantShow: counts{1, 0, 0}, wantExport: true, wantSum: counts{1, 0, 0}},
		{name: "never sent", wantShow: counts{0, 0, 1}, wantSent: "NEW", exit: 0, wantSum: counts{1, 0, 0}},
		{name: "in flight", lines: []string{intentLine(1, 1, "P")}, wantShow: counts{0, 0, 1}, wantSent: "P", exit: 4, wantSum: counts{0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := planFile(t, KindAccount, "user\nbob\n", ValidateOptions{Generate: true})
			appendLines(t, path, tt.lines...)
			st, err := Show(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := (counts{st.Succeeded, st.Failed, st.Pending}); got != tt.wantShow {
				t.Errorf("Show counts %+v, want %+v", got, tt.wantShow)
			}
			retry := len(st.Failures) == 1 && st.Failures[0].Retry
			maybe := len(st.Failures) == 1 && st.Failures[0].MaybeApplied
			if retry != tt.wantRetry || maybe != tt.wantMaybe {
				t.Errorf("failures %+v: want retry %v maybe applied %v", st.Failures, tt.wantRetry, tt.wantMaybe)
			}
			err = ExportSecrets(path, &bytes.Buffer{})
			if complete := err == nil; complete != tt.wantExport || (err != nil && !errors.Is(err, ErrIncomplete)) {
				t.Errorf("ExportSecrets: %v, want complete %v", err, tt.wantExport)
			}
			var sent []string
			sum, err := Resume(context.Background(), path, RunConfig{
				Exec: func(_ context.Context, _ Row, pw string) Outcome {
					sent = append(sent, pw)
					st, auth, network := stateOfV1(tt.exit == 0, tt.exit)
					return Outcome{State: st, Auth: auth, Network: network}
				},
				Generate: func(Row) (string, error) { return "NEW", nil }, Concurrency: 1})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(sent, ","); got != tt.wantSent {
				t.Errorf("resume sent %q, want %q", got, tt.wantSent)
			}
			if got := (counts{sum.Succeeded, sum.Failed, sum.Pending}); got != tt.wantSum {
				t.Errorf("resume summary %+v, want %+v", sum, tt.wantSum)
			}
			st, err = Show(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := (counts{st.Succeeded, st.Failed, st.Pending}); got != tt.wantSum {
				t.Errorf("Show after resume %+v, want %+v", got, tt.wantSum)
			}
		})
	}
}
