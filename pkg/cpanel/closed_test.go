package cpanel

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/fate"
)

// A server that closes the connection, before its reply or in the middle
// of it, is said so in words: not "request failed: EOF" or "unreadable
// reply: unexpected EOF", Go's names for it.
func TestConnectionClosedInWords(t *testing.T) {
	tests := []struct {
		name   string
		answer func(c net.Conn, req *http.Request)
		want   string
	}{
		{"closed before the reply", func(c net.Conn, _ *http.Request) { _ = c.Close() },
			"WHM API 1 passwd: the server closed the connection without a reply"},
		{"closed in the middle of the reply", func(c net.Conn, _ *http.Request) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"metadata\":")
			_ = c.Close()
		}, "WHM API 1 passwd: unreadable reply: the connection closed before the reply was complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRawServer(t, tt.answer)
			_, err := rawClient(t, s.url(), 5*time.Second).AccountPasswd(context.Background(), WHMAPI1, "bob", newPass, AccountPasswdOptions{})
			e := wantState(t, err, fate.Unknown)
			if got := e.Error(); got != tt.want {
				t.Errorf("error %q, want %q", got, tt.want)
			}
		})
	}
}
