package docs

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// fakePass stands in for pass(1) in the incident-response guide's test:
// `insert -m [-f] NAME` stores its standard input under
// $PASSWORD_STORE_DIR/NAME (refusing an existing entry without -f, as pass
// does), `show NAME` prints it and `ls [DIR]` lists the names.
const fakePass = `#!/bin/sh
set -e
store=${PASSWORD_STORE_DIR:?}
case "$1" in
insert)
	shift
	force=
	while [ $# -gt 1 ]; do
		case "$1" in -m|--multiline) ;; -f|--force) force=1 ;; *) echo "pass: unknown option $1" >&2; exit 1 ;; esac
		shift
	done
	if [ -e "$store/$1" ] && [ -z "$force" ]; then echo "pass: $1 exists" >&2; exit 1; fi
	mkdir -p "$(dirname "$store/$1")"
	cat > "$store/$1"
	;;
show) cat "$store/$2" ;;
ls) cd "$store" && find "${2:-.}" -type f | sort ;;
*) echo "pass: unknown command $1" >&2; exit 1 ;;
esac
`

// block is a fenced block of a guide. output: it follows the block
// before it with nothing but a blank line between, so it shows what that
// block prints.
type block struct {
	lang, text string
	line       int
	output     bool
}

func blocks(t *testing.T, path string) []block {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out     []block
		cur     *block
		lastEnd = -10 // the line that closed the last block
	)
	for i, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "```") {
			if cur != nil {
				cur.text += l + "\n"
			}
			continue
		}
		if cur != nil {
			out = append(out, *cur)
			cur, lastEnd = nil, i
			continue
		}
		cur = &block{lang: strings.TrimPrefix(strings.TrimSpace(l), "```"), line: i + 1, output: i == lastEnd+2}
	}
	return out
}

// fields is a line with its runs of blanks made one space.
func fields(l string) string { return strings.Join(strings.Fields(l), " ") }

// TestIncidentResponseGuide runs docs/incident-response.md's shell blocks,
// in order, with the built cpctl against the simulator (profile prod) and
// a stand-in for pass; a text block right after a shell block is output it
// must print (dates aside). Then every password the store received is the
// one the simulator has, bob's old passwords are gone, and the hand-over
// file held the same passwords.
func TestIncidentResponseGuide(t *testing.T) {
	w := newWorld(t)
	bin := filepath.Join(filepath.Dir(w.dir), "bin")
	if err := os.WriteFile(filepath.Join(bin, "pass"), []byte(fakePass), 0o700); err != nil {
		t.Fatal(err)
	}
	storeDir := filepath.Join(filepath.Dir(w.dir), "store")
	w.env = append(w.env, "PASSWORD_STORE_DIR="+storeDir)

	var handover [][]string
	var last string // the output of the last shell block
	ran := 0
	for _, b := range blocks(t, "incident-response.md") {
		switch b.lang {
		case "sh":
			cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", b.text)
			cmd.Dir, cmd.Env = w.dir, w.env
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("incident-response.md:%d: %v\n%s\n%s", b.line, err, b.text, out.String())
			}
			last = out.String()
			ran++
			if strings.Contains(b.text, "journal export") {
				handover = readCSV(t, filepath.Join(w.dir, "bob-new-passwords.csv"))
			}
		case "text":
			if !b.output || last == "" {
				continue
			}
			got := map[string]bool{}
			for _, l := range strings.Split(last, "\n") {
				got[fields(l)] = true
			}
			for _, l := range strings.Split(strings.TrimSpace(b.text), "\n") {
				if strings.HasPrefix(l, "created:") {
					continue // a date
				}
				if !got[fields(l)] {
					t.Errorf("incident-response.md:%d: the guide shows %q, the command printed:\n%s", b.line, l, last)
				}
			}
			last = ""
		default:
			last = ""
		}
	}
	if ran < 5 {
		t.Fatalf("ran %d shell blocks of the guide", ran)
	}

	// The store has one entry per credential of bob's, each the server's.
	stored := map[string]string{}
	err := filepath.WalkDir(filepath.Join(storeDir, "cpanel", "prod"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		pw, err := os.ReadFile(path)
		rel, _ := filepath.Rel(filepath.Join(storeDir, "cpanel", "prod"), path)
		stored[filepath.ToSlash(rel)] = strings.TrimSuffix(string(pw), "\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]string{
		"account/bob": simulator.SampleBobPassword, "ftp/files@bob.example": simulator.SampleFTPPassword,
		"webdisk/dav@bob.example": simulator.SampleWebDiskPassword, "email/info@bob.example": simulator.SampleMailPassword,
		"mysql/bob_wp": simulator.SampleMySQLPassword, "postgresql/bob_app": simulator.SamplePostgreSQLPassword,
	}
	if len(stored) != len(old) {
		t.Errorf("the store has %d entries, want %d: %v", len(stored), len(old), keys(stored))
	}
	for name, was := range old {
		kind, target, _ := strings.Cut(name, "/")
		pw := stored[name]
		if pw == "" || !w.srv.Sim.CheckPasswordOf(kind, target, pw) {
			t.Errorf("%s: the store's password is not the server's", name)
		}
		if w.srv.Sim.CheckPasswordOf(kind, target, was) {
			t.Errorf("%s still has its old password", name)
		}
	}
	// The hand-over file had the same passwords; it and the journal are gone.
	if len(handover) != len(old)+1 || strings.Join(handover[0], ",") != "kind,target,password,owner" {
		t.Fatalf("bob-new-passwords.csv: %v", handover)
	}
	for _, r := range handover[1:] {
		if stored[r[0]+"/"+r[1]] != r[2] {
			t.Errorf("bob-new-passwords.csv: %s %s is not the password delivered", r[0], r[1])
		}
	}
	for _, gone := range []string{"bob-incident.journal", "bob-new-passwords.csv"} {
		if _, err := os.Stat(filepath.Join(w.dir, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there: %v", gone, err)
		}
	}
	// The record of the change: one line per credential, none with a password.
	data, err := os.ReadFile(filepath.Join(w.dir, "bob-rotation.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for _, l := range lines {
		var row map[string]any
		if err := json.Unmarshal([]byte(l), &row); err != nil || row["ok"] != true || row["password"] != nil {
			t.Errorf("bob-rotation.jsonl: %s (%v)", l, err)
		}
		if k := row["kind"]; (k == "account" || k == "email") && row["verified"] != true {
			t.Errorf("bob-rotation.jsonl: %s was not verified: %s", k, l)
		}
	}
	if len(lines) != len(old) {
		t.Errorf("bob-rotation.jsonl has %d lines, want %d", len(lines), len(old))
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
