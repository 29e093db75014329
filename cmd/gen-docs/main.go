// Command gen-docs regenerates cpctl's man pages (docs/man/*.1), markdown
// reference (docs/reference/*.md) and shell completion scripts
// (completions/cpctl.bash, .zsh, .fish, .ps1) from the Cobra command tree.
//
// Run it from the repository root, or give the root as the only argument:
//
//	go run ./cmd/gen-docs [ROOT]
//	go generate ./cmd/gen-docs
//
// The output is reproducible: no "auto generated" footer, and the man page
// date is SOURCE_DATE_EPOCH when set, else a constant. A test in this
// package fails when the committed files differ from what it generates.
package main

//go:generate go run . ../..

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/root"
	"github.com/cpctl/cpctl/pkg/cmd/version"
)

// defaultDate is the man pages' date when SOURCE_DATE_EPOCH is unset. Man
// pages show only the month, so bump it at a release if you care; a
// changing date would make every regeneration a diff.
var defaultDate = time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC)

// Output locations, relative to the repository root.
const (
	manDir        = "docs/man"
	referenceDir  = "docs/reference"
	completionDir = "completions"
)

func main() {
	dir := "."
	switch len(os.Args) {
	case 1:
	case 2:
		dir = os.Args[1]
	default:
		fmt.Fprintln(os.Stderr, "usage: gen-docs [REPOSITORY-ROOT]")
		os.Exit(2)
	}
	if err := run(dir, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "gen-docs: %v\n", err)
		os.Exit(1)
	}
}

// run regenerates every file under dir, removing generated files of
// commands that no longer exist.
func run(dir string, log io.Writer) error {
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return fmt.Errorf("%s does not look like the repository root (no go.mod): %w", dir, err)
	}
	date, err := manDate(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	files, err := generate(date)
	if err != nil {
		return err
	}
	for _, sub := range []string{manDir, referenceDir} {
		old, err := listGenerated(filepath.Join(dir, sub))
		if err != nil {
			return err
		}
		for _, name := range old {
			if _, ok := files[filepath.ToSlash(filepath.Join(sub, name))]; !ok {
				if err := os.Remove(filepath.Join(dir, sub, name)); err != nil {
					return fmt.Errorf("remove stale %s: %w", name, err)
				}
				fmt.Fprintf(log, "removed %s\n", filepath.Join(sub, name))
			}
		}
	}
	for _, name := range sortedKeys(files) {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	fmt.Fprintf(log, "wrote %d files under %s, %s and %s\n", len(files), manDir, referenceDir, completionDir)
	return nil
}

// manDate is SOURCE_DATE_EPOCH (seconds since 1970) when set, so that
// distribution builds can pin it, else defaultDate.
func manDate(epoch string) (time.Time, error) {
	if epoch == "" {
		return defaultDate, nil
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds: %w", epoch, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// newRoot builds the command tree as the binary does. The streams are
// buffers so that nothing about the terminal running the generator can
// leak into the output.
func newRoot() *cobra.Command {
	ios, _, _, _ := cmdutil.Test()
	f := cmdutil.NewFactory(ios)
	// A non-empty version makes Cobra add --version, as in a release build.
	cmd := root.NewCmd(f, version.Info{Version: "dev"})
	// Cobra adds these lazily at Execute; the docs should list them too.
	cmd.InitDefaultHelpCmd()
	cmd.InitDefaultVersionFlag()
	cmd.InitDefaultCompletionCmd()
	disableAutoGenTag(cmd)
	return cmd
}

func disableAutoGenTag(cmd *cobra.Command) {
	cmd.DisableAutoGenTag = true
	for _, c := range cmd.Commands() {
		disableAutoGenTag(c)
	}
}

// generate returns every generated file, keyed by its slash-separated path
// relative to the repository root.
func generate(date time.Time) (map[string][]byte, error) {
	files := map[string][]byte{}
	tmp, err := os.MkdirTemp("", "gen-docs-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }() // scratch space; its loss is harmless

	// Cobra's tree generators write into a directory; let them, then read
	// the result back.
	header := &doc.GenManHeader{Title: "CPCTL", Section: "1", Date: &date, Source: "cpctl", Manual: "cpctl manual"}
	for _, t := range []struct {
		dir string
		gen func(*cobra.Command, string) error
	}{
		{manDir, func(c *cobra.Command, dir string) error { return doc.GenManTree(c, header, dir) }},
		{referenceDir, doc.GenMarkdownTree},
	} {
		out := filepath.Join(tmp, filepath.Base(t.dir))
		if err := os.Mkdir(out, 0o755); err != nil {
			return nil, fmt.Errorf("temp dir: %w", err)
		}
		if err := t.gen(newRoot(), out); err != nil {
			return nil, fmt.Errorf("%s: %w", t.dir, err)
		}
		if err := collect(files, out, t.dir); err != nil {
			return nil, err
		}
	}

	cmd := newRoot()
	for _, c := range []struct {
		name string
		gen  func(io.Writer) error
	}{
		{"cpctl.bash", func(w io.Writer) error { return cmd.GenBashCompletionV2(w, true) }},
		{"cpctl.zsh", cmd.GenZshCompletion},
		{"cpctl.fish", func(w io.Writer) error { return cmd.GenFishCompletion(w, true) }},
		{"cpctl.ps1", cmd.GenPowerShellCompletionWithDesc},
	} {
		var buf bytes.Buffer
		if err := c.gen(&buf); err != nil {
			return nil, fmt.Errorf("completion %s: %w", c.name, err)
		}
		files[completionDir+"/"+c.name] = buf.Bytes()
	}
	return files, nil
}

func collect(files map[string][]byte, dir, prefix string) error {
	names, err := listGenerated(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return fmt.Errorf("read generated %s: %w", n, err)
		}
		files[prefix+"/"+n] = b
	}
	return nil
}

// listGenerated lists the files in dir that the generator owns: man pages
// and markdown pages of cpctl commands. A missing dir is empty.
func listGenerated(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, "cpctl") && (strings.HasSuffix(n, ".1") || strings.HasSuffix(n, ".md")) {
			names = append(names, n) // sorted, as os.ReadDir returns them
		}
	}
	return names, nil
}

func sortedKeys(m map[string][]byte) []string { return slices.Sorted(maps.Keys(m)) }
