package cpanel

import (
	"strings"
	"testing"
)

// fuzzSeeds adds the docs/protocol.md table and any recorded replies to a fuzz corpus.
func fuzzSeeds(f *testing.F, add func(status int, body []byte)) {
	for _, tc := range protocolCases() {
		add(tc.status, []byte(tc.body))
	}
	for _, r := range loadRecorded(f) {
		add(r.status, r.body)
	}
	for _, h := range hostileCases() {
		add(200, []byte(h.body))
	}
}

// FuzzDecodeJSON feeds arbitrary bodies to the JSON reply decoder of every API shape: it must
// never panic, and a 2xx reply that is not valid JSON must never count as success.
func FuzzDecodeJSON(f *testing.F) {
	fuzzSeeds(f, func(status int, body []byte) { f.Add(status, body) })
	reqs := []struct {
		req  Request
		kind Kind
	}{{reqWHM1, KindWHM}, {reqWHM0, KindWHM}, {reqAPI2, KindWHM}, {reqUAPI, KindCPanel}, {reqUAPI3, KindWHM}, {reqUAPIC, KindWHM}}
	clients := map[Kind]*Client{KindWHM: mustClient(f, KindWHM), KindCPanel: mustClient(f, KindCPanel)}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			status = 200
		}
		for _, r := range reqs {
			b, err := clients[r.kind].build(r.req)
			if err != nil {
				t.Fatal(err)
			}
			rep := &Reply{Status: status, ContentType: "application/json", Body: body}
			if looksJSON(body) {
				if v, err := decodeJSON(body); err == nil {
					rep.Decoded = v
				}
			}
			a := analyze(b, rep)
			if a.err == nil && (rep.Decoded == nil || status < 200 || status > 299) {
				t.Fatalf("%s: success from status %d / undecodable body %q", r.req.API, status, body)
			}
			if a.err == nil && !hasSuccessMarker(rep.Decoded) {
				t.Fatalf("%s: success without a 1 or \"1\" marker anywhere in %q", r.req.API, body)
			}
			if a.err != nil && (a.err.Kind != ErrRefused && a.err.Kind != ErrAuth && a.err.Kind != ErrTransport) {
				t.Fatalf("unknown kind %d", a.err.Kind)
			}
			if a.err != nil && a.err.Kind != ErrTransport && a.err.Reason == "" {
				t.Fatalf("%s: a refusal without a reason from %q", r.req.API, body)
			}
		}
	})
}

// hasSuccessMarker reports whether a result or status member anywhere in the tree is 1 or "1":
// no success may be read from a reply without one.
func hasSuccessMarker(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if n, ok := marker(e); ok && n == 1 && (k == "result" || k == "status") {
				return true
			}
			if hasSuccessMarker(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasSuccessMarker(e) {
				return true
			}
		}
	}
	return false
}

// FuzzDecodeXML feeds arbitrary bodies to the WHM API 0 XML decoder.
func FuzzDecodeXML(f *testing.F) {
	f.Add([]byte(`<passwd><passwd><status>1</status><statusmsg>ok</statusmsg><services><app>system</app></services></passwd></passwd>`))
	f.Add([]byte(`<passwd><passwd><status>0</status><statusmsg>no</statusmsg></passwd></passwd>`))
	for _, r := range loadRecorded(f) {
		if strings.HasSuffix(r.name, ".xml") {
			f.Add(r.body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a := analyzeXML(&Reply{Status: 200, ContentType: "text/xml", Body: body})
		if a.err == nil && !strings.Contains(string(body), "status>") && !strings.Contains(string(body), "result>") {
			t.Fatalf("success without a status element: %q", body)
		}
	})
}

// FuzzRedact checks that redaction never panics and that a secret JSON value never survives.
func FuzzRedact(f *testing.F) {
	f.Add(`{"security_token":"/cpsess0123456789"}`, "hunter22")
	f.Add(`{"password" : "x\"y","a":"b"}`, "pw")
	f.Add(`cpsess`, "")
	c := mustClient(f, KindWHM)
	f.Fuzz(func(t *testing.T, body, secret string) {
		form := []Param{{Key: "password", Value: secret}}
		out := c.redactBody(body, form)
		if len(secret) >= 4 && strings.Contains(out, secret) && !strings.Contains(redacted, secret) {
			t.Fatalf("secret %q survives in %q", secret, out)
		}
	})
}

// FuzzListingDecoders feeds arbitrary JSON to the payload readers of the listings: they must never
// panic, and whatever they accept holds only names a server could have sent.
func FuzzListingDecoders(f *testing.F) {
	for _, r := range loadRecorded(f) {
		f.Add(r.body)
	}
	f.Add([]byte(`[{"user":"a@b.example","type":"sub"},{"email":"x"}]`))
	f.Add([]byte(`{"data":{"acct":[{"user":"bob","domain":"b.example","owner":"root","suspended":"1"}]}}`))
	f.Add([]byte(`{"user":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := decodeJSON(body)
		if err != nil {
			return
		}
		// Each reader gets the whole body and, as the call would hand it, each payload inside.
		payloads := []any{v}
		if m, ok := v.(map[string]any); ok {
			for _, k := range []string{"data", "result", "cpanelresult"} {
				payloads = append(payloads, m[k])
				if inner, ok := m[k].(map[string]any); ok {
					payloads = append(payloads, inner["data"])
				}
			}
		}
		for _, p := range payloads {
			checkNames(t, "accounts", accountNames(parseAccounts(p)))
			if owner, found, why := parseDomainOwner(p); why == "" && found && !plainName(owner) {
				t.Fatalf("owner %q accepted", owner)
			}
			if ls, why := parseFTPLogins(p); why == "" {
				for _, l := range ls {
					checkNames(t, "ftp", []string{l.Login, l.User, l.Type})
					if (l.Domain != "") != strings.Contains(l.Login, "@") {
						t.Fatalf("ftp %+v", l)
					}
				}
			}
			if bs, why := parseMailboxes(p); why == "" {
				for _, b := range bs {
					checkNames(t, "mailbox", []string{b.Address, b.Local})
					if b.Main == strings.Contains(b.Address, "@") || (!b.Main && b.Domain == "") {
						t.Fatalf("mailbox %+v", b)
					}
				}
			}
			if us, why := parseMySQLUsers(p); why == "" {
				checkNames(t, "mysql", us)
			}
			if us, why := parsePostgresUsers(p); why == "" {
				checkNames(t, "postgresql", us)
			}
			if ds, why := parseWebDisks(p); why == "" {
				for _, d := range ds {
					checkNames(t, "webdisk", []string{d.Login, d.Domain})
				}
			}
		}
	})
}

func accountNames(as []AccountInfo, why string) []string {
	if why != "" {
		return nil
	}
	var out []string
	for _, a := range as {
		out = append(out, a.User, a.Domain, a.Owner)
	}
	return out
}

func checkNames(t *testing.T, what string, names []string) {
	t.Helper()
	for _, n := range names {
		if !plainName(n) {
			t.Fatalf("%s: name %q accepted", what, n)
		}
	}
}
