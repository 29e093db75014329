package passwd

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/fate"
)

// TestReachStopsAServerThatStaysDown feeds a server's outcomes with their
// times: rows that fail on the network without being sent stop the profile
// only once that has lasted unreachableFor, and anything that reached the
// server starts the count again (cpsrvd restarting is not a server down).
func TestReachStopsAServerThatStaysDown(t *testing.T) {
	down := batch.Outcome{State: fate.NotSent, Network: true, Class: "transport", Message: "cannot connect to h:2087"}
	ok := batch.Outcome{State: fate.Applied}
	lost := batch.Outcome{State: fate.Unknown, Network: true}
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	type step struct {
		at   time.Duration
		out  batch.Outcome
		stop bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"down long enough", []step{{0, down, false}, {10 * time.Second, down, false}, {29 * time.Second, down, false}, {30 * time.Second, down, true}}},
		{"a success starts again", []step{{0, down, false}, {20 * time.Second, ok, false}, {25 * time.Second, down, false}, {50 * time.Second, down, false}, {55 * time.Second, down, true}}},
		{"a lost reply reached it", []step{{0, down, false}, {20 * time.Second, lost, false}, {45 * time.Second, down, false}}},
		{"never down", []step{{0, ok, false}, {time.Minute, ok, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sv server
			for i, st := range tt.steps {
				got := sv.reach(st.out, t0.Add(st.at))
				if got.StopsProfile != st.stop {
					t.Errorf("step %d at %v: StopsProfile %v, want %v (%q)", i, st.at, got.StopsProfile, st.stop, got.Message)
				}
				if st.stop && got.Message != down.Message+" (for 30s)" {
					t.Errorf("step %d: message %q should say for how long", i, got.Message)
				}
			}
		})
	}
}

// TestFailsEveryRow: the failures a profile's every row would meet stop it
// at once; one account's refusal or a network error does not.
func TestFailsEveryRow(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"credentials refused", &cpanel.Error{Kind: cpanel.ErrAuth, Status: 403, Reason: "Access denied"}, true},
		{"untrusted certificate", &cpanel.Error{Kind: cpanel.ErrTransport, Err: &cpanel.UntrustedCertificateError{}}, true},
		{"pin mismatch", fmt.Errorf("TLS: %w", &cpanel.FingerprintMismatchError{Want: "sha256:aa", Got: "sha256:bb"}), true},
		{"no such host", &cpanel.Error{Kind: cpanel.ErrTransport, Err: &net.DNSError{Name: "nope.example", Err: "no such host", IsNotFound: true}}, true},
		{"dns timeout", &cpanel.Error{Kind: cpanel.ErrTransport, Err: &net.DNSError{Name: "h.example", Err: "i/o timeout", IsTimeout: true}}, false},
		{"connection refused", &cpanel.Error{Kind: cpanel.ErrTransport, Err: errors.New("connection refused")}, false},
		{"one account", &cpanel.Error{Kind: cpanel.ErrAuth, Status: 200, Reason: "Access Denied to bob"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := failsEveryRow(tt.err); got != tt.want {
				t.Errorf("failsEveryRow(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
