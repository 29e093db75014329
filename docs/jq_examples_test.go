// Package docs holds no code: its test runs every jq example of the guides
// (docs/*.md and README.md) against real cpctl output, so an example cannot
// drift from the output contract.
package docs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/simulator"
	"github.com/cpctl/cpctl/pkg/simulator/simtest"
)

// example is one jq invocation found in a guide.
type example struct {
	doc   string // file and line, for messages
	line  string // the line (or inline code span) holding it
	block string // the fenced block around it; "" for inline code
	args  []string
	input string // the file jq reads; "" when it reads a pipe
}

// jqRE matches a jq invocation: options, a single-quoted filter, and an
// optional input file.
var jqRE = regexp.MustCompile(`\bjq((?:\s+-[a-zA-Z]+)*)\s+'([^']*)'(?:\s+([A-Za-z0-9_./-]+))?`)

// findExamples extracts the jq invocations of a markdown file, in fenced
// shell blocks and in inline code spans of the prose.
func findExamples(t *testing.T, path string) []example {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out     []example
		inBlock bool
		block   []string
		start   int
	)
	lines := strings.Split(string(data), "\n")
	add := func(n int, line, blk string) {
		for _, m := range jqRE.FindAllStringSubmatch(line, -1) {
			args := append(strings.Fields(m[1]), m[2])
			out = append(out, example{
				doc: fmt.Sprintf("%s:%d", filepath.Base(path), n), line: line, block: blk, args: args, input: m[3],
			})
		}
	}
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "```") {
			if inBlock {
				blk := strings.Join(block, "\n")
				for j, bl := range block {
					add(start+j+1, bl, blk)
				}
				inBlock, block = false, nil
			} else {
				inBlock, start = true, i+1
			}
			continue
		}
		if inBlock {
			block = append(block, l)
			continue
		}
		for _, span := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(l, -1) {
			add(i+1, span[1], "")
		}
	}
	return out
}

// world is a simulator, a config whose profile "prod" is its WHM side (the
// profile the guides use), the built cpctl on PATH and a working directory.
type world struct {
	t   *testing.T
	dir string
	env []string
	srv *simulator.Server
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	exe := "cpctl"
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	build := exec.Command("go", "build", "-o", filepath.Join(bin, exe), "../cmd/cpctl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build cpctl: %v\n%s", err, out)
	}
	srv := simtest.NewServer(t, simulator.SampleState(), simulator.Options{})
	cfg := filepath.Join(dir, "config", "cpctl", "config.yaml")
	f := &config.File{CurrentProfile: "prod", Profiles: map[string]*config.Profile{
		"prod": {URL: srv.WHMURL, Kind: "whm", User: "root", Auth: "token", Token: simulator.SampleRootToken,
			TLSFingerprint: srv.Fingerprint, CPanelURL: srv.CPanelURL},
	}}
	if err := f.Save(cfg); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, dir: work, srv: srv, env: []string{
		"HOME=" + dir,
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"CPCTL_NO_INPUT=1",
		// $NEWPASS in the guides: strong enough for the simulator's minimum.
		"NEWPASS=Doc-Example-Pass-2026!q",
	}}
}

// sh runs a shell line in the working directory; with pipefail, a failing
// cpctl before a pipe fails the line too. Exit codes in ok are accepted.
func (w *world) sh(line string, ok ...int) (string, error) {
	cmd := exec.Command("bash", "-o", "pipefail", "-c", line)
	cmd.Dir, cmd.Env = w.dir, w.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		for _, c := range ok {
			if ee.ExitCode() == c {
				err = nil
			}
		}
	}
	if err != nil {
		return out.String(), fmt.Errorf("%s: %w\n%s", line, err, errb.String())
	}
	return out.String(), nil
}

// bulkInput is a bulk run's input: two rows that change and one refused
// (carol is suspended in the sample state), so filters on failures have
// something to find.
const bulkInput = "user\nalice\nbob\ncarol\n"

// producers make the input files that inline examples read, from real runs
// against the simulator. A guide naming another file fails the test until
// its producer is added here (or in the guide's own code block).
var producers = map[string]string{
	"rows.jsonl":  "cpctl account passwd --from users.csv --generate --journal rows.journal -o jsonl > rows.jsonl",
	"result.json": "cpctl -p prod account passwd bob --generate -o json > result.json",
}

// alsoAgainst names outputs of the other mode that a filter written for
// one must read the same way: -o json is a list and -o jsonl a line per
// row, for a single change and a bulk run alike. The bulk run's rows all
// succeed, so that .[0].password exists whichever row finishes first.
var alsoAgainst = map[string][]string{
	"result.json": {"rm -f ok.journal && cpctl account passwd --from ok.csv --generate --journal ok.journal -o json > result.json"},
	"rows.jsonl":  {"cpctl -p prod account passwd bob --generate -o jsonl > rows.jsonl"},
}

// The journal the guides show (docs/bulk.md).
const guideJournal = "cpctl-account-20261129T210928Z.journal"

