//go:build !unix

package main

import "os"

// dumpSignals is empty where there is no SIGUSR1: the state is dumped on exit.
var dumpSignals []os.Signal

func isDumpSignal(os.Signal) bool { return false }
