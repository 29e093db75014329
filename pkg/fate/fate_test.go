package fate

import "testing"

func TestExitCode(t *testing.T) {
	tests := []struct {
		s             State
		auth, network bool
		want          int
		final, maybe  bool
	}{
		{Applied, false, false, ExitOK, true, false},
		{Refused, false, false, ExitRefused, true, false},
		{Refused, true, false, ExitAuth, true, false},
		{NotSent, false, false, ExitUsage, false, false},
		{NotSent, false, true, ExitTransport, false, false},
		{NotSent, true, false, ExitAuth, false, false},
		{Unknown, false, false, ExitTransport, false, true},
		{State("bogus"), false, false, ExitTransport, false, false},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.s, tt.auth, tt.network); got != tt.want {
			t.Errorf("ExitCode(%q, auth=%v, network=%v) = %d, want %d", tt.s, tt.auth, tt.network, got, tt.want)
		}
		if got := tt.s.Final(); got != tt.final {
			t.Errorf("%q.Final() = %v, want %v", tt.s, got, tt.final)
		}
		if got := tt.s.MaybeApplied(); got != tt.maybe {
			t.Errorf("%q.MaybeApplied() = %v, want %v", tt.s, got, tt.maybe)
		}
		if got := tt.s.Valid(); got != (tt.s != "bogus") {
			t.Errorf("%q.Valid() = %v", tt.s, got)
		}
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name  string
		codes []int
		want  int
	}{
		{"none", nil, ExitOK},
		{"all refused", []int{ExitRefused, ExitRefused}, ExitRefused},
		{"all the credentials", []int{ExitAuth}, ExitAuth},
		{"all lost to the network", []int{ExitTransport, ExitTransport, ExitTransport}, ExitTransport},
		{"all failed before sending", []int{ExitUsage}, ExitUsage},
		{"refused and lost", []int{ExitRefused, ExitTransport}, ExitPartial},
		{"auth and refused", []int{ExitAuth, ExitRefused}, ExitPartial},
		{"partial stays partial", []int{ExitPartial}, ExitPartial},
		{"a code outside the table", []int{130}, ExitPartial},
		{"a success code is no failure", []int{ExitOK}, ExitPartial},
	}
	for _, tt := range tests {
		var f Failures
		for _, c := range tt.codes {
			f.Add(c)
		}
		if got := f.ExitCode(); got != tt.want {
			t.Errorf("%s: %v gives %d, want %d", tt.name, tt.codes, got, tt.want)
		}
	}
}
