package cpanel

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// recorded is one file of testdata/replies with its sidecar.
type recorded struct {
	name   string
	status int
	ctype  string
	class  string // ok, refused, auth, transport
	api    string // optional hint from the sidecar
	body   []byte
}

const repliesDir = "../../testdata/replies"

// parseMeta reads a sidecar in the forms "key: value" per line, "key=value" words, or one line of
// bare words ("200 application/json refused"), so the format may evolve without breaking this.
func parseMeta(text string) (status int, ctype, class, api string) {
	fields := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' })
	for _, f := range fields {
		k, v, ok := strings.Cut(f, ":")
		if !ok || strings.Contains(k, "/") {
			k, v, ok = strings.Cut(f, "=")
		}
		k = strings.ToLower(strings.Trim(strings.TrimSpace(k), `"'#- `))
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		if !ok {
			for _, w := range strings.Fields(f) {
				switch lw := strings.ToLower(w); {
				case lw == "ok" || lw == "refused" || lw == "auth" || lw == "transport":
					class = lw
				case strings.Contains(w, "/"):
					ctype = w
				default:
					if n, err := strconv.Atoi(w); err == nil && n >= 100 && n < 600 {
						status = n
					}
				}
			}
			continue
		}
		switch {
		case strings.Contains(k, "status") || k == "code":
			if n, err := strconv.Atoi(strings.Fields(v + " x")[0]); err == nil {
				status = n
			}
		case strings.Contains(k, "type"):
			ctype = v
		case strings.Contains(k, "class") || strings.Contains(k, "expect") || k == "result":
			class = strings.ToLower(v)
		case k == "api":
			api = strings.ToLower(v)
		}
	}
	return status, ctype, class, api
}

func loadRecorded(tb testing.TB) []recorded {
	tb.Helper()
	entries, err := os.ReadDir(repliesDir)
	if err != nil {
		return nil
	}
	var out []recorded
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, ".meta") || strings.HasPrefix(name, ".") || strings.EqualFold(name, "README.md") {
			continue
		}
		body, err := os.ReadFile(filepath.Join(repliesDir, name))
		if err != nil {
			tb.Fatal(err)
		}
		base := strings.TrimSuffix(name, filepath.Ext(name))
		meta, err := os.ReadFile(filepath.Join(repliesDir, base+".meta"))
		if err != nil {
			// Header-line form: a first line starting with '#' carries the metadata.
			if i := bytes.IndexByte(body, '\n'); i > 0 && body[0] == '#' {
				meta, body = body[1:i], body[i+1:]
			} else {
				tb.Fatalf("%s: no %s.meta sidecar and no header line", name, base)
			}
		}
		r := recorded{name: name, body: body}
		r.status, r.ctype, r.class, r.api = parseMeta(string(meta))
		if r.status == 0 || r.class == "" {
			tb.Fatalf("%s: sidecar %q gives no status or class", name, meta)
		}
		out = append(out, r)
	}
	return out
}

// requestFor names the call that produced a recorded reply, from the sidecar's api key.
func requestFor(t *testing.T, r recorded) (Request, Kind) {
	switch r.api {
	case "whmapi1", "any":
		if strings.Contains(string(r.body), `"uapi":`) {
			return reqUAPIC, KindWHM
		}
		return reqWHM1, KindWHM
	case "whmapi0":
		return reqWHM0, KindWHM
	case "whmapi0-xml":
		return reqWHM0XML, KindWHM
	case "cpapi2":
		// API 2 replies name their function; the record rules differ between a password change
		// (verdict in data[0]) and a listing (records without one).
		var env struct {
			R struct{ Module, Func string } `json:"cpanelresult"`
		}
		if json.Unmarshal(r.body, &env) == nil && env.R.Module != "" && env.R.Func != "" {
			return Request{API: CPAPI2, Module: env.R.Module, Function: env.R.Func, User: "bob"}, KindWHM
		}
		return reqAPI2, KindWHM
	case "cpapi2-uapi":
		return reqUAPI3, KindWHM
	case "uapi":
		return reqUAPI, KindCPanel
	}
	t.Fatalf("%s: unknown api %q in the sidecar", r.name, r.api)
	return Request{}, ""
}

var classKinds = map[string]ErrorKind{"ok": 0, "success": 0, "refused": ErrRefused, "auth": ErrAuth, "transport": ErrTransport}

// TestRecordedReplies decodes every recorded reply into its class; until the directory holds
// files, the docs/protocol.md table (TestAnalyzeProtocolShapes) is the whole check.
func TestRecordedReplies(t *testing.T) {
	recs := loadRecorded(t)
	if len(recs) == 0 {
		t.Logf("%s is empty or absent; the docs/protocol.md table covers decoding", repliesDir)
		if len(protocolCases()) < 40 {
			t.Fatal("the built-in reply table shrank")
		}
		return
	}
	for _, r := range recs {
		t.Run(r.name, func(t *testing.T) {
			class := r.class
			want, ok := classKinds[class]
			if !ok {
				t.Fatalf("unknown class %q", class)
			}
			var got *Error
			if r.api == "login" {
				rep := &Reply{Status: r.status, ContentType: r.ctype, Body: r.body}
				if v, err := decodeJSON(r.body); err == nil {
					rep.Decoded = v
				}
				_, got = analyzeLogin(rep)
			} else {
				req, kind := requestFor(t, r)
				tc := replyCase{name: r.name, kind: kind, req: req, status: r.status, ctype: r.ctype, body: string(r.body), wantKind: want}
				got = analyzeBody(t, tc).err
			}
			a := struct{ err *Error }{got}
			switch {
			case want == 0 && a.err != nil:
				t.Fatalf("want ok, got %v", a.err)
			case want != 0 && a.err == nil:
				t.Fatalf("want %s, got success", class)
			case want != 0 && a.err.Kind != want:
				t.Fatalf("want %s (%d), got %d: %v", class, want, a.err.Kind, a.err)
			}
		})
	}
}

func TestParseMeta(t *testing.T) {
	tests := []struct {
		in         string
		status     int
		ctype, cls string
	}{
		{"status: 403\ncontent-type: text/plain; charset=UTF-8\nclass: auth\n", 403, "text/plain; charset=UTF-8", "auth"},
		{"200 application/json refused", 200, "application/json", "refused"},
	}
	for _, tt := range tests {
		s, c, cl, _ := parseMeta(tt.in)
		if s != tt.status || c != tt.ctype || cl != tt.cls {
			t.Errorf("parseMeta(%q) = %d,%q,%q", tt.in, s, c, cl)
		}
	}
}
