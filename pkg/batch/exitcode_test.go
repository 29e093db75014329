package batch

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cpctl/cpctl/pkg/fate"
)

// A run none of whose rows succeeded exits with the reason they share
// (refused 1, credentials 3, network or unreadable reply 4), 5 when the
// reasons differ; the code covers the whole journal across resumes.
func TestRunExitCode(t *testing.T) {
	var (
		applied = Outcome{State: fate.Applied}
		refused = Outcome{State: fate.Refused, Class: "refused"}
		auth    = Outcome{State: fate.Refused, Auth: true, Class: "auth"}
		lost    = Outcome{State: fate.Unknown, Class: "transport"}
		down    = Outcome{State: fate.NotSent, Network: true, Class: "transport"}
		local   = Outcome{State: fate.NotSent, Class: "usage"}
	)
	tests := []struct {
		name string
		// rows maps each row to its outcomes, attempt by attempt (the last
		// one repeats).
		rows map[string][]Outcome
		runs int            // Run, then runs-1 resumes (1 when 0)
		only func(Row) bool // limits the runs to some rows
		want int
	}{
		{name: "all applied", rows: map[string][]Outcome{"a": {applied}, "b": {applied}}, want: 0},
		{name: "all refused", rows: map[string][]Outcome{"a": {refused}, "b": {refused}}, want: 1},
		{name: "all refused the credentials", rows: map[string][]Outcome{"a": {auth}, "b": {auth}}, want: 3},
		{name: "server unreachable", rows: map[string][]Outcome{"a": {down}, "b": {down}, "c": {down}}, want: 4},
		{name: "replies lost", rows: map[string][]Outcome{"a": {lost}, "b": {lost}}, want: 4},
		{name: "unreachable and lost", rows: map[string][]Outcome{"a": {down}, "b": {lost}}, want: 4},
		{name: "local failures before sending", rows: map[string][]Outcome{"a": {local}}, want: 2},
		{name: "refused and unreachable", rows: map[string][]Outcome{"a": {refused}, "b": {down}}, want: 5},
		{name: "credentials and refused", rows: map[string][]Outcome{"a": {auth}, "b": {refused}}, want: 5},
		{name: "some applied", rows: map[string][]Outcome{"a": {applied}, "b": {refused}}, want: 5},
		{name: "still unreachable on resume", rows: map[string][]Outcome{"a": {down}, "b": {down}}, runs: 2, want: 4},
		{name: "an earlier run's refusal counts", rows: map[string][]Outcome{"a": {refused}, "b": {down}}, runs: 2, want: 5},
		{name: "refused after a lost reply may be applied", rows: map[string][]Outcome{"a": {lost, refused}}, runs: 2, want: 4},
		{name: "a row never sent has no reason", rows: map[string][]Outcome{"a": {refused}, "b": {refused}},
			only: func(r Row) bool { return r.Target == "a" }, want: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			attempts := map[string]int{}
			exec := func(_ context.Context, row Row, _ string) Outcome {
				mu.Lock()
				defer mu.Unlock()
				outs := tt.rows[row.Target]
				o := outs[min(attempts[row.Target], len(outs)-1)]
				attempts[row.Target]++
				return o
			}
			in := "user,password\n"
			for target := range tt.rows {
				in += target + ",Pass-" + target + "-2024!xyz\n"
			}
			journal := filepath.Join(t.TempDir(), "j")
			cfg := RunConfig{Journal: journal, Input: strings.NewReader(in), Kind: KindAccount, Exec: exec, Only: tt.only}
			sum, err := Run(context.Background(), cfg)
			for i := 1; i < tt.runs && err == nil; i++ {
				sum, err = Resume(context.Background(), journal, cfg)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sum.ExitCode(); got != tt.want {
				t.Errorf("exit %d, want %d (%+v)", got, tt.want, sum)
			}
		})
	}
}
