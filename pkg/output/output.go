// Package output is cpctl's one printer: every command hands it results
// and it renders them as a table, JSON or YAML, so that the formats carry
// the same fields and cannot drift apart.
//
// Tables differ on purpose between a terminal (boxes that fit its width)
// and a pipe (a header line and tab-separated rows, stable for cut and
// awk). No colour codes are ever written, and untrusted text reaches a
// terminal only through pkg/termsafe; JSON and YAML keep the exact text.
package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/term"

	"github.com/cpctl/cpctl/pkg/termsafe"
)

// Format is an output format chosen with -o.
type Format string

// The output formats.
const (
	Table Format = "table"
	// JSON is always one JSON value: a list for results, streamed or not.
	JSON Format = "json"
	// JSONL is JSON Lines: one compact object per line, no enclosing list.
	JSONL Format = "jsonl"
	YAML  Format = "yaml"
)

const formatHint = "use table, json, jsonl or yaml"

// ErrFormat is wrapped when an output format is unknown (a usage error).
var ErrFormat = errors.New("unknown output format")

// ParseFormat parses the value of -o; empty means Table, "yml" is accepted
// for YAML and "ndjson" for JSONL.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "table":
		return Table, nil
	case "json":
		return JSON, nil
	case "jsonl", "ndjson":
		return JSONL, nil
	case "yaml", "yml":
		return YAML, nil
	}
	return "", fmt.Errorf("%w %q: %s", ErrFormat, s, formatHint)
}

// PasswdResult is one row of every passwd command. Its JSON and YAML field
// names are a public contract (docs/output-schema.md): scripts read them.
type PasswdResult struct {
	Profile string `json:"profile" yaml:"profile"`
	Server  string `json:"server" yaml:"server"`
	// Kind is account, ftp, email, mysql, postgresql or webdisk.
	Kind   string `json:"kind" yaml:"kind"`
	Target string `json:"target" yaml:"target"`
	Owner  string `json:"owner" yaml:"owner"`
	// Source says where a target selected on the server was listed
	// (listaccts, Email/list_pops of bob); absent for other rows.
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
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
	// MaybeApplied marks a failed change whose request may have reached the
	// server without a readable answer: the server may have the new
	// password (a generated one is then in Password, so it is not lost).
	MaybeApplied bool `json:"maybe_applied,omitempty" yaml:"maybe_applied,omitempty"`
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
	width    int // columns of the terminal; 0 when unknown
}

// Option configures a Printer.
type Option func(*Printer)

// WithWidth sets the width of the terminal in columns, which boxed tables
// and streamed rows fit; 0 (unknown) lets a table take what it needs.
func WithWidth(columns int) Option {
	return func(p *Printer) { p.width = max(columns, 0) }
}

// New returns a Printer. terminal says whether w is a terminal, which
// selects boxed tables over tab-separated ones.
func New(format Format, w io.Writer, terminal bool, opts ...Option) *Printer {
	p := &Printer{format: format, w: w, terminal: terminal}
	for _, o := range opts {
		o(p)
	}
	return p
}

// TerminalWidth returns the width in columns of the terminal f is, or 0
// when f is nil, not a terminal or of unknown size.
func TerminalWidth(f *os.File) int {
	if f == nil {
		return 0
	}
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil || w <= 0 {
		return 0
	}
	return w
}

// Results prints the rows of a passwd command: a JSON or YAML list, JSON
// Lines, or a table of PROFILE TARGET RESULT SERVICES MESSAGE, with a
// VERIFIED column when any row was verified and a PASSWORD column when any
// was generated. At a terminal too narrow for the password, it is printed
// whole below the table.
func (p *Printer) Results(rs []PasswdResult) error {
	if p.format != Table {
		list := make([]PasswdResult, len(rs))
		for i, r := range rs {
			list[i] = r.normalized()
		}
		return p.Value(list)
	}
	if len(rs) == 0 {
		return nil
	}
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
	return p.table(grid{headers: headers(cols), rows: rows, keep: rawColumns(cols), label: 1})
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
	if p.format != Table {
		list := make([]orderedObject, len(rows))
		for i, row := range rows {
			list[i] = orderedObject{keys: keys(headers), values: pad(row, len(headers))}
		}
		return p.Value(list)
	}
	clean := make([][]string, len(rows))
	for i, row := range rows {
		clean[i] = pad(row, len(headers))
		for j := range clean[i] {
			clean[i][j] = termsafe.String(clean[i][j])
		}
	}
	return p.table(grid{headers: headers, rows: clean})
}

