package api

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/cpctl/cpctl/pkg/cpanel"
)

// Source says where an argument's value comes from.
type Source int

// Value sources.
const (
	// Literal is a value given on the command line, URI-decoded once.
	Literal Source = iota
	// Stdin is key=@-: the first line of standard input.
	Stdin
	// File is key=@FILE: the first line of FILE.
	File
)

// Arg is one key=value argument, decoded. For Stdin and File the value
// is read later (ReadValues), so parsing stays free of side effects.
type Arg struct {
	Key   string
	Value string
	// Source is where Value comes from; for File, Path names the file.
	Source Source
	Path   string
	// Secret is set when the key looks like it holds a secret or the value
	// comes from standard input or a file.
	Secret bool
}

// ParseArgs parses key=value arguments the way cPanel's own whmapi1,
// cpapi2 and uapi do: the key and the value are URI-decoded once (%XX
// sequences; '+' stays a plus and a '%' not followed by two hex digits
// stays as it is), and order is kept, so repeated keys and key-0/key-1
// reach the server as the arrays they encode. A value of exactly "@-" or
// "@PATH" is read from standard input or the file instead; "%40..." gives a
// literal value starting with '@'. At most one argument may read standard
// input.
func ParseArgs(args []string) ([]Arg, error) {
	out := make([]Arg, 0, len(args))
	stdin := ""
	for _, raw := range args {
		k, v, ok := strings.Cut(raw, "=")
		if !ok {
			return nil, fmt.Errorf("argument %q is not key=value", raw)
		}
		key := uriUnescape(k)
		if key == "" {
			return nil, fmt.Errorf("argument %q has an empty key", raw)
		}
		a := Arg{Key: key, Secret: SecretKey(key)}
		switch {
		case v == "@-":
			if stdin != "" {
				return nil, fmt.Errorf("only one value can come from standard input (%s=@- and %s=@-)", stdin, key)
			}
			stdin = key
			a.Source, a.Secret = Stdin, true
		case strings.HasPrefix(v, "@") && len(v) > 1:
			a.Source, a.Path, a.Secret = File, v[1:], true
		default:
			a.Value = uriUnescape(v)
		}
		out = append(out, a)
	}
	return out, nil
}

// Params turns decoded arguments into request parameters, in order.
func Params(args []Arg) []cpanel.Param {
	ps := make([]cpanel.Param, len(args))
	for i, a := range args {
		ps[i] = cpanel.Param{Key: a.Key, Value: a.Value, Secret: a.Secret}
	}
	return ps
}

// uriUnescape decodes %XX sequences once and leaves everything else alone,
// as the server tools' URI unescaping does: a password such as "50%off"
// survives, and '+' is not a space.
func uriUnescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if c, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
				b.Write(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// SecretKey reports whether a parameter name looks like it carries a
// secret. The comparison ignores case, a dotted prefix ("cpanel.pass"),
// an array index ("password-1") and trailing digits ("pass2").
func SecretKey(key string) bool {
	k := strings.ToLower(key)
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		k = k[i+1:]
	}
	if i := strings.LastIndexByte(k, '-'); i >= 0 && i+1 < len(k) && strings.Trim(k[i+1:], "0123456789") == "" {
		k = k[:i]
	}
	k = strings.TrimRight(k, "0123456789")
	switch k {
	case "pw", "pwd", "otp", "key", "cookie", "cpsession", "session", "accesshash":
		return true
	}
	// The many spellings functions use (new_password, api_token, ssl_key,
	// dbpass, ...). Over-redacting a log line costs nothing;
	// under-redacting leaks a password.
	for _, s := range []string{"password", "passwd", "pass", "passphrase", "token", "secret", "_key", "privatekey", "hash"} {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	// The new password comes first in some names (pw_new, password_new,
	// passwd_confirm), and some functions call it a credential.
	if strings.HasPrefix(k, "pw_") || strings.HasPrefix(k, "pwd_") {
		return true
	}
	for _, s := range []string{"password", "passwd", "passphrase", "secret", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}
