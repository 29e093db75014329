package cpanel

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// logTransport hands each request that goes on the wire, and what came back, to Config.Logger
// with every secret redacted: every attempt of a retried call, logins and logouts included,
// once each. New installs it only when a Logger is set, so a run without -v pays nothing.
type logTransport struct {
	base http.RoundTripper
	c    *Client // the Logger, the reply limit and the client's own secret
}

// formKey is the context key under which roundTrip hands this transport the request's
// parameters, for those the caller marked Param.Secret: a RoundTripper sees only the
// *http.Request, whose bytes cannot tell such a value under an ordinary key (the api commands'
// "key=@-") from any other.
type formKey struct{}

// RoundTrip implements http.RoundTripper. It reads the whole reply (as the client is about to)
// to log it, and gives the caller a body that yields the same bytes and the same end.
func (t *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	form := t.sentForm(req)
	// The duration starts when the transport below asks for a connection: a pacer in between
	// (Config.WrapTransport) lets a request that far only once it has a slot, so that wait is
	// not counted; its wait for room to dial a connection comes later and is. A transport that
	// does not trace (a test's) is timed from here.
	var began atomic.Pointer[time.Time]
	entered := time.Now()
	trace := &httptrace.ClientTrace{GetConn: func(string) { now := time.Now(); began.CompareAndSwap(nil, &now) }}
	resp, err := t.base.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	ex := Exchange{
		Method:        req.Method,
		URL:           redactCpsess(req.URL.String()),
		RequestHeader: redactHeader(req.Header),
		RequestBody:   redactedForm(form),
	}
	logged := err // why the exchange failed, as the log tells it
	if err == nil {
		ex.Status = resp.StatusCode
		ex.ResponseHeader = redactHeader(resp.Header)
		var data []byte
		data, logged = t.readReply(resp)
		ex.ResponseBody = t.c.redactBody(string(data), form)
	}
	start := entered
	if b := began.Load(); b != nil {
		start = *b
	}
	ex.Duration = time.Since(start)
	if logged != nil {
		// A transport's error text holds no URL, but it is scrubbed like a reply all the same.
		ex.Err = errors.New(t.c.scrub(logged.Error(), form))
	}
	t.c.cfg.Logger(ex)
	return resp, err
}

// readReply reads at most the client's reply limit and one byte more (which shows the limit
// passed) and puts back in resp a body that replays those bytes, then goes on as the original
// would: to its end, on past the limit, or to the same read error. It returns the bytes within
// the limit and why the reply is unreadable, if it is.
func (t *logTransport) readReply(resp *http.Response) ([]byte, error) {
	limit := t.c.maxReply
	if err := declaredTooLarge(resp, limit); err != nil {
		return nil, err // the client reads none of it either
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	rest := io.Reader(resp.Body)
	if err != nil {
		rest = errReader{err}
	}
	resp.Body = replayBody{io.MultiReader(bytes.NewReader(data), rest), resp.Body}
	return withinLimit(data, err, limit)
}

// replayBody is a reply body read ahead: Read goes over what was read, Close closes the original.
type replayBody struct {
	io.Reader
	io.Closer
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// sentForm reads the request's form again through GetBody (the body itself is the transport
// below's to send) and marks each value secret whose key says so (isSecretKey), that the caller
// marked (formKey), or that holds the client's own secret. A value that does not decode is
// hidden whole.
func (t *logTransport) sentForm(req *http.Request) []Param {
	if req.GetBody == nil {
		return nil // a GET, or a body that cannot be read twice
	}
	rc, err := req.GetBody()
	if err != nil {
		return nil
	}
	body, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil || len(body) == 0 {
		return nil
	}
	sent, _ := req.Context().Value(formKey{}).([]Param)
	own := t.c.cfg.Secret
	var form []Param
	for pair := range strings.SplitSeq(string(body), "&") {
		k, v, _ := strings.Cut(pair, "=")
		key, kerr := url.QueryUnescape(k)
		val, verr := url.QueryUnescape(v)
		p := Param{Key: key, Value: val}
		p.Secret = kerr != nil || verr != nil ||
			slices.ContainsFunc(sent, func(m Param) bool { return m.Secret && m.Key == key && m.Value == val }) ||
			len(own) >= minSecretLen && strings.Contains(val, own)
		form = append(form, p)
	}
	return form
}
