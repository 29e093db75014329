//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package batch

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f without waiting, so that two
// processes can never run the same journal (they would generate two different
// passwords for one row). The lock goes with the file descriptor.
func lockFile(f *os.File) error { return flock(f, syscall.LOCK_EX) }

// probeLock returns errInUse when another open file holds f's lock. It
// takes a shared lock without waiting and lets it go at once: a shared lock
// conflicts only with the exclusive one of lockFile, so two probes (two
// journal shows) never see each other, and it needs no write access (NFS
// emulates flock with byte-range locks, whose shared kind needs only read
// access). For its few microseconds a run's lockFile on the same journal
// fails; lockJournal waits through that.
func probeLock(f *os.File) error {
	if err := flock(f, syscall.LOCK_SH); err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	return nil
}

// flock locks f with how (LOCK_EX or LOCK_SH), without waiting.
func flock(f *os.File, how int) error {
	err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errInUse
	}
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}

// canLock says whether lockFile tells a live process's file from a dead one's.
const canLock = true
