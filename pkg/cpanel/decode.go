package cpanel

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"net/http"
	"slices"
	"strings"
)

// analysis is what a reply says: success or the failure, plus the message and services that a
// Result shows.
type analysis struct {
	err      *Error // nil on success
	message  string
	services []string
	data     any // the API's payload: WHM API 1 data, UAPI data, API 2 data, API 0 first record
}

// decodeJSON decodes a whole body as generic JSON with json.Number numbers. Trailing data other
// than white space is an error, so a concatenation or truncation is not mistaken for a reply.
func decodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON reply")
	}
	return v, nil
}

// marker reads a documented result or status field. The servers send 1 and 0, as JSON numbers
// or as the strings "1" and "0" (docs/protocol.md); every other value (true, "false", 2, -0,
// "0.00", 1e0, " 1") is not a marker at all, so a reply carrying one is unreadable rather than a
// success or a refusal.
func marker(v any) (int, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = x
	default:
		return -1, false
	}
	switch s {
	case "1":
		return 1, true
	case "0":
		return 0, true
	}
	return -1, false
}

// str returns m[key] when it is a string, trimmed.
func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return strings.TrimSpace(s)
}

// firstString returns the first non-empty string among m's keys.
func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s := str(m, k); s != "" {
			return s
		}
	}
	return ""
}

// joinStrings joins a JSON list of messages (or a single string).
func joinStrings(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case []any:
		var parts []string
		for _, e := range x {
			if s, ok := e.(string); ok && strings.TrimSpace(s) != "" {
				parts = append(parts, strings.TrimSpace(s))
			}
		}
		return strings.Join(parts, "; ")
	}
	return ""
}

