package batch

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// codecStrings are the awkward values a journal must carry unchanged.
var codecStrings = []string{
	"", "alice", "user@example.com", `quo"te`, `back\slash`, "<b>&amp;</b>", "tab\there", "nl\nx",
	"\x00\x1f\x7f", "héllo wörld", "日本語", "Password for “u000123” changed.", "\uFFFD ok", "\u2028\u2029", "bad\xffutf8", "\xed\xa0\x80", "p@ss w0rd!~{}[]:,",
}

var codecTime = time.Date(2026, 11, 29, 22, 4, 5, 123456789, time.FixedZone("X", 3600))

func TestAppendersMatchEncodingJSON(t *testing.T) {
	at := codecTime.UTC().Format(timeLayout)
	yes, no := true, false
	for _, s := range codecStrings {
		for _, n := range []int{0, 1, -7, 1 << 40} {
			row := Row{Seq: n, Line: n + 1, Target: s, Owner: s, Profile: s, Password: s}
			check := func(what string, got []byte, v any) {
				t.Helper()
				want, err := encodeRecord(v)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s(%q, %d):\n got %s\nwant %s", what, s, n, got, want)
				}
			}
			check("row", appendRowRec(nil, &row),
				rowRec{T: recRow, Seq: row.Seq, Line: row.Line, Target: s, Owner: s, Profile: s, Password: s})
			check("row/empty", appendRowRec(nil, &Row{Seq: n, Target: s}), rowRec{T: recRow, Seq: n, Target: s})
			check("intent", appendIntentRec(nil, n, n+2, s, codecTime),
				intentRec{T: recIntent, Seq: n, Attempt: n + 2, Password: s, At: at})
			for _, o := range []Outcome{
				{OK: true}, {Exit: 4, Class: s, Message: s}, {OK: true, Services: []string{"ftp", s}},
				{OK: true, Verified: &yes}, {Exit: 1, Verified: &no, Message: s},
			} {
				check("outcome", appendOutcomeRec(nil, &row, n, &o, codecTime),
					outcomeRec{T: recOutcome, Seq: row.Seq, Line: row.Line, Target: s, Owner: s, Profile: s, Attempt: n,
						OK: o.OK, Exit: o.Exit, Class: o.Class, Msg: o.Message, Services: o.Services, Verified: o.Verified, At: at})
			}
		}
	}
}

func TestDecodeRecord(t *testing.T) {
	tests := []struct {
		name string
		line string
		fast bool // read by hand, not by encoding/json
		ok   bool
		want record
	}{
		{"row", `{"t":"row","seq":3,"line":4,"target":"bob","owner":"res","profile":"p1","password":"S3cr3t!"}` + "\n", true, true,
			record{T: "row", Seq: 3, Line: 4, Target: "bob", Owner: "res", Profile: "p1", Password: "S3cr3t!"}},
		{"intent", `{"t":"intent","seq":0,"attempt":1,"password":"日本","at":"2026-11-29T22:04:05.123Z"}` + "\n", true, true,
			record{T: "intent", Attempt: 1, Password: "日本", At: "2026-11-29T22:04:05.123Z"}},
		{"outcome", `{"t":"outcome","seq":1,"line":2,"target":"x","attempt":1,"ok":false,"exit":-4,"class":"refused","msg":"no"}`, true, true,
			record{T: "outcome", Seq: 1, Line: 2, Target: "x", Attempt: 1, Exit: -4, Class: "refused", Msg: "no"}},
		{"ok true", `{"t":"outcome","ok":true}`, true, true, record{T: "outcome", OK: true}},
		{"last duplicate wins", `{"t":"row","seq":1,"seq":2}`, true, true, record{T: "row", Seq: 2}},
		{"empty object", `{}`, true, true, record{}},
		{"planned", `{"t":"planned","rows":10000}`, true, true, record{T: "planned", Rows: 10000}},
		// Declined by the fast reader, read by encoding/json.
		{"escape", `{"t":"row","target":"a\"b"}`, false, true, record{T: "row", Target: `a"b`}},
		{"unicode escape", `{"t":"row","target":"\u00e9"}`, false, true, record{T: "row", Target: "é"}},
		{"white space", `{ "t": "row" }`, false, true, record{T: "row"}},
		{"upper-case key", `{"T":"row","SEQ":5}`, false, true, record{T: "row", Seq: 5}},
		{"unknown key", `{"t":"row","extra":[1,2]}`, false, true, record{T: "row"}},
		{"header meta", `{"t":"header","v":1,"meta":{"a":"b"}}`, false, true, record{T: "header", V: 1, Meta: map[string]string{"a": "b"}}},
		{"services", `{"t":"outcome","services":["ftp"],"verified":true}`, false, true,
			record{T: "outcome", Services: []string{"ftp"}, Verified: new(bool)}},
		{"null", `{"t":"row","owner":null}`, false, true, record{T: "row"}},
		{"invalid utf-8", "{\"t\":\"row\",\"target\":\"a\xffb\"}", false, true, record{T: "row", Target: "a\ufffdb"}},
		{"19 digits", `{"t":"row","seq":1234567890123456789}`, false, true, record{T: "row", Seq: 1234567890123456789}},
		// Not records at all.
		{"torn", `{"t":"row","seq":1`, false, false, record{}},
		{"trailing comma", `{"t":"row",}`, false, false, record{}},
		{"leading zero", `{"t":"row","seq":01}`, false, false, record{}},
		{"float seq", `{"t":"row","seq":1.5}`, false, false, record{}},
		{"string seq", `{"t":"row","seq":"1"}`, false, false, record{}},
		{"int target", `{"t":7}`, false, false, record{}},
		{"bare minus", `{"t":"row","seq":-}`, false, false, record{}},
		{"control char", "{\"t\":\"r\x01w\"}", false, false, record{}},
		{"two objects", `{"t":"row"}{"t":"row"}`, false, false, record{}},
		{"not an object", `["t","row"]`, false, false, record{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "services" {
				*tt.want.Verified = true
			}
			var fast record
			if got := fastRecord([]byte(tt.line), &fast); got != tt.fast {
				t.Fatalf("fastRecord = %v, want %v", got, tt.fast)
			}
			var rec record
			ok := decodeRecord([]byte(tt.line), &rec)
			if ok != tt.ok {
				t.Fatalf("decodeRecord = %v, want %v", ok, tt.ok)
			}
			if ok && !reflect.DeepEqual(rec, tt.want) {
				t.Errorf("got %+v\nwant %+v", rec, tt.want)
			}
		})
	}
}

