package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// repoRoot is where the committed files live, seen from this package.
const repoRoot = "../.."

// TestCommittedDocsAreCurrent fails when a command, flag or help text
// changed without the man pages, markdown reference and completion
// scripts being regenerated, and when a generated file of a command that
// no longer exists is still committed.
func TestCommittedDocsAreCurrent(t *testing.T) {
	want, err := generate(defaultDate)
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	for _, name := range sortedKeys(want) {
		got, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(name)))
		switch {
		case os.IsNotExist(err):
			problems = append(problems, "missing: "+name)
		case err != nil:
			t.Fatal(err)
		case !bytes.Equal(got, want[name]):
			problems = append(problems, fmt.Sprintf("stale:   %s (first difference at line %d)", name, firstDiffLine(got, want[name])))
		}
	}
	for _, sub := range []string{manDir, referenceDir} {
		names, err := listGenerated(filepath.Join(repoRoot, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if _, ok := want[sub+"/"+n]; !ok {
				problems = append(problems, fmt.Sprintf("extra:   %s/%s (no such command any more)", sub, n))
			}
		}
	}
	if len(problems) > 0 {
		t.Errorf("the generated docs and completions are out of date; run `%s` from the repository root and commit the result:\n  %s",
			regenerateHint, strings.Join(problems, "\n  "))
	}
}

func firstDiffLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) && i < len(lb); i++ {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

func TestManDate(t *testing.T) {
	tests := []struct {
		epoch   string
		want    time.Time
		wantErr bool
	}{
		{"", defaultDate, false},
		{"0", time.Unix(0, 0).UTC(), false},
		{"1798761600", time.Date(2027, time.January, 1, 0, 0, 0, 0, time.UTC), false},
		{"yesterday", time.Time{}, true},
		{"1.5", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := manDate(tt.epoch)
		if (err != nil) != tt.wantErr {
			t.Errorf("manDate(%q) error = %v, want error %v", tt.epoch, err, tt.wantErr)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("manDate(%q) = %v, want %v", tt.epoch, got, tt.want)
		}
	}
}

func TestGenerateIsReproducible(t *testing.T) {
	a, err := generate(defaultDate)
	if err != nil {
		t.Fatal(err)
	}
	b, err := generate(defaultDate)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("two runs made %d and %d files", len(a), len(b))
	}
	for name, content := range a {
		if !bytes.Equal(content, b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	for name, content := range a {
		if bytes.Contains(content, []byte("Auto generated")) {
			t.Errorf("%s carries cobra's auto-generated tag, which dates every regeneration", name)
		}
	}
	if !bytes.Contains(a[manDir+"/cpctl.1"], []byte(`"Nov 2026"`)) {
		t.Errorf("cpctl.1 does not carry the fixed date:\n%.200s", a[manDir+"/cpctl.1"])
	}
}

// TestRunWritesAndPrunes checks the generator in a scratch tree: it writes
// every kind of file, honours SOURCE_DATE_EPOCH, removes the pages of
// commands that are gone, and leaves hand-written files alone.
func TestRunWritesAndPrunes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example\n")
	write("docs/man/cpctl-gone.1", "old page\n")
	write("docs/reference/cpctl_gone.md", "old page\n")
	write("docs/reference/notes.md", "hand-written\n")
	write("docs/getting-started.md", "hand-written\n")
	t.Setenv("SOURCE_DATE_EPOCH", "1798761600") // January 2027

	var log bytes.Buffer
	if err := run(dir, &log); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"docs/man/cpctl-gone.1", "docs/reference/cpctl_gone.md"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
			t.Errorf("%s was not removed (err %v)", gone, err)
		}
	}
	for _, kept := range []string{"docs/reference/notes.md", "docs/getting-started.md"} {
		if b, err := os.ReadFile(filepath.Join(dir, kept)); err != nil || string(b) != "hand-written\n" {
			t.Errorf("%s was touched: %q %v", kept, b, err)
		}
	}
	for _, name := range []string{"docs/man/cpctl.1", "docs/man/cpctl-account-passwd.1", "docs/reference/cpctl.md",
		"docs/reference/cpctl_profile_add.md", "completions/cpctl.bash", "completions/cpctl.zsh",
		"completions/cpctl.fish", "completions/cpctl.ps1"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	man, _ := os.ReadFile(filepath.Join(dir, "docs/man/cpctl.1"))
	if !bytes.Contains(man, []byte(`"Jan 2027"`)) {
		t.Errorf("SOURCE_DATE_EPOCH was ignored:\n%.200s", man)
	}
	if !strings.Contains(log.String(), "removed docs/man/cpctl-gone.1") {
		t.Errorf("log does not mention the removal: %q", log.String())
	}

	if err := run(t.TempDir(), &log); err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Errorf("run in a directory without go.mod: err = %v, want a go.mod complaint", err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "soon")
	if err := run(dir, &log); err == nil {
		t.Error("run with a bad SOURCE_DATE_EPOCH succeeded")
	}
}

// TestCompletionsAreDynamic checks that the scripts defer to the binary's
// hidden __complete command, which is what completes profile names and
// the -o and --api values at run time.
func TestCompletionsAreDynamic(t *testing.T) {
	files, err := generate(defaultDate)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cpctl.bash", "cpctl.zsh", "cpctl.fish", "cpctl.ps1"} {
		if !bytes.Contains(files[completionDir+"/"+name], []byte("__complete")) {
			t.Errorf("%s does not call cpctl __complete", name)
		}
	}
	cmd := newRoot()
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "-o", ""}, []string{"table", "json", "jsonl", "yaml"}},
		{[]string{"__complete", "account", "passwd", "--api", ""}, []string{"whmapi1", "whmapi0"}},
		{[]string{"__complete", "ftp", "passwd", "--api", ""}, []string{"cpapi2", "uapi"}},
		{[]string{"__complete", "email", "passwd", "--api", ""}, []string{"cpapi2", "uapi"}},
		{[]string{"__complete", "--kind", ""}, []string{"whm", "cpanel"}},
	} {
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(tt.args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w+"\n") && !strings.Contains(out.String(), w+"\t") {
				t.Errorf("%v: completion %q missing from:\n%s", tt.args, w, out.String())
			}
		}
	}
}

