package cmdutil

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

func TestWriteDryRun(t *testing.T) {
	// Two values of one header: one line each as text, joined in a list.
	h := http.Header{"Authorization": {"whm <redacted>"}, "Accept": {"a/b", "c/d"}}
	one := NewDryRequest("POST", "https://h:2087/json-api/f", h, "x=1&p=<redacted>")
	named := func(p string) DryRequest { r := one; r.Profile = p; return r }
	const text = "POST https://h:2087/json-api/f\nAccept: a/b\nAccept: c/d\nAuthorization: whm <redacted>\n\nx=1&p=<redacted>\n"
	const entry = `"method":"POST","url":"https://h:2087/json-api/f","headers":{"Accept":"a/b, c/d","Authorization":"whm <redacted>"},"body":"x=1&p=<redacted>"}`
	tests := []struct {
		name string
		reqs []DryRequest
		list bool
		want string
	}{
		{name: "text", reqs: []DryRequest{one, one}, want: text + text},
		{name: "text per profile", reqs: []DryRequest{named("a"), named("b")},
			want: "# profile a\n" + text + "\n# profile b\n" + text},
		{name: "nothing as text", want: ""},
		{name: "list", reqs: []DryRequest{one}, list: true, want: `[{` + entry + "]\n"},
		{name: "list per profile", reqs: []DryRequest{named("a")}, list: true, want: `[{"profile":"a",` + entry + "]\n"},
		{name: "nothing as a list", list: true, want: "[]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			var print func(any) error
			if tt.list {
				enc := json.NewEncoder(&out)
				enc.SetEscapeHTML(false)
				print = enc.Encode
			}
			if err := WriteDryRun(&out, tt.reqs, print); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
}
