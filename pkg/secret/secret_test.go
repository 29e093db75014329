package secret

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakePrompter answers Password prompts from a script and records the
// messages it was asked.
type fakePrompter struct {
	answers []string
	err     error // returned once the answers run out
	asked   []string
}

func (f *fakePrompter) Password(message string) (string, error) {
	f.asked = append(f.asked, message)
	if len(f.answers) == 0 {
		if f.err != nil {
			return "", f.err
		}
		return "", io.EOF
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return a, nil
}

func (f *fakePrompter) Confirm(string, bool) (bool, error) { return false, errors.New("unexpected") }
func (f *fakePrompter) Input(string, string) (string, error) {
	return "", errors.New("unexpected")
}

func writeFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
	return name
}

const secretValue = "S3cret&pa=ss word"

func TestResolve(t *testing.T) {
	goodFile := writeFile(t, secretValue+"\r\nsecond line\n", 0o600)
	openFile := writeFile(t, secretValue+"\n", 0o644)
	emptyFile := writeFile(t, "\n", 0o600)
	missing := filepath.Join(t.TempDir(), "missing")

	tests := []struct {
		name      string
		src       Source
		in        string
		canPrompt bool
		answers   []string
		promptErr error
		want      string
		generated bool
		wantErr   error
		wantWarn  string
		wantAsked int
	}{
		{name: "stdin first line", src: Source{Stdin: true}, in: secretValue + "\nnext\n", want: secretValue},
		{name: "stdin CRLF", src: Source{Stdin: true}, in: secretValue + "\r\n", want: secretValue},
		{name: "stdin no newline", src: Source{Stdin: true}, in: secretValue, want: secretValue},
		{name: "stdin keeps spaces", src: Source{Stdin: true}, in: "  a b  \n", want: "  a b  "},
		{name: "stdin empty", src: Source{Stdin: true}, in: "", wantErr: ErrNoInput},
		{name: "stdin empty line", src: Source{Stdin: true}, in: "\nsecond\n", wantErr: ErrNoInput},
		{name: "file", src: Source{File: goodFile}, want: secretValue},
		{name: "file open to others warns", src: Source{File: openFile}, want: secretValue, wantWarn: "chmod 600"},
		{name: "file empty", src: Source{File: emptyFile}, wantErr: ErrNoInput},
		{name: "file missing", src: Source{File: missing}, wantErr: ErrUnreadable},
		{name: "file is a directory", src: Source{File: t.TempDir()}, wantErr: ErrUnreadable},
		{name: "value warns", src: Source{Value: secretValue}, want: secretValue, wantWarn: "process list"},
		{name: "generate", src: Source{Generate: true}, generated: true},
		{name: "generate bad length", src: Source{Generate: true, Length: 5}, wantErr: ErrGenerate},
		{name: "two sources", src: Source{Stdin: true, Generate: true}, wantErr: ErrConflict},
		{name: "three sources", src: Source{File: goodFile, Value: "x", Generate: true}, wantErr: ErrConflict},
		{name: "length without generate", src: Source{Stdin: true, Length: 30}, in: "x\n", wantErr: ErrConflict},
		{name: "simple without generate", src: Source{SimpleCharset: true}, canPrompt: true, wantErr: ErrConflict},
		{name: "nothing, no prompt", src: Source{}, wantErr: ErrNoInput},
		{name: "prompt twice", canPrompt: true, answers: []string{secretValue, secretValue}, want: secretValue, wantAsked: 2},
		{name: "prompt mismatch three times", canPrompt: true, answers: []string{secretValue, secretValue + "x", secretValue, "y", secretValue, "z"}, wantErr: ErrMismatch, wantAsked: 6, wantWarn: "try again"},
		{name: "prompt mismatch, then a match", canPrompt: true, answers: []string{secretValue, secretValue + "x", secretValue, secretValue}, want: secretValue, wantAsked: 4, wantWarn: "try again"},
		{name: "prompt empty", canPrompt: true, answers: []string{""}, wantErr: ErrNoInput, wantAsked: 1},
		{name: "prompt canceled", canPrompt: true, promptErr: ErrCanceled, wantErr: ErrCanceled, wantAsked: 1},
		{name: "prompt canceled at confirmation", canPrompt: true, answers: []string{secretValue}, promptErr: ErrCanceled, wantErr: ErrCanceled, wantAsked: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fp := &fakePrompter{answers: tc.answers, err: tc.promptErr}
			var warn bytes.Buffer
			env := Env{In: strings.NewReader(tc.in), CanPrompt: tc.canPrompt, Prompter: fp, Warn: &warn}
			got, generated, err := Resolve(tc.src, env, "New password for bob")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), secretValue) {
					t.Errorf("error %q reveals the password", err)
				}
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if generated != tc.generated {
				t.Errorf("generated = %v, want %v", generated, tc.generated)
			}
			if tc.generated {
				if len(got) != DefaultLength {
					t.Errorf("generated %d characters", len(got))
				}
			} else if got != tc.want {
				t.Errorf("password = %q, want %q", got, tc.want)
			}
			if tc.wantWarn == "" && warn.Len() > 0 {
				t.Errorf("unexpected warning %q", warn.String())
			}
			if tc.wantWarn != "" && (runtime.GOOS != "windows" || tc.wantWarn != "chmod 600") && !strings.Contains(warn.String(), tc.wantWarn) {
				t.Errorf("warning %q does not mention %q", warn.String(), tc.wantWarn)
			}
			if strings.Contains(warn.String(), secretValue) {
				t.Errorf("warning reveals the password")
			}
			if len(fp.asked) != tc.wantAsked {
				t.Errorf("prompted %d times (%q), want %d", len(fp.asked), fp.asked, tc.wantAsked)
			}
		})
	}
}

