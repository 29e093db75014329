package api

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []Arg
		wantErr string
	}{
		{name: "none", in: nil, want: []Arg{}},
		{name: "plain", in: []string{"user=bob"}, want: []Arg{{Key: "user", Value: "bob"}}},
		{name: "empty value", in: []string{"search="}, want: []Arg{{Key: "search", Value: ""}}},
		{name: "value with =", in: []string{"q=a=b"}, want: []Arg{{Key: "q", Value: "a=b"}}},
		{name: "decoded once", in: []string{"domain=bob%2Eexample", "x=%2541"},
			want: []Arg{{Key: "domain", Value: "bob.example"}, {Key: "x", Value: "%41"}}},
		{name: "plus stays", in: []string{"x=a+b"}, want: []Arg{{Key: "x", Value: "a+b"}}},
		{name: "lone percent stays", in: []string{"x=50%off", "y=100%", "z=%4"},
			want: []Arg{{Key: "x", Value: "50%off"}, {Key: "y", Value: "100%"}, {Key: "z", Value: "%4"}}},
		{name: "utf-8 bytes", in: []string{"x=%E2%80%9Cq%E2%80%9D"}, want: []Arg{{Key: "x", Value: "“q”"}}},
		{name: "key decoded", in: []string{"cpanel%2Euser=bob"}, want: []Arg{{Key: "cpanel.user", Value: "bob"}}},
		{name: "secret key", in: []string{"password=p%26w"}, want: []Arg{{Key: "password", Value: "p&w", Secret: true}}},
		{name: "repeated keys keep order", in: []string{"a=1", "b=x", "a=2", "a=3"},
			want: []Arg{{Key: "a", Value: "1"}, {Key: "b", Value: "x"}, {Key: "a", Value: "2"}, {Key: "a", Value: "3"}}},
		{name: "indexed keys kept", in: []string{"app-1=ftp", "app-0=mail"},
			want: []Arg{{Key: "app-1", Value: "ftp"}, {Key: "app-0", Value: "mail"}}},
		{name: "stdin", in: []string{"user=bob", "password=@-"},
			want: []Arg{{Key: "user", Value: "bob"}, {Key: "password", Source: Stdin, Secret: true}}},
		{name: "file marks secret", in: []string{"note=@/tmp/x"},
			want: []Arg{{Key: "note", Source: File, Path: "/tmp/x", Secret: true}}},
		{name: "escaped at is literal", in: []string{"x=%40home"}, want: []Arg{{Key: "x", Value: "@home"}}},
		{name: "bare at is literal", in: []string{"x=@"}, want: []Arg{{Key: "x", Value: "@"}}},
		{name: "no equals", in: []string{"user"}, wantErr: "not key=value"},
		{name: "empty key", in: []string{"=x"}, wantErr: "empty key"},
		{name: "two stdin", in: []string{"a=@-", "b=@-"}, wantErr: "only one value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseArgs(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSecretKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"password", true}, {"PASSWORD", true}, {"pass", true}, {"newpass", true}, {"oldpass", true},
		{"passwd", true}, {"token", true}, {"api_token", true}, {"tfa_token", true}, {"new_password", true},
		{"password-1", true}, {"pass2", true}, {"cpanel.password", true}, {"key", true}, {"ssl_key", true},
		{"accesshash", true}, {"secret", true},
		{"pw_new", true}, {"pwd_confirm", true}, {"password_new", true}, {"credential", true}, {"credentials", true},
		{"client_secret_id", true}, {"passwd_confirm", true},
		{"user", false}, {"domain", false}, {"email", false}, {"db_pass_update", false},
		{"digestauth", false}, {"app", false}, {"search", false}, {"keepdns", false},
	}
	for _, tt := range tests {
		if got := SecretKey(tt.key); got != tt.want {
			t.Errorf("SecretKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestReadValues(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte("from-file%41\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args, err := ParseArgs([]string{"user=bob", "password=@-", "note=@" + file})
	if err != nil {
		t.Fatal(err)
	}
	if err := ReadValues(args, strings.NewReader("from stdin\r\nrest\n"), nil); err != nil {
		t.Fatal(err)
	}
	want := []cpanel.Param{
		{Key: "user", Value: "bob"},
		{Key: "password", Value: "from stdin", Secret: true},
		// Values read from files are taken as they are, not URI-decoded.
		{Key: "note", Value: "from-file%41", Secret: true},
	}
	if got := Params(args); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	for name, tc := range map[string]struct {
		arg, stdin string
	}{
		"missing file": {"x=@" + filepath.Join(dir, "nope"), ""},
		"empty stdin":  {"x=@-", ""},
	} {
		t.Run(name, func(t *testing.T) {
			args, err := ParseArgs([]string{tc.arg})
			if err != nil {
				t.Fatal(err)
			}
			err = ReadValues(args, strings.NewReader(tc.stdin), nil)
			var usage *cmdutil.UsageError
			if !errors.As(err, &usage) {
				t.Fatalf("want a usage error, got %v", err)
			}
		})
	}
}
