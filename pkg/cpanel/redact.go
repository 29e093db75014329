package cpanel

import (
	"net/http"
	"strings"
	"time"
)

// log hands a redacted copy of one exchange to the configured Logger.
func (c *Client) log(req *http.Request, form []Param, resp *http.Response, body []byte, d time.Duration, err error) {
	if c.cfg.Logger == nil {
		return
	}
	ex := Exchange{
		Method:        req.Method,
		URL:           redactCpsess(req.URL.String()),
		RequestHeader: redactHeader(req.Header),
		RequestBody:   redactedForm(form),
		Duration:      d,
		Err:           err,
	}
	if resp != nil {
		ex.Status = resp.StatusCode
		ex.ResponseHeader = redactHeader(resp.Header)
		ex.ResponseBody = c.redactBody(string(body), form)
	}
	c.cfg.Logger(ex)
}

// redactHeader copies h with every credential-bearing header's values replaced.
func redactHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Cookie", "Set-Cookie", "X-Cpanel-Otp", "Proxy-Authorization":
			r := make([]string, len(vs))
			for i := range r {
				r[i] = redacted
			}
			out[k] = r
		default:
			out[k] = append([]string(nil), vs...)
		}
	}
	return out
}

// redactBody hides cpsess tokens, the values of secret JSON fields (security_token, password,
// token, ...) and any secret value of this request that the server echoed.
func (c *Client) redactBody(s string, form []Param) string {
	s = redactJSONFields(s)
	return c.scrub(s, form)
}

// redactCpsess replaces the token after every "cpsess" with "<redacted>".
func redactCpsess(s string) string {
	const p = "cpsess"
	i := strings.Index(s, p)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i+len(p)])
		s = s[i+len(p):]
		j := 0
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		if j > 0 {
			b.WriteString(redacted)
		}
		s = s[j:]
		i = strings.Index(s, p)
	}
	b.WriteString(s)
	return b.String()
}

func isAlnum(ch byte) bool {
	return ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z'
}

// redactJSONFields replaces the string value of every JSON member whose name is a secret key.
// It scans text rather than parsing, so it also works on broken or truncated replies.
func redactJSONFields(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '"' {
			continue
		}
		// Read a key candidate.
		j := i + 1
		for j < len(s) && s[j] != '"' && s[j] != '\\' {
			j++
		}
		if j >= len(s) || s[j] != '"' {
			i = j
			continue
		}
		key := s[i+1 : j]
		k := j + 1
		for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r') {
			k++
		}
		if k >= len(s) || s[k] != ':' || !isSecretKey(key) {
			i = j
			continue
		}
		k++
		for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r') {
			k++
		}
		if k >= len(s) || s[k] != '"' {
			i = j
			continue
		}
		// Find the end of the string value, honouring escapes.
		e := k + 1
		for e < len(s) && s[e] != '"' {
			if s[e] == '\\' {
				e++
			}
			e++
		}
		if b.Len() == 0 && last == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last : k+1])
		b.WriteString(redacted)
		if e < len(s) {
			last = e
		} else {
			last = len(s)
		}
		i = last
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
