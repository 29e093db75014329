// Package secret decides where a password comes from: standard input, a
// file, a flag value, the generator or an interactive prompt. It never
// puts a password into an error message, a log line or a warning.
package secret

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. ErrNoInput, ErrConflict, ErrMismatch and ErrUnreadable
// are usage errors (exit code 2); see IsUsage.
var (
	// ErrNoInput is wrapped when a value is missing or empty and prompting
	// is not allowed.
	ErrNoInput = errors.New("no input")
	// ErrConflict is wrapped when more than one source was chosen.
	ErrConflict = errors.New("conflicting password sources")
	// ErrMismatch is wrapped when the two prompted entries differ.
	ErrMismatch = errors.New("passwords do not match")
	// ErrUnreadable is wrapped when a password file cannot be read.
	ErrUnreadable = errors.New("unreadable password input")
	// ErrCanceled is wrapped when the user interrupts a prompt (Ctrl-C).
	ErrCanceled = errors.New("canceled")
)

// IsUsage reports whether err is one of the package's usage errors, which
// the CLI maps to exit code 2.
func IsUsage(err error) bool {
	return errors.Is(err, ErrNoInput) || errors.Is(err, ErrConflict) ||
		errors.Is(err, ErrMismatch) || errors.Is(err, ErrUnreadable) ||
		errors.Is(err, ErrGenerate)
}

// maxLine bounds how much is read looking for the end of the first line,
// so a stray `--password-stdin < /dev/zero` fails instead of eating memory.
const maxLine = 64 << 10

// Source is where the new password comes from, as chosen by flags. At most
// one of Stdin, File, Value and Generate may be set; with none, Resolve
// prompts.
type Source struct {
	// Stdin reads the first line of Env.In (--password-stdin).
	Stdin bool
	// File reads the first line of this file (--password-file).
	File string
	// Value is the password itself (--password); allowed, but it is
	// visible in the process list, so Resolve warns on Env.Warn.
	Value string
	// Generate makes a random password (--generate).
	Generate bool
	// Length of a generated password; 0 means DefaultLength (--length).
	Length int
	// SimpleCharset limits a generated password to letters, digits and
	// "-_." (--simple-charset).
	SimpleCharset bool
	// User, when set, is a name a generated password must not contain,
	// because the server refuses a password that contains the username.
	User string
}

// Env is the environment Resolve and ReadOld work in.
type Env struct {
	// In is standard input, read by Source.Stdin.
	In io.Reader
	// CanPrompt is true when standard input is a terminal and --no-input
	// was not given.
	CanPrompt bool
	// Prompter asks the user; required only when CanPrompt is true.
	Prompter Prompter
	// Warn receives warnings (stderr); nil discards them.
	Warn io.Writer
}

func (e Env) warnf(format string, args ...any) {
	if e.Warn == nil {
		return
	}
	fmt.Fprintf(e.Warn, "cpctl: warning: "+format+"\n", args...)
}

// Resolve returns the new password and whether it was generated. label
// names it in prompts and errors, e.g. "New password for bob".
func Resolve(src Source, env Env, label string) (password string, generated bool, err error) {
	var chosen []string
	for _, f := range []struct {
		set  bool
		flag string
	}{{src.Stdin, "--password-stdin"}, {src.File != "", "--password-file"}, {src.Value != "", "--password"}, {src.Generate, "--generate"}} {
		if f.set {
			chosen = append(chosen, f.flag)
		}
	}
	if len(chosen) > 1 {
		return "", false, fmt.Errorf("%w: use only one of %s", ErrConflict, strings.Join(chosen, ", "))
	}
	if !src.Generate && (src.Length != 0 || src.SimpleCharset) {
		return "", false, fmt.Errorf("%w: --length and --simple-charset need --generate", ErrConflict)
	}

	switch {
	case src.Stdin:
		if env.In == nil {
			return "", false, fmt.Errorf("%s: %w: standard input is not available", label, ErrNoInput)
		}
		pw, err := firstLine(env.In)
		if err != nil {
			return "", false, fmt.Errorf("%s: reading standard input: %w", label, err)
		}
		if pw == "" {
			return "", false, fmt.Errorf("%s: %w: standard input is empty", label, ErrNoInput)
		}
		return pw, false, nil
	case src.File != "":
		pw, err := readFile(src.File, env)
		if err != nil {
			return "", false, fmt.Errorf("%s: %w", label, err)
		}
		return pw, false, nil
	case src.Value != "":
		env.warnf("--password is visible to other users in the process list; prefer --password-stdin or --password-file")
		return src.Value, false, nil
	case src.Generate:
		pw, err := GenerateFor(src.User, src.Length, src.SimpleCharset)
		if err != nil {
			return "", false, fmt.Errorf("%s: %w", label, err)
		}
		return pw, true, nil
	}

	if !env.CanPrompt || env.Prompter == nil {
		return "", false, fmt.Errorf("%s: %w: give --password-stdin, --password-file or --generate when not running interactively", label, ErrNoInput)
	}
	for try := 1; ; try++ {
		first, err := askNonEmpty(env.Prompter, label)
		if err != nil {
			return "", false, err
		}
		second, err := ask(env.Prompter, "Retype "+lowerFirst(label)+":")
		if err != nil {
			return "", false, err
		}
		if first == second {
			return first, false, nil
		}
		if try == ConfirmTries {
			return "", false, fmt.Errorf("%s: %w (%d tries)", label, ErrMismatch, ConfirmTries)
		}
		// A typo in a hidden entry is easy to make: ask again, as passwd(1) does.
		if env.Warn != nil {
			fmt.Fprintln(env.Warn, "cpctl: the two entries differ; try again")
		}
	}
}

