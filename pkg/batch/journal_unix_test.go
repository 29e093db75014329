//go:build unix

package batch

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/fate"
)

func TestResumeRefusesWideMode(t *testing.T) {
	path := planFile(t, KindAccount, "user,password\nbob,x\n", ValidateOptions{})
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	called := false
	_, err := Resume(context.Background(), path, RunConfig{Exec: func(context.Context, Row, string) Outcome { called = true; return Outcome{State: fate.Applied} }})
	if err == nil || !strings.Contains(err.Error(), "0640") {
		t.Fatalf("err = %v, want a refusal naming the mode", err)
	}
	if called {
		t.Fatal("a row was sent")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode changed to %v", fi.Mode().Perm())
	}
}
