package api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
)

const passwdReply = `{"data":{"app":["system","ftp"]},"metadata":{"command":"passwd","reason":"Password changed for user “bob”.","result":1,"version":1}}`

func render(t *testing.T, f Format, body string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, f, []byte(body)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestRenderJSONAsIs(t *testing.T) {
	// Escapes, spacing and key order are the server's.
	body := `{"z":1, "a":"\u003c&amp;", "m":{"y":null}}`
	if got := render(t, JSON, body+"\n"); got != body+"\n" {
		t.Errorf("got %q", got)
	}
}

func TestRenderJSONPretty(t *testing.T) {
	got := render(t, JSONPretty, `{"z":1,"a":[1,"x"]}`)
	want := "{\n   \"z\": 1,\n   \"a\": [\n      1,\n      \"x\"\n   ]\n}\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRenderYAML(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"key order kept", passwdReply, `---
data:
  app:
    - system
    - ftp
metadata:
  command: passwd
  reason: Password changed for user “bob”.
  result: 1
  version: 1
`},
		{"string numbers stay strings", `{"result":"0","n":0,"f":1.50,"b":true,"s":"true","e":""}`, `---
result: "0"
n: 0
f: 1.50
b: true
s: "true"
e: ""
`},
		{"null empty and nested", `{"errors":null,"data":{},"list":[],"deep":[[1,2],{"k":"v"}]}`, `---
errors: ~
data: {}
list: []
deep:
  - - 1
    - 2
  - k: v
`},
		{"multi-line text", `{"rawout":"line one\nline two"}`, `---
rawout: |-
  line one
  line two
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, YAML, tt.body)
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			// What a YAML parser reads equals what a JSON parser reads.
			var fromYAML, fromJSON any
			if err := yaml.Unmarshal([]byte(got), &fromYAML); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.body), &fromJSON); err != nil {
				t.Fatal(err)
			}
			if normal(fromYAML) != normal(fromJSON) {
				t.Errorf("YAML reads as %v, JSON as %v", normal(fromYAML), normal(fromJSON))
			}
		})
	}
}

// normal prints a decoded value with numbers as float64, so YAML's ints and
// JSON's floats compare equal.
func normal(v any) string {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	b, _ = json.Marshal(out)
	return string(b)
}

func TestRenderXML(t *testing.T) {
	got := render(t, XML, `{"data":{"app":["system","ftp"],"bad key":"<&>","1st":null,"nest":[[1,2]]},"metadata":{"result":1}}`)
	want := xml.Header + `<result>
  <data>
    <app>system</app>
    <app>ftp</app>
    <item key="bad key">&lt;&amp;&gt;</item>
    <item key="1st"/>
    <nest>
      <item>1</item>
      <item>2</item>
    </nest>
  </data>
  <metadata>
    <result>1</result>
  </metadata>
</result>
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Well-formed.
	d := xml.NewDecoder(strings.NewReader(got))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed XML: %v", err)
			}
			break
		}
	}
}

func TestRenderRejectsNonJSON(t *testing.T) {
	for _, f := range []Format{YAML, XML, JSONPretty} {
		if err := Render(&bytes.Buffer{}, f, []byte(`{"a":1} trailing`)); err == nil {
			t.Errorf("%s: want an error for a body that is not one JSON value", f)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"json": JSON, "JSONPretty": JSONPretty, "yaml": YAML, " xml ": XML} {
		got, err := ParseFormat(in)
		if err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "table", "csv"} {
		if _, err := ParseFormat(bad); err == nil {
			t.Errorf("ParseFormat(%q) accepted", bad)
		}
	}
}

func TestSummarize(t *testing.T) {
	refused := &cmdutil.ExitError{Code: 1, Err: errors.New("refused")}
	down := &cmdutil.ExitError{Code: 4, Err: errors.New("down")}
	ok := Result{Profile: "a"}
	tests := []struct {
		name  string
		rs    []Result
		code  int
		lines int
	}{
		{"all ok", []Result{ok, ok}, 0, 0},
		{"one failed", []Result{ok, {Profile: "b", Err: down}}, 5, 1},
		{"all failed alike", []Result{{Profile: "a", Err: down}, {Profile: "b", Err: down}}, 4, 2},
		{"all failed differently", []Result{{Profile: "a", Err: down}, {Profile: "b", Err: refused}}, 5, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.rs {
				tt.rs[i] = tt.rs[i].done()
			}
			var buf bytes.Buffer
			err := summarize(&buf, tt.rs)
			if got := cmdutil.ExitCode(err); got != tt.code {
				t.Errorf("exit %d, want %d", got, tt.code)
			}
			if n := strings.Count(buf.String(), "\n"); n != tt.lines {
				t.Errorf("%d stderr lines, want %d:\n%s", n, tt.lines, buf.String())
			}
		})
	}
}

func TestRenderResults(t *testing.T) {
	rs := []Result{
		{Profile: "a", Body: []byte(`{"metadata":{"result":1}, "data":{"x":"<"}}`)},
		Result{Profile: "b", Err: &cmdutil.ExitError{Code: 4, Err: errors.New("cannot connect")}}.done(),
	}
	var buf bytes.Buffer
	if err := renderResults(&buf, JSON, rs); err != nil {
		t.Fatal(err)
	}
	want := `[{"profile":"a","exit":0,"reply":{"metadata":{"result":1},"data":{"x":"<"}}},{"profile":"b","exit":4,"error":"cannot connect","reply":null}]` + "\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := renderResults(&buf, YAML, rs); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := yaml.Unmarshal(buf.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0]["profile"] != "a" || list[1]["exit"] != 4 || list[1]["error"] != "cannot connect" || list[1]["reply"] != nil {
		t.Errorf("unexpected YAML:\n%s", buf.String())
	}
	if !reflect.DeepEqual(list[0]["reply"], map[string]any{"metadata": map[string]any{"result": 1}, "data": map[string]any{"x": "<"}}) {
		t.Errorf("reply of a: %v", list[0]["reply"])
	}
	buf.Reset()
	if err := renderResults(&buf, XML, rs); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Servers []struct {
			Profile string `xml:"profile,attr"`
			Exit    int    `xml:"exit,attr"`
			Error   string `xml:"error"`
			X       string `xml:"result>data>x"`
		} `xml:"server"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if len(doc.Servers) != 2 || doc.Servers[0].X != "<" || doc.Servers[1].Exit != 4 || doc.Servers[1].Error != "cannot connect" {
		t.Errorf("unexpected XML:\n%s", buf.String())
	}
}
