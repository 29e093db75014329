//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd || windows)

package batch

import "os"

// lockFile is a no-op where flock(2) does not exist (solaris, illumos, aix,
// plan9, wasm): the journal is still created exclusively, but two resumes of
// one journal are not prevented.
func lockFile(*os.File) error { return nil }

// probeLock finds no lock where lockFile takes none: a journal never reads
// as in use here.
func probeLock(*os.File) error { return nil }

// canLock says whether lockFile tells a live process's file from a dead
// one's; here it cannot, so only a run's own stale files are removed.
const canLock = false
