package cpanel

import (
	"encoding/json"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxParseDepth bounds the nesting parseJSON handles itself. Replies nest a handful of levels;
// the bound keeps the recursion shallow whatever a server sends (deeper input goes to
// encoding/json, which has its own limit).
const maxParseDepth = 64

// parseJSON is decodeJSON's fast path: it builds the tree encoding/json builds with UseNumber
// (map[string]any, []any, json.Number, string, bool, nil) without reflection.
//
// It declines (ok=false) whatever it does not reproduce exactly: syntax errors, trailing data,
// invalid UTF-8 (encoding/json replaces it with U+FFFD), \u escapes of surrogates (encoding/json
// pairs or replaces them) and nesting deeper than maxParseDepth. The caller then falls back to
// encoding/json, so error messages and edge cases stay encoding/json's.
//
// Strings and numbers without escapes are substrings of one copy of body, which saves an
// allocation each but keeps that copy alive as long as any of them is: fine for API replies,
// whose trees are used and dropped with the reply.
func parseJSON(body []byte) (v any, ok bool) {
	// Scratch sized for typical replies; p does not escape, so these can live on the stack.
	p := parser{s: string(body), elems: make([]any, 0, 8), members: make([]member, 0, 8)}
	p.skipSpace()
	v, ok = p.value()
	if !ok {
		return nil, false
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, false
	}
	return v, true
}

// member is one name/value pair of an object being parsed.
type member struct {
	key string
	val any
}

type parser struct {
	s     string
	pos   int
	depth int
	// Scratch stacks shared by all nesting levels, so that each array or object is allocated
	// once at its final size: a level appends above the entries of the levels enclosing it and
	// truncates back when it is done.
	elems   []any
	members []member
	buf     []byte // unescaped string being built
}

// peek returns the current byte, or 0 (never valid where JSON is expected) at the end.
func (p *parser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (any, bool) {
	switch c := p.peek(); {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		return s, true
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, false
}

func (p *parser) literal(word string) bool {
	if len(p.s)-p.pos < len(word) || p.s[p.pos:p.pos+len(word)] != word {
		return false
	}
	p.pos += len(word)
	return true
}

// number checks the JSON number grammar and returns its text, as UseNumber does.
func (p *parser) number() (any, bool) {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	switch c := p.peek(); {
	case c == '0':
		p.pos++
	case '1' <= c && c <= '9':
		p.digits()
	default:
		return nil, false
	}
	if p.peek() == '.' {
		p.pos++
		if !p.digits() {
			return nil, false
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.pos++
		if c := p.peek(); c == '+' || c == '-' {
			p.pos++
		}
		if !p.digits() {
			return nil, false
		}
	}
	return json.Number(p.s[start:p.pos]), true
}

// digits skips decimal digits and reports whether there was at least one.
func (p *parser) digits() bool {
	start := p.pos
	for p.pos < len(p.s) && '0' <= p.s[p.pos] && p.s[p.pos] <= '9' {
		p.pos++
	}
	return p.pos > start
}

// enter counts one more level of nesting and reports whether it is within maxParseDepth.
func (p *parser) enter() bool {
	p.depth++
	return p.depth <= maxParseDepth
}

func (p *parser) array() (any, bool) {
	if !p.enter() {
		return nil, false
	}
	p.pos++ // '['
	p.skipSpace()
	if p.peek() == ']' {
		p.pos++
		p.depth--
		return []any{}, true // encoding/json gives an empty slice, not nil
	}
	base := len(p.elems)
	for {
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		p.elems = append(p.elems, v)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			a := make([]any, len(p.elems)-base)
			copy(a, p.elems[base:])
			clear(p.elems[base:])
			p.elems = p.elems[:base]
			p.depth--
			return a, true
		default:
			return nil, false
		}
	}
}

func (p *parser) object() (any, bool) {
	if !p.enter() {
		return nil, false
	}
	p.pos++ // '{'
	p.skipSpace()
	if p.peek() == '}' {
		p.pos++
		p.depth--
		return map[string]any{}, true
	}
	base := len(p.members)
	for {
		if p.peek() != '"' {
			return nil, false
		}
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		p.skipSpace()
		if p.peek() != ':' {
			return nil, false
		}
		p.pos++
		p.skipSpace()
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		p.members = append(p.members, member{k, v})
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			m := make(map[string]any, len(p.members)-base)
			for _, kv := range p.members[base:] {
				m[kv.key] = kv.val // in order, so the last of duplicate keys wins as in encoding/json
			}
			clear(p.members[base:])
			p.members = p.members[:base]
			p.depth--
			return m, true
		default:
			return nil, false
		}
	}
}

// str reads a string at the opening quote. Without escapes the result is a substring of the
// input; escapes go through p.buf.
func (p *parser) str() (string, bool) {
	p.pos++ // '"'
	start := p.pos
	ascii := true
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			s := p.s[start:p.pos]
			p.pos++
			if !ascii && !utf8.ValidString(s) {
				return "", false
			}
			return s, true
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		p.pos++
	}
	return "", false
}

// escaped continues str at the first backslash of the string that began at start.
func (p *parser) escaped(start int) (string, bool) {
	b := append(p.buf[:0], p.s[start:p.pos]...)
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			raw := p.s[start:p.pos]
			p.pos++
			// Escapes are ASCII, so the raw text is valid UTF-8 exactly when the runs copied
			// from it are.
			if !utf8.ValidString(raw) {
				return "", false
			}
			p.buf = b // reused by the next escaped string
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b = append(b, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.s) {
			return "", false
		}
		e := p.s[p.pos+1]
		p.pos += 2
		switch i := strings.IndexByte(`"\/bfnrt`, e); {
		case i >= 0:
			b = append(b, "\"\\/\b\f\n\r\t"[i])
		case e == 'u':
			r, ok := p.hex4()
			if !ok || utf16.IsSurrogate(r) {
				return "", false
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", false
		}
	}
	return "", false
}

// hex4 reads the four hex digits of a \u escape.
func (p *parser) hex4() (rune, bool) {
	if len(p.s)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[p.pos : p.pos+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.pos += 4
	return r, true
}
