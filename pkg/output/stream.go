package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// StreamOption sets up a Stream's table columns ahead of its first row.
type StreamOption func(*Stream)

// WithPasswordColumn makes a table stream show the PASSWORD column even if
// the first row has no generated password, as a bulk run with --generate
// needs.
func WithPasswordColumn() StreamOption { return func(s *Stream) { s.password = true } }

// WithVerifiedColumn makes a table stream show the VERIFIED column.
func WithVerifiedColumn() StreamOption { return func(s *Stream) { s.verified = true } }

// Stream prints results one at a time, as a bulk run finishes them: JSON
// Lines, one YAML document per row, or a table whose header comes once.
// Every Write is flushed. A Stream is safe for concurrent use.
type Stream struct {
	p        *Printer
	mu       sync.Mutex
	password bool
	verified bool
	cols     []column // fixed by the first Write
}

// Stream starts a stream. In a table, the PASSWORD and VERIFIED columns
// appear when an option asks for them or when the first row has them.
func (p *Printer) Stream(opts ...StreamOption) *Stream {
	s := &Stream{p: p}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Write prints one row. A table stream refuses a row whose generated
// password has no column to go in, rather than drop the password.
func (s *Stream) Write(r PasswdResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.p.format {
	case JSON:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r.normalized()); err != nil {
			return fmt.Errorf("output: encoding JSON: %w", err)
		}
		return s.p.write(buf.Bytes())
	case YAML:
		b, err := marshalYAML(r.normalized())
		if err != nil {
			return err
		}
		return s.p.write(append([]byte("---\n"), b...))
	case Table:
		return s.writeRow(r)
	}
	return s.p.badFormat()
}

func (s *Stream) writeRow(r PasswdResult) error {
	var buf bytes.Buffer
	if s.cols == nil {
		s.cols = passwdColumns(s.password || r.Password != "", s.verified || r.Verified != nil || r.Verify != "")
		s.line(&buf, headers(s.cols))
	}
	if r.Password != "" && s.cols[len(s.cols)-1].header != "PASSWORD" {
		return fmt.Errorf("output: the row for %s has a generated password but the stream has no PASSWORD column (use WithPasswordColumn)", r.Target)
	}
	s.line(&buf, cells(s.cols, r))
	return s.p.write(buf.Bytes())
}

// line writes one row: tab-separated off a terminal, else padded to the
// column widths. Cells are padded but never cut, so a long one shifts the
// rest of its line instead of losing characters.
func (s *Stream) line(buf *bytes.Buffer, cells []string) {
	if !s.p.terminal {
		buf.WriteString(strings.Join(cells, "\t"))
		buf.WriteByte('\n')
		return
	}
	for i, c := range cells {
		buf.WriteString(c)
		if i == len(cells)-1 {
			break
		}
		if w := twwidth.Width(c); w < s.cols[i].width {
			buf.WriteString(strings.Repeat(" ", s.cols[i].width-w))
		}
		buf.WriteString("  ")
	}
	// Trailing blanks of an empty last cell would only confuse diff and awk.
	trimmed := bytes.TrimRight(buf.Bytes(), " ")
	buf.Truncate(len(trimmed))
	buf.WriteByte('\n')
}

// Close ends the stream. Nothing is printed for a stream without rows.
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return flush(s.p.w)
}
