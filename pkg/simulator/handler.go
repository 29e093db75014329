package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Content types as cpsrvd sends them.
const (
	ctJSON  = "application/json; charset=UTF-8"
	ctXML   = "text/xml; charset=UTF-8"
	ctHTML  = "text/html; charset=UTF-8"
	ctPlain = "text/plain; charset=UTF-8"
)

// maxBody bounds a request body; real API calls are tiny.
const maxBody = 1 << 20

// secretParams are the parameter names whose values are secrets.
var secretParams = []string{"password", "pass", "newpass", "oldpass", "tfa_token"}

var cpsessRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/cpsess([0-9]{10})(/.*)?$`) })

// reply is a finished answer, written by ServeHTTP after faults are applied.
type reply struct {
	status  int
	ctype   string
	body    []byte
	headers map[string]string
}

// jsonReply is a 200 JSON reply: every API answers 200, refusals included.
func jsonReply(v any) reply {
	return reply{status: http.StatusOK, ctype: ctJSON, body: marshalJSON(v)}
}

// marshalJSON encodes without Go's HTML escaping, as Perl's JSON encoder does.
func marshalJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only our own types are encoded; a failure is a programming error.
		panic(fmt.Sprintf("simulator: encode reply: %v", err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Fixed bodies quoted in docs/protocol.md.
var (
	accessDeniedBody = []byte(`{"cpanelresult":{"apiversion":"2","error":"Access denied","data":{"reason":"Access denied","result":"0"},"type":"text"}}`)
	tfaFailedBody    = []byte(`{"data":{"reason":"TwoFactorAuth check failed","result":"0"},"error":"TwoFactorAuth check failed","type":"text"}`)
	tokenOnlyBody    = []byte(`{"data":{"reason":"Token authentication allows access to UAPI or API 2 calls only.","result":"0"},"error":"Token authentication allows access to UAPI or API 2 calls only.","type":"text"}`)
	invalidLogin     = []byte(`{"status":0,"message":"invalid_login"}`)
)

func accessDenied() reply { return reply{status: 403, ctype: ctPlain, body: accessDeniedBody} }
func tfaFailed() reply    { return reply{status: 403, ctype: ctPlain, body: tfaFailedBody} }
func tokenOnly() reply    { return reply{status: 403, ctype: ctPlain, body: tokenOnlyBody} }

func htmlPage(title, msg string) []byte {
	return []byte("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + title +
		"</title></head>\n<body><div id=\"content\"><h1>" + title + "</h1>\n<p class=\"message\">" + msg +
		"</p>\n<p><a href=\"/\">Log in again</a></p></div></body></html>\n")
}

func loginPage(role Role, status int, msg string) reply {
	name := "WHM"
	if role == RoleCPanel {
		name = "cPanel"
	}
	body := "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + name + " Login</title></head>\n<body>\n" +
		"<div id=\"login-wrapper\"><div id=\"login-status\" class=\"" + msg + "\">" + loginMessage(msg) + "</div>\n" +
		"<form id=\"login_form\" action=\"/login/\" method=\"POST\">\n" +
		"<input name=\"user\" id=\"user\" type=\"text\" placeholder=\"Enter your username.\">\n" +
		"<input name=\"pass\" id=\"pass\" type=\"password\" placeholder=\"Enter your account password.\">\n" +
		"<button type=\"submit\" id=\"login_submit\">Log in</button>\n</form></div>\n</body></html>\n"
	return reply{status: status, ctype: ctHTML, body: []byte(body)}
}

func loginMessage(code string) string {
	switch code {
	case "invalid_login":
		return "The login is invalid."
	case "expired_session":
		return "Your session has expired. Please log in again."
	case "logged_out":
		return "You have logged out."
	}
	return "Log in to continue."
}

const (
	tokenInvalidMsg = "The security token in your request is invalid."
	tokenMissingMsg = "The security token is missing from your request."
)

func tokenPage(msg string) reply {
	return reply{status: 401, ctype: ctHTML, body: htmlPage("Security Token Problem", msg)}
}

// errorPage is the HTML page of an HTTP error status.
func errorPage(status int, msg string) reply {
	return reply{status: status, ctype: ctHTML, body: htmlPage(strconv.Itoa(status)+" "+http.StatusText(status), msg)}
}

// unavailable is a 503 whose Retry-After is d rounded up to whole seconds.
func unavailable(d time.Duration, msg string) reply {
	rep := errorPage(http.StatusServiceUnavailable, msg)
	rep.headers = map[string]string{"Retry-After": strconv.Itoa(int((d + time.Second - 1) / time.Second))}
	return rep
}

func notFound() reply {
	return errorPage(http.StatusNotFound, "The requested URL was not found on this server.")
}

// isAPICall says whether a path (after any cpsess token) is an API call
// rather than a page.
func isAPICall(path string) bool {
	return strings.HasPrefix(path, "/json-api/") || strings.HasPrefix(path, "/xml-api/") || strings.HasPrefix(path, "/execute/")
}

type handler struct {
	sim  *Simulator
	role Role
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	h.sim.requests.Add(1)
	if h.sim.opts.RequestLog != nil {
		defer func() { h.sim.logRequest(r, sw.status, time.Since(start)) }()
	}
	h.serve(sw, r, start)
}

func (s *Simulator) logRequest(r *http.Request, status int, d time.Duration) {
	path := r.URL.Path
	if m := cpsessRE().FindStringSubmatch(path); m != nil {
		path = "/cpsess**********" + m[2]
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	st := strconv.Itoa(status)
	if status == 0 {
		st = "reset"
	}
	fmt.Fprintf(s.opts.RequestLog, "%s %s %s %s\n", r.Method, strconv.Quote(path), st, d.Round(time.Microsecond))
}

// identity is an authenticated caller.
type identity struct {
	user string
	kind int // kindRoot, kindReseller, kindAccount
	// cpanelToken is set for a cPanel API token, which reaches only UAPI
	// and API 2.
	cpanelToken bool
}

const (
	kindRoot = iota
	kindReseller
	kindAccount
)

func (h *handler) serve(w *statusWriter, r *http.Request, arrived time.Time) {
	s := h.sim
	if raw := r.URL.RawQuery; raw != "" {
		q, err := url.ParseQuery(raw)
		if err == nil && slices.ContainsFunc(secretParams, func(k string) bool { return q.Get(k) != "" }) {
			s.secretInQuery.Add(1)
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := parseParams(r); err != nil {
		writeReply(w, errorPage(http.StatusBadRequest, "The request could not be read."))
		return
	}

	path := r.URL.Path
	sessToken := ""
	if m := cpsessRE().FindStringSubmatch(path); m != nil {
		sessToken, path = m[1], m[2]
		if path == "" {
			path = "/"
		}
	}

	switch {
	case path == "/login" || path == "/login/":
		// No login works by GET. A POST with login_only=1 answers JSON; a
		// form login without it answers a redirect into the session, and a
		// form without credentials gets the login page.
		if r.Method == http.MethodPost && (r.Form.Get("login_only") == "1" || r.Form.Has("user")) {
			s.sleepUntil(r.Context(), arrived.Add(s.opts.Latency))
			writeReply(w, h.login(r, r.Form.Get("login_only") == "1"))
			return
		}
		writeReply(w, loginPage(h.role, 200, ""))
		return
	case path == "/logout" || path == "/logout/":
		writeReply(w, h.logout(r, sessToken))
		return
	case path == "/" && sessToken == "":
		writeReply(w, loginPage(h.role, 200, ""))
		return
	case isAPICall(path):
	default:
		writeReply(w, notFound())
		return
	}

	id, fail := h.authenticate(r, sessToken)
	if fail != nil {
		writeReply(w, *fail)
		return
	}
	if id.cpanelToken && !strings.HasPrefix(path, "/execute/") && path != "/json-api/cpanel" {
		writeReply(w, tokenOnly())
		return
	}
	s.sleepUntil(r.Context(), arrived.Add(s.opts.Latency))

	c := h.route(id, path, r.Form)
	if c.fn != "" {
		s.countFunction(c.fn)
	}
	// Without a fault f is FaultNone, which changes nothing.
	f := s.takeFault(c.target)
	switch f.Kind {
	case FaultLatency:
		sleep(r.Context(), f.Latency)
	case FaultStale:
		defer s.keepPasswords(c.target)()
	}
	if rep, ok := h.preempt(f); ok {
		writeReply(w, rep)
		return
	}
	rep := c.exec()
	switch f.Kind {
	case FaultReset:
		resetMidReply(w, rep)
		return
	case FaultTruncated:
		rep.body = rep.body[:len(rep.body)/2]
	}
	writeReply(w, rep)
}

// preempt returns the reply of a fault that answers instead of the call.
func (h *handler) preempt(f Fault) (reply, bool) {
	switch f.Kind {
	case Fault500:
		return errorPage(http.StatusInternalServerError, "The server encountered an internal error."), true
	case Fault502:
		return errorPage(http.StatusBadGateway, "The proxy server received an invalid response from an upstream server."), true
	case Fault503:
		return unavailable(f.RetryAfter, "The server is being updated. Try again later."), true
	case FaultLoginPage:
		return loginPage(h.role, 200, "expired_session"), true
	case FaultTokenDenied:
		return tokenPage(tokenInvalidMsg), true
	}
	return reply{}, false
}

// sleepUntil models a server that answers at a given time after the
// request arrived: the latency covers the simulator's own processing rather
// than adding to it, so "20 ms latency" means calls take 20 ms.
func (s *Simulator) sleepUntil(ctx context.Context, t time.Time) {
	if !s.opts.PreciseLatency {
		sleep(ctx, time.Until(t))
		return
	}
	// The runtime's timers wake up to a millisecond late on a busy small
	// machine; a benchmark of "20 ms" wants 20 ms, so the last stretch is
	// waited out by yielding rather than by a timer.
	sleep(ctx, time.Until(t)-preciseSlack)
	for time.Now().Before(t) && ctx.Err() == nil {
		runtime.Gosched()
	}
}

// preciseSlack is how early a precise latency hands over from the timer.
const preciseSlack = time.Millisecond

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func writeReply(w http.ResponseWriter, rep reply) {
	hd := w.Header()
	hd.Set("Content-Type", rep.ctype)
	hd.Set("Content-Length", strconv.Itoa(len(rep.body)))
	hd.Set("Cache-Control", "no-cache, no-store, must-revalidate, private")
	for k, v := range rep.headers {
		hd.Set(k, v)
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// resetMidReply sends the headers and half the body, then drops the
// connection, so the client sees an unexpected EOF after the call ran.
func resetMidReply(w *statusWriter, rep reply) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	// The point is to cut the connection; how the writes and the close
	// went changes nothing.
	defer func() { _ = conn.Close() }()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		rep.status, http.StatusText(rep.status), rep.ctype, len(rep.body))
	_, _ = buf.Write(rep.body[:len(rep.body)/2])
	_ = buf.Flush()
}

// call is a routed API call: its stats name, the account it acts on (for
// faults) and the work itself, run only if no fault pre-empts it.
type call struct {
	fn     string
	target string
	exec   func() reply
}

func (h *handler) route(id identity, path string, p url.Values) call {
	if h.role == RoleCPanel {
		return h.routeCPanel(id, path, p)
	}
	return h.routeWHM(id, path, p)
}
