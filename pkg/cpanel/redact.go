package cpanel

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// redactHeader copies h with every credential-bearing header's values replaced, and a cpsess
// token hidden in any other: a login's reply carries the session in its Location too.
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
			r := make([]string, len(vs))
			for i, v := range vs {
				r[i] = redactCpsess(v)
			}
			out[k] = r
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

// scrub removes every encoding of any secret of this request or of the client's login that a
// server might echo back, and any cpsess token.
func (c *Client) scrub(s string, form []Param) string {
	if s == "" {
		return s
	}
	if r := c.secrets(form); r != nil {
		s = r.Replace(s)
	}
	return redactCpsess(s)
}

// minSecretLen is the shortest secret redacted in text: a shorter one would blank out
// ordinary words, and the servers refuse passwords that short anyway.
const minSecretLen = 4

// secrets is a replacer of every form (secretForms) of the secret parameters in form and of the
// client's own secret; nil when there is none to hide. A call without secret parameters gets
// the client's own replacer, built once.
func (c *Client) secrets(form []Param) *strings.Replacer {
	var olds []string
	for _, p := range form {
		if isSecretParam(p) && len(p.Value) >= minSecretLen {
			olds = append(olds, secretForms(p.Value)...)
		}
	}
	if len(olds) == 0 {
		return c.ownSecret
	}
	return newRedactor(append(olds, c.ownForms...))
}

// replySecrets is secrets(form) for a reply, or nil when the reply cannot hold any form of a
// secret: the common case, where building the forms and running the replacer over every string
// would be most of the cost of a call. Every form keeps the secret's longest run of ASCII
// letters and digits as it is, so a reply whose body and decoded strings lack that run holds no
// form of it.
func (c *Client) replySecrets(form []Param, rep *Reply) *strings.Replacer {
	body := string(rep.Body)
	mayHold := func(secret string) bool {
		run := longestAlnumRun(secret)
		return run == "" || strings.Contains(body, run) || treeContains(rep.Decoded, run)
	}
	for _, p := range form {
		if isSecretParam(p) && len(p.Value) >= minSecretLen && mayHold(p.Value) {
			return c.secrets(form)
		}
	}
	if c.ownSecret != nil && mayHold(c.cfg.Secret) {
		return c.ownSecret
	}
	return nil
}

// longestAlnumRun is the longest run of ASCII letters and digits in s.
func longestAlnumRun(s string) string {
	best, start := "", -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isAlnum(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start > len(best) {
			best = s[start:i]
		}
		start = -1
	}
	return best
}

// treeContains reports whether any string of a decoded JSON tree (keys included) holds s.
func treeContains(v any, s string) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, s)
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, s) || treeContains(e, s) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if treeContains(e, s) {
				return true
			}
		}
	}
	return false
}

// ownSecretForms are the forms of the client's own secret, which every reply is cleaned of.
func ownSecretForms(secret string) []string {
	if len(secret) < minSecretLen {
		return nil
	}
	return secretForms(secret)
}

// newRedactor replaces each of olds with "<redacted>"; nil when olds is empty.
func newRedactor(olds []string) *strings.Replacer {
	if len(olds) == 0 {
		return nil
	}
	// At one position the replacer tries its strings in order: longest first, so a longer
	// encoding is hidden whole rather than a shorter one inside it.
	slices.SortFunc(olds, func(a, b string) int { return len(b) - len(a) })
	olds = slices.Compact(olds)
	pairs := make([]string, 0, 2*len(olds))
	for _, o := range olds {
		pairs = append(pairs, o, redacted)
	}
	return strings.NewReplacer(pairs...)
}

// secretForms is s as a server may echo it back: raw; JSON-escaped (Go's and Perl's way, with
// HTML-safe escapes, non-ASCII as \u escapes, and "\/"); URL-encoded with "+" or "%20" for a
// space, in upper or lower case hex; HTML-escaped with named or numeric entities.
func secretForms(s string) []string {
	forms := []string{s}
	for _, escHTML := range []bool{false, true} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escHTML)
		if enc.Encode(s) == nil {
			j := strings.TrimSuffix(b.String(), "\n")
			j = strings.TrimSuffix(strings.TrimPrefix(j, `"`), `"`)
			forms = append(forms, j, strings.ReplaceAll(j, "/", `\/`), asciiJSON(j))
		}
	}
	q := url.QueryEscape(s)
	p := strings.ReplaceAll(q, "+", "%20")
	forms = append(forms, q, p, lowerHex(q), lowerHex(p))
	h := html.EscapeString(s) // &#39; and &#34;
	forms = append(forms, h,
		strings.NewReplacer("&#39;", "&#x27;", "&#34;", "&quot;").Replace(h),
		strings.NewReplacer("&#39;", "&apos;", "&#34;", "&quot;").Replace(h))
	out := forms[:0]
	for _, f := range forms {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// asciiJSON rewrites the non-ASCII characters of a JSON string body as \u escapes (surrogate
// pairs beyond the BMP), as encoders in ASCII mode do.
func asciiJSON(j string) string {
	var b strings.Builder
	for _, r := range j {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, "\\u%04x\\u%04x", r1, r2)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

// lowerHex turns the %XX escapes of a URL-encoded string to lower case.
func lowerHex(q string) string {
	b := []byte(q)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = toLowerASCII(b[i+1]), toLowerASCII(b[i+2])
		}
	}
	return string(b)
}

func toLowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// scrubTree replaces secrets in every string of a decoded JSON tree, in place.
func scrubTree(r *strings.Replacer, v any) any {
	switch x := v.(type) {
	case string:
		return r.Replace(x)
	case map[string]any:
		for k, e := range x {
			x[k] = scrubTree(r, e)
		}
	case []any:
		for i, e := range x {
			x[i] = scrubTree(r, e)
		}
	}
	return v
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
