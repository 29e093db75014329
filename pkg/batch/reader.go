package batch

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxRecordBytes caps one input record (a CSV record, which may span lines
// inside quotes, or a JSON Lines line). Real rows are a few hundred bytes;
// the cap keeps a file without line breaks (or /dev/zero) from being held in
// memory whole. A longer record stops the reading with an error naming its
// line.
const MaxRecordBytes = 64 << 10

// errRecordTooLong is what lineLimiter reports once a record passes
// MaxRecordBytes.
var errRecordTooLong = errors.New("record too long")

// Input formats recognised by Reader.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// Reader streams rows from CSV (a header row naming the columns) or JSON Lines
// (one object per line with the same keys). The format is detected from the
// first non-blank byte: '{' means JSON Lines. Keys are the kind's target column
// ("user" or "address") and the optional "owner", "password" and "profile";
// anything else is an error, so that a typo such as "pasword" cannot silently
// turn into generated passwords.
//
// Next returns io.EOF at the end. A *RowError describes one bad row and reading
// may go on; after a malformed header or broken CSV quoting the input cannot be
// trusted, so the error is returned once and Next then reports io.EOF. Any other
// error is a read failure.
type Reader struct {
	kind   Kind
	br     *bufio.Reader
	format string
	seq    int
	done   bool

	// CSV state: column index of each field, -1 for none.
	cr                               *csv.Reader
	lim                              *lineLimiter
	iTarget, iOwner, iPass, iProfile int

	// JSON Lines state.
	line int
	buf  []byte
}

// NewReader returns a Reader of rows of the given kind.
func NewReader(r io.Reader, kind Kind) *Reader {
	return &Reader{kind: kind, br: bufio.NewReaderSize(r, 64<<10)}
}

// Format returns FormatCSV or FormatJSONL once the first call to Next has
// looked at the input, and "" before.
func (r *Reader) Format() string { return r.format }

// Next returns the next row; see Reader for its errors.
func (r *Reader) Next() (Row, error) {
	if r.done {
		return Row{}, io.EOF
	}
	if r.format == "" {
		if err := r.start(); err != nil {
			r.done = true
			return Row{}, err
		}
	}
	if r.format == FormatJSONL {
		return r.nextJSON()
	}
	return r.nextCSV()
}

func (r *Reader) fatal(line int, format string, args ...any) error {
	r.done = true
	return &RowError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (r *Reader) start() error {
	if !r.kind.valid() {
		return fmt.Errorf("batch: invalid kind %d", int(r.kind))
	}
	// A UTF-8 byte order mark is what spreadsheets put in front of "CSV UTF-8".
	if b, _ := r.br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = r.br.Discard(3)
	}
	peek, err := r.br.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("read input: %w", err)
	}
	if i := bytes.IndexFunc(peek, func(c rune) bool { return !isSpace(byte(c)) }); i >= 0 && peek[i] == '{' {
		r.format = FormatJSONL
		return nil
	}
	r.format = FormatCSV
	return r.startCSV()
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (r *Reader) startCSV() error {
	r.lim = &lineLimiter{br: r.br, max: MaxRecordBytes}
	cr := csv.NewReader(r.lim)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = 0
	r.cr = cr
	header, err := cr.Read()
	if errors.Is(err, errRecordTooLong) {
		return r.tooLong()
	}
	r.lim.endRecord()
	if errors.Is(err, io.EOF) {
		return r.fatal(0, "the input is empty: want a header row naming the columns (%s)", r.columnsHelp())
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return r.fatal(pe.StartLine, "header: %v", pe.Err)
		}
		return fmt.Errorf("read input: %w", err)
	}
	line, _ := cr.FieldPos(0)
	r.iTarget, r.iOwner, r.iPass, r.iProfile = -1, -1, -1, -1
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		p, err := r.columnSlot(name)
		if err != nil {
			return r.fatal(line, "header: %v", err)
		}
		if *p >= 0 {
			return r.fatal(line, "header: column %q appears twice", name)
		}
		*p = i
	}
	if r.iTarget < 0 {
		return r.fatal(line, "header: no %q column (columns: %s)", r.kind.TargetColumn(), r.columnsHelp())
	}
	return nil
}

func (r *Reader) columnsHelp() string {
	return r.kind.TargetColumn() + ", and optionally owner, password, profile"
}

