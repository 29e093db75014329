package cpanel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	defaultTimeout    = 2 * time.Minute
	defaultMaxRetries = 2
	defaultUserAgent  = "cpctl"
	defaultMaxConns   = 16
	maxHeaderBytes    = 64 << 10
	connBufferSize    = 1 << 10
)

// sharedHeaders are the header values of every request a client sends, as
// net/http stores them, built once: net/http never writes to a request's
// header, so requests can share them.
type sharedHeaders struct{ form, acceptJSON, acceptXML, userAgent, auth []string }

// Client talks to one server. It is safe for concurrent use; bulk runs share one Client so that
// connections (and a session) are reused.
type Client struct {
	cfg        Config
	base       *url.URL
	baseStr    string // scheme://host[:port][/prefix], without a trailing slash
	kind       Kind
	authHeader string // precomputed for token, password and access hash
	hdr        sharedHeaders
	timeout    time.Duration
	retries    int
	hc         *http.Client
	maxReply   int64 // bytes of a reply body read at most
	sleep      func(context.Context, time.Duration) error
	closeIdle  func() // CloseIdleConnections of the transports that have it
	// ownForms are the encodings of cfg.Secret a reply may echo, and ownSecret their replacer.
	ownForms  []string
	ownSecret *strings.Replacer

	// mu guards the session: the cpsess path segment ("/cpsess0123456789") and a generation
	// number so that concurrent callers seeing an expired session log in only once.
	mu       sync.Mutex
	session  string
	gen      uint64
	loginSem chan struct{} // one login at a time, but a waiting caller can still give up
}

// InferKind infers the server kind from a URL: port 2087/2086 means WHM, 2083/2082 cPanel; on
// other ports a host starting with "whm." or "cpanel." decides. ok is false otherwise.
func InferKind(rawURL string) (Kind, bool) {
	u, err := parseBaseURL(rawURL)
	if err != nil {
		return "", false
	}
	switch u.Port() {
	case "2087", "2086":
		return KindWHM, true
	case "2083", "2082":
		return KindCPanel, true
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case strings.HasPrefix(host, "whm."):
		return KindWHM, true
	case strings.HasPrefix(host, "cpanel."):
		return KindCPanel, true
	}
	return "", false
}

