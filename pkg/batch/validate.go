package batch

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidateOptions says what makes a row valid.
type ValidateOptions struct {
	// Generate allows rows without a password: one is generated when the row
	// is sent.
	Generate bool
	// DefaultProfile is the profile of rows whose profile column is empty; it
	// is only used to find duplicates and to ask RequireOwner and CheckProfile.
	DefaultProfile string
	// DefaultOwner is the owner the server acts on for ftp and email rows
	// whose owner column is empty; it is only used to find duplicates.
	DefaultOwner string
	// RequireOwner, when set, says whether rows of a profile must name an
	// owner (ftp and email rows through a WHM profile act on an owner account).
	RequireOwner func(profile string) bool
	// CheckProfile, when set, rejects rows naming a profile that cannot be
	// used. It is called once per distinct profile; its message is shown as is.
	CheckProfile func(profile string) error
}

// Validate reads the whole input once and reports every invalid row (as a
// *ValidationError), without writing anything. It returns the number of rows.
func Validate(r io.Reader, kind Kind, opts ValidateOptions) (int, error) {
	return scanInput(r, kind, opts, nil)
}

// scanInput validates every row of r, calling emit for each row while no row has
// failed so far (a journal is useless once one row is bad, so writing stops).
func scanInput(r io.Reader, kind Kind, opts ValidateOptions, emit func(*Row) error) (int, error) {
	if !kind.valid() {
		return 0, fmt.Errorf("batch: invalid kind %d", int(kind))
	}
	rd := NewReader(r, kind)
	v := validator{kind: kind, opts: opts, profiles: make(map[string]error)}
	var verr ValidationError
	n := 0
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var re *RowError
			if !errors.As(err, &re) {
				return n, err
			}
			verr.add(re.Line, re.Msg)
			continue
		}
		n++
		if msg := v.check(&row); msg != "" {
			verr.add(row.Line, msg)
			continue
		}
		if emit != nil && verr.empty() {
			if err := emit(&row); err != nil {
				return n, err
			}
		}
	}
	for _, d := range v.seen.duplicates(v.kind) {
		verr.add(d.Line, d.Msg)
	}
	if !verr.empty() {
		verr.finish()
		return n, &verr
	}
	return n, nil
}

