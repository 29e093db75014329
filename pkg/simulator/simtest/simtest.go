// Package simtest starts the cPanel & WHM simulator for tests. It lives
// apart from package simulator so that programs that embed the simulator
// (cpctl's demo, cpanel-sim) do not link the testing package.
package simtest

import (
	"testing"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// NewServer starts a simulator of state for a test and closes it at
// cleanup.
func NewServer(t testing.TB, state *simulator.State, opts simulator.Options) *simulator.Server {
	t.Helper()
	srv, err := simulator.Start(state, opts)
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}
