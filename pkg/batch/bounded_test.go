package batch

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// endless is an io.Reader that never ends: prefix, then fill repeated
// forever. It counts what was read, which bounds what a reader can hold.
type endless struct {
	prefix string
	fill   string
	read   int64
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if e.prefix != "" {
			c := copy(p[n:], e.prefix)
			e.prefix = e.prefix[c:]
			n += c
			continue
		}
		off := int(e.read+int64(n)) % len(e.fill)
		n += copy(p[n:], e.fill[off:])
	}
	e.read += int64(n)
	return n, nil
}

// TestInputNeverEnding reads inputs that never end (a file without line
// breaks, /dev/zero, a quoted field that never closes): validation stops at
// the first record past MaxRecordBytes, naming its line, having read little
// more than the cap.
func TestInputNeverEnding(t *testing.T) {
	tests := []struct {
		name string
		in   *endless
		want string
	}{
		{"zeros", &endless{fill: "\x00"}, "line 1: a record longer than 64 KiB"},
		{"csv header without end", &endless{fill: "user"}, "line 1: a record longer than 64 KiB"},
		{"csv field without end", &endless{prefix: "user,password\nbob,x\nalice,", fill: "p"}, "line 3: a record longer than 64 KiB"},
		{"csv quoted field without end", &endless{prefix: "user,password\nbob,\"", fill: "a\n"}, "a record longer than 64 KiB"},
		{"jsonl line without end", &endless{prefix: `{"user":"bob"}` + "\n" + `{"user":"`, fill: "b"}, "line 2: a line longer than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Validate(tt.in, KindAccount, ValidateOptions{Generate: true})
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) == 0 || !strings.Contains(ve.Errors[len(ve.Errors)-1].Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if tt.in.read > 4*MaxRecordBytes {
				t.Errorf("read %d bytes before failing: want about %d", tt.in.read, MaxRecordBytes)
			}
		})
	}
}

// TestRecordCap checks the cap's edge: a record of MaxRecordBytes is read,
// one byte more is refused, in both formats.
func TestRecordCap(t *testing.T) {
	const head = "user,password\n"
	csvRow := func(n int) string { return "bob," + strings.Repeat("p", n-len("bob,")-1) + "\n" }
	jsonRow := func(n int) string {
		return `{"user":"bob","password":"` + strings.Repeat("p", n-len(`{"user":"bob","password":""}`)) + `"}` + "\n"
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"csv at the cap", head + csvRow(MaxRecordBytes), true},
		{"csv over the cap", head + csvRow(MaxRecordBytes+1), false},
		{"jsonl at the cap", jsonRow(MaxRecordBytes), true},
		{"jsonl over the cap", jsonRow(MaxRecordBytes + 1), false},
		{"jsonl at the cap, no final newline", strings.TrimSuffix(jsonRow(MaxRecordBytes), "\n"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Validate(strings.NewReader(tt.in), KindAccount, ValidateOptions{})
			if ok := err == nil && n == 1; ok != tt.ok {
				t.Fatalf("n %d, err %v; want ok %v", n, err, tt.ok)
			}
			if !tt.ok && !strings.Contains(err.Error(), "longer than 64 KiB") {
				t.Errorf("error %v does not say why", err)
			}
		})
	}
}

// TestJournalNeverEnding reads journals that are not: the reader stops at
// a line past maxJournalLine, having read little more than that.
func TestJournalNeverEnding(t *testing.T) {
	for _, in := range []*endless{{fill: "\x00"}, {prefix: `{"t":"header","v":2,"kind":"account","meta":{"a":"`, fill: "x"}} {
		_, _, err := scanRecords(in, func(*record) error { return nil })
		if !errors.Is(err, errDamaged) || !strings.Contains(err.Error(), "line 1 is longer than 1 MiB") {
			t.Errorf("error %v", err)
		}
		if in.read > 2*maxJournalLine {
			t.Errorf("read %d bytes before failing", in.read)
		}
	}
	if runtime.GOOS == "windows" {
		return
	}
	if _, err := Show("/dev/zero"); err == nil || !strings.Contains(err.Error(), "longer than 1 MiB") {
		t.Errorf("Show(/dev/zero): %v", err)
	}
	if _, err := ReadHeader("/dev/zero"); err == nil || !strings.Contains(err.Error(), "longer than 1 MiB") {
		t.Errorf("ReadHeader(/dev/zero): %v", err)
	}
}

