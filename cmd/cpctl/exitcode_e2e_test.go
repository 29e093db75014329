package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/simulator"
)

// A bulk run in which no row succeeded exits with the reason its rows
// share: 4 (retry later) when the server is out of reach or every reply is
// lost, 1 (fix the input) when every row is refused, 3 when the
// credentials are; 5 when the reasons differ. The runs use a fixed
// concurrency: a paced run waits out an unreachable server for about a
// minute (pacedRetries) before it gives up.
func TestBulkExitCodeNoRowSucceeded(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		in      string
		fault   simulator.FaultKind
		want    int
		inErr   string
	}{
		{name: "server unreachable", profile: "down", in: "user\nbob\nalice\n", want: 4, inErr: "finish with: cpctl account passwd --resume"},
		{name: "every reply lost", profile: "whm", in: "user\nbob\nalice\n", fault: simulator.FaultTruncated, want: 4, inErr: "finish with: cpctl account passwd --resume"},
		{name: "every row refused", profile: "whm", in: "user\nghost1\nghost2\n", want: 1},
		{name: "credentials refused", profile: "badtoken", in: "user\nbob\nalice\n", want: 3},
		{name: "refused here, unreachable there", profile: "whm", in: "user,profile\nghost1,whm\nbob,down\n", want: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, simulator.Options{})
			e.writeConfig()
			e.addDownProfiles("down")
			f, err := config.Load(e.cfg)
			if err != nil {
				t.Fatal(err)
			}
			bad := *f.Profiles["whm"]
			bad.Token = "WRONGTOKEN0123456789ABCDEFGHIJKL"
			f.Profiles["badtoken"] = &bad
			if err := f.Save(e.cfg); err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(e.dir, "in.csv")
			if err := os.WriteFile(in, []byte(tt.in), 0o600); err != nil {
				t.Fatal(err)
			}
			e.srv.Sim.SetFault("", simulator.Fault{Kind: tt.fault})
			journal := filepath.Join(e.dir, "run.journal")
			r := e.run("", "-p", tt.profile, "account", "passwd", "--from", in, "--generate", "--journal", journal, "--concurrency", "2")
			e.wantCode(r, tt.want)
			if !strings.Contains(r.stderr, tt.inErr) {
				t.Errorf("want %q in stderr:\n%s", tt.inErr, r.stderr)
			}
			if tt.fault != simulator.FaultNone {
				// The replies were lost after the changes were made: a
				// resume with the server answering again settles the run.
				e.srv.Sim.SetFault("", simulator.Fault{Kind: simulator.FaultNone})
				e.wantCode(e.run("", "account", "passwd", "--resume", journal), 0)
				return
			}
			for user, pw := range map[string]string{"bob": simulator.SampleBobPassword, "alice": simulator.SampleAlicePassword} {
				if !e.srv.Sim.CheckPassword(user, pw) {
					t.Errorf("%s's password changed", user)
				}
			}
		})
	}
}
