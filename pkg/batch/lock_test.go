//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd || windows

package batch

import (
	"context"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/fate"
)

func TestResumeLocked(t *testing.T) {
	path := planFile(t, KindAccount, "user,password\nbob,x\n", ValidateOptions{})
	f, _, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = Resume(context.Background(), path, RunConfig{Exec: func(context.Context, Row, string) Outcome { return Outcome{State: fate.Applied} }})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("err = %v, want in use", err)
	}
}
