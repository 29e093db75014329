package cpanel

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cpctl/cpctl/pkg/pace"
)

const (
	maxReplySize = 64 << 20
	backoffBase  = 250 * time.Millisecond
	backoffMax   = 10 * time.Second
)

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// Call sends one API call as a POST with a form body. It returns the reply whenever the server
// answered, and also a *Error when the reply says the call failed, so a caller can print the
// reply and still exit with the right code. A nil reply comes with a *Error that says why
// nothing usable came back (StateOf tells whether the call may have run).
func (c *Client) Call(ctx context.Context, req Request) (*Reply, error) {
	rep, _, err := c.call(ctx, req)
	return rep, err
}

// call is Call plus the reply's analysis, which the typed helpers turn into a Result.
func (c *Client) call(ctx context.Context, req Request) (*Reply, *analysis, error) {
	b, err := c.build(req)
	if err != nil {
		return nil, nil, usagef(b.op, "%s", err.Error())
	}
	rep, err := c.exchange(ctx, b)
	if err != nil {
		return rep, nil, err
	}
	a := analyze(b, rep)
	if r := c.replySecrets(b.form, rep); r != nil {
		// A server that echoes a password back must not get it onto a terminal, into -o json
		// or a log: the reply, its decoded form and the message all lose every encoding of it.
		if s := string(rep.Body); r.Replace(s) != s {
			rep.Body = []byte(r.Replace(s))
		}
		rep.Decoded = scrubTree(r, rep.Decoded)
		a.message = r.Replace(a.message)
		if a.err != nil {
			a.err.Reason = r.Replace(a.err.Reason)
		}
	}
	if a.err != nil {
		a.err.Op = b.op
		a.err.Written = true
		a.err.Reason = redactCpsess(a.err.Reason)
		return rep, a, a.err
	}
	return rep, a, nil
}

// exchange sends a built call, logging in first when the client uses a session and logging in
// again once if the server no longer accepts the session.
func (c *Client) exchange(ctx context.Context, b built) (*Reply, error) {
	out := outgoing{op: b.op, form: b.form, body: encodeForm(b.form), xml: b.xml, idempotent: b.idempotent}
	if c.cfg.Auth != AuthSession {
		out.url, out.auth = c.baseStr+b.path, true
		return c.send(ctx, out)
	}
	for attempt := 0; ; attempt++ {
		sess, gen, err := c.ensureSession(ctx)
		if err != nil {
			// The login was sent, the call itself was not.
			var e *Error
			if errors.As(err, &e) {
				e.Written = false
			}
			return nil, err
		}
		out.url = c.baseStr + sess + b.path
		rep, err := c.send(ctx, out)
		if err != nil {
			return rep, err
		}
		if attempt == 0 && sessionRejected(rep, b.xml) {
			c.invalidate(gen)
			continue
		}
		return rep, nil
	}
}

// sessionRejected recognises the page a server sends for a wrong or expired cpsess token: a
// non-JSON 401, or an HTML page where an API reply was due. The page's wording is not used.
func sessionRejected(rep *Reply, xml bool) bool {
	if rep.Decoded != nil {
		return false
	}
	if rep.Status == http.StatusUnauthorized {
		return true
	}
	if rep.Status >= 200 && rep.Status < 300 {
		ct := strings.ToLower(rep.ContentType)
		if strings.HasPrefix(ct, "text/html") {
			return true
		}
		if xml && strings.Contains(ct, "xml") {
			return false
		}
	}
	return false
}

// currentSession returns the cpsess path prefix and its generation, "" when
// there is no session.
func (c *Client) currentSession() (string, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session, c.gen
}

// ensureSession returns the current cpsess path prefix, logging in when there is none. Only one
// caller logs in at a time; the others wait and reuse its session.
func (c *Client) ensureSession(ctx context.Context) (string, uint64, error) {
	if s, g := c.currentSession(); s != "" {
		return s, g, nil
	}
	select {
	case c.loginSem <- struct{}{}:
	case <-ctx.Done():
		return "", 0, &Error{Kind: ErrTransport, Op: "session login", Reason: "cancelled", Err: ctx.Err()}
	}
	defer func() { <-c.loginSem }()
	// Another caller may have logged in while this one waited.
	if s, g := c.currentSession(); s != "" {
		return s, g, nil
	}
	sess, err := c.login(ctx, c.cfg.User, c.cfg.Secret, c.cfg.OTP)
	if err != nil {
		return "", 0, err
	}
	c.mu.Lock()
	c.session = sess
	c.gen++
	g := c.gen
	c.mu.Unlock()
	return sess, g, nil
}

