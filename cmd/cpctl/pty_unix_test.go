//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package main

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ptyEchoOff reports whether the terminal device at slave (the program's
// side of a pseudo-terminal) has echo off.
func ptyEchoOff(slave string) bool {
	f, err := os.OpenFile(slave, os.O_RDONLY|syscall.O_NOCTTY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
	return err == nil && tio.Lflag&unix.ECHO == 0
}
