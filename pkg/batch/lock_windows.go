//go:build windows

package batch

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// lockOffset is where the lock byte lies: far beyond any journal's end,
// because Windows locks are mandatory and a lock on the data would stop this
// process's own second handles (the dispatcher reading the plan) and Show in
// other processes from reading it.
const lockOffset = 1 << 62

// lockFile takes an exclusive lock on f without waiting, so that two
// processes can never run the same journal (they would generate two different
// passwords for one row). The lock goes with the handle.
func lockFile(f *os.File) error {
	ol := windows.Overlapped{Offset: uint32(lockOffset & 0xffffffff), OffsetHigh: uint32(lockOffset >> 32)}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return errInUse
	}
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}

// canLock says whether lockFile tells a live process's file from a dead one's.
const canLock = true