// invalidate drops the session if it is still the one a caller saw rejected.
func (c *Client) invalidate(gen uint64) {
	c.mu.Lock()
	if c.gen == gen {
		c.session = ""
	}
	c.mu.Unlock()
}

// login performs a session login and returns the cpsess path prefix ("/cpsess0123456789").
func (c *Client) login(ctx context.Context, user, pass string, otp func(context.Context) (string, error)) (string, error) {
	const op = "session login"
	form := []Param{{Key: "user", Value: user}, {Key: "pass", Value: pass, Secret: true}}
	if otp != nil {
		code, err := otp(ctx)
		if err != nil {
			return "", &Error{Kind: ErrAuth, Op: op, Reason: "no two-factor code", TwoFactor: true, Err: err}
		}
		form = append(form, Param{Key: "tfa_token", Value: code, Secret: true})
	}
	rep, err := c.send(ctx, outgoing{op: op, url: c.baseStr + "/login/?login_only=1", form: form, body: encodeForm(form), idempotent: true})
	if err != nil {
		return "", err
	}
	tok, lerr := analyzeLogin(rep)
	if lerr != nil {
		lerr.Op = op
		lerr.Reason = c.scrub(lerr.Reason, form)
		return "", lerr
	}
	return tok, nil
}

// analyzeLogin reads a /login/?login_only=1 reply: the cpsess path prefix, or why not. The
// token comes from the JSON body's security_token, or else from the path of a Location header
// ("/cpsess0123456789/..."), whether the reply is 200 or a redirect; the redirect itself is
// never followed.
func analyzeLogin(rep *Reply) (string, *Error) {
	m, _ := rep.Decoded.(map[string]any)
	status, hasStatus := marker(m["status"])
	if hasStatus && status == 0 && rep.Status < 500 {
		reason := firstString(m, "message", "reason", "error", "statusmsg")
		if reason == "" {
			reason = msgLoginRefused
		}
		_, tf := classifyReason(reason)
		return "", &Error{Kind: ErrAuth, Status: rep.Status, Reason: reason, TwoFactor: tf}
	}
	answered := rep.Status >= 200 && rep.Status < 400
	if answered && hasStatus && status == 1 {
		if tok := str(m, "security_token"); validCpsess(tok) {
			return tok, nil
		}
	}
	if answered && (m == nil || (hasStatus && status == 1)) {
		if tok := cpsessFromLocation(rep.header.Get("Location")); tok != "" {
			return tok, nil
		}
	}
	switch {
	case rep.Status == http.StatusUnauthorized || rep.Status == http.StatusForbidden:
		reason := anyReason(rep.Decoded)
		if reason == "" {
			reason = msgLoginRefused
		}
		_, tf := classifyReason(reason)
		return "", &Error{Kind: ErrAuth, Status: rep.Status, Reason: reason, TwoFactor: tf}
	case answered && hasStatus:
		return "", &Error{Kind: ErrTransport, Status: rep.Status, Reason: "unreadable reply: no valid security token in the login reply"}
	case answered:
		return "", &Error{Kind: ErrTransport, Status: rep.Status, Reason: "unreadable reply: not a login reply"}
	}
	return "", &Error{Kind: ErrTransport, Status: rep.Status, Reason: orStatusText(anyReason(rep.Decoded), rep.Status)}
}

// cpsessFromLocation takes the cpsess token from the first path segment of a Location header,
// absolute or relative; "" when there is none.
func cpsessFromLocation(loc string) string {
	if loc == "" {
		return ""
	}
	u, err := url.Parse(loc)
	if err != nil {
		return ""
	}
	seg := strings.TrimPrefix(u.Path, "/")
	if i := strings.IndexByte(seg, '/'); i >= 0 {
		seg = seg[:i]
	}
	if tok := "/" + seg; validCpsess(tok) {
		return tok
	}
	return ""
}

// validCpsess accepts "/cpsess" followed by digits: anything else would let the server steer
// later requests to another path.
func validCpsess(tok string) bool {
	const p = "/cpsess"
	if len(tok) <= len(p) || tok[:len(p)] != p {
		return false
	}
	for i := len(p); i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return false
		}
	}
	return true
}

// logout ends a session; its reply does not matter beyond reaching the server.
func (c *Client) logout(ctx context.Context, sess string) error {
	_, err := c.send(ctx, outgoing{op: "session logout", url: c.baseStr + sess + "/logout/?locale=en", idempotent: true})
	return err
}

