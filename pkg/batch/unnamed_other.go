//go:build !linux

package batch

import (
	"errors"
	"os"
)

// createUnnamed is Linux's O_TMPFILE; elsewhere Plan writes a named file
// aside (see openPlan).
func createUnnamed(string) (*os.File, func(path string) error, error) {
	return nil, nil, errors.ErrUnsupported
}
