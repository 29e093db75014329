package main

// The CLI contract scripts rely on (issue 17), as a process sees it: exit
// codes and the lines on stderr.

import (
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// A typo at any level is one line on stderr and exit 2, and does nothing.
func TestTypoExitsTwo(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"account", "pasword", "bob"}, `cpctl: unknown command "pasword" for "cpctl account"; did you mean "passwd"?`},
		{[]string{"account", "paswd", "bob", "--generate"}, `cpctl: unknown command "paswd" for "cpctl account"; did you mean "passwd"?`},
		{[]string{"profile", "lst"}, `cpctl: unknown command "lst" for "cpctl profile"; did you mean "list"?`},
		{[]string{"journal", "sho", "x"}, `cpctl: unknown command "sho" for "cpctl journal"; did you mean "show"?`},
		{[]string{"accont"}, `cpctl: unknown command "accont" for "cpctl"; did you mean "account"?`},
		{[]string{"help", "nosuch"}, `cpctl: unknown command "nosuch" for "cpctl"`},
	} {
		before := e.srv.Sim.Stats().Requests
		r := e.run("", tt.args...)
		if r.code != 2 || r.stderr != tt.want+"\n" || r.stdout != "" {
			t.Errorf("cpctl %q: exit %d, stdout %q, stderr %q; want exit 2 and the one line %q", tt.args, r.code, r.stdout, r.stderr, tt.want)
		}
		if e.srv.Sim.Stats().Requests != before {
			t.Errorf("cpctl %q sent a request", tt.args)
		}
	}
}

// Every line cpctl writes on stderr names it, warnings included.
func TestStderrLinesStartWithCpctl(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.run("", "account", "passwd", "bob", "--password", newPass)
	e.wantCode(r, 0)
	if !strings.Contains(r.stderr, "process list") {
		t.Fatalf("--password gave no warning:\n%s", r.stderr)
	}
	for _, line := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
		if !strings.HasPrefix(line, "cpctl: ") {
			t.Errorf("stderr line %q does not start with \"cpctl: \"", line)
		}
	}
}

// Ctrl-C at a prompt is an interrupt (130); entries that differ are asked
// again rather than ending the run.
func TestPromptInterruptAndRetry(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	out, exit := ptyRun(t, e, [][2]string{{"New password for bob", "\x03"}}, "account", "passwd", "bob")
	if exit != 130 {
		t.Errorf("Ctrl-C at the prompt: exit %d, want 130\n%s", exit, out)
	}
	out, exit = ptyRun(t, e, [][2]string{
		{"New password for bob", newPass}, {"Retype", newPass + "x"},
		{"New password for bob", newPass}, {"Retype", newPass},
	}, "account", "passwd", "bob")
	if exit != 0 || !e.srv.Sim.CheckPassword("bob", newPass) {
		t.Errorf("a second, matching entry: exit %d, password changed %v\n%s", exit, e.srv.Sim.CheckPassword("bob", newPass), out)
	}
}
