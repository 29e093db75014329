package batch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/fate"
)

// envLockChild switches TestMain into lockChild, which holds the journal it
// names as a run does.
const envLockChild = "CPCTL_BATCH_LOCK_CHILD"

// lockChild opens the journal at path as a resume does (locked), says
// "locked", and holds it until it is killed.
func lockChild(path string) {
	if _, _, err := openJournal(path); err != nil {
		fmt.Fprintln(os.Stderr, "open journal:", err)
		os.Exit(2)
	}
	fmt.Println("locked")
	select {}
}

// holdInChild starts a process that holds the journal at path; release
// kills it, and its lock dies with it.
func holdInChild(t *testing.T, path string) (release func()) {
	t.Helper()
	cmd, stdout, stderr := startChild(t, envLockChild+"="+path)
	release = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	if sc := bufio.NewScanner(stdout); !sc.Scan() || sc.Text() != "locked" {
		release()
		t.Fatalf("the lock holder said %q: %s", sc.Text(), stderr.String())
	}
	return release
}

// holdHere holds the journal at path through another descriptor of this
// process, as a run in this process would.
func holdHere(t *testing.T, path string) (release func()) {
	t.Helper()
	f, _, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	return func() { f.Close() }
}

// TestInUse checks that a journal another descriptor or another process
// holds reads as in use, that the probe leaves the holder's lock alone,
// and that once the holder lets go, or when nobody holds it, it reads as
// free and the probe leaves nothing locked behind. Where files cannot be
// locked (canLock false) a journal always reads as free, as a resume of it
// is not refused there either.
func TestInUse(t *testing.T) {
	for _, tt := range []struct {
		name string
		hold func(*testing.T, string) func()
	}{
		{"free", nil},
		{"held by another descriptor", holdHere},
		{"held by another process", holdInChild},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := planFile(t, KindAccount, "user,password\nbob,x\n", ValidateOptions{})
			release := func() {}
			if tt.hold != nil {
				release = tt.hold(t, path)
			}
			held := tt.hold != nil && canLock
			for range 2 { // a probe changes nothing for the next one
				got, err := InUse(path)
				if err != nil {
					t.Fatal(err)
				}
				if got != held {
					t.Fatalf("InUse = %v, want %v", got, held)
				}
			}
			// Whoever held the lock still holds it: a resume is refused.
			if err := tryLock(path); held && !errors.Is(err, errInUse) {
				t.Errorf("after the probes, a lock of the held journal: %v, want it in use", err)
			} else if !held && err != nil {
				t.Errorf("after the probes, a lock of the free journal: %v, want it free", err)
			}
			release()
			if got, err := InUse(path); err != nil || got {
				t.Errorf("once let go: InUse = %v, %v; want false", got, err)
			}
			if err := tryLock(path); err != nil {
				t.Errorf("once let go, a lock: %v, want it free", err)
			}
		})
	}
}

// tryLock takes and lets go the journal's lock through a descriptor of its
// own, as a resume would.
func tryLock(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return lockFile(f)
}

func TestInUseMissing(t *testing.T) {
	path := t.TempDir() + "/none.journal"
	if _, err := InUse(path); err == nil || !strings.Contains(err.Error(), "journal "+path+": ") {
		t.Errorf("InUse of a missing journal: %v, want an error naming it", err)
	}
}

// TestShowDuringRun runs Show while a run holds the journal (from its
// executor, while a row is being sent): the journal is in use and its
// counts are a snapshot, in which the row being sent is pending and in
// flight (its intent is written, its answer is not). Outcomes reach the
// file a little after their rows end (group commit), so the snapshot may
// lag; the first one cannot. Once the run ends the journal is free and
// every row is done.
func TestShowDuringRun(t *testing.T) {
	path := planFile(t, KindAccount, "user,password\nbob,x\nalice,y\ncarol,z\n", ValidateOptions{})
	var during []Status
	exec := func(context.Context, Row, string) Outcome {
		st, err := Show(path)
		if err != nil {
			t.Errorf("Show during the run: %v", err)
		}
		during = append(during, st)
		return Outcome{State: fate.Applied}
	}
	if _, err := Resume(context.Background(), path, RunConfig{Exec: exec, Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	if len(during) != 3 {
		t.Fatalf("Show ran %d times during the run, want 3", len(during))
	}
	for i, st := range during {
		if st.InUse != canLock {
			t.Errorf("row %d: InUse %v during the run, want %v", i+1, st.InUse, canLock)
		}
		if st.Total != 3 || st.Succeeded+st.Failed+st.Pending != 3 || st.Pending < 1 || st.InFlight < 1 || st.InFlight > st.Pending {
			t.Errorf("row %d: total %d, succeeded %d, failed %d, pending %d, in flight %d: the row being sent should be pending and in flight",
				i+1, st.Total, st.Succeeded, st.Failed, st.Pending, st.InFlight)
		}
	}
	if first := during[0]; first.Succeeded != 0 || first.Pending != 3 {
		t.Errorf("during the first row: succeeded %d, pending %d; want 0, 3", first.Succeeded, first.Pending)
	}
	after, err := Show(path)
	if err != nil {
		t.Fatal(err)
	}
	if after.InUse || after.Succeeded != 3 || after.Pending != 0 || after.InFlight != 0 {
		t.Errorf("after the run: in use %v, succeeded %d, pending %d, in flight %d; want false, 3, 0, 0", after.InUse, after.Succeeded, after.Pending, after.InFlight)
	}
}
