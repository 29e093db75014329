package batch

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReader(t *testing.T) {
	tests := []struct {
		name    string
		kind    Kind
		in      string
		want    []Row
		wantErr []string // substrings, one per RowError, in order
		format  string
	}{
		{
			name:   "csv all columns",
			kind:   KindAccount,
			in:     "user,owner,password,profile\nbob,res1, s3cret ,prod\n\nalice,,x,\n",
			want:   []Row{{Seq: 1, Line: 2, Target: "bob", Owner: "res1", Password: " s3cret ", Profile: "prod"}, {Seq: 2, Line: 4, Target: "alice", Password: "x"}},
			format: FormatCSV,
		},
		{
			name:   "csv header case, spaces, BOM, CRLF, quoted comma and newline",
			kind:   KindFTP,
			in:     "\xef\xbb\xbf Password , USER\r\n\"a,b\"\"c\nd\",ftp1@example.com\r\n",
			want:   []Row{{Seq: 1, Line: 2, Target: "ftp1@example.com", Password: "a,b\"c\nd"}},
			format: FormatCSV,
		},
		{
			name:   "csv email address column",
			kind:   KindEmail,
			in:     "address\nme@example.com\n",
			want:   []Row{{Seq: 1, Line: 2, Target: "me@example.com"}},
			format: FormatCSV,
		},
		{
			name:    "csv user column in an email file",
			kind:    KindEmail,
			in:      "user,password\nbob,x\n",
			wantErr: []string{`line 1: header: unknown column "user": email rows name their target "address"`},
			format:  FormatCSV,
		},
		{
			name:    "csv unknown column",
			kind:    KindAccount,
			in:      "user,pasword\nbob,x\n",
			wantErr: []string{`line 1: header: unknown column "pasword"`},
		},
		{
			name:    "csv duplicate column",
			kind:    KindAccount,
			in:      "user,user\nbob,x\n",
			wantErr: []string{`line 1: header: column "user" appears twice`},
		},
		{
			name:    "csv no target column",
			kind:    KindAccount,
			in:      "owner,password\nbob,x\n",
			wantErr: []string{`line 1: header: no "user" column`},
		},
		{
			name:    "empty input",
			kind:    KindAccount,
			in:      "",
			wantErr: []string{"the input is empty"},
		},
		{
			name:    "csv wrong field count continues",
			kind:    KindAccount,
			in:      "user,password\nbob\ncarol,y\n",
			want:    []Row{{Seq: 2, Line: 3, Target: "carol", Password: "y"}},
			wantErr: []string{"line 2: 1 fields, the header has 2"},
		},
		{
			name:    "csv bad quote stops",
			kind:    KindAccount,
			in:      "user,password\nbob,\"x\ncarol,y\n",
			wantErr: []string{"line 2: extraneous or missing \" in quoted-field (reading stops here)"},
		},
		{
			name:    "csv unterminated quote on the first row does not panic",
			kind:    KindAccount,
			in:      "user\n\"bob\n",
			wantErr: []string{"line 2: extraneous or missing \" in quoted-field (reading stops here)"},
		},
		{
			name:    "csv bare quote after a good row",
			kind:    KindAccount,
			in:      "user\nalice\nb\"ob\n",
			want:    []Row{{Seq: 1, Line: 2, Target: "alice"}},
			wantErr: []string{"line 3: bare \" in non-quoted-field (reading stops here)"},
		},
		{
			name:   "jsonl",
			kind:   KindEmail,
			in:     "\n{\"address\":\"a@b.example\",\"password\":\"p w\",\"owner\":\" o \",\"profile\":null}\n\n{\"address\":\"c@d.example\"}",
			want:   []Row{{Seq: 1, Line: 2, Target: "a@b.example", Owner: "o", Password: "p w"}, {Seq: 2, Line: 4, Target: "c@d.example"}},
			format: FormatJSONL,
		},
		{
			name:    "jsonl bad lines keep going",
			kind:    KindAccount,
			in:      "{\"user\":\"a\"}\n{\"user\":1}\n{\"user\":\"b\",\"colour\":\"x\"}\n{\"user\":\"c\",\"password\":\"se\\q\"}\n[1]\n{\"user\":\"d\"}\n",
			want:    []Row{{Seq: 1, Line: 1, Target: "a"}, {Seq: 6, Line: 6, Target: "d"}},
			wantErr: []string{`line 2: key "user" must be a string`, `line 3: unknown key "colour"`, "line 4: not a valid JSON object (syntax error at byte", "line 5: not a JSON object"},
			format:  FormatJSONL,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// OneByteReader behaves like a slow pipe (stdin).
			rd := NewReader(iotest.OneByteReader(strings.NewReader(tt.in)), tt.kind)
			var rows []Row
			var errs []string
			for {
				row, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				var re *RowError
				if errors.As(err, &re) {
					errs = append(errs, re.Error())
					continue
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				rows = append(rows, row)
			}
			if fmt.Sprint(rows) != fmt.Sprint(tt.want) {
				t.Errorf("rows:\n got %+v\nwant %+v", rows, tt.want)
			}
			if len(errs) != len(tt.wantErr) {
				t.Fatalf("errors: got %q, want %d matching %q", errs, len(tt.wantErr), tt.wantErr)
			}
			for i := range errs {
				if !strings.Contains(errs[i], tt.wantErr[i]) {
					t.Errorf("error %d: got %q, want it to contain %q", i, errs[i], tt.wantErr[i])
				}
				if strings.Contains(errs[i], "se\\q") || strings.Contains(errs[i], "'q'") {
					t.Errorf("error %d quotes a password: %q", i, errs[i])
				}
			}
			if tt.format != "" && rd.Format() != tt.format {
				t.Errorf("format %q, want %q", rd.Format(), tt.format)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	owners := func(p string) bool { return p == "whm" }
	tests := []struct {
		name    string
		kind    Kind
		opts    ValidateOptions
		in      string
		wantN   int
		wantErr []string
	}{
		{name: "ok", kind: KindAccount, in: "user,password\nbob,x\nalice,y\n", wantN: 2},
		{name: "missing password", kind: KindAccount, in: "user,password\nbob,\nalice,y\n", wantN: 2,
			wantErr: []string{"line 2: missing password"}},
		{name: "generate allows no password", kind: KindAccount, opts: ValidateOptions{Generate: true}, in: "user\nbob\n", wantN: 1},
		{name: "missing target and bad target", kind: KindAccount, opts: ValidateOptions{Generate: true}, in: "user\n\"\"\n\"b ob\"\n", wantN: 2,
			wantErr: []string{"line 2: missing user", `line 3: user "b ob" contains a space`}},
		{name: "bad addresses", kind: KindEmail, opts: ValidateOptions{Generate: true},
			in:    "address\nbob\n@example.com\na@b@c.com\na@localhost\na@-x.com\na@b..com\nok@example.com\nünï@exämple.de\n",
			wantN: 8,
			wantErr: []string{`line 2: address "bob" is not local@domain`, "line 3: address \"@example.com\" has no local part",
				"line 4: address \"a@b@c.com\" has more than one @", `line 5: address "a@localhost": domain "localhost" has no dot`,
				`line 6: address "a@-x.com": bad domain`, `line 7: address "a@b..com": bad domain`}},
		{name: "duplicates by profile, owner and case", kind: KindFTP, opts: ValidateOptions{Generate: true, DefaultProfile: "p1"},
			in:    "user,owner,profile\nftp1,o1,\nFTP1,o1,p1\nftp1,o2,p1\nftp1,o1,p2\n",
			wantN: 4, wantErr: []string{"line 3: duplicate of line 2"}},
		{name: "owner required per profile", kind: KindEmail, opts: ValidateOptions{Generate: true, DefaultProfile: "whm", RequireOwner: owners},
			in:    "address,owner,profile\na@b.com,,\nc@d.com,,cp\ne@f.com,o,\n",
			wantN: 3, wantErr: []string{`line 2: missing owner: required for email rows through profile "whm"`}},
		{name: "unknown profile", kind: KindAccount, opts: ValidateOptions{Generate: true, CheckProfile: func(p string) error {
			if p == "nope" {
				return fmt.Errorf("no profile %q", p)
			}
			return nil
		}}, in: "user,profile\na,nope\nb,\nc,nope\n", wantN: 3, wantErr: []string{`line 2: no profile "nope"`, `line 4: no profile "nope"`}},
		{name: "several problems on one row", kind: KindAccount, in: "user,password\n,\n", wantN: 1,
			wantErr: []string{"line 2: missing user; missing password"}},
		{name: "header error", kind: KindAccount, in: "usr\nbob\n", wantErr: []string{"line 1: header: unknown column"}},
		{name: "account duplicates ignore the owner", kind: KindAccount, opts: ValidateOptions{Generate: true},
			in:    "user,owner\nbob,r1\nbob,r2\nBOB,\n",
			wantN: 3, wantErr: []string{"line 3: duplicate of line 2", "line 4: duplicate of line 2"}},
		{name: "ftp empty owner is the default owner", kind: KindFTP, opts: ValidateOptions{Generate: true, DefaultOwner: "o1"},
			in:    "user,owner\nftp1,\nFtp1,o1\nftp1,o2\n",
			wantN: 3, wantErr: []string{"line 3: duplicate of line 2"}},
		{name: "email empty owner is the default owner", kind: KindEmail, opts: ValidateOptions{Generate: true, DefaultOwner: "o1"},
			in:    "address,owner\nA@b.example,o1\na@b.example,\n",
			wantN: 2, wantErr: []string{"line 3: duplicate of line 2"}},
		{name: "invalid UTF-8 in csv", kind: KindAccount,
			in:    "user,password,owner\nbob,pa\xffss,o\xfe\nalice,ok\xc3\xa9,\n",
			wantN: 2, wantErr: []string{"line 2: owner, password not valid UTF-8"}},
		{name: "invalid UTF-8 in jsonl", kind: KindAccount,
			in:    "{\"user\":\"bob\",\"password\":\"pa\xffss\"}\n{\"user\":\"al\xe9\",\"password\":\"x\"}\n{\"user\":\"c\",\"password\":\"\xc3\xa9\"}\n",
			wantN: 1, wantErr: []string{`line 1: key "password" not valid UTF-8`, `line 2: key "user" not valid UTF-8`}},
		{name: "unterminated quote", kind: KindAccount, opts: ValidateOptions{Generate: true}, in: "user\n\"bob\n",
			wantErr: []string{"line 2: extraneous or missing \" in quoted-field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Validate(strings.NewReader(tt.in), tt.kind, tt.opts)
			if n != tt.wantN {
				t.Errorf("n = %d, want %d", n, tt.wantN)
			}
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v, want *ValidationError", err)
			}
			if len(ve.Errors) != len(tt.wantErr) {
				t.Fatalf("got %d errors %v, want %d", len(ve.Errors), ve.Errors, len(tt.wantErr))
			}
			for i, e := range ve.Errors {
				if !strings.Contains(e.Error(), tt.wantErr[i]) {
					t.Errorf("error %d = %q, want %q", i, e.Error(), tt.wantErr[i])
				}
				if strings.Contains(e.Error(), "pa\xffss") || strings.Contains(e.Error(), `pa\xffss`) || strings.Contains(e.Error(), "\ufffd") {
					t.Errorf("error %d quotes a password: %q", i, e.Error())
				}
			}
		})
	}
}

func TestValidationErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("user,password\n")
	for i := 0; i < 250; i++ {
		fmt.Fprintf(&b, "u%d,\n", i)
	}
	_, err := Validate(strings.NewReader(b.String()), KindAccount, ValidateOptions{})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	if len(ve.Errors) != maxReportedErrors || ve.More != 150 {
		t.Fatalf("got %d errors + %d more, want %d + 150", len(ve.Errors), ve.More, maxReportedErrors)
	}
	msg := ve.Error()
	if !strings.HasPrefix(msg, "250 invalid rows\n  line 2: missing password") || !strings.HasSuffix(msg, "\n  and 150 more") {
		t.Fatalf("message:\n%s", msg)
	}
}

// TestValidationErrorCountsRowsPastTheCap: a row bad in two ways (a fault
// found when read, and a duplicate found at the end) is one row in the
// count whether or not it is among the rows listed.
func TestValidationErrorCountsRowsPastTheCap(t *testing.T) {
	tests := []struct {
		name   string
		rows   int  // rows after the header, each without a password
		same   bool // all for the same user: each after the first also a duplicate
		listed int
		more   int
	}{
		{"distinct users", 150, false, maxReportedErrors, 50},
		{"one user, few rows", 40, true, 40, 0},
		{"one user, many rows", 150, true, maxReportedErrors, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("user,password\n")
			for i := range tt.rows {
				user := fmt.Sprintf("u%d", i)
				if tt.same {
					user = "bob"
				}
				fmt.Fprintf(&b, "%s,\n", user)
			}
			_, err := Validate(strings.NewReader(b.String()), KindAccount, ValidateOptions{})
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v", err)
			}
			if len(ve.Errors) != tt.listed || ve.More != tt.more {
				t.Errorf("%d rows listed + %d more, want %d + %d", len(ve.Errors), ve.More, tt.listed, tt.more)
			}
			if want := fmt.Sprintf("%d invalid rows\n", tt.rows); !strings.HasPrefix(ve.Error(), want) {
				t.Errorf("message begins %q, want %q", strings.SplitN(ve.Error(), "\n", 2)[0], want)
			}
			for i, re := range ve.Errors {
				if re.Line != i+2 {
					t.Fatalf("listed row %d is line %d, want %d: the first rows in input order", i, re.Line, i+2)
				}
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"10/s", 10, false}, {"10", 10, false}, {"600/m", 10, false}, {"3600/h", 1, false},
		{"5/500ms", 10, false}, {" 2.5 / sec ", 2.5, false}, {"", 0, false}, {"off", 0, false}, {"0/s", 0, false},
		{"-1/s", 0, true}, {"x/s", 0, true}, {"10/fortnight", 0, true}, {"10/0s", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseRate(%q) error %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if float64(got) != tt.want {
			t.Errorf("ParseRate(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range []Kind{KindAccount, KindFTP, KindEmail, KindMySQL, KindPostgreSQL, KindWebDisk} {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	for _, bad := range []string{"db", "mailbox", "", "Kind(9)"} {
		if _, err := ParseKind(bad); err == nil {
			t.Errorf("ParseKind(%q) succeeded", bad)
		}
	}
	if got := KindWebDisk.TargetColumn(); got != "login" {
		t.Errorf("KindWebDisk.TargetColumn() = %q, want login", got)
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		s    Summary
		want int
	}{
		{Summary{Total: 3, Succeeded: 3}, 0},
		{Summary{Total: 0}, 0},
		{Summary{Total: 3, Failed: 3, FailedExit: 1}, 1},
		{Summary{Total: 3, Failed: 1, Pending: 2, FailedExit: 4}, 4},
		{Summary{Total: 3, Pending: 3, FailedExit: 3}, 3},
		{Summary{Total: 3, Failed: 1, Pending: 2, FailedExit: 5}, 5},
		{Summary{Total: 3, Failed: 3}, 5}, // the reasons not worked out
		{Summary{Total: 3, Pending: 3, Undelivered: 1, FailedExit: 4}, 5},
		{Summary{Total: 3, Succeeded: 2, Failed: 1}, 5},
		{Summary{Total: 3, Succeeded: 3, Undelivered: 1}, 5},
		{Summary{Total: 3, Succeeded: 2, Pending: 1, Interrupted: true}, 5},
		{Summary{Total: 3, Pending: 3, Interrupted: true, FailedExit: 4}, 4},
	}
	for _, tt := range tests {
		if got := tt.s.ExitCode(); got != tt.want {
			t.Errorf("%+v.ExitCode() = %d, want %d", tt.s, got, tt.want)
		}
	}
}
