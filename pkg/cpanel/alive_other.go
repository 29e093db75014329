//go:build !unix

package cpanel

import "net"

// connAlive cannot peek here; the pool's idle timeout is the only guard.
func connAlive(net.Conn) bool { return true }
