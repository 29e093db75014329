package secret

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/cpctl/cpctl/pkg/secret/strength"
)

// Length bounds of a generated password.
const (
	// DefaultLength is used when no length is asked for.
	DefaultLength = 20
	// MinLength is the shortest length at which cPanel's scorer can
	// reach 100: eleven distinct characters from an 84- or 89-wide pool
	// give just over the 70 bits it needs, ten never do.
	MinLength = 11
	// MaxLength guards against a typo such as --length 20000.
	MaxLength = 256
)

// The classes a generated password always draws from. Space, quotes,
// backslash and backtick are left out of the symbols because they are the
// characters people most often break when pasting into a shell or a form.
const (
	lowerChars   = "abcdefghijklmnopqrstuvwxyz"
	upperChars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digitChars   = "0123456789"
	symbolChars  = "!#$%&()*+,-./:;<=>?@[]^_{|}~"
	simpleSymbol = "-_."
)

// maxAttempts bounds the rejection loop. Every accepted password is a
// uniform draw from the alphabet that happens to pass the checks; at the
// minimum length roughly a third of draws pass, so hitting this bound
// means the constraints (e.g. an unlucky username) cannot be met.
const maxAttempts = 10000

// ErrGenerate is wrapped when no acceptable password could be produced.
var ErrGenerate = errors.New("cannot generate a password")

// Alphabet returns the characters Generate draws from, for tests and for
// documentation of --simple-charset.
func Alphabet(simple bool) string {
	return strings.Join(classes(simple), "")
}

func classes(simple bool) []string {
	if simple {
		return []string{lowerChars, upperChars, digitChars, simpleSymbol}
	}
	return []string{lowerChars, upperChars, digitChars, symbolChars}
}

// Generate returns a random password of the given length (DefaultLength
// when length is 0) that cPanel's strength algorithm scores 100 and that
// holds at least one lower-case letter, upper-case letter, digit and
// symbol. With simple set the symbols are only "-_.".
func Generate(length int, simple bool) (string, error) {
	return GenerateFor("", length, simple)
}

// GenerateFor is Generate for a named account: the result never contains
// user, compared case-insensitively, because the server refuses such
// passwords ("may not contain the username").
func GenerateFor(user string, length int, simple bool) (string, error) {
	if length == 0 {
		length = DefaultLength
	}
	if length < MinLength || length > MaxLength {
		return "", fmt.Errorf("%w: length %d is outside %d..%d", ErrGenerate, length, MinLength, MaxLength)
	}
	sets := classes(simple)
	alpha := strings.Join(sets, "")
	lowerUser := strings.ToLower(user)
	var src uniform
	buf := make([]byte, length)
	for range maxAttempts {
		// Drawing the whole password uniformly and rejecting misfits keeps
		// the result uniform over all acceptable passwords; forcing one
		// character per class into fixed slots would not.
		for i := range buf {
			n, err := src.intn(len(alpha))
			if err != nil {
				return "", err
			}
			buf[i] = alpha[n]
		}
		pw := string(buf)
		if !hasEvery(pw, sets) || strength.ScoreFor(pw, user) < 100 {
			continue
		}
		if lowerUser != "" && strings.Contains(strings.ToLower(pw), lowerUser) {
			continue
		}
		return pw, nil
	}
	return "", fmt.Errorf("%w: no acceptable password after %d attempts", ErrGenerate, maxAttempts)
}

func hasEvery(pw string, sets []string) bool {
	for _, set := range sets {
		if !strings.ContainsAny(pw, set) {
			return false
		}
	}
	return true
}

// uniform draws unbiased small integers from crypto/rand, reading random
// bytes in blocks so each draw does not cost a system call.
type uniform struct {
	buf [256]byte
	pos int
	n   int
}

// intn returns a uniform integer in [0, n) for 0 < n <= 256. Bytes at or
// above the largest multiple of n are discarded: taking b % n of every
// byte would favour the first 256 % n values.
func (u *uniform) intn(n int) (int, error) {
	if n <= 0 || n > 256 {
		return 0, fmt.Errorf("%w: alphabet size %d out of range", ErrGenerate, n)
	}
	limit := 256 - 256%n
	for {
		if u.pos == u.n {
			if _, err := rand.Read(u.buf[:]); err != nil {
				return 0, fmt.Errorf("%w: reading random bytes: %w", ErrGenerate, err)
			}
			u.pos, u.n = 0, len(u.buf)
		}
		b := int(u.buf[u.pos])
		u.pos++
		if b < limit {
			return b % n, nil
		}
	}
}