// apps collects "app" names from a list of {"app": NAME} objects or plain strings.
func apps(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		switch x := e.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			if s, ok := x["app"].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// obj returns m[key] when it is a JSON object.
func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

// refused is the analysis of an explicit failure marker. Without a reason the marker alone is
// not trusted: cPanel always says why it refused, so a bare 0 is an unreadable reply.
func refused(status int, reason string) *analysis {
	if reason == "" {
		return unreadable(status, "a failure marker without a reason")
	}
	kind, tf := classifyReason(reason)
	return &analysis{err: &Error{Kind: kind, Status: status, Reason: reason, TwoFactor: tf}, message: reason}
}

// unreadable is the analysis of a reply that is neither a documented success nor a documented
// refusal. The call may have run.
func unreadable(status int, why string) *analysis {
	return &analysis{err: &Error{Kind: ErrTransport, Status: status, Reason: "unreadable reply: " + why}}
}

// cpanelRefusal reads WHM's own refusal of a /json-api/cpanel call, made before any cPanel
// function ran: {"data":{"reason":R,"result":"0"},"type":"text","error":E}. It comes bare for
// apiversion 3 and 1, inside cpanelresult for apiversion 2, with the message HTML-escaped.
func cpanelRefusal(m map[string]any) (string, bool) {
	d := obj(m, "data")
	if d == nil {
		return "", false
	}
	if v, ok := marker(d["result"]); !ok || v != 0 {
		return "", false
	}
	reason := firstString(d, "reason")
	if reason == "" {
		reason = str(m, "error")
	}
	return html.UnescapeString(reason), true
}

// readWHM1 reads a WHM API 1 envelope: metadata.result 1 is success, 0 with metadata.reason a
// refusal.
func readWHM1(st int, m map[string]any) *analysis {
	md := obj(m, "metadata")
	if md == nil {
		return unreadable(st, "not a WHM API 1 reply (no metadata)")
	}
	switch v, ok := marker(md["result"]); {
	case !ok:
		return unreadable(st, "WHM API 1 metadata.result is not 1 or 0")
	case v == 0:
		return refused(st, firstString(md, "reason"))
	}
	a := &analysis{message: str(md, "reason"), data: m["data"]}
	if d := obj(m, "data"); d != nil {
		a.services = apps(d["app"])
	}
	return a
}

// readUAPI reads a UAPI object: status 1 is success, 0 with errors a refusal.
func readUAPI(st int, u map[string]any) *analysis {
	if u == nil {
		return unreadable(st, "not a UAPI reply")
	}
	switch v, ok := marker(u["status"]); {
	case !ok:
		return unreadable(st, "UAPI status is not 1 or 0")
	case v == 0:
		return refused(st, joinStrings(u["errors"]))
	}
	return &analysis{data: u["data"], message: joinStrings(u["messages"])}
}

// api2RecordFunctions answer their verdict in data[0] (result or status) and nowhere else:
// they return normally when they refuse, so event.result is 1 either way.
var api2RecordFunctions = map[string]bool{
	"Ftp::passwd": true, "Email::passwdpop": true, "Passwd::change_password": true,
}

// readAPI2 reads a cPanel API 2 reply. Every place a failure can show is checked; success needs
// event.result 1 and, for the functions that report in data[0], a record marker of 1.
func readAPI2(st int, b built, m map[string]any) *analysis {
	cr := obj(m, "cpanelresult")
	if cr == nil {
		if reason, ok := cpanelRefusal(m); ok {
			return refused(st, reason)
		}
		return unreadable(st, "not a cPanel API 2 reply (no cpanelresult)")
	}
	if reason, ok := cpanelRefusal(cr); ok {
		return refused(st, reason)
	}
	if pre := obj(cr, "preevent"); pre != nil {
		switch v, ok := marker(pre["result"]); {
		case !ok:
			return unreadable(st, "cPanel API 2 preevent.result is not 1 or 0")
		case v == 0:
			// A hook stopped the call before the function ran.
			return refused(st, firstString(pre, "reason"))
		}
	}
	switch v, ok := marker(obj(cr, "event")["result"]); {
	case !ok:
		return unreadable(st, "cPanel API 2 event.result is not 1 or 0")
	case v == 0:
		reason := str(cr, "error")
		if reason == "" {
			reason = firstString(obj(cr, "event"), "reason")
		}
		return refused(st, reason)
	}
	a := &analysis{data: cr["data"]}
	list, _ := cr["data"].([]any)
	var rec map[string]any
	if len(list) > 0 {
		rec, _ = list[0].(map[string]any)
	}
	needRecord := api2RecordFunctions[b.module+"::"+b.fn]
	if rec == nil && needRecord {
		return unreadable(st, "cPanel API 2 reply without a data record")
	}
	if rec != nil {
		if bad := readRecord(st, rec, str(cr, "error"), needRecord); bad != nil {
			return bad
		}
		a.message = firstString(rec, "statustxt", "statusmsg", "reason")
		a.services = apps(rec["applist"])
	}
	if e := str(cr, "error"); e != "" {
		return unreadable(st, "cPanel API 2 reply says success and carries an error: "+e)
	}
	if post := obj(cr, "postevent"); post != nil {
		if v, ok := marker(post["result"]); !ok || v != 1 {
			// The function ran and reported success; what came after it did not.
			return unreadable(st, "the call ran but a hook after it failed: "+firstString(post, "reason"))
		}
	}
	return a
}

// readRecord checks the result and status fields of an API 2 data record. Any 0 is a refusal;
// a value that is no marker is unreadable; a record without either is accepted only when the
// function does not report in it. nil means the record says success.
func readRecord(st int, rec map[string]any, crError string, needMarker bool) *analysis {
	seen := false
	for _, k := range [...]string{"result", "status"} {
		v, present := rec[k]
		if !present {
			continue
		}
		switch n, ok := marker(v); {
		case !ok:
			return unreadable(st, "cPanel API 2 data[0]."+k+" is not 1 or 0")
		case n == 0:
			reason := firstString(rec, "error", "reason", "statustxt", "statusmsg")
			if reason == "" {
				reason = crError
			}
			return refused(st, reason)
		}
		seen = true
	}
	if !seen && needMarker {
		why := "cPanel API 2 data record without a result"
		if e := str(rec, "error"); e != "" {
			why += " (the server said: " + e + ")"
		}
		return unreadable(st, why)
	}
	return nil
}

// readWHM0 reads a WHM API 0 JSON reply: {"FUNCTION":[{"status":1,"statusmsg":...}]} ("result"
// instead of "status" for some functions), or a top-level status for others.
func readWHM0(st int, fn string, m map[string]any) *analysis {
	rec := m
	if list, ok := m[fn].([]any); ok && len(list) > 0 {
		if r, ok := list[0].(map[string]any); ok {
			rec = r
		}
	}
	key := "status"
	if _, has := rec[key]; !has {
		key = "result"
	}
	switch v, ok := marker(rec[key]); {
	case !ok:
		return unreadable(st, "not a WHM API 0 reply (no status 1 or 0)")
	case v == 0:
		return refused(st, firstString(rec, "statusmsg", "reason", "error"))
	}
	return &analysis{message: str(rec, "statusmsg"), services: apps(rec["services"]), data: rec}
}

// read applies the called API's own rules to a decoded JSON reply.
func read(st int, b built, v any) *analysis {
	m, ok := v.(map[string]any)
	if !ok {
		return unreadable(st, "not a JSON object")
	}
	switch {
	case b.uapiCpanel:
		a := readWHM1(st, m)
		if a.err != nil {
			return a
		}
		return readUAPI(st, obj(obj(m, "data"), "uapi"))
	case b.api == WHMAPI1:
		return readWHM1(st, m)
	case b.api == WHMAPI0:
		return readWHM0(st, b.fn, m)
	case b.api == CPAPI2:
		return readAPI2(st, b, m)
	case b.api == UAPI && b.uapiWrapped:
		if r := obj(m, "result"); r != nil {
			return readUAPI(st, r)
		}
		if reason, ok := cpanelRefusal(m); ok {
			return refused(st, reason)
		}
		return unreadable(st, "not a UAPI reply (no result)")
	case b.api == UAPI:
		return readUAPI(st, m)
	}
	return unreadable(st, "unknown API")
}

// anyReason finds a message in the error shapes servers and proxies send with a failing HTTP
// status, whatever API was called; it only words an error, never decides one.
func anyReason(v any) string {
	m, _ := v.(map[string]any)
	if m == nil {
		return ""
	}
	if cr := obj(m, "cpanelresult"); cr != nil {
		m = cr
	}
	if r := firstString(obj(m, "metadata"), "reason"); r != "" {
		return r
	}
	if r := firstString(obj(m, "data"), "reason"); r != "" {
		return html.UnescapeString(r)
	}
	if r := joinStrings(m["errors"]); r != "" {
		return r
	}
	return firstString(m, "error", "message", "statusmsg", "reason")
}

// classifyReason decides whether a server's refusal is about authorization (exit 3) or about
// the request itself (exit 1).
func classifyReason(reason string) (ErrorKind, bool) {
	switch {
	case strings.Contains(reason, "TwoFactorAuth"), hasPrefixFold(reason, "two-factor"):
		return ErrAuth, true
	case hasPrefixFold(reason, "access denied"),
		hasPrefixFold(reason, "you do not have access to an account"),
		hasPrefixFold(reason, "you are not permitted to change the password"),
		hasPrefixFold(reason, "you do not have permission"),
		hasPrefixFold(reason, "permission denied"),
		strings.Contains(reason, "Token authentication allows access"),
		strings.Contains(reason, "Token denied"),
		strings.Contains(reason, "invalid API token"):
		return ErrAuth, false
	}
	if slices.Contains(loginCodes, reason) {
		return ErrAuth, false
	}
	return ErrRefused, false
}

// loginCodes are the login page's message codes (docs/protocol.md): each
// refuses the credentials or the session as a whole.
var loginCodes = []string{"invalid_login", "token_missing", "token_incorrect", "expired_session", "invalid_session",
	"changed_ip", "invalid_username"}

// credentialReason reports a refusal's reason that is about the credentials
// as a whole rather than about one target: a login page's code, or the
// server's words for a token it does not accept.
func credentialReason(reason string) bool {
	return slices.Contains(loginCodes, reason) || reason == msgLoginRefused ||
		strings.Contains(reason, "Token authentication allows access") ||
		strings.Contains(reason, "Token denied") || strings.Contains(reason, "invalid API token")
}

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}

