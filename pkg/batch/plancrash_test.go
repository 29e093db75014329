package batch

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// envPlanChild switches TestMain into planChild, planning into the journal
// it names.
const envPlanChild = "CPCTL_BATCH_PLAN_CHILD"

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
	_, err := Plan(path, in, KindAccount, nil, ValidateOptions{})
	fmt.Fprintln(os.Stderr, "plan returned:", err)
	os.Exit(2)
}

type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) {
	fmt.Println("blocked")
	select {}
}

// TestKilledPlanLeavesNoPasswords kills a process while it plans, checks
// that its half-written plan holds passwords on disk, and that the next
// plan in the directory, under another journal name as timestamped names
// always are, removes it.
func TestKilledPlanLeavesNoPasswords(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envPlanChild+"="+filepath.Join(dir, "cpctl-account-20261202T080000Z.journal"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
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
