package simtest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// The shipped binaries must not link test-only code: the testing package
// would register its flags and bloat the binary.
func TestBinariesDoNotLinkTesting(t *testing.T) {
	for _, pkg := range []string{"github.com/cpctl/cpctl/cmd/cpctl", "github.com/cpctl/cpctl/cmd/cpanel-sim"} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list -deps %s listed only %v", pkg, deps)
		}
		for _, d := range deps {
			if d == "testing" || strings.HasSuffix(d, "/simtest") {
				t.Errorf("%s depends on %s", pkg, d)
			}
		}
	}
}

func TestNewServer(t *testing.T) {
	srv := NewServer(t, nil, simulatorOptionsPlain())
	if !strings.HasPrefix(srv.WHMURL, "http://127.0.0.1:") {
		t.Errorf("WHMURL = %q", srv.WHMURL)
	}
}

func simulatorOptionsPlain() simulator.Options { return simulator.Options{Plain: true} }
