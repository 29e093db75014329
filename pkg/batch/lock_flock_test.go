//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package batch

import (
	"os"
	"syscall"
	"testing"
)

// TestInUseNotByAnotherProbe checks that the probe takes a shared lock: a
// journal whose only lock is another probe's (a journal show at the same
// moment) is not in use, while a run's exclusive lock is.
func TestInUseNotByAnotherProbe(t *testing.T) {
	path := planFile(t, KindAccount, "user,password\nbob,x\n", ValidateOptions{})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := flock(f, syscall.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	if got, err := InUse(path); err != nil || got {
		t.Errorf("InUse with another probe's shared lock = %v, %v; want false", got, err)
	}
}
