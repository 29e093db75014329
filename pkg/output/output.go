// Package output is cpctl's one printer: every command hands it results
// and it renders them as a table, JSON or YAML, so that the formats carry
// the same fields and cannot drift apart.
//
// Tables differ on purpose between a terminal (tablewriter boxes) and a
// pipe (a header line and tab-separated rows, stable for cut and awk).
// No colour codes are ever written.
package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"go.yaml.in/yaml/v3"
)

// Format is an output format chosen with -o.
type Format string

// The output formats.
const (
	Table Format = "table"
	JSON  Format = "json"
	YAML  Format = "yaml"
)

// ErrFormat is wrapped when an output format is unknown (a usage error).
var ErrFormat = errors.New("unknown output format")

// ParseFormat parses the value of -o; empty means Table, and "yml" is
// accepted for YAML.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "table":
		return Table, nil
	case "json":
		return JSON, nil
	case "yaml", "yml":
		return YAML, nil
	}
	return "", fmt.Errorf("%w %q: use table, json or yaml", ErrFormat, s)
}

// PasswdResult is one row of every passwd command. Its JSON and YAML field
// names are a public contract (DESIGN.md): scripts read them.
type PasswdResult struct {
	Profile string `json:"profile" yaml:"profile"`
	Server  string `json:"server" yaml:"server"`
	// Kind is account, ftp or email.
	Kind   string `json:"kind" yaml:"kind"`
	Target string `json:"target" yaml:"target"`
	Owner  string `json:"owner" yaml:"owner"`
	API    string `json:"api" yaml:"api"`
	OK     bool   `json:"ok" yaml:"ok"`
	// Services is printed as [] when empty, never null.
	Services []string `json:"services" yaml:"services"`
	Message  string   `json:"message" yaml:"message"`
	// Password is set only when it was generated, so that it is not lost.
	Password string `json:"password,omitempty" yaml:"password,omitempty"`
	// Verified says whether a follow-up check proved the new password works.
	Verified *bool `json:"verified,omitempty" yaml:"verified,omitempty"`
	// Verify explains a missing verification, e.g. "unsupported".
	Verify string `json:"verify,omitempty" yaml:"verify,omitempty"`
	// ExitCode is the row's exit code for the CLI; it is not printed.
	ExitCode int `json:"-" yaml:"-"`
}

// normalized returns r with a non-nil Services so that JSON prints [].
func (r PasswdResult) normalized() PasswdResult {
	if r.Services == nil {
		r.Services = []string{}
	}
	return r
}

// Printer writes results in one format to one writer.
type Printer struct {
	format   Format
	w        io.Writer
	terminal bool
}

// New returns a Printer. terminal says whether w is a terminal, which
// selects boxed tables over tab-separated ones.
func New(format Format, w io.Writer, terminal bool) *Printer {
	return &Printer{format: format, w: w, terminal: terminal}
}

// Results prints the rows of a passwd command: a JSON or YAML list, or a
// table of PROFILE TARGET RESULT SERVICES MESSAGE, with a VERIFIED column
// when any row was verified and a PASSWORD column when any was generated.
func (p *Printer) Results(rs []PasswdResult) error {
	switch p.format {
	case JSON, YAML:
		list := make([]PasswdResult, len(rs))
		for i, r := range rs {
			list[i] = r.normalized()
		}
		return p.Value(list)
	case Table:
		var withPW, withVerify bool
		for _, r := range rs {
			withPW = withPW || r.Password != ""
			withVerify = withVerify || r.Verified != nil || r.Verify != ""
		}
		cols := passwdColumns(withPW, withVerify)
		rows := make([][]string, len(rs))
		for i, r := range rs {
			rows[i] = cells(cols, r)
		}
		if len(rows) == 0 {
			return nil
		}
		return p.table(headers(cols), rows)
	}
	return p.badFormat()
}

// Table prints a generic table (profile list and the like). JSON and YAML
// print a list of objects keyed by the lower-cased header, spaces turned
// into "-", in column order.
func (p *Printer) Table(headers []string, rows [][]string) error {
	for i, row := range rows {
		if len(row) > len(headers) {
			return fmt.Errorf("output: row %d has %d cells for %d headers", i, len(row), len(headers))
		}
	}
	switch p.format {
	case JSON:
		list := make([]orderedObject, len(rows))
		for i, row := range rows {
			list[i] = orderedObject{keys: keys(headers), values: pad(row, len(headers))}
		}
		return p.Value(list)
	case YAML:
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, row := range rows {
			m := &yaml.Node{Kind: yaml.MappingNode}
			for i, k := range keys(headers) {
				m.Content = append(m.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k},
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: pad(row, len(headers))[i]})
			}
			seq.Content = append(seq.Content, m)
		}
		if len(rows) == 0 {
			seq.Style = yaml.FlowStyle
		}
		return p.Value(seq)
	case Table:
		clean := make([][]string, len(rows))
		for i, row := range rows {
			clean[i] = pad(row, len(headers))
			for j := range clean[i] {
				clean[i][j] = sanitize(clean[i][j])
			}
		}
		return p.table(headers, clean)
	}
	return p.badFormat()
}

