package credentials

import (
	"context"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/secret/totp"
)

// The command runs once per 30-second step when it prints a code, and once
// per run when it prints the secret.
func TestTOTPCommandCaches(t *testing.T) {
	const secretB32 = "JBSWY3DPEHPK3PXP" // RFC 6238-style test secret, our own
	base := time.Unix(1_700_000_010, 0)
	for _, tt := range []struct {
		name      string
		prints    string
		times     []time.Duration
		wantCalls int
	}{
		{"a code, same step", "123456", []time.Duration{0, 5 * time.Second}, 1},
		{"a code, next step", "123456", []time.Duration{0, 30 * time.Second}, 2},
		{"a secret", secretB32, []time.Duration{0, 30 * time.Second, time.Hour}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := base
			calls := 0
			src := TOTPCommand(func() time.Time { return now }, func(context.Context) (string, error) {
				calls++
				return tt.prints, nil
			})
			for _, d := range tt.times {
				now = base.Add(d)
				code, err := src(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				want := tt.prints
				if tt.prints == secretB32 {
					want, _ = totp.Code(secretB32, now)
				}
				if code != want {
					t.Errorf("at +%s: code %q, want %q", d, code, want)
				}
			}
			if calls != tt.wantCalls {
				t.Errorf("the command ran %d times, want %d", calls, tt.wantCalls)
			}
		})
	}
	src := TOTPCommand(time.Now, func(context.Context) (string, error) { return "not a code!", nil })
	if _, err := src(context.Background()); err == nil {
		t.Error("output that is neither a code nor a secret was accepted")
	}
}