// Value prints any value as JSON (2-space indented), JSON Lines (a list
// one element per line, anything else on one line), or YAML. The table
// format prints YAML too, as the readable form of a single object.
func (p *Printer) Value(v any) error {
	var buf bytes.Buffer
	switch p.format {
	case JSONL:
		items := []any{v}
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8 {
			items = make([]any, rv.Len())
			for i := range items {
				items[i] = rv.Index(i).Interface()
			}
		}
		enc := newJSONEncoder(&buf)
		for _, item := range items {
			if err := enc.Encode(item); err != nil {
				return fmt.Errorf("output: encoding JSON: %w", err)
			}
		}
	case JSON:
		enc := newJSONEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("output: encoding JSON: %w", err)
		}
	case YAML, Table:
		if err := encodeYAML(&buf, v); err != nil {
			return err
		}
	default:
		return p.badFormat()
	}
	return p.write(buf.Bytes())
}

func (p *Printer) badFormat() error {
	return fmt.Errorf("%w %q: %s", ErrFormat, string(p.format), formatHint)
}

func (p *Printer) write(b []byte) error {
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return flush(p.w)
}

// table renders g, whose cells are already made safe: tab-separated
// through a pipe, a box fitting the terminal's width at one.
func (p *Printer) table(g grid) error {
	var b bytes.Buffer
	if p.terminal {
		g.render(&b, p.width)
	} else {
		for _, row := range append([][]string{g.headers}, g.rows...) {
			b.WriteString(strings.Join(row, "\t"))
			b.WriteByte('\n')
		}
	}
	return p.write(b.Bytes())
}

// newJSONEncoder returns the one JSON encoder configuration of the printer.
// Server messages hold & and < often enough that \u0026 would only make
// them harder to read; this output is never HTML.
func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// encodeYAML appends v to buf as a YAML document indented by 2.
func encodeYAML(buf *bytes.Buffer, v any) error {
	enc := yaml.NewEncoder(buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("output: encoding YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("output: encoding YAML: %w", err)
	}
	return nil
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
	// raw: never escaped, wrapped or cut. A generated password is ours
	// and printable; anything done to it would show the user a password
	// the server does not have.
	raw bool
}

func passwdColumns(password, verified bool) []column {
	cols := []column{
		{header: "PROFILE", width: 12, value: func(r PasswdResult) string { return r.Profile }},
		{header: "TARGET", width: 28, value: func(r PasswdResult) string { return r.Target }},
		{header: "RESULT", width: 6, value: func(r PasswdResult) string {
			if r.OK {
				return "ok"
			}
			return "FAILED"
		}},
		{header: "SERVICES", width: 22, value: func(r PasswdResult) string { return strings.Join(r.Services, ",") }},
	}
	if verified {
		cols = append(cols, column{header: "VERIFIED", width: 11, value: verifiedCell})
	}
	cols = append(cols, column{header: "MESSAGE", width: 48, value: func(r PasswdResult) string { return r.Message }})
	if password {
		cols = append(cols, column{header: "PASSWORD", value: func(r PasswdResult) string { return r.Password }, raw: true})
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

// rawColumns marks the raw columns, which a fitted table keeps whole.
func rawColumns(cols []column) []bool {
	raw := make([]bool, len(cols))
	for i, c := range cols {
		raw[i] = c.raw
	}
	return raw
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
		row[i] = c.value(r)
		if !c.raw {
			row[i] = termsafe.String(row[i])
		}
	}
	return row
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

// orderedObject marshals as a JSON or YAML object whose keys keep column
// order, which a map would sort.
type orderedObject struct {
	keys   []string
	values []string
}

// MarshalJSON implements json.Marshaler. The encoder's newlines between
// the strings go: encoding/json compacts what a Marshaler returns.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := newJSONEncoder(&buf)
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(k); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := enc.Encode(o.values[i]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// MarshalYAML implements yaml.Marshaler: every value a string, even one
// that reads as a number or a boolean.
func (o orderedObject) MarshalYAML() (any, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i, k := range o.keys {
		m.Content = append(m.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: o.values[i]})
	}
	return m, nil
}
