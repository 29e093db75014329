//go:build !unix

package cpanel

import "net"

// canPeek is false here: there is no portable non-blocking peek, so these
// systems keep net/http's Transport, whose reader goroutine notices a
// connection the server closed while it was idle.
const canPeek = false

// connAlive is never called where canPeek is false.
func connAlive(net.Conn) bool { return false }
