//go:build unix

package batch

import (
	"fmt"
	"os"
)

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
