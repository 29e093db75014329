package main

import (
	"context"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// TestRunPaced drives our own simulator with a capacity: every row must
// change one password, and a 503 from a full queue must be sent again, not
// counted as a failure.
func TestRunPaced(t *testing.T) {
	tests := []struct {
		name          string
		c             simulator.Capacity
		fixed         int
		rows          int
		wantOverloads bool
	}{
		{"auto, room to grow", simulator.Capacity{Limit: 4, ServiceTime: 2 * time.Millisecond}, 0, 60, false},
		{"fixed beyond the queue gets 503s and sends again", simulator.Capacity{Limit: 1, QueueLimit: 1, ServiceTime: 200 * time.Millisecond}, 3, 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := startCapSim(tt.rows, tt.c, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			rep, err := runPaced(context.Background(), paceSpec{Targets: []paceTarget{{URL: srv.WHMURL, CAFile: srv.CAFile}}, Rows: tt.rows, Fixed: tt.fixed})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Failures != 0 {
				t.Fatalf("%d rows failed: %s", rep.Failures, rep.FirstErr)
			}
			if err := checkChanges(srv, tt.rows); err != nil {
				t.Fatal(err)
			}
			if len(rep.Latencies) != tt.rows {
				t.Fatalf("%d latencies for %d rows", len(rep.Latencies), tt.rows)
			}
			if (rep.Overloads > 0) != tt.wantOverloads {
				t.Fatalf("%d overloads, want some: %v", rep.Overloads, tt.wantOverloads)
			}
			if tt.fixed == 0 && rep.PeakLimit <= 2 {
				t.Fatalf("auto never grew past its start (peak %d)", rep.PeakLimit)
			}
		})
	}
}