// columnSlot maps a column or key name to the Reader field holding its index.
func (r *Reader) columnSlot(name string) (*int, error) {
	switch name {
	case r.kind.TargetColumn():
		return &r.iTarget, nil
	case "owner":
		return &r.iOwner, nil
	case "password":
		return &r.iPass, nil
	case "profile":
		return &r.iProfile, nil
	case "user", "address":
		return nil, fmt.Errorf("unknown column %q: %s rows name their target %q", name, r.kind, r.kind.TargetColumn())
	case "":
		return nil, errors.New("empty column name")
	}
	return nil, fmt.Errorf("unknown column %q (columns: %s)", name, r.columnsHelp())
}

func (r *Reader) nextCSV() (Row, error) {
	rec, err := r.cr.Read()
	if errors.Is(err, errRecordTooLong) {
		return Row{}, r.tooLong()
	}
	r.lim.endRecord()
	if errors.Is(err, io.EOF) {
		r.done = true
		return Row{}, io.EOF
	}
	if err != nil {
		// FieldPos panics after a quoting error (no field was read), so
		// the line comes from the error itself.
		var pe *csv.ParseError
		if !errors.As(err, &pe) {
			r.done = true
			return Row{}, fmt.Errorf("read input: %w", err)
		}
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			r.seq++
			return Row{}, &RowError{Line: pe.StartLine, Msg: fmt.Sprintf("%d fields, the header has %d", len(rec), r.cr.FieldsPerRecord)}
		}
		// After a quoting error encoding/csv's position is not at a row
		// boundary, so nothing after it can be read reliably.
		return Row{}, r.fatal(pe.StartLine, "%v (reading stops here)", pe.Err)
	}
	line, _ := r.cr.FieldPos(0)
	r.seq++
	row := Row{Seq: r.seq, Line: line, Target: strings.TrimSpace(rec[r.iTarget])}
	if r.iOwner >= 0 {
		row.Owner = strings.TrimSpace(rec[r.iOwner])
	}
	if r.iPass >= 0 {
		row.Password = rec[r.iPass] // never trimmed: spaces may be part of it
	}
	if r.iProfile >= 0 {
		row.Profile = strings.TrimSpace(rec[r.iProfile])
	}
	return row, nil
}

// tooLong stops the reading at a CSV record longer than MaxRecordBytes.
func (r *Reader) tooLong() error {
	return r.fatal(r.lim.lines+1, "a record longer than %d KiB (reading stops here)", MaxRecordBytes>>10)
}

// lineLimiter hands encoding/csv its input one line at a time, so that when
// a record has been returned nothing after it has been read, and fails with
// errRecordTooLong instead of handing out a byte past MaxRecordBytes of one
// record: encoding/csv would hold a record of any size in memory.
type lineLimiter struct {
	br       *bufio.Reader
	pending  []byte // the rest of the current line, in br's buffer
	lines    int    // line breaks handed out
	inRecord int    // bytes handed out since the last record ended
	max      int
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	if len(l.pending) == 0 {
		line, err := l.br.ReadSlice('\n')
		if len(line) == 0 {
			return 0, err
		}
		l.pending = line // a partial line (bufio.ErrBufferFull) is read on next time
	}
	n := min(len(p), len(l.pending))
	if l.inRecord+n > l.max {
		return 0, errRecordTooLong
	}
	copy(p, l.pending[:n])
	l.pending = l.pending[n:]
	l.inRecord += n
	l.lines += bytes.Count(p[:n], []byte{'\n'})
	return n, nil
}

// endRecord says encoding/csv returned a record: the next one starts.
func (l *lineLimiter) endRecord() { l.inRecord = 0 }

func (r *Reader) nextJSON() (Row, error) {
	for {
		line, err := r.readLine()
		if errors.Is(err, errRecordTooLong) {
			return Row{}, r.fatal(r.line+1, "a line longer than %d KiB (reading stops here)", MaxRecordBytes>>10)
		}
		if len(line) == 0 && err != nil {
			r.done = true
			if errors.Is(err, io.EOF) {
				return Row{}, io.EOF
			}
			return Row{}, fmt.Errorf("read input: %w", err)
		}
		r.line++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r.seq++
		row, msg := r.parseJSON(line)
		if msg != "" {
			return Row{}, &RowError{Line: r.line, Msg: msg}
		}
		row.Seq, row.Line = r.seq, r.line
		return row, nil
	}
}

