package batch

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// envPlanChild switches TestMain into planChild, planning into the journal
// it names; envPlanNamed set makes it write the plan aside under a name.
const (
	envPlanChild = "CPCTL_BATCH_PLAN_CHILD"
	envPlanNamed = "CPCTL_BATCH_PLAN_NAMED"
)

// planChild plans from an input that gives 5,000 rows (more than the plan's
// write buffer, so passwords reach the disk) and then never ends, saying
// "blocked" once it waits: it is killed there, as a run killed while it
// plans.
func planChild(path string) {
	var rows strings.Builder
	rows.WriteString("user,password\n")
	for i := range 5000 {
		fmt.Fprintf(&rows, "user%05d,Pw-%05d-Secret!\n", i, i)
	}
	in := io.MultiReader(strings.NewReader(rows.String()), blockingReader{})
	_, err := plan(path, in, KindAccount, nil, ValidateOptions{}, os.Getenv(envPlanNamed) == "")
	fmt.Fprintln(os.Stderr, "plan returned:", err)
	os.Exit(2)
}

type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) {
	fmt.Println("blocked")
	select {}
}

// TestKilledPlanLeavesNoPasswords kills a process while it plans. Where
// plans are written unnamed (Linux) nothing is left at all. Where they are
// written aside under a name, the half-written plan holds passwords on
// disk, and the next plan in the directory, under another journal name as
// timestamped names always are, removes it.
func TestKilledPlanLeavesNoPasswords(t *testing.T) {
	probe := t.TempDir()
	f, _, err := createUnnamed(probe)
	unnamedWorks := err == nil
	if unnamedWorks {
		f.Close()
	}
	for _, tt := range []struct {
		name          string
		named         bool
		leavesNothing bool
	}{
		{"unnamed where possible", false, unnamedWorks},
		{"named aside", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) { killPlanning(t, tt.named, tt.leavesNothing) })
	}
}

func killPlanning(t *testing.T, named, leavesNothing bool) {
	dir := t.TempDir()
	env := []string{envPlanChild + "=" + filepath.Join(dir, "cpctl-account-20261202T080000Z.journal")}
	if named {
		env = append(env, envPlanNamed+"=1")
	}
	cmd, stdout, stderr := startChild(t, env...)
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "blocked" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child said %q: %s", sc.Text(), stderr.String())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if leavesNothing {
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("the killed run left %v", entries)
		}
		return
	}
	plans, _ := filepath.Glob(filepath.Join(dir, "*.planning-*"))
	if len(plans) != 1 {
		t.Fatalf("the killed run left %v, want its plan", plans)
	}
	data, _ := os.ReadFile(plans[0])
	if !strings.Contains(string(data), "Pw-00001-Secret!") {
		t.Fatalf("the killed run's plan holds no password yet (%d bytes): the test proves nothing", len(data))
	}
	if _, err := Plan(filepath.Join(dir, "cpctl-account-20261202T080500Z.journal"), strings.NewReader("user,password\nbob,Pw-bob-Secret!\n"), KindAccount, nil, ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "cpctl-account-20261202T080500Z.journal" {
		t.Errorf("left in the directory: %v, want the new journal alone", entries)
	}
}