// outgoing is one HTTP request to send.
type outgoing struct {
	op   string
	url  string
	form []Param // for the log, which learns from it the values marked Param.Secret
	body []byte  // nil: a GET
	xml  bool
	// auth sends the Authorization header (and a two-factor code); session calls use the cookie.
	auth bool
	// idempotent allows a repeat after a gateway's 502 or 504, which may come after the call ran.
	idempotent bool
}

// send performs one request with retries on 503, on 502/504 for idempotent requests, and on
// connection failures before anything was written.
func (c *Client) send(ctx context.Context, out outgoing) (*Reply, error) {
	connFails := 0
	for try := 0; ; try++ {
		rep, written, err := c.roundTrip(ctx, out)
		if try >= c.retries {
			return rep, err
		}
		var wait time.Duration
		switch {
		case err == nil && (rep.Status == http.StatusServiceUnavailable ||
			(out.idempotent && (rep.Status == http.StatusBadGateway || rep.Status == http.StatusGatewayTimeout))):
			// 503 is the server saying it is being updated: nothing ran. A
			// proxy's 502/504 may come after the call ran behind it, so only
			// a call that is safe to run twice is repeated then.
			wait = backoff(try)
			if ra := pace.RetryAfter(rep.header.Get("Retry-After"), time.Now()); ra > 0 {
				wait = min(ra, c.timeout)
			}
		case err != nil && !written && retryableConnError(ctx, err):
			// A server that answers 503 is up and asks to be waited for;
			// one that refuses connections is most often down, and a bulk
			// run's higher MaxRetries would wait a minute per row for it.
			if connFails++; connFails > defaultMaxRetries {
				return rep, err
			}
			wait = backoff(try)
		default:
			return rep, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			// Waiting would outlive the caller's deadline: report what we have now.
			return rep, err
		}
		if c.sleep(ctx, wait) != nil {
			return rep, err
		}
	}
}

// sleep waits d or until ctx ends; tests replace it to see the waits without taking them.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is exponential with jitter: base·2^try scaled by a random factor in [0.5, 1.5).
func backoff(try int) time.Duration {
	d := backoffBase << min(try, 10)
	if d > backoffMax {
		d = backoffMax
	}
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// retryableConnError says whether a failure to reach the server may pass on a second try.
// Certificate problems, a host that does not exist and the caller's own cancellation will not.
func retryableConnError(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if _, ok := asUntrusted(err); ok {
		return false
	}
	var fm *FingerprintMismatchError
	if errors.As(err, &fm) {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary || dns.IsTimeout
	}
	// Only a failure of the network itself may pass on a second try; an
	// error of our own making (a two-factor code source that failed, a
	// request that could not be built) would fail the same way again.
	var opErr *net.OpError
	return errors.As(err, &opErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		serverClosedIdle(err)
}

// serverClosedIdle reports net/http's error for a kept-alive connection the
// server closed before the request was written to it (the race every client
// of a server with an idle timeout meets). net/http does not export it, so
// it is known by its text; the caller sends again only what was not written.
func serverClosedIdle(err error) bool {
	return strings.Contains(err.Error(), "http: server closed idle connection")
}

// roundTrip sends one request and reads the whole reply within the client's timeout. written
// reports whether the request headers may have reached the server, after which the request is
// never sent again unless it is idempotent; every *Error it returns carries the same fact.
func (c *Client) roundTrip(ctx context.Context, out outgoing) (rep *Reply, written bool, err error) {
	var wrote atomic.Bool
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
	})
	if c.cfg.Logger != nil {
		actx = context.WithValue(actx, formKey{}, out.form)
	}
	method := http.MethodPost
	var body io.Reader = bytes.NewReader(out.body)
	if out.body == nil {
		method, body = http.MethodGet, nil
	}
	hreq, err := http.NewRequestWithContext(actx, method, out.url, body)
	if err != nil {
		return nil, false, &Error{Kind: ErrUsage, Op: out.op, Reason: "invalid request URL"}
	}
	h := make(http.Header, 5)
	if out.body != nil {
		h["Content-Type"] = c.hdr.form
	}
	if out.xml {
		h["Accept"] = c.hdr.acceptXML
	} else {
		h["Accept"] = c.hdr.acceptJSON
	}
	h["User-Agent"] = c.hdr.userAgent
	hreq.Header = h
	if out.auth {
		h["Authorization"] = c.hdr.auth
		if c.cfg.OTP != nil {
			code, oerr := c.cfg.OTP(ctx)
			if oerr != nil {
				return nil, false, &Error{Kind: ErrAuth, Op: out.op, Reason: "no two-factor code", TwoFactor: true, Err: oerr}
			}
			hreq.Header.Set("X-CPANEL-OTP", code)
		}
	}
	var resp *http.Response
	var herr error
	if c.hc.Jar != nil {
		resp, herr = c.hc.Do(hreq) // the session lives in the cookie jar
	} else {
		// Header auth needs no cookies, and no redirect is ever followed: the transport alone
		// does what http.Client would, without its per-request bookkeeping.
		resp, herr = c.hc.Transport.RoundTrip(hreq)
	}
	if herr != nil {
		e := c.transportError(ctx, actx, out.op, herr)
		e.Written = wrote.Load()
		return nil, e.Written, e
	}
	data, rerr := readBody(resp, c.maxReply)
	_ = resp.Body.Close()
	rep = &Reply{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: data, header: resp.Header}
	if rerr != nil {
		// The server answered but the body broke off: the call may have run, so never retry.
		e := &Error{Kind: ErrTransport, Op: out.op, Status: resp.StatusCode, Reason: "unreadable reply", Err: sanitize(rerr), Written: true}
		switch {
		case actx.Err() != nil && ctx.Err() == nil:
			e.Reason = "timed out after " + c.timeout.String() + " reading the reply"
		case errors.Is(rerr, io.ErrUnexpectedEOF):
			e.Reason = "unreadable reply: the connection closed before the reply was complete"
		}
		return rep, true, e
	}
	if !out.xml && looksJSON(data) {
		if v, derr := decodeJSON(data); derr == nil {
			rep.Decoded = v
		}
	}
	return rep, true, nil
}

