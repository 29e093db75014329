package strength

import "testing"

func TestScore(t *testing.T) {
	tests := []struct {
		pw   string
		want int
	}{
		{"", 0},
		{"abc", 1},
		{"12345luggage", 63}, // docs/protocol.md's worked example
		{"aaaaaaaa", 19},     // 1 different in a pool of 6, 7 pattern: (2.585+7*1.585)/70
		{"Xq7!vR2#mK9$pL4&", 100},
		{"abcdefgh", 22}, // runs of +1 are pattern; g-z brings a-f along: pool 26
		{"é", 1},
	}
	for _, tt := range tests {
		if got := Score(tt.pw); got != tt.want {
			t.Errorf("Score(%q) = %d, want %d", tt.pw, got, tt.want)
		}
	}
}

func TestMeets(t *testing.T) {
	if Meets("12345luggage", 65) {
		t.Error("12345luggage should not meet 65")
	}
	if !Meets("12345luggage", 60) {
		t.Error("12345luggage should meet 60")
	}
}

func BenchmarkScore(b *testing.B) {
	for b.Loop() {
		Score("Xq7!vR2#mK9$pL4&zz")
	}
}
