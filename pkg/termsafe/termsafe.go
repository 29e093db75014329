// Package termsafe makes untrusted text safe to write to a terminal or to
// stderr. Text that came from a server, a certificate or a child process can
// hold escape sequences that retitle the window, clear the screen, move the
// cursor or reorder what is shown (bidirectional overrides): whoever presents
// a certificate before its fingerprint is pinned would control the very
// screen the pin decision is made on. Such text goes through String or Text
// before it is printed; JSON and YAML output keep the exact text, escaped by
// their encoders.
package termsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// String returns s with every control character (C0, DEL, C1, ESC),
// bidirectional control (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
// U+061C) and invalid UTF-8 byte shown escaped (\x1b, \u202e, \n), so the
// result is one line that draws nothing but its characters.
func String(s string) string { return escape(s, false) }

// Text is String for multi-line text (a reply body for -v): newlines and
// tabs are kept, everything else is escaped as String does.
func Text(s string) string { return escape(s, true) }

// Bounded is String cut to at most max runes of the original text, with
// "…" marking a cut, for messages whose length a server controls.
func Bounded(s string, max int) string {
	if max > 0 && utf8.RuneCountInString(s) > max {
		n := 0
		for i := range s {
			if n == max {
				return String(s[:i]) + "…"
			}
			n++
		}
	}
	return String(s)
}

func escape(s string, multiline bool) string {
	if clean(s, multiline) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// clean reports whether s needs no escaping, the common case, without
// allocating.
func clean(s string, multiline bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 || c == 0x7f) && !(multiline && (c == '\n' || c == '\t')) {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return false
		}
		i += size
	}
	return true
}

// unsafeRune reports the non-ASCII runes a terminal acts on instead of
// drawing: C1 controls (0x9b is a one-byte CSI on some terminals) and the
// bidirectional controls that reorder the text around them.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}