func TestJQExamples(t *testing.T) {
	docs, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, "../README.md")
	var examples []example
	for _, d := range docs {
		examples = append(examples, findExamples(t, d)...)
	}
	// The guides must have examples, and this test must find them.
	if len(examples) < 4 {
		t.Fatalf("found %d jq examples in %v", len(examples), docs)
	}
	jq, jqErr := findJQ()
	if jqErr != nil && os.Getenv("CI") != "" {
		t.Fatal("neither jq nor gojq is installed: CI must run the guides' jq examples")
	}

	w := newWorld(t)
	for name, content := range map[string]string{"users.csv": bulkInput, "ok.csv": "user\nalice\nbob\n"} {
		if err := os.WriteFile(filepath.Join(w.dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.sh("cpctl account passwd --from users.csv --generate --journal "+guideJournal+" -o json > /dev/null", 1, 5); err != nil {
		t.Fatal(err)
	}

	for _, ex := range examples {
		t.Run(ex.doc, func(t *testing.T) {
			var inputs []string // commands whose stdout jq reads
			switch {
			case ex.input == "":
				// A pipe: the command before jq on the same line.
				before, _, found := strings.Cut(ex.line, "| jq")
				if !found || !strings.Contains(before, "cpctl") {
					t.Fatalf("jq reads neither a file nor cpctl's output: %q", ex.line)
				}
				inputs = append(inputs, strings.TrimSpace(before[strings.Index(before, "cpctl"):]))
			default:
				producer := producerIn(ex.block, ex.input)
				if producer == "" {
					producer = producers[ex.input]
				}
				if producer == "" {
					t.Fatalf("no command produces %s for %q: add one to the guide's block or to producers", ex.input, ex.line)
				}
				inputs = append(inputs, producer)
				inputs = append(inputs, alsoAgainst[ex.input]...)
			}
			for _, in := range inputs {
				out, err := w.sh(in, 1, 5)
				if err != nil {
					t.Fatalf("producing the input: %v", err)
				}
				data := []byte(out)
				if ex.input != "" {
					if data, err = os.ReadFile(filepath.Join(w.dir, ex.input)); err != nil {
						t.Fatal(err)
					}
				}
				checkShape(t, ex.input, data)
				if jqErr != nil {
					t.Logf("jq not installed: %q checked for shape only", ex.line)
					continue
				}
				cmd := exec.Command(jq, ex.args...)
				cmd.Stdin = bytes.NewReader(data)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil || stderr.Len() > 0 {
					t.Errorf("%s\njq %q on the output of %q: %v\n%s\ninput:\n%s", ex.line, ex.args, in, err, stderr.String(), data)
					continue
				}
				if strings.Contains(stdout.String(), "null") {
					t.Errorf("%s: jq printed null (a field the output does not have):\n%s", ex.line, stdout.String())
				}
			}
		})
	}
}

// producerIn returns the command of a guide's block that writes file.
func producerIn(block, file string) string {
	for _, l := range strings.Split(block, "\n") {
		if strings.Contains(l, "> "+file) && strings.Contains(l, "cpctl") && !strings.Contains(l, "jq") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// findJQ finds the jq to run the examples with: $JQ when set, else jq,
// else gojq (a jq in Go, which CI installs from the module proxy where
// Debian's jq cannot be installed).
func findJQ() (string, error) {
	if p := os.Getenv("JQ"); p != "" {
		return exec.LookPath(p)
	}
	if p, err := exec.LookPath("jq"); err == nil {
		return p, nil
	}
	return exec.LookPath("gojq")
}

// checkShape asserts the JSON contract whatever jq says: a .json file is
// one JSON value, a .jsonl file one object per line.
func checkShape(t *testing.T, name string, data []byte) {
	t.Helper()
	if strings.HasSuffix(name, ".jsonl") {
		for i, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var obj map[string]any
			if err := json.Unmarshal([]byte(l), &obj); err != nil {
				t.Errorf("%s line %d is not a JSON object: %v", name, i+1, err)
				return
			}
		}
		return
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Errorf("%s is not one JSON value: %v\n%s", name, err, data)
	}
}

func TestFindExamples(t *testing.T) {
	dir := t.TempDir()
	md := "Prose with `jq -c 'select(.ok | not)' rows.jsonl` inline.\n\n```sh\ncpctl x -o json > r.json\njq -r '.[0].password' r.json\ncpctl journal show j -o json | jq -r '.failures[]'\n```\n"
	p := filepath.Join(dir, "x.md")
	if err := os.WriteFile(p, []byte(md), 0o600); err != nil {
		t.Fatal(err)
	}
	got := findExamples(t, p)
	want := []struct {
		args  []string
		input string
	}{
		{[]string{"-c", "select(.ok | not)"}, "rows.jsonl"},
		{[]string{"-r", ".[0].password"}, "r.json"},
		{[]string{"-r", ".failures[]"}, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("found %d examples, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if strings.Join(got[i].args, "\x00") != strings.Join(w.args, "\x00") || got[i].input != w.input {
			t.Errorf("example %d = %q %q, want %q %q", i, got[i].args, got[i].input, w.args, w.input)
		}
	}
	if got[0].block != "" || !strings.Contains(got[1].block, "> r.json") {
		t.Errorf("blocks: %q, %q", got[0].block, got[1].block)
	}
	if producerIn(got[1].block, "r.json") != "cpctl x -o json > r.json" {
		t.Errorf("producer %q", producerIn(got[1].block, "r.json"))
	}
}
