package credentials

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestChildRun(t *testing.T) {
	path := "PATH=" + os.Getenv("PATH")
	tests := []struct {
		name        string
		c           Child
		wantOut     Output
		wantErr     string // the error's Reason; "" for success
		notInErrors string
	}{
		{name: "stdin reaches the command",
			c:       Child{Cmdline: "read -r pw; printf 'got %s\\n' \"${#pw}\"", Stdin: strings.NewReader("s3cret\n")},
			wantOut: Output{Stdout: "got 6\n"}},
		{name: "the secret is redacted from what the command printed",
			c:       Child{Cmdline: "cat; cat >&2 </dev/null; echo s3cret-again >&2", Stdin: strings.NewReader("s3cret\n"), Secret: "s3cret"},
			wantOut: Output{Stdout: "<redacted>\n", Stderr: "<redacted>-again\n"}},
		{name: "a failure quotes stderr, redacted and made safe",
			c:       Child{What: "secrets-command", Cmdline: "read -r pw; printf 'bad \\033[2J%s\\n' \"$pw\" >&2; exit 3", Stdin: strings.NewReader("s3cret\n"), Secret: "s3cret"},
			wantOut: Output{Stderr: "bad \x1b[2J<redacted>\n"}, wantErr: `exit status 3: bad \x1b[2J<redacted>`, notInErrors: "s3cret"},
		{name: "stdout is quoted only when allowed",
			c:       Child{Cmdline: "echo vault sealed; exit 2", Stdin: strings.NewReader("x\n"), QuoteStdout: true},
			wantOut: Output{Stdout: "vault sealed\n"}, wantErr: "exit status 2: vault sealed"},
		{name: "a token command's stdout is never quoted",
			c:       Child{What: "token-command", Cmdline: "printf 'TOK%s\\n' EN-VALUE; exit 1"},
			wantOut: Output{Stdout: "TOKEN-VALUE\n"}, wantErr: "exit status 1", notInErrors: "TOKEN-VALUE"},
		{name: "cpctl's secret variables are not passed",
			c:       Child{Cmdline: "echo ${CPCTL_TOKEN:-none} ${CPCTL_PASSWORD:-none} $KEEP", Env: []string{"CPCTL_TOKEN=T", "CPCTL_PASSWORD=P", "KEEP=k", path}},
			wantOut: Output{Stdout: "none none k\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.c.Env == nil {
				tt.c.Env = []string{path}
			}
			if tt.c.What == "" {
				tt.c.What = "secrets-command"
			}
			out, err := tt.c.Run(context.Background())
			if out != tt.wantOut {
				t.Errorf("output %+v, want %+v", out, tt.wantOut)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var ce *ChildError
			if !errors.As(err, &ce) || ce.Reason() != tt.wantErr {
				t.Fatalf("error %v, want a ChildError with reason %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.c.What+" "+`"`) {
				t.Errorf("error %q does not name the command", err)
			}
			if tt.notInErrors != "" && strings.Contains(err.Error(), tt.notInErrors) {
				t.Errorf("error %q carries %q", err, tt.notInErrors)
			}
		})
	}
}

// A command fed on its standard input runs in a process group of its own
// too, so the limit kills what it started (a store that hangs on a lock).
func TestChildWithStdinKilledAtTheLimit(t *testing.T) {
	c := Child{What: "secrets-command", Cmdline: "cat >/dev/null; sleep 100", Stdin: strings.NewReader("pw\n"),
		Env: []string{"PATH=" + os.Getenv("PATH")}, Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err := c.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "killed after 200ms") {
		t.Errorf("error %v, want one saying it was killed at the limit", err)
	}
	if took := time.Since(start); took >= waitDelay {
		t.Errorf("Run took %s: the sleeping child was not killed", took)
	}
}
