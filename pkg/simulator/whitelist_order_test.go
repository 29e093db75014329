package simulator

import (
	"reflect"
	"testing"
)

// TestNormalizeWhitelistOrder pins the whitelist's order where sorting by
// address and sorting by prefix length disagree: IPv4 before IPv6, then
// the (masked) address, then the length; duplicates, a mapped IPv4
// address and a single-host suffix collapse. netip.Prefix.Compare gives
// this order only because the prefixes are masked first.
func TestNormalizeWhitelistOrder(t *testing.T) {
	got, err := normalizeWhitelist([]string{"10.0.0.0/16", "::1", "10.1.2.3/8", "2001:db8::/32", "1.2.3.4",
		"::ffff:1.2.3.4", "1.2.3.0/24", "0.0.0.0/0", "1.2.3.4/32", "::/0", "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0.0.0.0/0", "1.2.3.0/24", "1.2.3.4", "10.0.0.0/8", "10.0.0.0/16", "::/0", "::1", "2001:db8::/32"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("normalizeWhitelist = %q, want %q", got, want)
	}
}
