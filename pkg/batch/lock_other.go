//go:build !unix

package batch

import "os"

// lockFile is a no-op where flock(2) does not exist: the journal is still
// created exclusively, but two resumes of one journal are not prevented.
func lockFile(*os.File) error { return nil }

// checkPrivate does nothing where Unix permission bits do not describe access.
func checkPrivate(os.FileInfo) error { return nil }

// syncDir does nothing where directories cannot be opened for syncing.
func syncDir(string) error { return nil }
