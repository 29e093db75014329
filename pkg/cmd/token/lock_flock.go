//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package token

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockRotation takes an exclusive advisory lock on path, without waiting,
// for the whole rotation of one profile: two rotations (a cron job and a
// person) would otherwise share one journal and revoke each other's tokens.
// The kernel drops the lock when the process dies, so a killed rotation
// never blocks its resume.
func lockRotation(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("rotation lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errors.New("another rotation of this profile is running")
		}
		return nil, fmt.Errorf("rotation lock: %w", err)
	}
	return func() { f.Close() }, nil
}