// shortText returns a short plain-text body as a reason (the cPanel token 403 is plain text).
func shortText(rep *Reply) string {
	if isHTML(rep) || len(rep.Body) == 0 || len(rep.Body) > 512 {
		return ""
	}
	s := strings.TrimSpace(string(rep.Body))
	if strings.HasPrefix(s, "<") || strings.ContainsAny(s, "\x00") {
		return ""
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// isHTML reports a reply that is a web page: labelled text/html, or starting like one.
func isHTML(rep *Reply) bool {
	if strings.Contains(strings.ToLower(rep.ContentType), "html") {
		return true
	}
	head := bytes.ToLower(bytes.TrimSpace(rep.Body[:min(len(rep.Body), 64)]))
	return bytes.HasPrefix(head, []byte("<!doctype html")) || bytes.HasPrefix(head, []byte("<html"))
}

// isLoginPage recognises cPanel's and WHM's own login page: its form posts the user and pass
// fields to /login/. A proxy's error page, a maintenance page or a web site on the wrong port
// has no such form.
func isLoginPage(body []byte) bool {
	b := bytes.ToLower(body)
	form := bytes.Contains(b, []byte(`action="/login/`)) || bytes.Contains(b, []byte(`action='/login/`)) ||
		bytes.Contains(b, []byte(`id="login_form"`))
	return form && (bytes.Contains(b, []byte(`name="pass"`)) || bytes.Contains(b, []byte(`name='pass'`)))
}

// orStatusText is the server's reason, or the status text when it gave none.
func orStatusText(reason string, status int) string {
	if reason == "" {
		return http.StatusText(status)
	}
	return reason
}

// Messages for an HTML page where an API reply belongs.
const (
	msgLoginPage = "the server sent its login page (an HTML page) instead of an API reply"
	msgHTMLPage  = "the server sent an HTML page instead of an API reply; check the URL and port"
)

// analyzeNonJSON classifies a reply whose body is not JSON.
func analyzeNonJSON(rep *Reply) *analysis {
	st := rep.Status
	ok2xx := st >= 200 && st < 300
	switch {
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		reason := orStatusText(shortText(rep), st)
		_, tf := classifyReason(reason)
		return &analysis{err: &Error{Kind: ErrAuth, Status: st, Reason: reason, TwoFactor: tf}}
	case ok2xx && isHTML(rep) && isLoginPage(rep.Body):
		// cpsrvd answers an API path it will not serve to these credentials with its login page.
		return &analysis{err: &Error{Kind: ErrAuth, Status: st, Reason: msgLoginPage}}
	case ok2xx && isHTML(rep):
		return &analysis{err: &Error{Kind: ErrTransport, Status: st, Reason: msgHTMLPage}}
	case ok2xx && len(rep.Body) == 0:
		return unreadable(st, "empty body")
	case ok2xx && bytes.HasPrefix(bytes.TrimSpace(rep.Body), []byte("<")):
		return unreadable(st, "markup instead of an API reply")
	case ok2xx:
		return unreadable(st, "not JSON")
	}
	return &analysis{err: &Error{Kind: ErrTransport, Status: st, Reason: orStatusText(shortText(rep), st)}}
}

// analyze classifies a reply: failure class and reason, or the message and services of a success.
// Only an API's documented success marker is a success; only its documented failure marker with
// a reason is a refusal; everything else is an unreadable reply, after which the call may or may
// not have run.
func analyze(b built, rep *Reply) *analysis {
	st := rep.Status
	if b.xml && rep.Decoded == nil && st >= 200 && st < 300 {
		return analyzeXML(rep)
	}
	if rep.Decoded == nil {
		return analyzeNonJSON(rep)
	}
	a := read(st, b, rep.Decoded)
	if st >= 200 && st < 300 {
		return a
	}
	refusal := a.err != nil && a.err.Kind != ErrTransport
	switch {
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		reason := anyReason(rep.Decoded)
		if refusal {
			reason = a.err.Reason
		}
		reason = orStatusText(reason, st)
		_, tf := classifyReason(reason)
		return &analysis{err: &Error{Kind: ErrAuth, Status: st, Reason: reason, TwoFactor: tf}, message: reason}
	case st >= 400 && st < 500 && refusal:
		return a
	}
	return &analysis{err: &Error{Kind: ErrTransport, Status: st, Reason: orStatusText(anyReason(rep.Decoded), st)}}
}

// xmlRecord is the WHM API 0 passwd reply in XML; other functions share the status fields.
type xmlRecord struct {
	Status    *string  `xml:"status"`
	StatusMsg string   `xml:"statusmsg"`
	Apps      []string `xml:"services>app"`
	Result    *string  `xml:"result"`
	Reason    string   `xml:"reason"`
}

type xmlReply struct {
	Records []xmlRecord `xml:",any"`
}

// analyzeXML reads a WHM API 0 XML reply: <FUNC><FUNC><status>…</status>…</FUNC></FUNC>.
func analyzeXML(rep *Reply) *analysis {
	var x xmlReply
	if err := xml.Unmarshal(rep.Body, &x); err != nil || len(x.Records) == 0 {
		return unreadable(rep.Status, "not a WHM API 0 XML reply")
	}
	r := x.Records[0]
	status := r.Status
	if status == nil {
		status = r.Result
	}
	msg := strings.TrimSpace(r.StatusMsg)
	if msg == "" {
		msg = strings.TrimSpace(r.Reason)
	}
	if status == nil {
		return unreadable(rep.Status, "no status in the XML reply")
	}
	switch *status {
	case "0":
		return refused(rep.Status, msg)
	case "1":
		return &analysis{message: msg, services: r.Apps, data: r}
	}
	return unreadable(rep.Status, "WHM API 0 XML status is not 1 or 0")
}
