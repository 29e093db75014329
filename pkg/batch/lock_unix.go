//go:build unix

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
		return errors.New("the journal is in use by another process")
	}
	if err != nil {
		return fmt.Errorf("lock journal: %w", err)
	}
	return nil
}

// checkPrivate refuses a journal that group or others may read or write: it
// holds passwords, and a widened mode means someone else may have seen or
// changed them.
func checkPrivate(fi os.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("the journal's mode is %#o: it holds passwords and must not be accessible to group or others (chmod 600 it after checking who could read it)", perm)
	}
	return nil
}

// syncDir makes a newly created file's directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open journal directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync journal directory: %w", err)
	}
	return nil
}
