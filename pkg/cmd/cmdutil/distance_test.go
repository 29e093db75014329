package cmdutil

import "testing"

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "res1", 4},
		{"res1", "", 4},
		{"res1", "res1", 0},
		{"res2", "res1", 1},
		{"resellr", "reseller", 1},
		{"pasword", "passwd", 3},
		{"rse1", "res1", 2}, // a transposition is two edits
		{"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := EditDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
