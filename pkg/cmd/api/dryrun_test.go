package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
)

// dryEntry is one request of a dry run's -o json or yaml, as a script reads
// it; Profile is a pointer to tell a missing field from an empty one.
type dryEntry struct {
	Profile *string           `json:"profile" yaml:"profile"`
	Method  string            `json:"method" yaml:"method"`
	URL     string            `json:"url" yaml:"url"`
	Headers map[string]string `json:"headers" yaml:"headers"`
	Body    string            `json:"body" yaml:"body"`
}

// The text form of one WHM API 1 passwd call on the test server, as the
// dry run has always printed it.
const passwdText = `POST https://server.test:2087/json-api/passwd?api.version=1
Authorization: whm <redacted>
Content-Type: application/x-www-form-urlencoded
User-Agent: cpctl

user=bob&password=<redacted>&note=<redacted>
`

func TestDryRunFormats(t *testing.T) {
	tests := []struct {
		name    string
		output  string // -o; "" for none
		env     string // CPCTL_OUTPUT
		profile string
		all     bool
		code    int
		// text is the whole stdout of a text form; profiles the entries'
		// profiles of a structured one ("" for no profile field).
		text     string
		yaml     bool
		profiles []string
		stderr   string
	}{
		{name: "default is text", profile: "whm", text: passwdText},
		{name: "CPCTL_OUTPUT=table is text", env: "table", profile: "whm", text: passwdText},
		{name: "several profiles as text", profile: "whm,s2",
			text: "# profile whm\n" + passwdText + "\n# profile s2\n" + passwdText},
		{name: "json", output: "json", profile: "whm", profiles: []string{""}},
		{name: "jsonpretty", output: "jsonpretty", profile: "whm", profiles: []string{""}},
		{name: "yaml", output: "yaml", profile: "whm", yaml: true, profiles: []string{""}},
		{name: "CPCTL_OUTPUT=jsonl", env: "jsonl", profile: "whm", profiles: []string{""}},
		{name: "CPCTL_OUTPUT=yaml", env: "yaml", profile: "whm", yaml: true, profiles: []string{""}},
		{name: "json, several profiles", output: "json", profile: "whm,s2", profiles: []string{"whm", "s2"}},
		{name: "yaml, all profiles, one fails", output: "yaml", all: true, code: cmdutil.ExitPartial,
			yaml: true, profiles: []string{"s2", "whm"}, stderr: "cpctl: cp: whmapi1 needs a WHM server"},
		{name: "json, several profiles, one fails", output: "json", profile: "whm,cp,s2", code: cmdutil.ExitPartial,
			profiles: []string{"whm", "s2"}, stderr: "cpctl: cp: whmapi1 needs a WHM server"},
		{name: "json, every profile fails", output: "json", profile: "cp,cp", code: cmdutil.ExitUsage,
			profiles: []string{}, stderr: "cpctl: cp: whmapi1 needs a WHM server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, "whm", "s2")
			e.in.WriteString("from-stdin-secret\n")
			e.f.DryRun = true
			o := &Options{API: cpanel.WHMAPI1, Function: "passwd", Args: []string{"user=bob", "password=inline-secret", "note=@-"},
				Output: tt.output, outputSet: tt.output != "", EnvOutput: tt.env, AllProfiles: tt.all}
			profile := tt.profile
			if tt.all {
				profile = ""
			}
			if code := e.run(t, o, profile); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, e.err)
			}
			out, errOut := e.out.String(), e.err.String()
			if len(e.rec.reqs) != 0 {
				t.Fatal("a dry run sent a request")
			}
			for _, s := range []string{"inline-secret", "from-stdin-secret", testToken} {
				if strings.Contains(out+errOut, s) {
					t.Errorf("%q leaked:\nstdout:\n%s\nstderr:\n%s", s, out, errOut)
				}
			}
			if !strings.Contains(errOut, "cpctl: dry run: nothing was sent\n") || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q, want the note and %q", errOut, tt.stderr)
			}
			if tt.profiles == nil {
				if out != tt.text {
					t.Errorf("stdout:\n%s\nwant:\n%s", out, tt.text)
				}
				return
			}
			var list []dryEntry
			var err error
			if tt.yaml {
				if !strings.HasPrefix(out, "---\n") {
					t.Errorf("YAML without the server tools' start line:\n%s", out)
				}
				err = yaml.Unmarshal([]byte(out), &list)
			} else {
				err = json.Unmarshal([]byte(out), &list)
			}
			if err != nil || list == nil {
				t.Fatalf("stdout is not a list: %v\n%s", err, out)
			}
			if len(list) != len(tt.profiles) {
				t.Fatalf("%d entries, want %d:\n%s", len(list), len(tt.profiles), out)
			}
			for i, r := range list {
				switch want := tt.profiles[i]; {
				case want == "" && r.Profile != nil:
					t.Errorf("entry %d names profile %q with one profile", i, *r.Profile)
				case want != "" && (r.Profile == nil || *r.Profile != want):
					t.Errorf("entry %d: profile %v, want %q", i, r.Profile, want)
				}
				// The entry is the text form's request, redacted alike.
				h := http.Header{}
				for k, v := range r.Headers {
					h.Set(k, v)
				}
				var text bytes.Buffer
				cmdutil.WriteRequest(&text, r.Method, r.URL, h, r.Body)
				if text.String() != passwdText {
					t.Errorf("entry %d as text:\n%s\nwant:\n%s", i, text.String(), passwdText)
				}
			}
		})
	}
}

// A dry run needs no credentials, and the stand-in for the missing secret
// must hide nothing of the request: a value that holds it (as "sunset"
// holds "unset") is shown as given.
func TestDryRunWithoutCredentialsShowsEveryValue(t *testing.T) {
	for _, output := range []string{"", "json"} {
		t.Run("output="+output, func(t *testing.T) {
			e := newTestEnv(t)
			path := e.f.Viper.GetString(cmdutil.KeyConfig)
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Profiles["nocred"] = &config.Profile{URL: "https://server.test:2087", Kind: "whm", User: "root", Auth: "token"}
			if err := cfg.Save(path); err != nil {
				t.Fatal(err)
			}
			e.f.DryRun = true
			o := &Options{API: cpanel.WHMAPI1, Function: "listaccts", Output: output, outputSet: output != "",
				Args: []string{"search=sunset"}}
			if code := e.run(t, o, "nocred"); code != 0 {
				t.Fatalf("exit %d: %s", code, e.err)
			}
			const want = "search=sunset"
			if !strings.Contains(e.out.String(), want) {
				t.Errorf("stdout lacks %q:\n%s", want, e.out.String())
			}
		})
	}
}
