package cpanel

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
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
	if v, ok := parseJSON(body); ok {
		return v, nil
	}
	// The fast path declined: encoding/json decides, with its own error messages.
	return stdlibDecode(body)
}

// stdlibDecode is decodeJSON with encoding/json alone: the fallback, and the
// reference the fast path is tested against.
func stdlibDecode(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON reply")
	}
	return v, nil
}

// isZero reports whether a result/status field says failure: 0 as a number, "0" as a string,
// or false. A missing field is not a failure.
func isZero(v any) bool {
	switch x := v.(type) {
	case json.Number:
		return x == "0" || x == "0.0"
	case string:
		return strings.TrimSpace(x) == "0"
	case float64:
		return x == 0
	case bool:
		return !x
	}
	return false
}

// isOne reports whether a result/status field says success.
func isOne(v any) bool {
	switch x := v.(type) {
	case json.Number:
		return x != "0" && x != "0.0" && x != ""
	case string:
		s := strings.TrimSpace(x)
		return s != "" && s != "0"
	case float64:
		return x != 0
	case bool:
		return x
	}
	return false
}

// firstString returns the first non-empty string among m's keys.
func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
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

// failure is a reply's own statement of failure.
type failure struct {
	failed bool
	reason string
}

// findFailure looks for a failure in every reply shape the servers use, whatever API was
// called: error envelopes cross APIs (a 403 for WHM API 1 comes in cPanel API 2's shape).
func findFailure(v any) failure {
	m, ok := v.(map[string]any)
	if !ok {
		return failure{}
	}
	if cr, ok := m["cpanelresult"].(map[string]any); ok {
		return api2Failure(cr)
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		if _, has := md["result"]; has {
			if isZero(md["result"]) {
				return failure{true, firstString(md, "reason", "error")}
			}
			if d, ok := m["data"].(map[string]any); ok {
				if u, ok := d["uapi"].(map[string]any); ok {
					return uapiFailure(u)
				}
			}
			return failure{}
		}
	}
	if r, ok := m["result"].(map[string]any); ok {
		if _, has := r["status"]; has {
			return uapiFailure(r)
		}
	}
	if _, ok := m["status"]; ok {
		if isZero(m["status"]) {
			reason := joinStrings(m["errors"])
			if reason == "" {
				reason = firstString(m, "message", "statusmsg", "reason", "error")
			}
			return failure{true, reason}
		}
		return failure{}
	}
	if e := firstString(m, "error"); e != "" {
		if d, ok := m["data"].(map[string]any); ok {
			if r := firstString(d, "reason"); r != "" {
				return failure{true, r}
			}
		}
		return failure{true, e}
	}
	if d, ok := m["data"].(map[string]any); ok {
		if _, has := d["result"]; has && isZero(d["result"]) {
			return failure{true, firstString(d, "reason", "error")}
		}
	}
	// WHM API 0: {"FUNCTION": [{"status": 0, "statusmsg": "..."}]} ("result" for many functions).
	for _, val := range m {
		if rec := api0Record(val); rec != nil {
			if isZero(rec["status"]) || isZero(rec["result"]) {
				return failure{true, firstString(rec, "statusmsg", "reason", "error")}
			}
			return failure{}
		}
	}
	return failure{}
}

// api0Record returns the first record of a WHM API 0 list, if val is one.
func api0Record(val any) map[string]any {
	list, ok := val.([]any)
	if !ok || len(list) == 0 {
		return nil
	}
	rec, ok := list[0].(map[string]any)
	if !ok {
		return nil
	}
	if _, has := rec["status"]; has {
		return rec
	}
	if _, has := rec["statusmsg"]; has {
		return rec
	}
	return nil
}