// TestOutcomeClipped checks that an executor's huge report cannot make a
// journal line that readers refuse.
func TestOutcomeClipped(t *testing.T) {
	big := strings.Repeat("é", maxJournalLine)
	services := make([]string, 1000)
	for i := range services {
		services[i] = big[:1000]
	}
	row := Row{Seq: 1, Line: 2, Target: strings.Repeat("\x01", MaxRecordBytes), Owner: "o", Profile: "p"}
	b, err := encodeRecord(outcomeRecOf(&row, 1, &Outcome{State: "unknown", Class: big, Message: big, Services: services}, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > maxJournalLine/2 {
		t.Errorf("outcome record of %d bytes", len(b))
	}
	got, tail := readLines(t, string(b))
	if tail || len(got) != 1 {
		t.Fatal("the clipped record does not read back")
	}
	o := got[0].outcome()
	if len(o.Message) > maxMessageBytes || !strings.HasSuffix(o.Message, "é…") || len(o.Services) != maxServices {
		t.Errorf("message of %d bytes ending %q, %d services", len(o.Message), o.Message[len(o.Message)-8:], len(o.Services))
	}
}

// TestStalePlansRemoved: a run killed while planning leaves a plan full of
// passwords under a name no later run uses (journal names carry a
// timestamp). The next plan into the directory removes it, and only it: a
// plan still being written (locked) and files that are not plans stay.
func TestStalePlansRemoved(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := write("cpctl-account-20261201T101010Z.journal.planning-31337", `{"t":"header","v":2,"kind":"account"}`+"\n"+`{"t":"row","seq":1,"line":2,"target":"bob","password":"S3cret"}`+"\n")
	empty := write("other.journal.planning-4", "")
	live := write("cpctl-account-20261201T111111Z.journal.planning-4242", `{"t":"header","v":2}`+"\n")
	notPlan := write("notes.planning-7", "my own notes\n")
	notPID := write("x.journal.planning-abc", `{"t":"header"}`+"\n")
	f, err := os.OpenFile(live, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		t.Fatal(err)
	}
	if _, err := Plan(filepath.Join(dir, "new.journal"), strings.NewReader("user,password\nu1,Pw-1-xyz!\n"), KindAccount, nil, ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stale, empty} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived: %v", filepath.Base(p), err)
		}
	}
	for _, p := range []string{live, notPlan, notPID} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(p), err)
		}
	}
}

// TestDuplicateJSONKeys refuses a JSON Lines row that names a key twice, as
// a CSV header naming a column twice is refused: encoding/json would let the
// last one win silently.
func TestDuplicateJSONKeys(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"user":"u2","user":"u3"}`, `line 1: key "user" appears twice`},
		{`{"user":"u2","USER":"u3"}`, `line 1: key "user" appears twice`},
		{`{"password":"a","user":"u","Password":"b"}`, `line 1: key "password" appears twice`},
		{`{"user":"u","owner":"o","owner":null}`, `line 1: key "owner" appears twice`},
		{`{"user":"u","password":"p","owner":"o","profile":"x"}`, ""},
	}
	for _, tt := range tests {
		_, err := Validate(strings.NewReader(tt.in+"\n"), KindAccount, ValidateOptions{Generate: true})
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.in, err, tt.want)
		}
	}
}

// TestPasswordControlCharacters refuses passwords holding C0 controls (NUL,
// tab, CR, ESC), DEL or C1 controls, in both formats, without quoting them.
func TestPasswordControlCharacters(t *testing.T) {
	for _, pw := range []string{"a\x00b", "tab\there", "cr\r", "esc\x1b[2J", "del\x7f", "c1\u0085", "csi\u009b"} {
		for _, in := range []string{
			"user,password\nbob,\"" + pw + "\"\n",
			`{"user":"bob","password":` + jsonQuote(pw) + "}\n",
		} {
			_, err := Validate(strings.NewReader(in), KindAccount, ValidateOptions{})
			if err == nil || !strings.Contains(err.Error(), "line 2: password contains a control character") && !strings.Contains(err.Error(), "line 1: password contains a control character") {
				t.Errorf("%q: %v", in, err)
				continue
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("%q: the error quotes the password", in)
			}
		}
	}
	for _, pw := range []string{"héllo wörld", " spaced ", "日本語!x"} {
		if _, err := Validate(strings.NewReader("user,password\nbob,"+pw+"\n"), KindAccount, ValidateOptions{}); err != nil {
			t.Errorf("%q refused: %v", pw, err)
		}
	}
}

func jsonQuote(s string) string {
	b, _ := encodeRecord(s)
	return strings.TrimSuffix(string(b), "\n")
}
