package batch

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/fate"
)

// awkwardStrings are values a journal must carry unchanged: quotes,
// escapes, HTML, control characters, curly quotes from server messages,
// line separators.
var awkwardStrings = []string{
	"", "alice", "user@example.com", `quo"te`, `back\slash`, "<b>&amp;</b>", "tab\there", "nl\nx",
	"\x00\x1f\x7f", "héllo wörld", "日本語", "Password for “u000123” changed.", "\uFFFD ok", "\u2028\u2029", "p@ss w0rd!~{}[]:,",
}

// readLines runs the journal reader over lines and returns the records it
// passed on and whether it stopped at an unreadable tail.
func readLines(t *testing.T, lines string) ([]record, bool) {
	t.Helper()
	var got []record
	_, tail, err := scanRecords(strings.NewReader(lines), func(r *record) error {
		got = append(got, *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, tail
}

// TestRecordsRoundTrip writes every hot record with awkward values and reads
// it back through the journal reader unchanged.
func TestRecordsRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 29, 22, 4, 5, 123456789, time.FixedZone("X", 3600))
	yes, no := true, false
	for _, s := range awkwardStrings {
		for _, n := range []int{0, 1, -7, 1 << 40} {
			row := Row{Seq: n, Line: n + 1, Target: s, Owner: s, Profile: s, Password: s}
			var buf []byte
			var err error
			add := func(v any) {
				if buf, err = appendRecord(buf, v); err != nil {
					t.Fatal(err)
				}
			}
			add(rowRecOf(&row))
			add(intentRecOf(n, n+2, s, at))
			outcomes := []Outcome{
				{State: fate.Applied}, {State: fate.Unknown, Class: s, Message: s}, {State: fate.Applied, Services: []string{"ftp", s}},
				{State: fate.Applied, Verified: &yes}, {State: fate.Refused, Auth: true, Verified: &no, Message: s},
				{State: fate.NotSent, Network: true, Class: s},
			}
			for i := range outcomes {
				add(outcomeRecOf(&row, n, &outcomes[i], at))
			}
			got, tail := readLines(t, string(buf))
			if tail || len(got) != 2+len(outcomes) {
				t.Fatalf("%q: %d records, tail %v", s, len(got), tail)
			}
			if r := got[0].row(); r != row {
				t.Errorf("row %q: got %+v", s, r)
			}
			if g := got[1]; g.T != recIntent || g.Seq != n || g.Attempt != n+2 || g.Password != s || g.At != "2026-11-29T21:04:05.123Z" {
				t.Errorf("intent %q: got %+v", s, g)
			}
			for i, o := range outcomes {
				g := got[2+i]
				if r := g.row(); r.Seq != row.Seq || r.Line != row.Line || r.Target != s || r.Owner != s || r.Profile != s || g.Attempt != n {
					t.Errorf("outcome %q: row fields %+v", s, g)
				}
				if out := g.outcome(); !reflect.DeepEqual(out, o) {
					t.Errorf("outcome %q: got %+v, want %+v", s, out, o)
				}
			}
		}
	}
}

// TestReadRecord holds the reader to what a journal line may be: any JSON
// object with a record type is read (as encoding/json reads it), anything
// else ends the journal's good part.
func TestReadRecord(t *testing.T) {
	tests := []struct {
		name string
		line string
		ok   bool
		want record
	}{
		{"row", `{"t":"row","seq":3,"line":4,"target":"bob","owner":"res","profile":"p1","password":"S3cr3t!"}`, true,
			record{T: "row", Seq: 3, Line: 4, Target: "bob", Owner: "res", Profile: "p1", Password: "S3cr3t!"}},
		{"intent", `{"t":"intent","seq":0,"attempt":1,"password":"日本","at":"2026-11-29T22:04:05.123Z"}`, true,
			record{T: "intent", Attempt: 1, Password: "日本", At: "2026-11-29T22:04:05.123Z"}},
		{"outcome", `{"t":"outcome","seq":1,"line":2,"target":"x","attempt":1,"ok":false,"exit":-4,"class":"refused","msg":"no"}`, true,
			record{T: "outcome", Seq: 1, Line: 2, Target: "x", Attempt: 1, Exit: -4, Class: "refused", Msg: "no"}},
		{"ok true", `{"t":"outcome","ok":true}`, true, record{T: "outcome", OK: true}},
		{"last duplicate wins", `{"t":"row","seq":1,"seq":2}`, true, record{T: "row", Seq: 2}},
		{"planned", `{"t":"planned","rows":10000}`, true, record{T: "planned", Rows: 10000}},
		{"escape", `{"t":"row","target":"a\"b"}`, true, record{T: "row", Target: `a"b`}},
		{"unicode escape", `{"t":"row","target":"\u00e9"}`, true, record{T: "row", Target: "é"}},
		{"white space", `{ "t": "row" }`, true, record{T: "row"}},
		{"upper-case key", `{"T":"row","SEQ":5}`, true, record{T: "row", Seq: 5}},
		{"unknown key", `{"t":"row","extra":[1,2]}`, true, record{T: "row"}},
		{"header meta", `{"t":"header","v":1,"meta":{"a":"b"}}`, true, record{T: "header", V: 1, Meta: map[string]string{"a": "b"}}},
		{"services", `{"t":"outcome","services":["ftp"],"verified":true}`, true,
			record{T: "outcome", Services: []string{"ftp"}, Verified: new(bool)}},
		{"null", `{"t":"row","owner":null}`, true, record{T: "row"}},
		{"invalid utf-8", "{\"t\":\"row\",\"target\":\"a\xffb\"}", true, record{T: "row", Target: "a\ufffdb"}},
		{"19 digits", `{"t":"row","seq":1234567890123456789}`, true, record{T: "row", Seq: 1234567890123456789}},
		// Not records at all.
		{"no type", `{}`, false, record{}},
		{"torn", `{"t":"row","seq":1`, false, record{}},
		{"trailing comma", `{"t":"row",}`, false, record{}},
		{"leading zero", `{"t":"row","seq":01}`, false, record{}},
		{"float seq", `{"t":"row","seq":1.5}`, false, record{}},
		{"string seq", `{"t":"row","seq":"1"}`, false, record{}},
		{"int target", `{"t":7}`, false, record{}},
		{"bare minus", `{"t":"row","seq":-}`, false, record{}},
		{"control char", "{\"t\":\"r\x01w\"}", false, record{}},
		{"two objects", `{"t":"row"}{"t":"row"}`, false, record{}},
		{"not an object", `["t","row"]`, false, record{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "services" {
				*tt.want.Verified = true
			}
			got, tail := readLines(t, tt.line+"\n")
			if ok := len(got) == 1 && !tail; ok != tt.ok {
				t.Fatalf("read %d records, tail %v; want ok %v", len(got), tail, tt.ok)
			}
			if tt.ok && !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("got %+v\nwant %+v", got[0], tt.want)
			}
		})
	}
}