// TestGuidesUseRealCommands reads every shell example in the hand-written
// guides and the README and fails on a cpctl subcommand or flag that does
// not exist, so the guides cannot drift from the binary.
func TestGuidesUseRealCommands(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, filepath.Join(repoRoot, "README.md"))
	cmd := newRoot()
	checked := 0
	for _, p := range paths {
		for _, ex := range shellExamples(t, p) {
			for _, args := range cpctlInvocations(ex.text) {
				checked++
				if err := checkInvocation(cmd, args); err != nil {
					t.Errorf("%s:%d: cpctl %s: %v", filepath.Base(p), ex.line, strings.Join(args, " "), err)
				}
			}
		}
	}
	t.Logf("checked %d cpctl command lines in %d files", checked, len(paths))
	if checked < 20 {
		t.Errorf("only %d cpctl examples found in the guides; is the parser broken?", checked)
	}
}

func TestCheckInvocation(t *testing.T) {
	cmd := newRoot()
	tests := []struct {
		line string
		ok   bool
	}{
		{`cpctl -p prod account passwd bob --generate -o json`, true},
		{`printf '%s\n' "$PW" | cpctl --url "$U" email passwd a@b.example --owner bob --password-stdin`, true},
		{`cpctl profile add prod --url https://h:2087 --token-command 'pass show whm/prod' --use`, true},
		{`cpctl account passwd bob --no-such-flag`, false},
		{`cpctl acount passwd bob`, false},
		{`cpctl ftp passwd files --owner`, false},
		{`cpctl journal show run.journal --secrets-out x`, false},
	}
	for _, tt := range tests {
		inv := cpctlInvocations(tt.line)
		if len(inv) != 1 {
			t.Errorf("%s: found %d invocations, want 1", tt.line, len(inv))
			continue
		}
		err := checkInvocation(cmd, inv[0])
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.line, err, tt.ok)
		}
	}
}

type example struct {
	line int
	text string
}