// CPanelURLFromWHM returns the cPanel URL on the same server as a WHM URL: port 2087 becomes
// 2083, 2086 becomes 2082, and a "whm." host becomes "cpanel.". Any path prefix is kept.
func CPanelURLFromWHM(whmURL string) (string, error) {
	u, err := parseBaseURL(whmURL)
	if err != nil {
		return "", err
	}
	host, port := u.Hostname(), u.Port()
	switch {
	case port == "2087":
		port = "2083"
	case port == "2086":
		port = "2082"
	case strings.HasPrefix(strings.ToLower(host), "whm."):
		host = "cpanel." + host[len("whm."):]
	default:
		return "", fmt.Errorf("cannot derive a cPanel URL from %q: expected port 2087/2086 or a whm. host", u.Redacted())
	}
	if port != "" {
		u.Host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		u.Host = "[" + host + "]"
	} else {
		u.Host = host
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// parseBaseURL accepts "https://host[:port][/prefix]"; a bare "host:port" gets https.
func parseBaseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("server URL is empty")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid server URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("invalid server URL: scheme %q is not http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("invalid server URL: no host")
	}
	if u.User != nil {
		return nil, errors.New("invalid server URL: credentials do not belong in the URL")
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// New validates cfg and builds a client with its own connection pool.
func New(cfg Config) (*Client, error) {
	u, err := parseBaseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	kind := cfg.Kind
	if kind == "" {
		k, ok := InferKind(cfg.URL)
		if !ok {
			return nil, fmt.Errorf("cannot infer the server kind from %s: give it (whm or cpanel)", u.Redacted())
		}
		kind = k
	}
	if kind != KindWHM && kind != KindCPanel {
		return nil, fmt.Errorf("unknown server kind %q (want whm or cpanel)", kind)
	}
	if cfg.Auth == "" {
		cfg.Auth = AuthToken
	}
	if cfg.User == "" {
		return nil, errors.New("no user name given for the server login")
	}
	if strings.ContainsAny(cfg.User, ":\r\n") {
		return nil, errors.New("user name contains ':' or a line break")
	}
	c := &Client{cfg: cfg, base: u, kind: kind, loginSem: make(chan struct{}, 1), maxReply: maxReplySize, sleep: sleep}
	c.baseStr = strings.TrimSuffix(u.String(), "/")
	switch cfg.Auth {
	case AuthToken:
		tok := strings.TrimSpace(cfg.Secret)
		if tok == "" {
			return nil, errors.New("no API token given")
		}
		if strings.ContainsAny(tok, "\r\n") {
			return nil, errors.New("API token contains a line break")
		}
		scheme := "whm "
		if kind == KindCPanel {
			scheme = "cpanel "
		}
		c.authHeader = scheme + cfg.User + ":" + tok
	case AuthPassword:
		if cfg.Secret == "" {
			return nil, errors.New("no password given")
		}
		c.authHeader = basicAuth(cfg.User, cfg.Secret)
	case AuthAccessHash:
		if kind != KindWHM {
			return nil, errors.New("access hash authentication works only with WHM")
		}
		h := strings.NewReplacer("\r", "", "\n", "").Replace(cfg.Secret)
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, errors.New("no access hash given")
		}
		c.authHeader = "WHM " + cfg.User + ":" + h
	case AuthSession:
		if cfg.Secret == "" {
			return nil, errors.New("no password given for the session login")
		}
	default:
		return nil, fmt.Errorf("unknown authentication method %q (want token, password, accesshash or session)", cfg.Auth)
	}
	if cfg.Fingerprint != "" {
		fp, err := NormalizeFingerprint(cfg.Fingerprint)
		if err != nil {
			return nil, err
		}
		c.cfg.Fingerprint = fp
	}
	c.ownForms = ownSecretForms(cfg.Secret)
	c.ownSecret = newRedactor(c.ownForms)
	c.timeout = cfg.Timeout
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	switch {
	case cfg.MaxRetries < 0:
		c.retries = 0
	case cfg.MaxRetries == 0:
		c.retries = defaultMaxRetries
	default:
		c.retries = cfg.MaxRetries
	}
	if c.cfg.UserAgent == "" {
		c.cfg.UserAgent = defaultUserAgent
	}
	c.hdr = sharedHeaders{form: []string{"application/x-www-form-urlencoded"}, acceptJSON: []string{"application/json"},
		acceptXML: []string{"application/xml, text/xml"}, userAgent: []string{c.cfg.UserAgent}, auth: []string{c.authHeader}}
	rt := cfg.Transport
	if rt == nil {
		tlsCfg, err := tlsConfig(u.Hostname(), cfg.CAFile, cfg.Insecure, c.cfg.Fingerprint)
		if err != nil {
			return nil, err
		}
		maxConns := cfg.MaxConns
		if maxConns <= 0 {
			maxConns = defaultMaxConns
		}
		// Each new connection resumes the TLS session of an earlier one
		// where the server allows: the server skips signing, and a bulk
		// run's connections cost it less. VerifyConnection still checks
		// the (remembered) certificate on every connection.
		tlsCfg.ClientSessionCache = tls.NewLRUClientSessionCache(maxConns)
		// net/http's Transport never writes a POST again once it may have reached the server
		// (it retries only requests that wrote nothing), notices a connection the server closed
		// while idle, and speaks CONNECT to a proxy named in the environment.
		rt = &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			DialContext: (&net.Dialer{
				Timeout:   30 * time.Second,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			TLSClientConfig:     tlsCfg,
			ForceAttemptHTTP2:   true,
			MaxIdleConns:        maxConns,
			MaxIdleConnsPerHost: maxConns,
			// No more connections than calls at once: a call that starts
			// the moment another's reply was read would otherwise dial
			// before that connection is back in the pool, paying a TLS
			// handshake (on both ends) for a connection that then idles.
			MaxConnsPerHost: maxConns,
			// A request and a reply of the API are a kilobyte or so:
			// net/http's 4 KB buffers each way are memory held by every
			// connection (a run over 200 servers keeps 1,200), and a
			// larger body is read or written past a small buffer.
			ReadBufferSize:      connBufferSize,
			WriteBufferSize:     connBufferSize,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 20 * time.Second,
			// An endless header line must not grow the process without bound.
			MaxResponseHeaderBytes: maxHeaderBytes,
		}
	}
	// Close drops the idle connections of the transport itself (a wrapper
	// need not pass CloseIdleConnections on), and those of a wrapper that
	// does: pace.Transport sends through a clone of the transport it is
	// given, whose connections the original never sees.
	transports := []http.RoundTripper{rt}
	if cfg.WrapTransport != nil {
		rt = cfg.WrapTransport(rt)
		transports = append(transports, rt)
	}
	if cfg.Logger != nil {
		// The log goes around the wrapper, not under it: pace.Transport paces through a copy
		// of the client's own *http.Transport, which it must be handed itself to gate its
		// dials. The log still leaves a request's wait for a slot of the pacer out of its
		// duration (logTransport times from the connection asked for, which the pacer allows
		// only once the request has a slot), and it sees the Cookie an http.Client adds.
		rt = &logTransport{base: rt, c: c}
	}
	c.closeIdle = func() { closeIdleConnections(transports) }
	c.hc = &http.Client{
		Transport: rt,
		// A redirect would resend the form to a place the user did not name; report it instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if cfg.Auth == AuthSession {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, fmt.Errorf("cookie jar: %w", err)
		}
		c.hc.Jar = jar // the session lives in its cookie
	}
	return c, nil
}

// closeIdleConnections closes the idle connections of each transport that
// can.
func closeIdleConnections(transports []http.RoundTripper) {
	for _, t := range transports {
		if ci, ok := t.(interface{ CloseIdleConnections() }); ok {
			ci.CloseIdleConnections()
		}
	}
}

// Kind returns the server kind (given or inferred).
func (c *Client) Kind() Kind { return c.kind }

// Close logs out an open session within ctx and closes idle connections. A logout that fails
// is returned, the connections are closed anyway.
func (c *Client) Close(ctx context.Context) error {
	var err error
	c.mu.Lock()
	sess := c.session
	c.session = ""
	c.mu.Unlock()
	if sess != "" {
		err = c.logout(ctx, sess)
	}
	if c.closeIdle != nil {
		c.closeIdle()
	}
	return err
}
