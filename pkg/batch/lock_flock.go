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
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
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