// readLine returns the next line without its newline; the slice is reused.
// A line longer than MaxRecordBytes is errRecordTooLong.
func (r *Reader) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.buf = append(r.buf, chunk...)
		if len(r.buf) > MaxRecordBytes+1 || (len(r.buf) == MaxRecordBytes+1 && r.buf[MaxRecordBytes] != '\n') {
			return nil, errRecordTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if n := len(r.buf); n > 0 && r.buf[n-1] == '\n' {
			r.buf = r.buf[:n-1]
			return r.buf, nil
		}
		if err == nil {
			err = io.EOF
		}
		return r.buf, err
	}
}

// jsonRow is one JSON Lines object; pointers tell a missing key from "".
type jsonRow struct {
	User     *string `json:"user"`
	Address  *string `json:"address"`
	Owner    *string `json:"owner"`
	Password *string `json:"password"`
	Profile  *string `json:"profile"`
}

func (r *Reader) parseJSON(line []byte) (Row, string) {
	line = bytes.TrimSpace(line)
	if line[0] != '{' {
		return Row{}, "not a JSON object"
	}
	if !utf8.Valid(line) {
		// Decoding would replace the bad bytes with U+FFFD and hide them.
		return Row{}, r.invalidUTF8Keys(line)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var jr jsonRow
	if err := dec.Decode(&jr); err != nil {
		// The decoder's own messages may quote a character of a password.
		var (
			se *json.SyntaxError
			te *json.UnmarshalTypeError
		)
		switch {
		case errors.As(err, &se):
			return Row{}, fmt.Sprintf("not a valid JSON object (syntax error at byte %d)", se.Offset)
		case errors.As(err, &te):
			return Row{}, fmt.Sprintf("key %q must be a string", te.Field)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
			return Row{}, r.keyError(name)
		}
		return Row{}, "not a valid JSON object"
	}
	if dec.InputOffset() != int64(len(line)) {
		return Row{}, "more than one JSON value on the line"
	}
	if k := duplicateKey(line); k != "" {
		return Row{}, fmt.Sprintf("key %q appears twice", k)
	}
	target := jr.User
	other := "address"
	if r.kind == KindEmail {
		target, other = jr.Address, "user"
	}
	if (other == "user" && jr.User != nil) || (other == "address" && jr.Address != nil) {
		return Row{}, r.keyError(other)
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return Row{
		Target:   strings.TrimSpace(str(target)),
		Owner:    strings.TrimSpace(str(jr.Owner)),
		Password: str(jr.Password),
		Profile:  strings.TrimSpace(str(jr.Profile)),
	}, ""
}

// duplicateKey returns a key that appears twice in the JSON object line
// (which decoded without error), compared as encoding/json matches keys to
// fields, without regard to case; "" when there is none. encoding/json lets
// the last one win, so {"user":"u2","user":"u3"} would change u3 silently.
func duplicateKey(line []byte) string {
	dec := json.NewDecoder(bytes.NewReader(line))
	if _, err := dec.Token(); err != nil { // the object's '{'
		return ""
	}
	var seen [5]string // the object decoded into jsonRow: at most its five keys, unless one repeats
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		key, _ := tok.(string)
		for _, k := range seen[:n] {
			if strings.EqualFold(k, key) {
				return strings.ToLower(k)
			}
		}
		if n < len(seen) {
			seen[n] = key
			n++
		}
		if _, err := dec.Token(); err != nil { // the value: a string or null
			return ""
		}
	}
	return ""
}

func (r *Reader) keyError(name string) string {
	_, err := r.columnSlot(name)
	if err == nil {
		return fmt.Sprintf("unknown key %q", name)
	}
	return strings.Replace(err.Error(), "column", "key", 1)
}

// invalidUTF8Keys names the keys of a JSON object whose values are not valid
// UTF-8, without quoting them.
func (r *Reader) invalidUTF8Keys(line []byte) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return "not valid UTF-8"
	}
	var bad []string
	for _, k := range []string{"user", "address", "owner", "password", "profile"} {
		if v, ok := obj[k]; ok && !utf8.Valid(v) {
			bad = append(bad, fmt.Sprintf("%q", k))
		}
	}
	if len(bad) == 0 {
		return "not valid UTF-8"
	}
	return fmt.Sprintf("key %s not valid UTF-8 (save the file as UTF-8)", strings.Join(bad, ", "))
}
