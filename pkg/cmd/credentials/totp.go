package credentials

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"time"

	"github.com/cpctl/cpctl/pkg/secret/totp"
)

var otpCode = regexp.MustCompile(`^[0-9]{6}$`)

// TOTPCommand returns the two-factor code source of a totp-command, which
// prints either a current 6-digit code or the base32 secret. The client
// asks for a code on every request, and a bulk run must not spawn a process
// each time: a printed secret is kept for the run, a printed code for the
// 30-second step it belongs to.
func TOTPCommand(now func() time.Time, run func(context.Context) (string, error)) func(context.Context) (string, error) {
	var mu sync.Mutex
	var secretB32, code string
	var codeStep int64 = -1
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		t := now()
		step := t.Unix() / int64(totp.Step/time.Second)
		if secretB32 != "" {
			return totp.Code(secretB32, t)
		}
		if code != "" && codeStep == step {
			return code, nil
		}
		out, err := run(ctx)
		if err != nil {
			return "", err
		}
		if otpCode.MatchString(out) {
			code, codeStep = out, step
			return out, nil
		}
		c, err := totp.Code(out, t)
		if err != nil {
			return "", errors.New("totp-command printed neither a 6-digit code nor a base32 secret")
		}
		secretB32 = out
		return c, nil
	}
}
