//go:build !unix

package batch

import "os"

// checkPrivate does nothing where Unix permission bits do not describe access.
func checkPrivate(os.FileInfo) error { return nil }

// syncDir does nothing where directories cannot be opened for syncing.
func syncDir(string) error { return nil }
