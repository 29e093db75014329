package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/output")

const goldenDir = "../../testdata/output"

// Curly quotes are "ambiguous width" characters, which tablewriter counts
// as two columns under a CJK locale; pin the narrow reading so the golden
// tables do not depend on the environment running the tests.
func TestMain(m *testing.M) {
	twwidth.SetEastAsian(false)
	os.Exit(m.Run())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/output -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

var (
	okBob = PasswdResult{
		Profile: "prod", Server: "https://server1.example.com:2087", Kind: "account", Target: "bob",
		Owner: "root", API: "whmapi1", OK: true, Services: []string{"system", "ftp", "mail", "MySQL"},
		Message: "Password changed for user “bob”.",
	}
	okFTP = PasswdResult{
		Profile: "shop", Server: "https://cpanel.shop.example:2083", Kind: "ftp", Target: "upload@shop.example",
		Owner: "shop", API: "cpapi2", OK: true, Message: "OK",
	}
	okMail = PasswdResult{
		Profile: "shop", Server: "https://cpanel.shop.example:2083", Kind: "email", Target: "info@shop.example",
		Owner: "shop", API: "uapi", OK: true, Message: "",
	}
	failed = PasswdResult{
		Profile: "prod", Server: "https://server1.example.com:2087", Kind: "account", Target: "carol",
		Owner: "root", API: "whmapi1", OK: false, ExitCode: 1,
		Message: "Sorry, the password you selected cannot be used because it is too weak and would be too easy to guess. Please select a password with strength rating of 65 or higher.",
	}
	generated = PasswdResult{
		Profile: "prod", Server: "https://server1.example.com:2087", Kind: "account", Target: "dave",
		Owner: "res1", API: "whmapi1", OK: true, Services: []string{"system"},
		Message: "Password changed for user “dave”.", Password: "q7#Lx_2vN;e(Rw9&Kp!z",
	}
	verifiedYes = PasswdResult{
		Profile: "shop", Server: "https://cpanel.shop.example:2083", Kind: "email", Target: "info@shop.example",
		Owner: "shop", API: "uapi", OK: true, Message: "", Verified: ptr(true),
	}
	verifiedNo = PasswdResult{
		Profile: "shop", Server: "https://cpanel.shop.example:2083", Kind: "email", Target: "sales@shop.example",
		Owner: "shop", API: "uapi", OK: true, Message: "", Verified: ptr(false),
	}
	verifyUnsupported = PasswdResult{
		Profile: "shop", Server: "https://cpanel.shop.example:2083", Kind: "ftp", Target: "upload@shop.example",
		Owner: "shop", API: "cpapi2", OK: true, Message: "OK", Verify: "unsupported",
	}
)

var cases = []struct {
	name string
	rows []PasswdResult
}{
	{"one", []PasswdResult{okBob}},
	{"several", []PasswdResult{okBob, okFTP, okMail}},
	{"failure", []PasswdResult{okBob, failed}},
	{"generated", []PasswdResult{generated, okBob}},
	{"verified", []PasswdResult{verifiedYes, verifiedNo, verifyUnsupported}},
}

var variants = []struct {
	format   Format
	terminal bool
	ext      string
}{
	{JSON, false, "json"},
	{JSONL, false, "jsonl"},
	{YAML, false, "yaml"},
	{Table, true, "txt"},
	{Table, false, "tsv"},
}

func TestResultsGolden(t *testing.T) {
	for _, tc := range cases {
		for _, v := range variants {
			t.Run(tc.name+"."+v.ext, func(t *testing.T) {
				var buf bytes.Buffer
				if err := New(v.format, &buf, v.terminal).Results(tc.rows); err != nil {
					t.Fatal(err)
				}
				checkNoEscapes(t, buf.Bytes())
				golden(t, "results/"+tc.name+"."+v.ext, buf.Bytes())
			})
		}
	}
}

func TestStreamGolden(t *testing.T) {
	for _, tc := range cases {
		for _, v := range variants {
			ext := v.ext
			t.Run(tc.name+"."+ext, func(t *testing.T) {
				var buf bytes.Buffer
				s := New(v.format, &buf, v.terminal).Stream()
				for _, r := range tc.rows {
					if err := s.Write(r); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				checkNoEscapes(t, buf.Bytes())
				golden(t, "stream/"+tc.name+"."+ext, buf.Bytes())
			})
		}
	}
}

func checkNoEscapes(t *testing.T, b []byte) {
	t.Helper()
	if bytes.ContainsRune(b, 0x1b) {
		t.Errorf("output holds an escape sequence: %q", b)
	}
}

// The field names and their order are a public contract (docs/output-schema.md).
func TestResultJSONContract(t *testing.T) {
	var buf bytes.Buffer
	if err := New(JSON, &buf, false).Results([]PasswdResult{okFTP, generated, verifiedNo}); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	base := []string{"api", "kind", "message", "ok", "owner", "profile", "server", "services", "target"}
	for i, want := range [][]string{base, append(base, "password"), append(base, "verified")} {
		var got []string
		for k := range list[i] {
			got = append(got, k)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %d keys = %v, want %v", i, got, want)
		}
	}
	if s, ok := list[0]["services"].([]any); !ok || len(s) != 0 {
		t.Errorf("empty services = %#v, want []", list[0]["services"])
	}
	if list[2]["verified"] != false {
		t.Errorf("verified = %v, want false (present)", list[2]["verified"])
	}
	if strings.Contains(buf.String(), "\\u0026") || !strings.Contains(buf.String(), "“") {
		t.Errorf("JSON escaped text it need not: %s", buf.String())
	}
	// Order: profile first, as declared.
	if !strings.HasPrefix(strings.TrimSpace(buf.String()), "[\n  {\n    \"profile\"") {
		t.Errorf("unexpected layout: %s", buf.String())
	}
}

func TestResultYAMLMatchesJSON(t *testing.T) {
	rows := []PasswdResult{okBob, okFTP, generated, verifiedYes, verifyUnsupported}
	var j, y bytes.Buffer
	if err := New(JSON, &j, false).Results(rows); err != nil {
		t.Fatal(err)
	}
	if err := New(YAML, &y, false).Results(rows); err != nil {
		t.Fatal(err)
	}
	var fromJSON, fromYAML []map[string]any
	if err := json.Unmarshal(j.Bytes(), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(y.Bytes(), &fromYAML); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, fromYAML) {
		t.Errorf("JSON and YAML differ:\n%v\n%v", fromJSON, fromYAML)
	}
	var node yaml.Node
	if err := yaml.Unmarshal(y.Bytes(), &node); err != nil {
		t.Fatal(err)
	}
	first := node.Content[0].Content[0]
	var order []string
	for i := 0; i < len(first.Content); i += 2 {
		order = append(order, first.Content[i].Value)
	}
	want := []string{"profile", "server", "kind", "target", "owner", "api", "ok", "services", "message"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("YAML key order %v, want %v", order, want)
	}
}

func TestResultsEmpty(t *testing.T) {
	for _, v := range variants {
		var buf bytes.Buffer
		if err := New(v.format, &buf, v.terminal).Results(nil); err != nil {
			t.Fatal(err)
		}
		want := map[Format]string{JSON: "[]\n", YAML: "[]\n", Table: ""}[v.format]
		if buf.String() != want {
			t.Errorf("%s: empty results printed %q, want %q", v.ext, buf.String(), want)
		}
	}
}

func TestTableNeverCutsPassword(t *testing.T) {
	long := strings.Repeat("Ab3$", 40)
	r := generated
	r.Password = long
	r.Message = strings.Repeat("very long message ", 20)
	for _, term := range []bool{true, false} {
		var buf bytes.Buffer
		if err := New(Table, &buf, term).Results([]PasswdResult{r}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), long) {
			t.Errorf("terminal=%v: password cut:\n%s", term, buf.String())
		}
		buf.Reset()
		s := New(Table, &buf, term).Stream()
		if err := s.Write(r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), long) {
			t.Errorf("terminal=%v: streamed password cut:\n%s", term, buf.String())
		}
	}
}

