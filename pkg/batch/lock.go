package batch

import (
	"errors"
	"os"
	"time"
)

// errInUse is lockFile's answer when another open file holds the lock.
// It follows the journal's name ("journal J: in use ..."), and says what to do.
var errInUse = errors.New("in use by another process (a run that has not ended): try again once it has")

// lockWait is how long a resume waits for a journal's lock before it says the
// journal is in use. A run killed while it was starting a child (a secrets
// command between fork and exec) leaves that child a copy of the journal's
// descriptor, and with it the lock, until the child's exec closes it: a few
// milliseconds, more on a busy machine. A supervisor that restarts a killed
// run at once would otherwise be refused. A journal another cpctl really
// runs is still refused, a second later.
const lockWait = time.Second

// lockJournal is lockFile, waiting up to lockWait while the journal is in use.
func lockJournal(f *os.File) error {
	deadline := time.Now().Add(lockWait)
	for {
		err := lockFile(f)
		if !errors.Is(err, errInUse) || !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// InUse says whether a run (or a resume) holds the journal at journalPath
// now: whether another open file holds its lock. It neither waits nor takes
// the lock from anyone: it tries a shared lock on a descriptor of its own
// and lets it go at once (probeLock). While a journal is in use what is
// read from it is a snapshot of a run that goes on, and a resume of it
// would be refused. Where files cannot be locked (canLock is false) a run
// cannot be told from none, and a journal reads as free, as a resume of it
// is not refused there either. It fails only when the journal
// cannot be opened; a lock the system cannot probe reads as free, because
// a run could not have taken it either.
func InUse(journalPath string) (bool, error) {
	f, err := os.Open(journalPath)
	if err != nil {
		return false, openErr(journalPath, err)
	}
	defer f.Close()
	return errors.Is(probeLock(f), errInUse), nil
}
