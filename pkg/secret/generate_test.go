package secret

import (
	"errors"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/secret/strength"
)

func TestGenerateProperties(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 2000
	}
	for _, tc := range []struct {
		name   string
		length int
		simple bool
		want   int
	}{
		{"default", 0, false, DefaultLength},
		{"default simple", 0, true, DefaultLength},
		{"minimum", MinLength, false, MinLength},
		{"minimum simple", MinLength, true, MinLength},
		{"long", 64, false, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alpha := Alphabet(tc.simple)
			seen := make(map[string]bool, n)
			for range n {
				pw, err := Generate(tc.length, tc.simple)
				if err != nil {
					t.Fatalf("Generate: %v", err)
				}
				if len(pw) != tc.want {
					t.Fatalf("len = %d, want %d", len(pw), tc.want)
				}
				if s := strength.Score(pw); s != 100 {
					t.Fatalf("Score(%q) = %d, want 100", pw, s)
				}
				for _, c := range pw {
					if !strings.ContainsRune(alpha, c) {
						t.Fatalf("%q holds %q, outside the alphabet", pw, c)
					}
				}
				for _, set := range classes(tc.simple) {
					if !strings.ContainsAny(pw, set) {
						t.Fatalf("%q has nothing from %q", pw, set)
					}
				}
				if seen[pw] {
					t.Fatalf("%q generated twice", pw)
				}
				seen[pw] = true
			}
		})
	}
}

func TestAlphabet(t *testing.T) {
	full, simple := Alphabet(false), Alphabet(true)
	for _, bad := range []string{" ", "\"", "'", "\\", "`"} {
		if strings.Contains(full, bad) {
			t.Errorf("full alphabet holds %q", bad)
		}
	}
	for _, c := range simple {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.", c)
		if !ok {
			t.Errorf("simple alphabet holds %q", c)
		}
	}
	if len(simple) != 26+26+10+3 {
		t.Errorf("simple alphabet has %d characters, want 65", len(simple))
	}
	seen := map[rune]bool{}
	for _, c := range full {
		if seen[c] {
			t.Errorf("full alphabet repeats %q, which would bias the draw", c)
		}
		seen[c] = true
	}
}

// Rejecting passwords that miss a class favours the rarer classes (digits
// show up more often than 10/90), so uniformity is checked within each
// class. A modulo-biased draw (b % 90) would give symbols 62..75 3/256 of
// the mass and symbols 76..89 2/256: a 50% gap inside one class.
func TestGenerateUniformWithinClass(t *testing.T) {
	n := 10000
	counts := map[byte]int{}
	for range n {
		pw, err := Generate(DefaultLength, false)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(pw); i++ {
			counts[pw[i]]++
		}
	}
	for _, set := range classes(false) {
		total := 0
		for i := 0; i < len(set); i++ {
			total += counts[set[i]]
		}
		want := float64(total) / float64(len(set))
		for i := 0; i < len(set); i++ {
			got := float64(counts[set[i]])
			if got < want*0.85 || got > want*1.15 {
				t.Errorf("%q drawn %v times, want about %.0f", set[i], got, want)
			}
		}
	}
}

func TestUniformIntn(t *testing.T) {
	var u uniform
	for _, n := range []int{1, 2, 3, 65, 90, 255, 256} {
		counts := make([]int, n)
		draws := n * 2000
		for range draws {
			v, err := u.intn(n)
			if err != nil {
				t.Fatal(err)
			}
			if v < 0 || v >= n {
				t.Fatalf("intn(%d) = %d", n, v)
			}
			counts[v]++
		}
		for v, c := range counts {
			if c < 1700 || c > 2300 {
				t.Errorf("intn(%d): %d drawn %d times, want about 2000", n, v, c)
			}
		}
	}
	for _, n := range []int{0, -1, 257} {
		if _, err := u.intn(n); err == nil {
			t.Errorf("intn(%d) succeeded", n)
		}
	}
}

func TestGenerateFor(t *testing.T) {
	for _, tc := range []struct {
		user   string
		simple bool
	}{
		{"a", false}, // single letters are the hardest case to avoid
		{"Z", true},
		{"ab", false},
		{"bob", true},
	} {
		for range 2000 {
			pw, err := GenerateFor(tc.user, 0, tc.simple)
			if err != nil {
				t.Fatalf("GenerateFor(%q): %v", tc.user, err)
			}
			if strings.Contains(strings.ToLower(pw), strings.ToLower(tc.user)) {
				t.Fatalf("GenerateFor(%q) = %q contains the user", tc.user, pw)
			}
			if strength.Score(pw) != 100 {
				t.Fatalf("GenerateFor(%q) = %q scores %d", tc.user, pw, strength.Score(pw))
			}
		}
	}
}

func TestGenerateLengthBounds(t *testing.T) {
	for _, l := range []int{-1, 1, MinLength - 1, MaxLength + 1} {
		if pw, err := Generate(l, false); err == nil || !errors.Is(err, ErrGenerate) {
			t.Errorf("Generate(%d) = %q, %v; want ErrGenerate", l, pw, err)
		}
	}
	// MinLength is the true floor: ten all-different characters from the
	// widest pool (89) still fall short of 100, so the bound is not arbitrary.
	if s := strength.Score("aZ0_!bY1@c"); s >= 100 {
		t.Errorf("a %d-character password scored %d; MinLength could be lower", MinLength-1, s)
	}
	if pw, err := Generate(MaxLength, true); err != nil || len(pw) != MaxLength {
		t.Errorf("Generate(MaxLength) = %d chars, %v", len(pw), err)
	}
}

// A user that is one of the few symbols of the simple charset removes a
// whole share of that class; generation must still succeed at the minimum.
func TestGenerateForSymbolUser(t *testing.T) {
	for _, user := range []string{"-", "_", ".", "0"} {
		pw, err := GenerateFor(user, MinLength, true)
		if err != nil {
			t.Fatalf("GenerateFor(%q): %v", user, err)
		}
		if strings.Contains(pw, user) {
			t.Errorf("GenerateFor(%q) = %q", user, pw)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, simple := range []bool{false, true} {
		name := "full"
		if simple {
			name = "simple"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Generate(DefaultLength, simple); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
