package credentials

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name, what, cmdline string
		env                 []string
		want, wantErr       string
	}{
		{"first line", "token-command", "printf 'TOKEN1\\nsecond\\n'", nil, "TOKEN1", ""},
		{"access hash joins lines", AccessHashCommand, "printf 'ab\\ncd\\r\\nef\\n'", nil, "abcdef", ""},
		{"nothing printed", "token-command", "true", nil, "", "printed nothing"},
		{"failure names the command and its stderr", "token-command", "echo locked >&2; exit 3", nil, "", `token-command "echo locked >&2; exit 3" failed: exit status 3: locked`},
		{"stderr escaped in the error", "token-command", "printf '\\033]0;TITLE\\007\\033[2Jx' >&2; exit 1", nil, "", `\x1b]0;TITLE\x07\x1b[2Jx`},
		{"secret variables are not passed", "token-command", "echo ${CPCTL_TOKEN:-none}-$OTHER", []string{"CPCTL_TOKEN=T", "OTHER=o", "PATH=" + os.Getenv("PATH")}, "none-o", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Child{What: tt.what, Cmdline: tt.cmdline, Env: tt.env}
			got, err := c.ReadSecret(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\x1b") {
					t.Errorf("the error carries a raw escape: %q", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Run = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// A command whose child outlives it is killed with the child at the limit:
// without the process group cpctl would wait for the child's output to
// close (issue 15: `sleep 100` in a script held cpctl for 100 s).
func TestRunKillsTheProcessGroupAtTheLimit(t *testing.T) {
	c := Child{What: "token-command", Cmdline: "sleep 100; echo TOKEN", Timeout: 200 * time.Millisecond, Env: []string{"PATH=" + os.Getenv("PATH")}}
	start := time.Now()
	_, err := c.ReadSecret(context.Background())
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "killed after 200ms") {
		t.Errorf("error %v, want one saying it was killed at the limit", err)
	}
	// Under waitDelay: the child was killed too, not waited out.
	if took >= waitDelay {
		t.Errorf("Run took %s: the child holding the output was not killed", took)
	}
}

// At a terminal the command's stderr is shown as it comes, each line
// prefixed and made safe.
func TestRunShowsStderrSafely(t *testing.T) {
	tty, err := os.Open(os.DevNull) // stands in for the terminal
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var shown bytes.Buffer
	c := Child{What: "token-command", Cmdline: "printf 'unlocking\\n\\033[2Jfake\\n' >&2; echo TOKEN", Terminal: tty, Stderr: &shown}
	got, err := c.ReadSecret(context.Background())
	if err != nil || got != "TOKEN" {
		t.Fatalf("Run = %q, %v", got, err)
	}
	want := "cpctl: token-command: unlocking\ncpctl: token-command: \\x1b[2Jfake\n"
	if shown.String() != want {
		t.Errorf("stderr shown as %q, want %q", shown.String(), want)
	}
}
