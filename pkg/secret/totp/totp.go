// Package totp computes RFC 6238 time-based one-time passwords as cPanel's
// two-factor authentication uses them: HMAC-SHA-1, a 30-second step and
// six digits.
package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Step is the time step cPanel uses.
const Step = 30 * time.Second

// Digits is the code length cPanel uses.
const Digits = 6

// DecodeSecret decodes a base32 secret as WHM shows it, tolerating lower
// case, spaces and missing padding.
func DecodeSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.Join(strings.Fields(secret), ""))
	s = strings.TrimRight(s, "=")
	if s == "" {
		return nil, errors.New("totp: empty secret")
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("totp: secret is not valid base32: %w", err)
	}
	return key, nil
}

// CodeAt returns the code for the given key at time t.
func CodeAt(key []byte, t time.Time) string {
	return codeForCounter(key, uint64(t.Unix())/uint64(Step/time.Second), Digits)
}

// Code returns the current code for a base32 secret.
func Code(secret string, now time.Time) (string, error) {
	key, err := DecodeSecret(secret)
	if err != nil {
		return "", err
	}
	return CodeAt(key, now), nil
}

// Valid reports whether code matches the key at time t or one step either
// side of it, the clock skew cPanel tolerates.
func Valid(key []byte, code string, t time.Time) bool {
	counter := uint64(t.Unix()) / uint64(Step/time.Second)
	for _, c := range []uint64{counter - 1, counter, counter + 1} {
		if hmac.Equal([]byte(codeForCounter(key, c, Digits)), []byte(code)) {
			return true
		}
	}
	return false
}

func codeForCounter(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", digits, bin%uint32(math.Pow10(digits)))
}