// scanRows is scanInput for rows already in memory (PlanRows).
func scanRows(rows []Row, kind Kind, opts ValidateOptions, emit func(*Row) error) (int, error) {
	if !kind.valid() {
		return 0, fmt.Errorf("batch: invalid kind %d", int(kind))
	}
	v := validator{kind: kind, opts: opts, profiles: make(map[string]error)}
	var verr ValidationError
	for i := range rows {
		row := rows[i]
		row.Seq = i + 1
		if row.Line == 0 {
			row.Line = row.Seq
		}
		msg := v.check(&row)
		switch {
		case kind == KindMixed && !row.Kind.single():
			msg = joinMsg(msg, "a mixed run's row needs a kind of its own")
		case kind != KindMixed && row.Kind != 0:
			msg = joinMsg(msg, fmt.Sprintf("a row of kind %s in a run of kind %s", row.Kind, kind))
		}
		if msg != "" {
			verr.add(row.Line, msg)
			continue
		}
		if emit != nil && verr.empty() {
			if err := emit(&row); err != nil {
				return len(rows), err
			}
		}
	}
	for _, d := range v.seen.duplicates(v.kind) {
		verr.add(d.Line, d.Msg)
	}
	if !verr.empty() {
		verr.finish()
		return len(rows), &verr
	}
	return len(rows), nil
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

type validator struct {
	kind     Kind
	opts     ValidateOptions
	seen     dupIndex
	profiles map[string]error
}

func (v *validator) check(row *Row) string {
	kind := row.KindIn(v.kind)
	// encoding/json would turn an invalid byte into U+FFFD, so a password
	// other than the file's would be sent. The value is never quoted.
	if msg := invalidUTF8(kind, row); msg != "" {
		return msg
	}
	var msgs []string
	profile := row.Profile
	if profile == "" {
		profile = v.opts.DefaultProfile
	}
	switch {
	case row.Target == "":
		msgs = append(msgs, fmt.Sprintf("missing %s", kind.TargetColumn()))
	case kind == KindEmail:
		if msg := checkAddress(row.Target); msg != "" {
			msgs = append(msgs, msg)
		}
	default:
		if strings.IndexFunc(row.Target, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) >= 0 {
			msgs = append(msgs, fmt.Sprintf("%s %q contains a space or control character", kind.TargetColumn(), row.Target))
		}
	}
	if row.Password == "" && !v.opts.Generate {
		msgs = append(msgs, "missing password (give one, or use --generate)")
	}
	// A NUL, CR or escape in a password is almost always a damaged file
	// (a stray carriage return from another system), and servers and
	// terminals treat them each their own way: the password that works
	// would not be the one in the file. unicode.IsControl is C0, DEL and C1.
	if strings.IndexFunc(row.Password, unicode.IsControl) >= 0 {
		msgs = append(msgs, "password contains a control character (C0 such as NUL, tab or CR, DEL, or C1)")
	}
	if row.Owner == "" && v.opts.RequireOwner != nil && v.opts.RequireOwner(profile) {
		msgs = append(msgs, fmt.Sprintf("missing owner: required for %s rows through profile %q", kind, profile))
	}
	if v.opts.CheckProfile != nil {
		err, ok := v.profiles[profile]
		if !ok {
			err = v.opts.CheckProfile(profile)
			v.profiles[profile] = err
		}
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if row.Target != "" {
		v.seen.add(v.dupKey(profile, row), row.Line)
	}
	return strings.Join(msgs, "; ")
}

func invalidUTF8(kind Kind, row *Row) string {
	var bad []string
	for _, f := range []struct{ name, v string }{{kind.TargetColumn(), row.Target}, {"owner", row.Owner}, {"password", row.Password}, {"profile", row.Profile}} {
		if !utf8.ValidString(f.v) {
			bad = append(bad, f.name)
		}
	}
	if bad == nil {
		return ""
	}
	return fmt.Sprintf("%s not valid UTF-8 (save the file as UTF-8)", strings.Join(bad, ", "))
}

// dupKey is the identity of the account the server acts on: an account row
// names an account whatever owner it gives, and an ftp or email row without
// an owner acts on the run's default owner. A mixed run's rows of different
// kinds never repeat each other (account bob and database user bob).
func (v *validator) dupKey(profile string, row *Row) uint64 {
	owner := row.Owner
	switch {
	case row.KindIn(v.kind) == KindAccount:
		owner = ""
	case owner == "":
		owner = v.opts.DefaultOwner
	}
	if row.Kind != 0 {
		profile = row.Kind.String() + "\x00" + profile
	}
	return dupKey(profile, owner, row.Target)
}

// dupKey hashes the identity of a row into 64 bits, so that finding
// duplicates costs 12 bytes per row however long the names are (a false
// match among 100,000 rows has odds near 1 in 10^9). cPanel names are
// lowercase, so "Bob" and "bob" are the same account.
func dupKey(profile, owner, target string) uint64 {
	h := sha256.New()
	for _, s := range []string{profile, owner, strings.ToLower(target)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// dupIndex finds rows that name the same account twice. It keeps two flat
// slices rather than a map (a map costs about three times as much per row)
// and sorts them once at the end of the input.
type dupIndex struct {
	keys  []uint64
	lines []int32
}

func (d *dupIndex) add(key uint64, line int) {
	d.keys = append(d.keys, key)
	d.lines = append(d.lines, int32(line))
}

func (d *dupIndex) Len() int { return len(d.keys) }
func (d *dupIndex) Less(i, j int) bool {
	return d.keys[i] < d.keys[j] || (d.keys[i] == d.keys[j] && d.lines[i] < d.lines[j])
}
func (d *dupIndex) Swap(i, j int) {
	d.keys[i], d.keys[j] = d.keys[j], d.keys[i]
	d.lines[i], d.lines[j] = d.lines[j], d.lines[i]
}

// duplicates reports every row after the first of each repeated key.
func (d *dupIndex) duplicates(kind Kind) []RowError {
	sort.Sort(d)
	var out []RowError
	for i := 1; i < len(d.keys); i++ {
		if d.keys[i] != d.keys[i-1] {
			continue
		}
		first := i - 1
		for first > 0 && d.keys[first-1] == d.keys[i] {
			first--
		}
		out = append(out, RowError{Line: int(d.lines[i]),
			Msg: fmt.Sprintf("duplicate of line %d (same %s)", d.lines[first], dupWhat(kind))})
	}
	return out
}

func dupWhat(kind Kind) string {
	if kind == KindAccount {
		return "profile and user"
	}
	return "profile, owner and " + kind.TargetColumn()
}

// checkAddress accepts local@domain with a dotted domain.
func checkAddress(a string) string {
	local, domain, ok := strings.Cut(a, "@")
	switch {
	case !ok:
		return fmt.Sprintf("address %q is not local@domain", a)
	case local == "":
		return fmt.Sprintf("address %q has no local part", a)
	case strings.Contains(domain, "@"):
		return fmt.Sprintf("address %q has more than one @", a)
	case strings.IndexFunc(local, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) >= 0:
		return fmt.Sprintf("address %q contains a space or control character", a)
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return fmt.Sprintf("address %q: domain %q has no dot", a, domain)
	}
	for _, l := range labels {
		if l == "" || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return fmt.Sprintf("address %q: bad domain %q", a, domain)
		}
		for _, c := range l {
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c > unicode.MaxASCII && unicode.IsLetter(c)) {
				return fmt.Sprintf("address %q: bad domain %q", a, domain)
			}
		}
	}
	return ""
}
