// Package strength scores passwords the way cPanel & WHM does, so that a
// client can warn or refuse before a request is sent and the simulator can
// refuse exactly as a real server would.
//
// The server also runs cracklib and a bad-password list. Score leaves that
// step out; ScoreFor approximates it with an embedded dictionary, so its
// score is still an upper bound of the server's, but a close one.
package strength

import "math"

// Class bit flags for the character pools of cPanel's algorithm.
const (
	classDigit = 1 << iota
	classLowerAF
	classLowerGZ
	classUpperAF
	classUpperGZ
	classPunct
	classQuote
	classSpace
	classAll = classDigit | classLowerAF | classLowerGZ | classUpperAF | classUpperGZ | classPunct | classQuote | classSpace
)

var poolSize = [...]struct {
	bit  int
	size int
}{
	{classDigit, 10}, {classLowerAF, 6}, {classLowerGZ, 20}, {classUpperAF, 6},
	{classUpperGZ, 20}, {classPunct, 22}, {classQuote, 4}, {classSpace, 1},
}

// log2(3): the fixed weight of a character that continues a pattern.
var patternBits = math.Log2(3)

func classOf(b byte) int {
	switch {
	case b >= '0' && b <= '9':
		return classDigit
	case b >= 'a' && b <= 'f':
		return classLowerAF
	case b >= 'g' && b <= 'z':
		return classLowerGZ | classLowerAF
	case b >= 'A' && b <= 'F':
		return classUpperAF
	case b >= 'G' && b <= 'Z':
		return classUpperGZ | classUpperAF
	case b == ' ':
		return classSpace
	case b == '"' || b == '#' || b == '\'' || b == ';':
		return classQuote
	}
	switch b {
	case '!', '$', '%', '&', '(', ')', '*', '+', ',', '-', '.', '/', ':', '<', '=', '>', '?', '`', '{', '|', '}', '~':
		return classPunct
	}
	return classAll
}

// Score returns the password's strength from 0 to 100 by cPanel's
// algorithm, without the dictionary step (ScoreFor adds it).
func Score(password string) int {
	if password == "" {
		return 0
	}
	if len(password) < 4 {
		return 1
	}
	var classes, different, pattern int
	for i := 0; i < len(password); i++ {
		b := password[i]
		classes |= classOf(b)
		if i == 0 {
			different++
			continue
		}
		prev := password[i-1]
		if b == prev || int(b) == int(prev)+1 || int(b) == int(prev)-1 {
			pattern++
		} else {
			different++
		}
	}
	pool := 0
	for _, p := range poolSize {
		if classes&p.bit != 0 {
			pool += p.size
		}
	}
	entropy := float64(different)*math.Log2(float64(pool)) + float64(pattern)*patternBits
	if entropy > 70 {
		return 100
	}
	return int(100 * entropy / 70)
}

// Meets reports whether the password's score reaches min, as the server
// compares (score >= minimum).
func Meets(password string, min int) bool { return Score(password) >= min }

// ScoreFor is the score a server gives password for user (the account,
// FTP or mailbox name; "" when unknown): Score, but 1 when the dictionary
// step rejects the password (see Rejection), as cracklib and the server's
// bad-passwords list make it. Local checks should use it rather than
// Score, so they refuse what the server will refuse.
func ScoreFor(password, user string) int {
	s := Score(password)
	if s > 1 && Rejection(password, user) != "" {
		return 1
	}
	return s
}