func api2Failure(cr map[string]any) failure {
	if e := firstString(cr, "error"); e != "" {
		return failure{true, e}
	}
	for _, k := range [...]string{"event", "preevent", "postevent"} {
		if ev, ok := cr[k].(map[string]any); ok && isZero(ev["result"]) {
			return failure{true, firstString(ev, "reason")}
		}
	}
	if isZero(cr["result"]) {
		return failure{true, firstString(cr, "reason")}
	}
	switch d := cr["data"].(type) {
	case map[string]any:
		if isZero(d["result"]) || isZero(d["status"]) {
			return failure{true, firstString(d, "reason", "statustxt", "error")}
		}
	case []any:
		if len(d) == 0 {
			return failure{}
		}
		d0, ok := d[0].(map[string]any)
		if !ok {
			return failure{}
		}
		if isZero(d0["result"]) || isZero(d0["status"]) {
			return failure{true, firstString(d0, "error", "reason", "statustxt", "statusmsg")}
		}
		if e := firstString(d0, "error"); e != "" {
			return failure{true, e}
		}
	}
	return failure{}
}

func uapiFailure(u map[string]any) failure {
	if isZero(u["status"]) {
		reason := joinStrings(u["errors"])
		if reason == "" {
			reason = firstString(u, "error", "reason")
		}
		return failure{true, reason}
	}
	return failure{}
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
	switch reason {
	case "invalid_login", "token_missing", "token_incorrect", "expired_session", "invalid_session",
		"changed_ip", "invalid_username":
		return ErrAuth, false
	}
	return ErrRefused, false
}

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}

