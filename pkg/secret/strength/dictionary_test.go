package strength

import (
	"strings"
	"testing"
)

func TestScoreForDictionary(t *testing.T) {
	tests := []struct {
		pw, user string
		want     string // the Rejection reason, "" when accepted
	}{
		{"password1", "", "it is based on a dictionary word"},
		{"Password1!", "", "it is based on a dictionary word"},
		{"P@ssw0rd", "", "it is based on a dictionary word"},
		{"p@ssw0rd123", "", "it is based on a dictionary word"},
		{"Summer2024", "", "it is based on a dictionary word"},
		{"$ummer1", "", "it is based on a dictionary word"},
		{"!!Luggage2024", "", "it is based on a dictionary word"},
		{"12345luggage", "", "it is based on a dictionary word"},
		{"egaggul", "", "it is based on a dictionary word"},    // reversed
		{"drowssap99", "", "it is based on a dictionary word"}, // reversed, digits after
		{"MONKEY99!", "", "it is based on a dictionary word"},
		{"M0nk3y!!", "", "it is based on a dictionary word"},
		{"qwerty123", "", "it is based on a dictionary word"},
		{"1qaz2wsx", "", "it is based on a dictionary word"},
		{"Bobcat#77", "", "it is based on a dictionary word"},
		{"Bob2024!", "bob", "it is based on your username"},
		{"2024boB", "bob", "it is based on your username"},
		{"Bobbob2024", "bob", "it is based on your username"},
		{"abc", "", "it is WAY too short"},
		{"Ab1!x", "", "it is too short"},
		{"aaaaaaa1", "", "it does not contain enough DIFFERENT characters"},
		{"bgH9QphKLKJcZUHnLdMc", "", ""}, // neighbours are not judged
		{"Xq7!vR2#mK9$pL4&", "", ""},
		{"Bob-Pass-2024!xyz", "bob", ""},
		{"Files-Pass-2024!xyz", "files", ""},
		{"correct horse battery staple", "", ""},
		{"k9#Lm2$vQ8", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.pw, func(t *testing.T) {
			if got := Rejection(tt.pw, tt.user); got != tt.want {
				t.Errorf("Rejection(%q, %q) = %q, want %q", tt.pw, tt.user, got, tt.want)
			}
			score := ScoreFor(tt.pw, tt.user)
			if tt.want != "" && score != 1 {
				t.Errorf("ScoreFor(%q) = %d, want 1", tt.pw, score)
			}
			if tt.want == "" && score != Score(tt.pw) {
				t.Errorf("ScoreFor(%q) = %d, want Score's %d", tt.pw, score, Score(tt.pw))
			}
		})
	}
	if ScoreFor("", "") != 0 {
		t.Error("an empty password scores 0")
	}
}

// The lookup is a binary search: the lists must stay sorted in byte order,
// lowercase, without blank lines or duplicates.
func TestListsSorted(t *testing.T) {
	for name, list := range map[string]string{"words": dictionaryWords, "passwords": commonPasswords} {
		lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
		if len(lines) < 100 {
			t.Fatalf("%s: only %d entries", name, len(lines))
		}
		for i, l := range lines {
			if l == "" || l != strings.ToLower(l) {
				t.Errorf("%s line %d: %q is blank or not lowercase", name, i+1, l)
			}
			if i > 0 && lines[i-1] >= l {
				t.Errorf("%s line %d: %q not after %q", name, i+1, l, lines[i-1])
			}
		}
		// Every entry is found, the first and last included.
		for _, l := range lines {
			if !inList(list, l) {
				t.Fatalf("%s: %q not found by inList", name, l)
			}
		}
		for _, miss := range []string{"", "\x00", "zzzzzzzzzz", lines[0] + "\x01"} {
			if inList(list, miss) {
				t.Errorf("%s: %q found", name, miss)
			}
		}
	}
	if len(dictionaryWords)+len(commonPasswords) > 1<<20 {
		t.Errorf("embedded lists are %d bytes, over 1 MiB", len(dictionaryWords)+len(commonPasswords))
	}
}

func BenchmarkScoreFor(b *testing.B) {
	for _, pw := range []string{"Xq7!vR2#mK9$pL4&zz", "password1", "Summer2024"} {
		b.Run(pw, func(b *testing.B) {
			for b.Loop() {
				ScoreFor(pw, "bob")
			}
		})
	}
}

// leetChars, which decides when unleet is worth calling, lists exactly the
// characters unleet changes.
func TestLeetCharsMatchUnleet(t *testing.T) {
	for b := 0; b < 128; b++ {
		s := string(rune(b))
		changed := unleet(s, 'i') != s
		if listed := strings.ContainsRune(leetChars, rune(b)); changed != listed {
			t.Errorf("%q: unleet changes it %v, leetChars lists it %v", s, changed, listed)
		}
	}
}
