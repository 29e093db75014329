package strength

import (
	_ "embed"
	"slices"
	"strings"
)

// The lists are sorted in byte order, one lowercase entry a line, so a
// lookup is a binary search over the embedded text: nothing is built at
// start-up and nothing is mutable. lists/SOURCE.md says where they come
// from and under which licence.
var (
	//go:embed lists/words.txt
	dictionaryWords string
	//go:embed lists/passwords.txt
	commonPasswords string
)

// Rules a real server applies through cracklib before it scores a
// password (docs/protocol.md, "Password strength"): shorter than minLength
// bytes, or fewer than minDifferent distinct bytes, is rejected outright.
// cracklib also rejects runs of neighbouring characters ("abcdef"); that
// rule is left out because its threshold differs between versions, and an
// estimate must never refuse what a server accepts.
const (
	minLength    = 6
	minDifferent = 5
)

// Rejection says why the server's dictionary step would refuse password
// for user (an account, FTP or mailbox name; "" when unknown): a reason in
// cracklib's words, or "" when the password passes it. It approximates
// cracklib from above: a password refused here is refused by a server,
// while a server may refuse more (its dictionary is larger).
func Rejection(password, user string) string {
	switch {
	case len(password) < 4:
		return "it is WAY too short"
	case len(password) < minLength:
		return "it is too short"
	case distinctBytes(password) < minDifferent:
		return "it does not contain enough DIFFERENT characters"
	}
	lower := strings.ToLower(strings.TrimSpace(password))
	if lower == "" {
		return "it is all whitespace"
	}
	user = strings.ToLower(strings.TrimSpace(user))
	for _, base := range [2]string{lower, reverse(lower)} {
		cs := candidates(base)
		for i, c := range cs {
			if len(c) < 3 || slices.Contains(cs[:i], c) {
				continue
			}
			if user != "" && (c == user || c == user+user) {
				return "it is based on your username"
			}
			// The word list holds letters only: a candidate with anything
			// else in it need not be looked up there.
			if inList(commonPasswords, c) || (onlyLetters(c) && inList(dictionaryWords, c)) {
				return "it is based on a dictionary word"
			}
		}
	}
	return ""
}

func onlyLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) {
			return false
		}
	}
	return true
}

// candidates are the forms of a lowercased password that cracklib's
// mangling rules reduce to a word: itself; without the digits and symbols
// around it; and with leetspeak undone (a 1 read as i and as l).
func candidates(s string) [6]string {
	core := trimNonLetters(s)
	// Undo leetspeak before trimming what is left around the word, but
	// after trimming digits, so "$ummer1" becomes "summer" while
	// "password1" does not become "passwordi".
	inner := strings.Trim(s, "0123456789")
	c := [6]string{s, core}
	// A form with other symbols in it stays no word after undoing
	// leetspeak: not building it saves most of the work for strong
	// passwords.
	if leetable(core) {
		c[2], c[3] = unleet(core, 'i'), unleet(core, 'l')
	}
	if leetable(inner) {
		c[4], c[5] = trimNonLetters(unleet(inner, 'i')), trimNonLetters(unleet(inner, 'l'))
	}
	return c
}

// leetable reports whether s holds only letters and leetspeak digits and
// symbols.
func leetable(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) && !strings.ContainsRune(leetChars, rune(s[i])) {
			return false
		}
	}
	return true
}

// leetChars are the characters unleet reads as letters.
const leetChars = "0134@5$7+89!|"

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' }

func trimNonLetters(s string) string {
	i, j := 0, len(s)
	for i < j && !isLetter(s[i]) {
		i++
	}
	for j > i && !isLetter(s[j-1]) {
		j--
	}
	return s[i:j]
}

// unleet maps the usual leetspeak substitutions back to letters, reading
// 1 as one.
func unleet(s string, one rune) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '0':
			return 'o'
		case '1', '!', '|':
			return one
		case '3':
			return 'e'
		case '4', '@':
			return 'a'
		case '5', '$':
			return 's'
		case '7', '+':
			return 't'
		case '8':
			return 'b'
		case '9':
			return 'g'
		}
		return r
	}, s)
}

func reverse(s string) string {
	b := []byte(s)
	slices.Reverse(b)
	return string(b)
}

func distinctBytes(s string) int {
	var seen [256]bool
	n := 0
	for i := 0; i < len(s); i++ {
		if !seen[s[i]] {
			seen[s[i]] = true
			n++
		}
	}
	return n
}

// inList reports whether w is a line of list, a sorted newline-separated
// text, by binary search over line starts.
func inList(list, w string) bool {
	lo, hi := 0, len(list)
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := strings.LastIndexByte(list[:mid], '\n') + 1
		end := strings.IndexByte(list[start:], '\n')
		if end < 0 {
			end = len(list)
		} else {
			end += start
		}
		switch c := strings.Compare(w, list[start:end]); {
		case c == 0:
			return true
		case c < 0:
			hi = start
		default:
			lo = end + 1
		}
	}
	return false
}