func TestResolvePromptLabels(t *testing.T) {
	fp := &fakePrompter{answers: []string{"pw", "pw"}}
	if _, _, err := Resolve(Source{}, Env{CanPrompt: true, Prompter: fp}, "New password for bob"); err != nil {
		t.Fatal(err)
	}
	want := []string{"New password for bob:", "Retype new password for bob:"}
	if strings.Join(fp.asked, "|") != strings.Join(want, "|") {
		t.Errorf("asked %q, want %q", fp.asked, want)
	}
}

func TestResolveGenerateAvoidsUser(t *testing.T) {
	for range 500 {
		pw, gen, err := Resolve(Source{Generate: true, User: "e", Length: MinLength, SimpleCharset: true}, Env{}, "New password for e")
		if err != nil || !gen {
			t.Fatalf("Resolve: %v, generated %v", err, gen)
		}
		if strings.ContainsAny(pw, "eE") {
			t.Fatalf("%q contains the user", pw)
		}
	}
}

// Standard input may be shared with later readers (a bulk list after the
// password), so only the first line may be consumed.
func TestResolveStdinReadsOnlyFirstLine(t *testing.T) {
	r := &onlyReader{r: strings.NewReader("pw\nrest\n")}
	got, _, err := Resolve(Source{Stdin: true}, Env{In: r}, "x")
	if err != nil || got != "pw" {
		t.Fatalf("got %q, %v", got, err)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "rest\n" {
		t.Errorf("left %q on the reader, want %q", rest, "rest\n")
	}
}

// onlyReader hides any ReadByte method of the wrapped reader.
type onlyReader struct{ r io.Reader }

func (o *onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestResolveStdinTooLong(t *testing.T) {
	in := strings.NewReader(strings.Repeat("a", maxLine+10))
	if _, _, err := Resolve(Source{Stdin: true}, Env{In: in}, "x"); err == nil {
		t.Fatal("an endless first line was accepted")
	}
}

func TestReadOld(t *testing.T) {
	good := writeFile(t, "old-pw\n", 0o600)
	tests := []struct {
		name      string
		file      string
		canPrompt bool
		answers   []string
		want      string
		wantErr   error
		wantAsked int
	}{
		{name: "file", file: good, want: "old-pw"},
		{name: "file missing", file: filepath.Join(t.TempDir(), "nope"), wantErr: ErrUnreadable},
		{name: "prompt once", canPrompt: true, answers: []string{"old-pw"}, want: "old-pw", wantAsked: 1},
		{name: "prompt empty", canPrompt: true, answers: []string{""}, wantErr: ErrNoInput, wantAsked: 1},
		{name: "no prompt", wantErr: ErrNoInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fp := &fakePrompter{answers: tc.answers}
			got, err := ReadOld(tc.file, Env{CanPrompt: tc.canPrompt, Prompter: fp}, "Current password for bob")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			} else if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			if len(fp.asked) != tc.wantAsked {
				t.Errorf("prompted %d times, want %d", len(fp.asked), tc.wantAsked)
			}
		})
	}
}

func TestIsUsage(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{ErrNoInput, true}, {ErrConflict, true}, {ErrMismatch, true}, {ErrUnreadable, true},
		{ErrCanceled, false}, {errors.New("other"), false}, {nil, false},
	} {
		if got := IsUsage(tc.err); got != tc.want {
			t.Errorf("IsUsage(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func BenchmarkResolveStdin(b *testing.B) {
	in := secretValue + "\n"
	for b.Loop() {
		if _, _, err := Resolve(Source{Stdin: true}, Env{In: strings.NewReader(in)}, "x"); err != nil {
			b.Fatal(err)
		}
	}
}
