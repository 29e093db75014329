package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "config.yaml")
	f := &File{CurrentProfile: "prod", Profiles: map[string]*Profile{
		"prod": {URL: "https://h:2087", User: "root", Auth: "token", Token: "ABC", TLSFingerprint: "sha256:00"},
		"shop": {URL: "https://cpanel.shop.example", User: "shop", Auth: "token", TokenCommand: "pass show x"},
	}}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", st.Mode().Perm())
	}
	dst, _ := os.Stat(filepath.Dir(path))
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %04o, want 0700", dst.Mode().Perm())
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.CurrentProfile != "prod" || got.Profiles["prod"].Token != "ABC" || got.Profiles["shop"].TokenCommand != "pass show x" {
		t.Errorf("round trip lost data: %+v", got)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "token-command: pass show x") || !strings.Contains(string(data), "current-profile: prod") {
		t.Errorf("unexpected keys in file:\n%s", data)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestLoadMissingIsEmpty(t *testing.T) {
	f, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err != nil || len(f.Profiles) != 0 {
		t.Fatalf("Load(missing) = %+v, %v", f, err)
	}
}

func TestLoadInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("profiles: [1, 2"), 0o600)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "not valid YAML") {
		t.Fatalf("want a YAML error, got %v", err)
	}
}

func TestCheckPermissions(t *testing.T) {
	tests := []struct {
		name    string
		mode    os.FileMode
		profile Profile
		wantErr bool
	}{
		{"private with token", 0o600, Profile{Token: "x"}, false},
		{"group-readable with token", 0o640, Profile{Token: "x"}, true},
		{"world-readable with totp secret", 0o644, Profile{TOTPSecret: "x"}, true},
		{"world-readable with only a command", 0o644, Profile{TokenCommand: "pass x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte("x: 1\n"), tt.mode)
			os.Chmod(path, tt.mode)
			p := tt.profile
			err := CheckPermissions(path, &File{Profiles: map[string]*Profile{"a": &p}})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && (!errors.Is(err, ErrInsecurePermissions) || !strings.HasSuffix(err.Error(), "; run: chmod 600 "+path)) {
				t.Errorf("error should name the fix: %v", err)
			}
		})
	}
}

func TestProfileLookup(t *testing.T) {
	f := &File{Profiles: map[string]*Profile{"b": {}, "a": {}}}
	if _, err := f.Profile("zz"); err == nil || !strings.Contains(err.Error(), "have: a, b") {
		t.Errorf("unknown profile error should list names: %v", err)
	}
	empty := &File{}
	if _, err := empty.Profile("x"); err == nil || !strings.Contains(err.Error(), "profile add") {
		t.Errorf("empty config error should say how to add: %v", err)
	}
}

func TestDefaultPathXDG(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/tmp/xdgtest")
	if got := DefaultPath(); got != "/tmp/xdgtest/cpctl/config.yaml" {
		t.Errorf("DefaultPath = %s", got)
	}
	t.Setenv("XDG_CACHE_HOME", "/tmp/xdgcache")
	if got := CacheDir(); got != "/tmp/xdgcache/cpctl" {
		t.Errorf("CacheDir = %s", got)
	}
}

// A config that group or others can write, or whose directory they can
// write, is refused with the chmod that fixes it (issue 15): it can name a
// token-command, which cpctl runs as the user.
func TestLoadRefusesWritableByOthers(t *testing.T) {
	tests := []struct {
		name             string
		fileMode, dirMod os.FileMode
		wantFix          string // "" when it loads
	}{
		{"private", 0o600, 0o700, ""},
		{"readable by others, no secret", 0o644, 0o755, ""},
		{"group-writable file", 0o620, 0o700, "chmod go-w FILE"},
		{"world-writable file", 0o606, 0o700, "chmod go-w FILE"},
		{"group-writable directory", 0o600, 0o770, "chmod go-w DIR"},
		{"world-writable directory", 0o600, 0o777, "chmod go-w DIR"},
		{"sticky world-writable directory", 0o600, os.ModeSticky | 0o777, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cpctl")
			path := filepath.Join(dir, "config.yaml")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("profiles:\n  a:\n    url: https://h:2087\n    token-command: pass x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.dirMod); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
			_, err := Load(path)
			if tt.wantFix == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			fix := strings.NewReplacer("FILE", path, "DIR", dir).Replace(tt.wantFix)
			if err == nil || !errors.Is(err, ErrInsecurePermissions) || !strings.HasSuffix(err.Error(), "; run: "+fix) {
				t.Errorf("Load = %v, want a refusal ending with %q", err, fix)
			}
		})
	}
}
