package simulator

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tableRow matches a conformance row's test cell: `TestName` (path/file.go).
var tableRow = regexp.MustCompile("`(Test[A-Za-z0-9_]+)` \\(([a-z0-9_./-]+_test\\.go)\\)")

// TestConformanceTable checks that every test docs/protocol.md's
// conformance table names exists in the file it names, so the table
// cannot claim a behaviour no test demonstrates.
func TestConformanceTable(t *testing.T) {
	const root = "../.."
	doc, err := os.ReadFile(filepath.Join(root, "docs", "protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "\n## Conformance table\n")
	if !ok {
		t.Fatal("docs/protocol.md has no conformance table")
	}
	rows := 0
	funcs := map[string]map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| #") {
			continue
		}
		rows++
		m := tableRow.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("row without a test: %s", line)
			continue
		}
		name, file := m[1], m[2]
		if funcs[file] == nil {
			funcs[file] = testFuncs(t, filepath.Join(root, file))
		}
		if !funcs[file][name] {
			t.Errorf("%s names %s, which %s does not declare", strings.SplitN(line, "|", 3)[1], name, file)
		}
	}
	if rows < 20 {
		t.Errorf("the table has %d rows; it shrank", rows)
	}
}

// testFuncs lists the top-level Test functions a Go file declares.
func testFuncs(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Errorf("%v", err)
		return map[string]bool{}
	}
	out := map[string]bool{}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") {
			out[fn.Name.Name] = true
		}
	}
	return out
}