// FuzzFastRecordMatchesEncodingJSON holds the hand reader to encoding/json:
// whatever it accepts, encoding/json accepts and reads the same way.
func FuzzFastRecordMatchesEncodingJSON(f *testing.F) {
	for _, s := range codecStrings {
		row := Row{Seq: 12, Line: 13, Target: s, Owner: s, Profile: s, Password: s}
		f.Add(appendRowRec(nil, &row))
		f.Add(appendIntentRec(nil, 1, 2, s, codecTime))
		f.Add(appendOutcomeRec(nil, &row, 1, &Outcome{Exit: 3, Class: "auth", Message: s}, codecTime))
	}
	f.Add([]byte(`{"t":"planned","rows":-0}`))
	f.Add([]byte(`{"t":"outcome","ok":true,"ok":false,"exit":999999999999999999}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var fast record
		if !fastRecord(line, &fast) {
			return
		}
		var std record
		if err := json.Unmarshal(line, &std); err != nil {
			t.Fatalf("fast reader accepted %q, encoding/json refused it: %v", line, err)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("%q:\nfast %+v\n std %+v", line, fast, std)
		}
	})
}

func BenchmarkRecordCodec(b *testing.B) {
	row := Row{Seq: 12345, Line: 12346, Target: "u012345", Profile: "whm1"}
	out := Outcome{OK: true, Class: "ok"}
	line := appendRowRec(nil, &row)
	b.Run("encode/intent+outcome", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = appendIntentRec(buf[:0], row.Seq, 1, "Xy7#kP2$mQ9!vL4&wR8zT1", codecTime)
			buf = appendOutcomeRec(buf, &row, 1, &out, codecTime)
		}
	})
	b.Run("encode/intent+outcome-encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		at := codecTime.UTC().Format(timeLayout)
		for b.Loop() {
			_, _ = encodeRecord(intentRec{T: recIntent, Seq: row.Seq, Attempt: 1, Password: "Xy7#kP2$mQ9!vL4&wR8zT1", At: at})
			_, _ = encodeRecord(outcomeRec{T: recOutcome, Seq: row.Seq, Line: row.Line, Target: row.Target, Profile: row.Profile,
				Attempt: 1, OK: true, Class: "ok", At: at})
		}
	})
	b.Run("decode/row", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var rec record
			if !decodeRecord(line, &rec) {
				b.Fatal("not read")
			}
		}
	})
	b.Run("decode/row-encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var rec record
			if json.Unmarshal(line, &rec) != nil {
				b.Fatal("not read")
			}
		}
	})
}

func FuzzAppendStringMatchesMarshal(f *testing.F) {
	for _, s := range codecStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString([]byte("x"), s); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("appendString(%q) = %s, want %s", s, got[1:], want)
		}
	})
}