// A server message must not be able to break the tab layout or reach the
// terminal as an escape sequence.
func TestTableSanitizes(t *testing.T) {
	r := failed
	r.Message = "bad\x1b[31m red\tcol\nline\r"
	for _, term := range []bool{true, false} {
		var buf bytes.Buffer
		if err := New(Table, &buf, term).Results([]PasswdResult{r}); err != nil {
			t.Fatal(err)
		}
		checkNoEscapes(t, buf.Bytes())
		lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
		if !term {
			if len(lines) != 2 {
				t.Fatalf("tsv has %d lines: %q", len(lines), buf.String())
			}
			if n := strings.Count(lines[1], "\t"); n != 4 {
				t.Errorf("tsv row has %d tabs, want 4: %q", n, lines[1])
			}
		}
	}
}

func TestStreamJSONLines(t *testing.T) {
	var buf bytes.Buffer
	fw := &flushWriter{w: &buf}
	s := New(JSONL, fw, false).Stream()
	rows := []PasswdResult{okBob, failed, generated}
	for i, r := range rows {
		if err := s.Write(r); err != nil {
			t.Fatal(err)
		}
		if fw.flushes != i+1 {
			t.Errorf("after %d writes, %d flushes", i+1, fw.flushes)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		var r PasswdResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		rows[n].ExitCode = 0
		if rows[n].Services == nil {
			rows[n].Services = []string{}
		}
		if !reflect.DeepEqual(r, rows[n]) {
			t.Errorf("line %d = %+v, want %+v", n, r, rows[n])
		}
		n++
	}
	if n != len(rows) {
		t.Errorf("%d lines, want %d", n, len(rows))
	}
}

func TestStreamYAMLDocuments(t *testing.T) {
	var buf bytes.Buffer
	s := New(YAML, &buf, false).Stream()
	for _, r := range []PasswdResult{okBob, failed} {
		if err := s.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	dec := yaml.NewDecoder(&buf)
	var targets []string
	for {
		var r map[string]any
		if err := dec.Decode(&r); err != nil {
			break
		}
		targets = append(targets, r["target"].(string))
	}
	if !reflect.DeepEqual(targets, []string{"bob", "carol"}) {
		t.Errorf("documents for %v", targets)
	}
}

func TestStreamConcurrent(t *testing.T) {
	for _, v := range variants {
		var buf bytes.Buffer
		s := New(v.format, &buf, v.terminal).Stream()
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if err := s.Write(okBob); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if v.format == JSONL {
			if n := strings.Count(buf.String(), "\n"); n != 50 {
				t.Errorf("%d JSON lines, want 50", n)
			}
		}
		if v.format == JSON {
			var list []PasswdResult
			if err := json.Unmarshal(buf.Bytes(), &list); err != nil || len(list) != 50 {
				t.Errorf("JSON stream: %d rows, %v", len(list), err)
			}
		}
		if v.format == Table {
			if n := strings.Count(buf.String(), "PROFILE"); n != 1 {
				t.Errorf("%s: header printed %d times", v.ext, n)
			}
			if n := strings.Count(buf.String(), "\n"); n != 51 {
				t.Errorf("%s: %d lines, want 51", v.ext, n)
			}
		}
	}
}

func TestStreamPasswordColumn(t *testing.T) {
	var buf bytes.Buffer
	s := New(Table, &buf, false).Stream()
	if err := s.Write(okBob); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(generated); err == nil {
		t.Error("a generated password without a column was accepted")
	}
	if strings.Contains(buf.String(), generated.Target) {
		t.Errorf("the refused row was printed: %q", buf.String())
	}

	buf.Reset()
	s = New(Table, &buf, false).Stream(WithPasswordColumn(), WithVerifiedColumn())
	for _, r := range []PasswdResult{okBob, generated} {
		if err := s.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(buf.String(), "\n")
	if lines[0] != "PROFILE\tTARGET\tRESULT\tSERVICES\tVERIFIED\tMESSAGE\tPASSWORD" {
		t.Errorf("header %q", lines[0])
	}
	if !strings.HasSuffix(lines[2], "\t"+generated.Password) {
		t.Errorf("row %q lacks the password", lines[2])
	}
}

func TestGenericTable(t *testing.T) {
	headers := []string{"NAME", "URL", "AUTH", "TLS FINGERPRINT", "CURRENT"}
	rows := [][]string{
		{"prod", "https://server1.example.com:2087", "token", "sha256:ab:cd", "*"},
		{"shop", "https://cpanel.shop.example:2083", "token", "", ""},
		{"old", "https://x.example:2087", "password"}, // short rows are padded
	}
	for _, v := range variants {
		t.Run(v.ext, func(t *testing.T) {
			var buf bytes.Buffer
			if err := New(v.format, &buf, v.terminal).Table(headers, rows); err != nil {
				t.Fatal(err)
			}
			checkNoEscapes(t, buf.Bytes())
			golden(t, "table/profiles."+v.ext, buf.Bytes())
		})
	}
	var buf bytes.Buffer
	if err := New(JSON, &buf, false).Table([]string{"A"}, [][]string{{"1", "2"}}); err == nil {
		t.Error("a row longer than the header was accepted")
	}
	buf.Reset()
	if err := New(JSON, &buf, false).Table(headers, nil); err != nil || buf.String() != "[]\n" {
		t.Errorf("empty JSON table = %q, %v", buf.String(), err)
	}
	buf.Reset()
	if err := New(YAML, &buf, false).Table(headers, nil); err != nil || buf.String() != "[]\n" {
		t.Errorf("empty YAML table = %q, %v", buf.String(), err)
	}
}

func TestValue(t *testing.T) {
	v := struct {
		Name  string            `json:"name" yaml:"name"`
		Apps  map[string]int    `json:"apps" yaml:"apps"`
		Notes map[string]string `json:"notes,omitempty" yaml:"notes,omitempty"`
	}{Name: "a&b <c>", Apps: map[string]int{"passwd": 65, "ftp": 50}}
	for _, tc := range []struct {
		format Format
		want   string
	}{
		{JSON, "{\n  \"name\": \"a&b <c>\",\n  \"apps\": {\n    \"ftp\": 50,\n    \"passwd\": 65\n  }\n}\n"},
		{YAML, "name: a&b <c>\napps:\n  ftp: 50\n  passwd: 65\n"},
		{Table, "name: a&b <c>\napps:\n  ftp: 50\n  passwd: 65\n"},
	} {
		var buf bytes.Buffer
		if err := New(tc.format, &buf, false).Value(v); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("%s: got %q, want %q", tc.format, buf.String(), tc.want)
		}
	}
}

func TestValueJSONLines(t *testing.T) {
	type item struct {
		A string `json:"a"`
	}
	for _, tc := range []struct {
		v    any
		want string
	}{
		{[]item{{"x"}, {"y&z"}}, "{\"a\":\"x\"}\n{\"a\":\"y&z\"}\n"},
		{[]item{}, ""},
		{item{"one"}, "{\"a\":\"one\"}\n"},
		{map[string]int{"n": 1}, "{\"n\":1}\n"},
		{[]byte("hi"), "\"aGk=\"\n"},
	} {
		var buf bytes.Buffer
		if err := New(JSONL, &buf, false).Value(tc.v); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("Value(%v) = %q, want %q", tc.v, buf.String(), tc.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
		err  bool
	}{
		{"", Table, false}, {"table", Table, false}, {"JSON", JSON, false}, {"yaml", YAML, false},
		{"yml", YAML, false}, {" json ", JSON, false}, {"xml", "", true}, {"jsonl", JSONL, false}, {"NDJSON", JSONL, false}, {"json-lines", "", true},
	} {
		got, err := ParseFormat(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseFormat(%q) = %q, %v", tc.in, got, err)
		}
		if tc.err && !errors.Is(err, ErrFormat) {
			t.Errorf("ParseFormat(%q) error %v does not wrap ErrFormat", tc.in, err)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	p := New(Format("xml"), &bytes.Buffer{}, false)
	if err := p.Results([]PasswdResult{okBob}); !errors.Is(err, ErrFormat) {
		t.Errorf("Results: %v", err)
	}
	if err := p.Table([]string{"A"}, nil); !errors.Is(err, ErrFormat) {
		t.Errorf("Table: %v", err)
	}
	if err := p.Value(1); !errors.Is(err, ErrFormat) {
		t.Errorf("Value: %v", err)
	}
	if err := p.Stream().Write(okBob); !errors.Is(err, ErrFormat) {
		t.Errorf("Stream: %v", err)
	}
}

type flushWriter struct {
	w       *bytes.Buffer
	flushes int
}

func (f *flushWriter) Write(p []byte) (int, error) { return f.w.Write(p) }
func (f *flushWriter) Flush() error                { f.flushes++; return nil }