// ConfirmTries is how many times a prompt asks for a new password and its
// confirmation before giving up on entries that differ.
const ConfirmTries = 3

// ReadOld returns the current password, needed by cPanel's own password
// change: from file (--old-password-file) when given, else from a single
// prompt without confirmation (a typo is caught by the server).
func ReadOld(file string, env Env, label string) (string, error) {
	if file != "" {
		pw, err := readFile(file, env)
		if err != nil {
			return "", fmt.Errorf("%s: %w", label, err)
		}
		return pw, nil
	}
	if !env.CanPrompt || env.Prompter == nil {
		return "", fmt.Errorf("%s: %w: give --old-password-file when not running interactively", label, ErrNoInput)
	}
	return askNonEmpty(env.Prompter, label)
}

// askNonEmpty prompts for label and refuses an empty answer.
func askNonEmpty(p Prompter, label string) (string, error) {
	pw, err := ask(p, label+":")
	if err == nil && pw == "" {
		return "", fmt.Errorf("%s: %w: the password is empty", label, ErrNoInput)
	}
	return pw, err
}

func ask(p Prompter, message string) (string, error) {
	pw, err := p.Password(message)
	if err != nil {
		// The prompter's error never holds the typed text, only why it stopped.
		return "", fmt.Errorf("prompt %q: %w", message, err)
	}
	return pw, nil
}

// readFile returns the first line of name and warns when the file is open
// to group or others, as a password file should not be.
func readFile(name string, env Env) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("%w: %s is a directory", ErrUnreadable, name)
	}
	// Windows reports synthetic permission bits, so the check means nothing there.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		env.warnf("password file %s is accessible by group or others (mode %04o); run: chmod 600 %s", name, fi.Mode().Perm(), name)
	}
	pw, err := firstLine(f)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrUnreadable, name, err)
	}
	if pw == "" {
		return "", fmt.Errorf("%w: %s is empty", ErrNoInput, name)
	}
	return pw, nil
}

// firstLine reads up to the first newline and trims the line ending. It
// reads byte by byte (unless r is buffered already) so that nothing after
// the first line is consumed from a shared standard input.
func firstLine(r io.Reader) (string, error) {
	br, ok := r.(io.ByteReader)
	if !ok {
		br = &byteReader{r: r}
	}
	var sb strings.Builder
	for {
		b, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		if b == '\n' {
			break
		}
		if sb.Len() >= maxLine {
			return "", fmt.Errorf("first line longer than %d bytes", maxLine)
		}
		sb.WriteByte(b)
	}
	return strings.TrimSuffix(sb.String(), "\r"), nil
}

type byteReader struct {
	r   io.Reader
	one [1]byte
}

func (b *byteReader) ReadByte() (byte, error) {
	_, err := io.ReadFull(b.r, b.one[:])
	return b.one[0], err
}

func lowerFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	// Keep acronyms ("FTP password") as they are.
	if next, _ := utf8.DecodeRuneInString(s[size:]); unicode.IsUpper(next) {
		return s
	}
	return string(unicode.ToLower(r)) + s[size:]
}