// Value prints any value as JSON (2-space indented) or YAML. The table
// format prints YAML too, as the readable form of a single object.
func (p *Printer) Value(v any) error {
	switch p.format {
	case JSON:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		// Server messages hold & and < often enough that \u0026 would
		// only make them harder to read; this output is never HTML.
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("output: encoding JSON: %w", err)
		}
		return p.write(buf.Bytes())
	case YAML, Table:
		b, err := marshalYAML(v)
		if err != nil {
			return err
		}
		return p.write(b)
	}
	return p.badFormat()
}

func (p *Printer) badFormat() error {
	return fmt.Errorf("%w %q: use table, json or yaml", ErrFormat, string(p.format))
}

func (p *Printer) write(b []byte) error {
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return flush(p.w)
}

// table renders headers and rows, which are already sanitized.
func (p *Printer) table(headers []string, rows [][]string) error {
	if !p.terminal {
		var buf bytes.Buffer
		buf.WriteString(strings.Join(headers, "\t"))
		buf.WriteByte('\n')
		for _, row := range rows {
			buf.WriteString(strings.Join(row, "\t"))
			buf.WriteByte('\n')
		}
		return p.write(buf.Bytes())
	}
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleLight)})),
		// Headers are printed as given; auto-format would rewrite "_" and case.
		tablewriter.WithHeaderAutoFormat(tw.Off),
		// Never wrap or cut a cell: a generated password must stay whole.
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Header(headers)
	if err := t.Bulk(rows); err != nil {
		return fmt.Errorf("output: table: %w", err)
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("output: table: %w", err)
	}
	return p.write(buf.Bytes())
}

func marshalYAML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("output: encoding YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("output: encoding YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// flush pushes buffered output out at once, so a bulk run's rows appear
// as they finish rather than when a buffer fills.
func flush(w io.Writer) error {
	if f, ok := w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	}
	return nil
}

// column is the one definition of a table column of PasswdResult, shared
// by Results and Stream.
type column struct {
	header string
	width  int // for aligned streaming only
	value  func(PasswdResult) string
}

func passwdColumns(password, verified bool) []column {
	cols := []column{
		{"PROFILE", 12, func(r PasswdResult) string { return r.Profile }},
		{"TARGET", 28, func(r PasswdResult) string { return r.Target }},
		{"RESULT", 6, func(r PasswdResult) string {
			if r.OK {
				return "ok"
			}
			return "FAILED"
		}},
		{"SERVICES", 22, func(r PasswdResult) string { return strings.Join(r.Services, ",") }},
	}
	if verified {
		cols = append(cols, column{"VERIFIED", 11, verifiedCell})
	}
	cols = append(cols, column{"MESSAGE", 48, func(r PasswdResult) string { return r.Message }})
	if password {
		cols = append(cols, column{"PASSWORD", 0, func(r PasswdResult) string { return r.Password }})
	}
	return cols
}

func verifiedCell(r PasswdResult) string {
	switch {
	case r.Verified != nil && *r.Verified:
		return "yes"
	case r.Verified != nil:
		return "no"
	}
	return r.Verify
}

func headers(cols []column) []string {
	hs := make([]string, len(cols))
	for i, c := range cols {
		hs[i] = c.header
	}
	return hs
}

func cells(cols []column, r PasswdResult) []string {
	row := make([]string, len(cols))
	for i, c := range cols {
		row[i] = sanitize(c.value(r))
	}
	return row
}

// sanitize keeps a cell on one line and strips control characters, so a
// server message cannot break the tab-separated layout or send escape
// sequences to the user's terminal.
func sanitize(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func keys(headers []string) []string {
	ks := make([]string, len(headers))
	for i, h := range headers {
		ks[i] = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(h)), " ", "-")
	}
	return ks
}

func pad(row []string, n int) []string {
	out := make([]string, n)
	copy(out, row)
	return out
}

// orderedObject marshals as a JSON object whose keys keep column order,
// which a map would sort.
type orderedObject struct {
	keys   []string
	values []string
}

// MarshalJSON implements json.Marshaler.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeJSONString(&buf, k); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := writeJSONString(&buf, o.values[i]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func writeJSONString(buf *bytes.Buffer, s string) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}
