//go:build unix

package cpanel

import (
	"errors"
	"net"
	"syscall"
)

// canPeek says connAlive can tell a closed idle connection from a live one.
const canPeek = true

// connAlive reports whether an idle connection is still open and quiet: a
// non-blocking peek finds nothing to read. End of file means the server
// closed it (idle timeout, restart); bytes mean something unasked for (a
// TLS alert, say). Either way it must not carry a request.
func connAlive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		// Go's sockets are non-blocking, so an empty one answers EAGAIN.
		_, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
		alive = errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK)
		return true // never wait for readiness: this is a peek
	})
	return err == nil && alive
}
