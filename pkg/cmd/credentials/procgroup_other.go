//go:build !unix

package credentials

import "os/exec"

// ownProcessGroup leaves cmd as it is where there are no process groups;
// WaitDelay still bounds the wait.
func ownProcessGroup(*exec.Cmd) {}
