//go:build unix

package main

import (
	"syscall"
	"time"
)

// selfCPU is the user plus system time this process has used: while a
// cpctl child runs, the bench itself is idle but for the simulator it
// hosts, so a difference of two readings is the simulator's share.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
