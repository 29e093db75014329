package db

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/passwd"
)

// parse runs `db ARGS` in-process and returns what it parsed into.
func parse(t *testing.T, args ...string) (*passwd.Options, error) {
	t.Helper()
	ios, _, _, _ := cmdutil.Test()
	var got *passwd.Options
	cmd := NewCmd(cmdutil.NewFactory(ios), func(o *passwd.Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return got, err
}

func TestParse(t *testing.T) {
	pgJournal := filepath.Join(t.TempDir(), "pg.journal")
	n, err := batch.Plan(pgJournal, strings.NewReader("user,password\nbob_app,Pg-Pass-2026!xyz\n"), batch.KindPostgreSQL,
		map[string]string{"kind": "postgresql", "profile": "whm"}, batch.ValidateOptions{})
	if err != nil || n != 1 {
		t.Fatalf("plan a postgresql journal: %d, %v", n, err)
	}
	tests := []struct {
		name  string
		args  []string
		kind  passwd.Kind
		user  string
		owner string
		usage bool
	}{
		{"mysql by default", []string{"passwd", "bob_wp", "--owner", "bob", "--generate"}, passwd.MySQL, "bob_wp", "bob", false},
		{"postgresql", []string{"passwd", "bob_app", "--engine", "postgresql", "--password-stdin"}, passwd.PostgreSQL, "bob_app", "", false},
		{"unknown engine", []string{"passwd", "bob_app", "--engine", "oracle"}, "", "", "", true},
		{"a resume takes the journal's engine", []string{"passwd", "--resume", pgJournal}, passwd.PostgreSQL, "", "", false},
		{"an explicit engine wins", []string{"passwd", "--resume", pgJournal, "--engine", "mysql"}, passwd.MySQL, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(t, tt.args...)
			if tt.usage {
				var u *cmdutil.UsageError
				if !errors.As(err, &u) {
					t.Fatalf("want a usage error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.kind || got.Target != tt.user || got.Owner != tt.owner {
				t.Errorf("parsed kind %s, target %q, owner %q", got.Kind, got.Target, got.Owner)
			}
		})
	}
	// db has one API: no --api flag.
	if _, err := parse(t, "passwd", "bob_wp", "--api", "uapi"); err == nil {
		t.Error("--api accepted")
	}
}
