package totp

import (
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA-1 rows, truncated to the 6 digits cPanel uses
// (the RFC prints 8; the last 6 of those are the 6-digit code).
func TestRFC6238Vectors(t *testing.T) {
	key := []byte("12345678901234567890")
	tests := []struct {
		unix int64
		want string // 8-digit value from the RFC
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	}
	for _, tt := range tests {
		counter := uint64(tt.unix) / 30
		if got := codeForCounter(key, counter, 8); got != tt.want {
			t.Errorf("8 digits at %d = %s, want %s", tt.unix, got, tt.want)
		}
		if got := CodeAt(key, time.Unix(tt.unix, 0)); got != tt.want[2:] {
			t.Errorf("CodeAt(%d) = %s, want %s", tt.unix, got, tt.want[2:])
		}
	}
}

func TestSecretAndSkew(t *testing.T) {
	// base32 of "12345678901234567890"
	const secret = "gezd gnbv gy3t qojq gezd gnbv gy3t qojq"
	now := time.Unix(1111111111, 0)
	code, err := Code(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if code != "050471" {
		t.Fatalf("Code = %s", code)
	}
	key, _ := DecodeSecret(secret)
	if !Valid(key, code, now.Add(Step)) || !Valid(key, code, now.Add(-Step)) {
		t.Error("a neighbouring step should be accepted")
	}
	if Valid(key, code, now.Add(3*Step)) {
		t.Error("a code three steps away should be refused")
	}
	if _, err := DecodeSecret("not base32 !"); err == nil {
		t.Error("bad secret accepted")
	}
}
