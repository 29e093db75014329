package cpanel

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// redacted replaces every secret in logs and previews.
const redacted = "<redacted>"

// built is a request ready to send: path is relative to the base URL (and to the cpsess prefix of
// a session), form is the complete form including the API's routing parameters.
type built struct {
	op     string
	api    API
	module string
	fn     string
	path   string // with query, e.g. "/json-api/passwd?api.version=1"
	form   []Param
	xml    bool
	// uapiCpanel marks WHM API 1 uapi_cpanel, whose metadata.result hides the UAPI status.
	uapiCpanel bool
	// uapiWrapped marks UAPI through /json-api/cpanel apiversion 3 (the "result" wrapper).
	uapiWrapped bool
	idempotent  bool
}

func validName(what, s string) error {
	if s == "" {
		return fmt.Errorf("no %s given", what)
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-') {
			return fmt.Errorf("invalid %s %q: only letters, digits, '_' and '-' are allowed", what, s)
		}
	}
	return nil
}

// opName names a call the way errors show it, e.g. "WHM API 1 passwd" or "UAPI Ftp/passwd".
func opName(req Request) string {
	switch req.API {
	case WHMAPI1:
		return "WHM API 1 " + req.Function
	case WHMAPI0:
		return "WHM API 0 " + req.Function
	case CPAPI2:
		return "cPanel API 2 " + req.Module + "::" + req.Function
	case UAPI:
		return "UAPI " + req.Module + "/" + req.Function
	}
	return string(req.API) + " " + req.Function
}

// build turns a Request into the path and form to send. Errors here are usage errors: nothing
// was sent.
func (c *Client) build(req Request) (built, error) {
	b := built{op: opName(req), api: req.API, module: req.Module, fn: req.Function, idempotent: req.Idempotent}
	if err := validName("function name", req.Function); err != nil {
		return b, err
	}
	switch req.API {
	case WHMAPI1:
		b.path = "/json-api/" + req.Function + "?api.version=1"
		b.form = req.Params
	case WHMAPI0:
		if req.XML {
			b.path = "/xml-api/" + req.Function
			b.xml = true
		} else {
			b.path = "/json-api/" + req.Function
		}
		b.form = req.Params
	case CPAPI2, UAPI:
		if err := validName("module name", req.Module); err != nil {
			return b, err
		}
		if c.kind == KindCPanel {
			if req.API == UAPI {
				b.path = "/execute/" + req.Module + "/" + req.Function
				b.form = req.Params
				break
			}
			b.path = "/json-api/cpanel"
			b.form = make([]Param, 0, len(req.Params)+3)
			b.form = append(b.form,
				Param{Key: "cpanel_jsonapi_apiversion", Value: "2"},
				Param{Key: "cpanel_jsonapi_module", Value: req.Module},
				Param{Key: "cpanel_jsonapi_func", Value: req.Function})
			b.form = append(b.form, req.Params...)
			break
		}
		if req.User == "" {
			return b, errors.New("through WHM it needs the cPanel account it acts on")
		}
		if req.API == UAPI && req.ViaUAPICpanel {
			b.path = "/json-api/uapi_cpanel?api.version=1"
			b.uapiCpanel = true
			b.form = make([]Param, 0, len(req.Params)+3)
			b.form = append(b.form,
				Param{Key: "cpanel.user", Value: req.User},
				Param{Key: "cpanel.module", Value: req.Module},
				Param{Key: "cpanel.function", Value: req.Function})
			b.form = append(b.form, req.Params...)
			break
		}
		version := "2"
		if req.API == UAPI {
			version = "3"
			b.uapiWrapped = true
		}
		b.path = "/json-api/cpanel"
		b.form = make([]Param, 0, len(req.Params)+4)
		b.form = append(b.form,
			Param{Key: "cpanel_jsonapi_user", Value: req.User},
			Param{Key: "cpanel_jsonapi_apiversion", Value: version},
			Param{Key: "cpanel_jsonapi_module", Value: req.Module},
			Param{Key: "cpanel_jsonapi_func", Value: req.Function})
		b.form = append(b.form, req.Params...)
	default:
		return b, fmt.Errorf("unknown API %q (want whmapi1, whmapi0, cpapi2 or uapi)", req.API)
	}
	return b, nil
}

// isSecretKey reports whether a parameter or JSON field name holds a secret. Names are compared
// without case and without a dotted prefix ("cpanel.password"); any name ending in "password"
// also counts.
func isSecretKey(k string) bool {
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		k = k[i+1:]
	}
	k = strings.ToLower(k)
	switch k {
	case "password", "pass", "passwd", "newpass", "oldpass", "token", "tfa_token",
		"accesshash", "api_token", "security_token", "secret", "cpsession":
		return true
	}
	return strings.HasSuffix(k, "password")
}

func isSecretParam(p Param) bool { return p.Secret || isSecretKey(p.Key) }

const hexDigits = "0123456789ABCDEF"

// appendQueryEscape appends s escaped like url.QueryEscape, without its intermediate string.
func appendQueryEscape(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9',
			ch == '-', ch == '_', ch == '.', ch == '~':
			dst = append(dst, ch)
		case ch == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hexDigits[ch>>4], hexDigits[ch&15])
		}
	}
	return dst
}

// encodeForm encodes params as application/x-www-form-urlencoded in their given order (the
// server's own tools keep the order, and repeated keys encode arrays).
func encodeForm(params []Param) []byte {
	n := 0
	for _, p := range params {
		n += len(p.Key) + len(p.Value) + 2
	}
	dst := make([]byte, 0, n+n/4)
	for i, p := range params {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = appendQueryEscape(dst, p.Key)
		dst = append(dst, '=')
		dst = appendQueryEscape(dst, p.Value)
	}
	return dst
}

// redactedForm encodes params for a log line with every secret value replaced.
func redactedForm(params []Param) string {
	var dst []byte
	for i, p := range params {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = appendQueryEscape(dst, p.Key)
		dst = append(dst, '=')
		if isSecretParam(p) {
			dst = append(dst, redacted...)
		} else {
			dst = appendQueryEscape(dst, p.Value)
		}
	}
	return string(dst)
}

// Preview returns the request Call would send, with every secret redacted. It sends nothing
// and does not log in; a session's cpsess token is shown as "cpsess<redacted>".
func (c *Client) Preview(req Request) Preview {
	b, err := c.build(req)
	p := Preview{Method: http.MethodPost, Header: http.Header{}}
	if err != nil {
		p.URL = c.baseStr
		return p
	}
	prefix := ""
	if c.cfg.Auth == AuthSession {
		prefix = "/cpsess" + redacted
	}
	p.URL = c.baseStr + prefix + b.path
	p.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p.Header.Set("User-Agent", c.cfg.UserAgent)
	if c.cfg.Auth == AuthSession {
		p.Header.Set("Cookie", "cpsession="+redacted)
	} else {
		p.Header.Set("Authorization", c.authScheme()+" "+redacted)
		if c.cfg.OTP != nil {
			p.Header.Set("X-CPANEL-OTP", redacted)
		}
	}
	p.Form = make([]Param, len(b.form))
	for i, f := range b.form {
		if isSecretParam(f) {
			f.Value, f.Secret = redacted, true
		}
		p.Form[i] = f
	}
	return p
}

// authScheme is the first word of the Authorization header, which is not secret.
func (c *Client) authScheme() string {
	if i := strings.IndexByte(c.authHeader, ' '); i > 0 {
		return c.authHeader[:i]
	}
	return ""
}
