package output

import (
	"bytes"
	"fmt"
	"slices"
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

// WithKindColumn makes a table stream show a KIND column after PROFILE,
// for a run whose rows are of several kinds (cpctl rotate).
func WithKindColumn() StreamOption { return func(s *Stream) { s.kind = true } }

// Stream prints results one at a time, as a bulk run finishes them, in the
// same shape Results prints them all at once: a JSON list (opened by the
// first row, closed by Close, so memory stays flat whatever the number of
// rows), JSON Lines, one YAML document per row, or a table whose header
// comes once. Every Write is flushed. A Stream is safe for concurrent use.
type Stream struct {
	p        *Printer
	mu       sync.Mutex
	password bool
	verified bool
	kind     bool
	cols     []column // fixed by the first Write
	widths   []int    // fitted to the terminal by the first Write; nil: pad only
	narrow   bool     // the terminal is too narrow for a line per row
	// pwOwnLine: the terminal has no room for a PASSWORD column, so each
	// password is printed alone on the line after its row.
	pwOwnLine bool
	rows      int
	closed    bool
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
	if s.closed {
		return fmt.Errorf("output: write to a closed stream")
	}
	var buf bytes.Buffer
	switch s.p.format {
	case JSON:
		// The list Results would print, a row at a time: "[" before the
		// first object, "," before every other, "]" from Close.
		sep := ",\n  "
		if s.rows == 0 {
			sep = "[\n  "
		}
		buf.WriteString(sep)
		enc := newJSONEncoder(&buf)
		enc.SetIndent("  ", "  ")
		if err := enc.Encode(r.normalized()); err != nil {
			return fmt.Errorf("output: encoding JSON: %w", err)
		}
		buf.Truncate(buf.Len() - 1) // the newline goes with the next separator
	case JSONL:
		if err := newJSONEncoder(&buf).Encode(r.normalized()); err != nil {
			return fmt.Errorf("output: encoding JSON: %w", err)
		}
	case YAML:
		buf.WriteString("---\n")
		if err := encodeYAML(&buf, r.normalized()); err != nil {
			return err
		}
	case Table:
		if err := s.writeRow(&buf, r); err != nil {
			return err
		}
	default:
		return s.p.badFormat()
	}
	s.rows++
	return s.p.write(buf.Bytes())
}

func (s *Stream) writeRow(buf *bytes.Buffer, r PasswdResult) error {
	if s.cols == nil {
		s.cols = passwdColumns(s.password || r.Password != "", s.verified || r.Verified != nil || r.Verify != "")
		if s.kind {
			s.cols = slices.Insert(s.cols, 1, column{header: "KIND", width: 10, value: func(r PasswdResult) string { return r.Kind }})
		}
		s.fit()
		if !s.narrow {
			// With passwords on their own lines, the header has one too:
			// the layout of every row below.
			s.line(buf, headers(s.cols))
		}
	}
	if r.Password != "" && !s.cols[len(s.cols)-1].raw {
		return fmt.Errorf("output: the row for %s has a generated password but the stream has no PASSWORD column (use WithPasswordColumn)", r.Target)
	}
	row := cells(s.cols, r)
	if s.narrow {
		if s.rows > 0 {
			buf.WriteByte('\n')
		}
		grid{headers: headers(s.cols), rows: [][]string{row}, keep: rawColumns(s.cols)}.vertical(buf, s.p.width)
		return nil
	}
	s.line(buf, row)
	return nil
}

// At a terminal, a streamed row is one line: its cells shrink to these
// widths (cut with "…") before the rows go vertical, and MESSAGE keeps at
// least minMessage columns.
var minStreamWidth = map[string]int{"KIND": 7, "PROFILE": 8, "TARGET": 20, "RESULT": 6, "SERVICES": 8, "VERIFIED": 11}

const (
	minMessage = 16
	// passwordRoom is kept at the end of a line for a generated password
	// (secret.DefaultLength); a longer one goes on a line of its own.
	passwordRoom = 20
)

// fit sets the column widths of a table stream for the terminal's width:
// MESSAGE takes what the others leave, and they shrink, widest first, until
// it has its usual width or they reach their minimum. When a password
// would leave MESSAGE too little room, passwords go on lines of their own.
func (s *Stream) fit() {
	if !s.p.terminal || s.p.width <= 0 {
		return
	}
	n := len(s.cols)
	pw := s.cols[n-1].raw
	if pw {
		n-- // the password is never cut: it is not fitted
	}
	msg := n - 1 // MESSAGE is the last fitted column
	w := make([]int, n)
	for i := range n {
		w[i] = s.cols[i].width
	}
	try := func(room int) bool {
		others := func() int { return sum(w) - w[msg] }
		for room-others() < s.cols[msg].width {
			widest := -1
			for i := range msg {
				if w[i] > minStreamWidth[s.cols[i].header] && (widest < 0 || w[i] > w[widest]) {
					widest = i
				}
			}
			if widest < 0 {
				break
			}
			w[widest]--
		}
		w[msg] = room - others()
		return w[msg] >= minMessage
	}
	room := s.p.width - 2*(n-1)
	switch {
	case pw && try(room-2-passwordRoom):
	case try(room):
		s.pwOwnLine = pw
	default:
		s.narrow = true
		return
	}
	s.widths = w
}

// line writes one row: tab-separated off a terminal, else padded to the
// column widths. Fitted to a terminal, cells are cut with "…" (the full text
// is in -o json) except a password, which goes whole on a line of its own
// when it does not fit; unfitted, cells are padded but never cut, so a long
// one shifts the rest of its line instead of losing characters.
func (s *Stream) line(buf *bytes.Buffer, cells []string) {
	if !s.p.terminal {
		buf.WriteString(strings.Join(cells, "\t"))
		buf.WriteByte('\n')
		return
	}
	start := buf.Len()
	var own string // a password that does not fit the line
	for i, c := range cells {
		if s.widths != nil && i < len(s.widths) {
			c = ellipsis(c, s.widths[i])
		}
		if s.cols[i].raw && s.widths != nil && (s.pwOwnLine ||
			twwidth.Width(buf.String()[start:])+twwidth.Width(c) > s.p.width) {
			own = c
			break
		}
		buf.WriteString(c)
		if i == len(cells)-1 {
			break
		}
		width := s.cols[i].width
		if s.widths != nil {
			width = s.widths[i]
		}
		if w := twwidth.Width(c); w < width {
			buf.WriteString(strings.Repeat(" ", width-w))
		}
		buf.WriteString("  ")
	}
	// Trailing blanks of an empty last cell would only confuse diff and awk.
	trimmed := bytes.TrimRight(buf.Bytes(), " ")
	buf.Truncate(len(trimmed))
	buf.WriteByte('\n')
	if own != "" {
		buf.WriteString(own)
		buf.WriteByte('\n')
	}
}

// Close ends the stream: a JSON list is closed ("[]" when it had no rows).
// Nothing else is printed for a stream without rows. Close is idempotent.
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	switch {
	case s.p.format != JSON:
		return flush(s.p.w)
	case s.rows == 0:
		return s.p.write([]byte("[]\n"))
	}
	return s.p.write([]byte("\n]\n"))
}
