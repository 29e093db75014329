//go:build unix

package main

import (
	"os"
	"syscall"
)

// dumpSignals ask for a dump without stopping the server.
var dumpSignals = []os.Signal{syscall.SIGUSR1}

func isDumpSignal(s os.Signal) bool { return s == syscall.SIGUSR1 }
