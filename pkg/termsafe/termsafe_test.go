package termsafe

import "testing"

func TestString(t *testing.T) {
	tests := []struct{ name, in, want, text string }{
		{"plain", "Password changed for user “bob”.", "Password changed for user “bob”.", ""},
		{"title and clear", "\x1b]0;TITLE\x07\x1b[2Jok", `\x1b]0;TITLE\x07\x1b[2Jok`, ""},
		{"fake lines", "CN=a\nFingerprint: sha256:00\r", `CN=a\nFingerprint: sha256:00\r`, "CN=a\nFingerprint: sha256:00\\r"},
		{"tab", "a\tb", `a\tb`, "a\tb"},
		{"nul and del", "a\x00b\x7f", `a\x00b\x7f`, ""},
		{"c1 csi", "a\u009b31mred", `a\u009b31mred`, ""},
		{"bidi override", "abc\u202etxt.exe", `abc\u202etxt.exe`, ""},
		{"bidi isolate", "\u2066x\u2069", `\u2066x\u2069`, ""},
		{"invalid utf8", "a\xffb", `a\xffb`, ""},
		{"backslash kept", `C:\x1b`, `C:\x1b`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
			want := tt.text
			if want == "" {
				want = tt.want
			}
			if got := Text(tt.in); got != want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, want)
			}
		})
	}
}

func TestBounded(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"“quoted” words", 8, "“quoted”…"},
		{"\x1b[2J\x1b[2J", 4, `\x1b[2J…`},
		{"anything", 0, "anything"},
	}
	for _, tt := range tests {
		if got := Bounded(tt.in, tt.max); got != tt.want {
			t.Errorf("Bounded(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("\x1b]0;x\x07")
	f.Add("a\u202eb")
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		for _, r := range out {
			if r < 0x20 || r == 0x7f || unsafeRune(r) {
				t.Fatalf("String(%q) = %q keeps %U", s, out, r)
			}
		}
	})
}