// readBody reads a whole reply body of at most max bytes.
func readBody(resp *http.Response, max int64) ([]byte, error) {
	if err := declaredTooLarge(resp, max); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	return withinLimit(data, err, max)
}

// declaredTooLarge refuses a reply whose Content-Length passes max before any of it is read.
func declaredTooLarge(resp *http.Response, max int64) error {
	if n := resp.ContentLength; n > max {
		return fmt.Errorf("reply of %d bytes is larger than the %d-byte limit", n, max)
	}
	return nil
}

// withinLimit takes what reading at most max+1 bytes of a reply gave: the bytes within max,
// and why the reply is unreadable (the read's error, or the byte past max).
func withinLimit(data []byte, err error, max int64) ([]byte, error) {
	if err == nil && int64(len(data)) > max {
		return data[:max], fmt.Errorf("reply larger than the %d-byte limit", max)
	}
	return data, err
}

// transportError turns a client failure into an ErrTransport *Error whose text holds no URL (a
// session URL carries the cpsess token) and which wraps certificate problems for the CLI.
func (c *Client) transportError(ctx, actx context.Context, op string, err error) *Error {
	inner := sanitize(err)
	e := &Error{Kind: ErrTransport, Op: op, Err: inner}
	var fm *FingerprintMismatchError
	var dns *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &fm):
		// The reason is the mismatch's own text, both fingerprints in it, once.
		e.Err = fm
		e.Reason = fm.Error()
	case func() bool {
		u, ok := asUntrusted(err)
		if ok {
			e.Err = u
			e.Reason = untrustedPrefix + u.Error()
		}
		return ok
	}():
	case ctx.Err() != nil:
		e.Reason = "cancelled"
		e.Err = ctx.Err()
	case actx.Err() == context.DeadlineExceeded || deadlinePassed(actx, err):
		e.Reason = "timed out after " + c.timeout.String()
		e.Err = context.DeadlineExceeded
	case errors.As(err, &dns):
		e.Reason = "cannot resolve host " + dns.Name
		if dns.Err != "" {
			e.Err = &briefError{text: dns.Err, err: inner}
		}
	case errors.As(err, &opErr) && opErr.Op == "dial":
		e.Reason = "cannot connect to " + c.base.Host
		e.Err = &briefError{text: rootText(opErr), err: inner}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		e.Reason = "the server closed the connection without a reply"
	default:
		e.Reason = "request failed"
	}
	return e
}

// deadlinePassed reports a read or write cut off by the connection deadline
// the context's deadline set, which can fire a moment before the context's
// own timer does.
func deadlinePassed(actx context.Context, err error) bool {
	dl, ok := actx.Deadline()
	return ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl)
}

// sanitize strips the *url.Error layer, whose text includes the request URL.
func sanitize(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func looksJSON(b []byte) bool {
	for _, ch := range b {
		switch ch {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}
