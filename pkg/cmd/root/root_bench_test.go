package root

import (
	"context"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/version"
)

// BenchmarkStartup is the in-process part of a cpctl start-up that a cron
// job pays on every run: build the factory and the whole command tree, then
// execute a command that needs no server. cpctl-bench measures the whole
// process; this isolates what the command tree itself costs.
func BenchmarkStartup(b *testing.B) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"version", []string{"version"}, "bench"},
		{"help", []string{"--help"}, "Usage:"},
		{"account-passwd-help", []string{"account", "passwd", "--help"}, "--password-stdin"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.Setenv("CPCTL_CONFIG", b.TempDir()+"/absent.yaml")
			b.ReportAllocs()
			for b.Loop() {
				ios, _, out, _ := cmdutil.Test()
				f := cmdutil.NewFactory(ios)
				if err := execute(context.Background(), f, newLineCmd(f, version.Info{Version: "bench"}), tc.args); err != nil {
					b.Fatal(err)
				}
				if !strings.Contains(out.String(), tc.want) {
					b.Fatalf("%v printed %q", tc.args, out.String())
				}
			}
		})
	}
}
