//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd || windows

package batch

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cpctl/cpctl/pkg/fate"
)

// TestResumeLocked checks that a resume of a journal another open file
// holds waits lockWait for it and then says it is in use.
func TestResumeLocked(t *testing.T) {
	path := planFile(t, KindAccount, "user,password\nbob,x\n", ValidateOptions{})
	synctest.Test(t, func(t *testing.T) {
		f, _, err := openJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		start := time.Now()
		_, err = Resume(context.Background(), path, RunConfig{Exec: func(context.Context, Row, string) Outcome { return Outcome{State: fate.Applied} }})
		if err == nil || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("err = %v, want in use", err)
		}
		// Once, with what to do: not "journal J: the journal is in use".
		if want := "journal " + path + ": in use by another process (a run that has not ended): try again once it has"; err.Error() != want {
			t.Errorf("err %q, want %q", err, want)
		}
		if waited := time.Since(start); waited < lockWait {
			t.Errorf("refused after %v, want a wait of %v", waited, lockWait)
		}
	})
}

// TestResumeWaitsForLock checks that a resume started while a killed run's
// child still holds the journal's lock runs once the child lets it go.
func TestResumeWaitsForLock(t *testing.T) {
	path := planFile(t, KindAccount, "user,password\nbob,x\n", ValidateOptions{})
	synctest.Test(t, func(t *testing.T) {
		f, _, err := openJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(lockWait / 4)
			f.Close()
		}()
		sum, err := Resume(context.Background(), path, RunConfig{Exec: func(context.Context, Row, string) Outcome { return Outcome{State: fate.Applied} }})
		if err != nil {
			t.Fatalf("resume: %v", err)
		}
		if sum.Succeeded != 1 {
			t.Errorf("summary %+v, want one row applied", sum)
		}
	})
}
