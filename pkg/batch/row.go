package batch

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Kind says what a bulk run changes, which decides the name of the target column.
type Kind int

// The kinds of bulk run.
const (
	KindAccount    Kind = iota + 1 // cPanel or reseller accounts; target column "user"
	KindFTP                        // FTP accounts; target column "user"
	KindEmail                      // mail accounts; target column "address" (local@domain)
	KindMySQL                      // MySQL database users; target column "user"
	KindPostgreSQL                 // PostgreSQL database users; target column "user"
	KindWebDisk                    // Web Disk accounts; target column "login"
)

// KindMixed is a run whose rows carry their own kind (Row.Kind), as `cpctl
// rotate` plans them; only a run has it, never a row.
const KindMixed = KindWebDisk + 1

// String returns the name used in journals and on the command line.
func (k Kind) String() string {
	switch k {
	case KindAccount:
		return "account"
	case KindFTP:
		return "ftp"
	case KindEmail:
		return "email"
	case KindMySQL:
		return "mysql"
	case KindPostgreSQL:
		return "postgresql"
	case KindWebDisk:
		return "webdisk"
	case KindMixed:
		return "mixed"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// MarshalText writes the kind by name (account, ftp, email) in JSON and YAML.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind by name.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "account":
		return KindAccount, nil
	case "ftp":
		return KindFTP, nil
	case "email":
		return KindEmail, nil
	case "mysql":
		return KindMySQL, nil
	case "postgresql":
		return KindPostgreSQL, nil
	case "webdisk":
		return KindWebDisk, nil
	case "mixed":
		return KindMixed, nil
	}
	return 0, fmt.Errorf("unknown kind %q (want account, ftp, email, mysql, postgresql, webdisk or mixed)", s)
}

// TargetColumn is the input column (and export column) naming the row's target:
// "address" for mail accounts, "user" otherwise.
func (k Kind) TargetColumn() string {
	switch k {
	case KindEmail:
		return "address"
	case KindWebDisk:
		return "login"
	case KindMixed:
		return "target"
	}
	return "user"
}

// valid says k is a kind of run; single that it is also a kind of row.
func (k Kind) valid() bool  { return k >= KindAccount && k <= KindMixed }
func (k Kind) single() bool { return k >= KindAccount && k <= KindWebDisk }

// Row is one change to make. Seq numbers rows from 1 in input order and is the
// row's identity in the journal; Line is where the row starts in the input file,
// for messages. Profile is empty when the row uses the run's default profile.
type Row struct {
	Seq      int
	Line     int
	Target   string
	Owner    string
	Password string
	Profile  string
	// Kind is the row's own kind in a KindMixed run, and 0 in a run of one
	// kind (whose rows all have the run's).
	Kind Kind
	// Source says where a row selected on the server came from (the
	// listing that named it, e.g. "Email/list_pops of bob"); "" for a row
	// read from a file.
	Source string
}

// KindIn returns the row's kind in a run of kind run.
func (r *Row) KindIn(run Kind) Kind {
	if r.Kind != 0 {
		return r.Kind
	}
	return run
}

// RowError is one invalid row (or an unreadable header) with the input line it
// starts on. Its message never contains a password.
type RowError struct {
	Line int
	Msg  string
}

func (e *RowError) Error() string {
	if e.Line <= 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// maxReportedErrors caps ValidationError.Errors so that a wholly wrong file of a
// million rows does not print a million lines.
const maxReportedErrors = 100

// ValidationError is returned when the input holds invalid rows. Nothing was sent
// and no journal was kept. Errors holds the first ones in input order; More
// counts those left out.
type ValidationError struct {
	Errors []RowError
	More   int

	// bad marks each line found bad so far, a bit per line (an eighth of a
	// byte a row, whatever the file's size): a row's second fault (a
	// duplicate, found once the whole input is read) then joins its first
	// rather than counting as one more row.
	bad bitset
	// listed counts the rows in Errors (a row of several faults has several
	// entries until finish joins them).
	listed int
}

func (e *ValidationError) Error() string {
	n := len(e.Errors) + e.More
	var b strings.Builder
	if n == 1 {
		b.WriteString("1 invalid row")
	} else {
		fmt.Fprintf(&b, "%d invalid rows", n)
	}
	for i := range e.Errors {
		b.WriteString("\n  ")
		b.WriteString(e.Errors[i].Error())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  and %d more", e.More)
	}
	return b.String()
}

// finish puts the errors in input order and makes one error of a row's several (a row
// found bad when read, and later a duplicate of an earlier one), so that each listed line
// and the count are rows, not messages.
func (e *ValidationError) finish() {
	slices.SortStableFunc(e.Errors, func(a, b RowError) int { return cmp.Compare(a.Line, b.Line) })
	out := e.Errors[:0]
	for _, re := range e.Errors {
		if n := len(out); n > 0 && re.Line > 0 && out[n-1].Line == re.Line {
			out[n-1].Msg += "; " + re.Msg
			continue
		}
		out = append(out, re)
	}
	e.Errors = out
}

// add records a fault of the row at line (0 or less: of the input as a whole).
func (e *ValidationError) add(line int, msg string) {
	if line > 0 {
		if e.bad.has(line) {
			// A row already counted: listed with its first fault if
			// that is, left out with it if not.
			if slices.ContainsFunc(e.Errors, func(re RowError) bool { return re.Line == line }) {
				e.Errors = append(e.Errors, RowError{Line: line, Msg: msg})
			}
			return
		}
		e.bad = e.bad.with(line)
	}
	if e.listed < maxReportedErrors {
		e.Errors = append(e.Errors, RowError{Line: line, Msg: msg})
		e.listed++
		return
	}
	e.More++
}

func (e *ValidationError) empty() bool { return len(e.Errors) == 0 && e.More == 0 }
