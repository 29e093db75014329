package cpanel

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkAgainstStdlib fails t when parseJSON accepts what encoding/json rejects or builds a
// different tree, or when decodeJSON answers differently from encoding/json. It returns whether
// the fast path accepted body.
func checkAgainstStdlib(t *testing.T, body []byte) bool {
	t.Helper()
	want, wantErr := stdlibDecode(body)
	got, ok := parseJSON(body)
	if ok {
		if wantErr != nil {
			t.Fatalf("parseJSON accepted %q, encoding/json rejects it: %v", body, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("parseJSON(%q) = %#v, encoding/json gives %#v", body, got, want)
		}
	}
	v, err := decodeJSON(body)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("decodeJSON(%q) error %v, encoding/json %v", body, err, wantErr)
	}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("decodeJSON(%q) = %#v, encoding/json gives %#v", body, v, want)
	}
	return ok
}

// jsonEdgeCases are inputs at the edges of the grammar and of what the fast path handles.
var jsonEdgeCases = []struct {
	name string
	in   string
	fast bool // whether the fast path must accept it (else it must decline)
}{
	{"object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, true},
	{"spaces", " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n", true},
	{"empty object", `{}`, true},
	{"empty array", `[]`, true},
	{"empty array in object", `{"a":[],"b":{}}`, true},
	{"top string", `"x"`, true},
	{"top number", `12`, true},
	{"top literal", `null`, true},
	{"top true", ` true `, true},
	{"numbers", `[0,-0,1.5,-1.5e10,2E-3,1e+2,0.0,123456789012345678901234567890]`, true},
	{"number text kept", `[1.50,1E2,-0.0]`, true},
	{"duplicate keys", `{"a":1,"a":2,"b":{"c":1},"b":"x"}`, true},
	{"escapes", `"a\"b\\c\/d\be\ff\ng\rh\ti"`, true},
	{"unicode escapes", `"\u00e9\u201cx\u201d\u0000\uFFFF\uabcd"`, true},
	{"escaped key", `{"a\nb":1,"a\u000ab":2}`, true},
	{"utf8", "\"Password changed for user “bob”. ü 😀\"", true},
	{"depth 64", strings.Repeat("[", 64) + strings.Repeat("]", 64), true},
	{"depth 65", strings.Repeat("[", 65) + strings.Repeat("]", 65), false},
	{"deep objects", strings.Repeat(`{"a":`, 65) + "1" + strings.Repeat("}", 65), false},
	{"surrogate pair", `"\ud83d\ude00"`, false},
	{"lone surrogate", `"\ud800"`, false},
	{"low surrogate upper case", `"\uDC00x"`, false},
	{"invalid utf8", "\"a\xffb\"", false},
	{"invalid utf8 with escape", "\"\\n\xc3\"", false},
	{"utf8 surrogate bytes", "\"\xed\xa0\x80\"", false},
	{"invalid utf8 key", "{\"\xff\":1}", false},
	{"empty", ``, false},
	{"white space only", "  \n", false},
	{"bom", "\xef\xbb\xbf{}", false},
	{"trailing value", `{} {}`, false},
	{"trailing garbage", `{}x`, false},
	{"trailing comma array", `[1,]`, false},
	{"trailing comma object", `{"a":1,}`, false},
	{"missing colon", `{"a" 1}`, false},
	{"missing comma", `[1 2]`, false},
	{"unquoted key", `{a:1}`, false},
	{"single quotes", `'a'`, false},
	{"unterminated string", `"abc`, false},
	{"unterminated escape", `"abc\`, false},
	{"unterminated array", `[1`, false},
	{"unterminated object", `{"a":1`, false},
	{"control char", "\"a\tb\"", false},
	{"bad escape", `"\x41"`, false},
	{"short unicode escape", `"\u12"`, false},
	{"bad hex", `"\u12g4"`, false},
	{"leading zero", `01`, false},
	{"leading zero in array", `[01]`, false},
	{"plus", `+1`, false},
	{"bare minus", `-`, false},
	{"dot first", `.5`, false},
	{"dot last", `1.`, false},
	{"bare exponent", `1e`, false},
	{"exponent sign only", `1e+`, false},
	{"hex number", `0x10`, false},
	{"NaN", `NaN`, false},
	{"truncated literal", `tru`, false},
	{"literal suffix", `nullx`, false},
	{"capital literal", `True`, false},
	{"nul byte after", "{}\x00", false},
	{"vertical tab space", "\v{}", false},
	{"truncated reply", `{"data":{"app":["system","ftp","mail","MySQL"]},"metadata":{"command":"pass`, false},
}

func TestParseJSONEdgeCases(t *testing.T) {
	for _, tc := range jsonEdgeCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkAgainstStdlib(t, []byte(tc.in)); got != tc.fast {
				t.Fatalf("parseJSON accepted=%v, want %v", got, tc.fast)
			}
		})
	}
}

// TestParseJSONTree pins a few trees by hand, so that a fault shared by both decoders (say,
// in how the test reads them) cannot hide.
func TestParseJSONTree(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{`{"metadata":{"result":1,"reason":"OK"},"data":{"app":["system"]}}`, map[string]any{
			"metadata": map[string]any{"result": json.Number("1"), "reason": "OK"},
			"data":     map[string]any{"app": []any{"system"}},
		}},
		{`[1.50,"\u201cx\u201d",true,false,null,[],{}]`, []any{json.Number("1.50"), "“x”", true, false, nil, []any{}, map[string]any{}}},
		{`{"a":1,"a":"last"}`, map[string]any{"a": "last"}},
		{`"tab\there"`, "tab\there"},
	}
	for _, tc := range cases {
		got, ok := parseJSON([]byte(tc.in))
		if !ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseJSON(%s) = %#v, %v; want %#v", tc.in, got, ok, tc.want)
		}
	}
}

// TestParseJSONRecordedReplies checks that every recorded reply encoding/json reads is taken by
// the fast path with the same tree (so the fast path really serves the servers' replies), and
// that every other recorded body is declined.
func TestParseJSONRecordedReplies(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repliesDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	fast := 0
	for _, name := range files {
		if strings.HasSuffix(name, ".meta") || strings.HasSuffix(name, ".md") {
			continue
		}
		body, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		_, stdErr := stdlibDecode(body)
		accepted := checkAgainstStdlib(t, body)
		if accepted != (stdErr == nil) {
			t.Errorf("%s: fast path accepted=%v, encoding/json error %v", filepath.Base(name), accepted, stdErr)
		}
		if accepted {
			fast++
		}
	}
	if fast < 40 {
		t.Fatalf("only %d recorded replies went through the fast path; is %s missing?", fast, repliesDir)
	}
}

// FuzzParseJSONMatchesStdlib checks that parseJSON never accepts what encoding/json rejects nor
// builds another tree, that decodeJSON answers as encoding/json does, and that the fast path
// does not decline plain small inputs it is meant to handle.
func FuzzParseJSONMatchesStdlib(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(repliesDir, "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatalf("no seeds in %s", repliesDir)
	}
	for _, name := range files {
		body, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	for _, tc := range jsonEdgeCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		accepted := checkAgainstStdlib(t, body)
		if accepted || len(body) > 2*maxParseDepth || !utf8.Valid(body) || bytes.Contains(bytes.ToLower(body), []byte(`\ud`)) {
			return
		}
		// Short enough to be within maxParseDepth, valid UTF-8, no surrogate escapes: the fast
		// path must take whatever encoding/json takes.
		if _, err := stdlibDecode(body); err == nil {
			t.Fatalf("parseJSON declined %q, which encoding/json reads", body)
		}
	})
}

// BenchmarkParseJSON compares the fast path with encoding/json on the same replies, side by
// side, so machine load affects both alike.
func BenchmarkParseJSON(b *testing.B) {
	bodies := []struct{ name, body string }{
		{"whmapi1", whm1PasswdOK},
		{"uapi", uapiOK},
		{"cpapi2", api2OK},
	}
	for _, bc := range bodies {
		body := []byte(bc.body)
		b.Run(bc.name+"/fast", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, ok := parseJSON(body); !ok {
					b.Fatal("declined")
				}
			}
		})
		b.Run(bc.name+"/stdlib", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := stdlibDecode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
