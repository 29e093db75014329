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
func lockFile(f *os.File) error { return lockByte(f, windows.LOCKFILE_EXCLUSIVE_LOCK) }

// probeLock returns errInUse when another handle holds f's lock. It takes
// a shared lock of the lock byte without waiting and lets it go at once: a
// shared lock conflicts only with the exclusive one of lockFile, so two
// probes never see each other. For its few microseconds a run's lockFile
// on the same journal fails; lockJournal waits through that.
func probeLock(f *os.File) error {
	if err := lockByte(f, 0); err != nil {
		return err
	}
	ol := lockOverlapped()
	if err := windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol); err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	return nil
}

// lockByte locks the lock byte of f with flags (exclusive or shared),
// without waiting.
func lockByte(f *os.File, flags uint32) error {
	ol := lockOverlapped()
	err := windows.LockFileEx(windows.Handle(f.Fd()), flags|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return errInUse
	}
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}

// lockOverlapped names the lock byte's offset to LockFileEx and UnlockFileEx.
func lockOverlapped() windows.Overlapped {
	return windows.Overlapped{Offset: uint32(lockOffset & 0xffffffff), OffsetHigh: uint32(lockOffset >> 32)}
}

// canLock says whether lockFile tells a live process's file from a dead one's.
const canLock = true