// shellExamples returns the lines of fenced code blocks in shell-like
// languages (and YAML, for CI files), continuation lines joined.
func shellExamples(t *testing.T, path string) []example {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []example
	sc := bufio.NewScanner(f)
	n, in, shellish := 0, false, false
	var pending strings.Builder
	start := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if !in {
				lang := strings.TrimPrefix(trimmed, "```")
				shellish = lang == "" || lang == "sh" || lang == "bash" || lang == "shell" || lang == "console" || lang == "yaml" || lang == "yml"
			}
			in = !in
			continue
		}
		if !in || !shellish {
			continue
		}
		if pending.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(trimmed, `\`) {
			pending.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		pending.WriteString(trimmed)
		out = append(out, example{line: start, text: pending.String()})
		pending.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// cpctlInvocations finds the cpctl commands in one shell line and returns
// their arguments. Operators end a command; only a cpctl in command
// position counts (so "cpctl:" in output, or a path, does not).
func cpctlInvocations(line string) [][]string {
	line = strings.TrimSpace(line)
	for _, p := range []string{"$ ", "- ", "run: ", "script: "} {
		line = strings.TrimPrefix(line, p)
	}
	if strings.HasPrefix(line, "#") {
		return nil
	}
	var out [][]string
	var cur []string
	flush := func() {
		if args, ok := afterCpctl(cur); ok {
			out = append(out, args)
		}
		cur = nil
	}
	for _, tok := range shellTokens(line) {
		switch tok {
		case "|", "||", "&&", ";", "$(", "(", ")", "`", "&":
			flush()
		default:
			cur = append(cur, tok)
		}
	}
	flush()
	return out
}

var commandPrefixes = map[string]bool{"if": true, "!": true, "then": true, "do": true, "else": true, "while": true,
	"until": true, "exec": true, "time": true, "sudo": true, "env": true, "{": true}

func afterCpctl(tokens []string) ([]string, bool) {
	for i, tok := range tokens {
		switch {
		case tok == "cpctl" || strings.HasSuffix(tok, "/cpctl"):
			var args []string
			for _, a := range tokens[i+1:] {
				if isRedirect(a) {
					break
				}
				args = append(args, a)
			}
			return args, true
		case commandPrefixes[tok], strings.Contains(tok, "=") && !strings.HasPrefix(tok, "-"):
			continue
		case tok == "go" || tok == "run":
			continue // go run ./cmd/cpctl ARGS
		default:
			return nil, false
		}
	}
	return nil, false
}

func isRedirect(tok string) bool {
	for _, p := range []string{">", "<", "2>", "1>", "&>"} {
		if strings.HasPrefix(tok, p) {
			return true
		}
	}
	return false
}

// shellTokens splits a line into words and operators, respecting single
// and double quotes and dropping a trailing comment.
func shellTokens(line string) []string {
	var toks []string
	var b strings.Builder
	inWord := false
	emit := func() {
		if inWord {
			toks = append(toks, b.String())
			b.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'' || c == '"':
			inWord = true
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				b.WriteString(line[i+1:])
				i = len(line)
				continue
			}
			b.WriteString(line[i+1 : i+1+j])
			i += j + 1
		case c == ' ' || c == '\t':
			emit()
		case c == '#' && !inWord:
			emit()
			return toks
		case c == '$' && i+1 < len(line) && line[i+1] == '(':
			emit()
			toks = append(toks, "$(")
			i++
		case c == '|' || c == '&' || c == ';' || c == '(' || c == ')' || c == '`':
			if c == '&' && inWord && i > 0 && (line[i-1] == '>' || line[i-1] == '2') {
				b.WriteByte(c) // 2>&1
				continue
			}
			emit()
			op := string(c)
			if i+1 < len(line) && (c == '|' || c == '&') && line[i+1] == c {
				op += string(c)
				i++
			}
			toks = append(toks, op)
		default:
			inWord = true
			b.WriteByte(c)
		}
	}
	emit()
	return toks
}

// checkInvocation walks args down the command tree as Cobra would and
// reports an unknown subcommand, an unknown flag or a flag missing its
// value.
func checkInvocation(root *cobra.Command, args []string) error {
	cur := root
	positional := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && a != "-" {
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			fl := cur.Flag(name)
			if !strings.HasPrefix(a, "--") {
				fl = cur.Flags().ShorthandLookup(name)
				if fl == nil {
					fl = cur.InheritedFlags().ShorthandLookup(name)
				}
			}
			if fl == nil {
				return fmt.Errorf("%s has no flag %s", cur.CommandPath(), a)
			}
			if fl.Value.Type() != "bool" && !hasValue {
				if i+1 >= len(args) {
					return fmt.Errorf("flag %s needs a value", a)
				}
				i++
			}
			continue
		}
		if !positional {
			if sub := findSub(cur, a); sub != nil {
				cur = sub
				continue
			}
			if !cur.Runnable() {
				return fmt.Errorf("%s has no subcommand %q", cur.CommandPath(), a)
			}
		}
		positional = true
	}
	return nil
}

func findSub(cmd *cobra.Command, name string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// regenerateHint is how a stale-docs failure tells the reader to fix it.
const regenerateHint = "go run ./cmd/gen-docs"