// shortText returns a short plain-text body as a reason (the cPanel token 403 is plain text).
func shortText(rep *Reply) string {
	ct := strings.ToLower(rep.ContentType)
	if strings.Contains(ct, "html") || len(rep.Body) == 0 || len(rep.Body) > 512 {
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

// orStatusText is the server's reason, or the status text when it gave none.
func orStatusText(reason string, status int) string {
	if reason == "" {
		return http.StatusText(status)
	}
	return reason
}

// analyze classifies a reply: failure class and reason, or the message and services of a success.
func analyze(b built, rep *Reply) *analysis {
	a := &analysis{}
	st := rep.Status
	if b.xml && rep.Decoded == nil && st >= 200 && st < 300 {
		return analyzeXML(rep)
	}
	if rep.Decoded == nil {
		switch {
		case st == http.StatusUnauthorized || st == http.StatusForbidden:
			reason := orStatusText(shortText(rep), st)
			_, tf := classifyReason(reason)
			a.err = &Error{Kind: ErrAuth, Status: st, Reason: reason, TwoFactor: tf}
		case st >= 200 && st < 300 && strings.Contains(strings.ToLower(rep.ContentType), "html"):
			// cpsrvd answers an API path it will not serve to these credentials with its login
			// page (200, text/html): the server wants a login, so this is an auth failure.
			a.err = &Error{Kind: ErrAuth, Status: st, Reason: "the server sent an HTML page (its login page) instead of an API reply"}
		case st >= 200 && st < 300:
			reason := "unreadable reply"
			switch {
			case len(rep.Body) == 0:
				reason += ": empty body"
			case bytes.HasPrefix(bytes.TrimSpace(rep.Body), []byte("<")):
				reason += ": markup instead of an API reply"
			default:
				reason += ": not JSON"
			}
			a.err = &Error{Kind: ErrTransport, Status: st, Reason: reason}
		default:
			a.err = &Error{Kind: ErrTransport, Status: st, Reason: orStatusText(shortText(rep), st)}
		}
		return a
	}
	f := findFailure(rep.Decoded)
	if st < 200 || st >= 300 {
		reason := orStatusText(f.reason, st)
		kind, tf := classifyReason(reason)
		switch {
		case st == http.StatusUnauthorized || st == http.StatusForbidden:
			kind = ErrAuth
		case st >= 500 || st < 400:
			kind, tf = ErrTransport, false
		}
		a.err = &Error{Kind: kind, Status: st, Reason: reason, TwoFactor: tf}
		return a
	}
	if f.failed {
		if f.reason == "" {
			f.reason = "the server reported a failure without a reason"
		}
		kind, tf := classifyReason(f.reason)
		a.err = &Error{Kind: kind, Status: st, Reason: f.reason, TwoFactor: tf}
		a.message = f.reason
		return a
	}
	if !successShape(b, rep.Decoded, a) {
		a.err = &Error{Kind: ErrTransport, Status: st, Reason: "unreadable reply: not a " + apiTitle(b.api) + " reply"}
	}
	return a
}

func apiTitle(api API) string {
	switch api {
	case WHMAPI1:
		return "WHM API 1"
	case WHMAPI0:
		return "WHM API 0"
	case CPAPI2:
		return "cPanel API 2"
	case UAPI:
		return "UAPI"
	}
	return string(api)
}

// successShape checks that a reply without a failure really is a success of the API called, and
// fills the message, services and payload.
func successShape(b built, v any, a *analysis) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	switch {
	case b.uapiCpanel:
		md, _ := m["metadata"].(map[string]any)
		d, _ := m["data"].(map[string]any)
		if md == nil || d == nil {
			return false
		}
		u, _ := d["uapi"].(map[string]any)
		if u == nil || !isOne(u["status"]) {
			return false
		}
		fillUAPI(u, a)
		return true
	case b.api == WHMAPI1:
		md, _ := m["metadata"].(map[string]any)
		if md == nil || !isOne(md["result"]) {
			return false
		}
		a.message = firstString(md, "reason")
		a.data = m["data"]
		if d, ok := m["data"].(map[string]any); ok {
			a.services = apps(d["app"])
		}
		return true
	case b.api == WHMAPI0:
		for _, val := range m {
			if rec := api0Record(val); rec != nil {
				a.message = firstString(rec, "statusmsg")
				a.services = apps(rec["services"])
				a.data = rec
				return true
			}
		}
		// Other API 0 functions answer in other shapes; accept any object once no failure showed.
		a.data = m
		return true
	case b.api == CPAPI2:
		cr, _ := m["cpanelresult"].(map[string]any)
		if cr == nil {
			return false
		}
		a.data = cr["data"]
		if d, ok := cr["data"].([]any); ok && len(d) > 0 {
			if d0, ok := d[0].(map[string]any); ok {
				a.message = firstString(d0, "statustxt", "statusmsg", "reason")
				a.services = apps(d0["applist"])
			}
		}
		return true
	case b.api == UAPI:
		u := m
		if b.uapiWrapped {
			u, _ = m["result"].(map[string]any)
			if u == nil {
				return false
			}
		}
		if !isOne(u["status"]) {
			return false
		}
		fillUAPI(u, a)
		return true
	}
	return false
}

func fillUAPI(u map[string]any, a *analysis) {
	a.data = u["data"]
	a.message = joinStrings(u["messages"])
}

// xmlRecord is the WHM API 0 passwd reply in XML; other functions share the status fields.
type xmlRecord struct {
	Status    string   `xml:"status"`
	StatusMsg string   `xml:"statusmsg"`
	Apps      []string `xml:"services>app"`
	Result    string   `xml:"result"`
	Reason    string   `xml:"reason"`
}

type xmlReply struct {
	Records []xmlRecord `xml:",any"`
}

// analyzeXML reads a WHM API 0 XML reply: <FUNC><FUNC><status>…</status>…</FUNC></FUNC>.
func analyzeXML(rep *Reply) *analysis {
	a := &analysis{}
	var x xmlReply
	if err := xml.Unmarshal(rep.Body, &x); err != nil || len(x.Records) == 0 {
		a.err = &Error{Kind: ErrTransport, Status: rep.Status, Reason: "unreadable reply: not a WHM API 0 XML reply"}
		return a
	}
	r := x.Records[0]
	status := strings.TrimSpace(r.Status)
	if status == "" {
		status = strings.TrimSpace(r.Result)
	}
	msg := strings.TrimSpace(r.StatusMsg)
	if msg == "" {
		msg = strings.TrimSpace(r.Reason)
	}
	switch status {
	case "0":
		if msg == "" {
			msg = "the server reported a failure without a reason"
		}
		kind, tf := classifyReason(msg)
		a.err = &Error{Kind: kind, Status: rep.Status, Reason: msg, TwoFactor: tf}
		a.message = msg
	case "":
		a.err = &Error{Kind: ErrTransport, Status: rep.Status, Reason: "unreadable reply: no status in the XML reply"}
	default:
		a.message = msg
		a.services = r.Apps
		a.data = r
	}
	return a
}
