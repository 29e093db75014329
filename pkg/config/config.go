// Package config reads and writes cpctl's configuration file: named server
// profiles and the current profile. The file holds secrets, so it is written
// atomically with mode 0600 and refused, as ssh refuses a private key, when
// group or others can read it and it holds a secret, or can write it or its
// directory.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Profile is one server: where it is, how to authenticate and what to trust.
// The YAML keys are a public contract (docs/profiles-and-auth.md).
type Profile struct {
	URL             string `yaml:"url" json:"url"`
	Kind            string `yaml:"kind,omitempty" json:"kind,omitempty"`
	User            string `yaml:"user,omitempty" json:"user,omitempty"`
	Auth            string `yaml:"auth,omitempty" json:"auth,omitempty"`
	Token           string `yaml:"token,omitempty" json:"-"`
	TokenCommand    string `yaml:"token-command,omitempty" json:"token-command,omitempty"`
	Password        string `yaml:"password,omitempty" json:"-"`
	PasswordCommand string `yaml:"password-command,omitempty" json:"password-command,omitempty"`
	AccessHash      string `yaml:"accesshash,omitempty" json:"-"`
	TLSFingerprint  string `yaml:"tls-fingerprint,omitempty" json:"tls-fingerprint,omitempty"`
	CACert          string `yaml:"ca-cert,omitempty" json:"ca-cert,omitempty"`
	Insecure        bool   `yaml:"insecure,omitempty" json:"insecure,omitempty"`
	CPanelURL       string `yaml:"cpanel-url,omitempty" json:"cpanel-url,omitempty"`
	MinStrength     int    `yaml:"min-strength,omitempty" json:"min-strength,omitempty"`
	TOTPSecret      string `yaml:"totp-secret,omitempty" json:"-"`
	TOTPCommand     string `yaml:"totp-command,omitempty" json:"totp-command,omitempty"`
	Timeout         string `yaml:"timeout,omitempty" json:"timeout,omitempty"`

	// TokenStoreCommand receives a rotated token on its standard input, for
	// a profile whose token comes from TokenCommand.
	TokenStoreCommand string `yaml:"token-store-command,omitempty" json:"token-store-command,omitempty"`
	// TokenName is the server's name for the profile's API token, recorded
	// by `token rotate` (a cPanel server cannot look a token up).
	TokenName string `yaml:"token-name,omitempty" json:"token-name,omitempty"`
}

// HasSecret reports whether the profile stores a secret in the file itself
// (as opposed to a command that fetches it at use time).
func (p *Profile) HasSecret() bool {
	return p.Token != "" || p.Password != "" || p.AccessHash != "" || p.TOTPSecret != ""
}

// File is the whole configuration file.
type File struct {
	CurrentProfile string              `yaml:"current-profile,omitempty"`
	Profiles       map[string]*Profile `yaml:"profiles,omitempty"`
}

// Names returns the profile names, sorted.
func (f *File) Names() []string { return slices.Sorted(maps.Keys(f.Profiles)) }

// Profile returns the named profile.
func (f *File) Profile(name string) (*Profile, error) {
	p, ok := f.Profiles[name]
	if !ok {
		if len(f.Profiles) == 0 {
			return nil, fmt.Errorf("no profile named %q (no profiles are configured; add one with 'cpctl profile add')", name)
		}
		return nil, fmt.Errorf("no profile named %q (have: %s)", name, strings.Join(f.Names(), ", "))
	}
	return p, nil
}

// DefaultPath is $XDG_CONFIG_HOME/cpctl/config.yaml, falling back to
// ~/.config/cpctl/config.yaml as the XDG base directory spec says.
func DefaultPath() string { return filepath.Join(xdgDir("XDG_CONFIG_HOME", ".config"), "config.yaml") }

// CacheDir is $XDG_CACHE_HOME/cpctl, falling back to ~/.cache/cpctl.
func CacheDir() string { return xdgDir("XDG_CACHE_HOME", ".cache") }

// xdgDir is cpctl's directory under $env, or under ~/home without it. Not
// os.UserConfigDir: cpctl uses the XDG layout on macOS too.
func xdgDir(env, home string) string {
	dir := os.Getenv(env)
	if dir == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			h = "."
		}
		dir = filepath.Join(h, home)
	}
	return filepath.Join(dir, "cpctl")
}

// ErrInsecurePermissions is wrapped when a configuration file holding a
// secret can be read by group or others. It leads the message, so that the
// command that fixes it ends the line, as it is pasted.
var ErrInsecurePermissions = errors.New("insecure permissions")

// Load reads the file at path. A missing file is an empty configuration.
func Load(path string) (*File, error) {
	f := &File{Profiles: map[string]*Profile{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if err := checkNotWritable(path); err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("config %s is not valid YAML: %w", path, err)
	}
	if f.Profiles == nil {
		f.Profiles = map[string]*Profile{}
	}
	for name, p := range f.Profiles {
		if p == nil {
			f.Profiles[name] = &Profile{}
		}
	}
	return f, nil
}

// checkNotWritable refuses, as ssh does, a config file that group or others
// can write, or that sits in a directory they can write (where they could
// replace it): whatever names a token-command in it runs commands as the
// user. A sticky directory (/tmp) lets nobody replace another's file.
func checkNotWritable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if perm := st.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by group or others (permissions %04o), and it can name commands cpctl runs; run: chmod go-w %s",
			ErrInsecurePermissions, path, perm, path)
	}
	dir := filepath.Dir(path)
	dst, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if perm := dst.Mode().Perm(); perm&0o022 != 0 && dst.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("%w: the directory %s is writable by group or others (permissions %04o), so they can replace %s; run: chmod go-w %s",
			ErrInsecurePermissions, dir, perm, filepath.Base(path), dir)
	}
	return nil
}

// CheckPermissions refuses a file that holds a secret and is readable by
// group or others, naming the fix.
func CheckPermissions(path string, f *File) error {
	st, err := os.Stat(path)
	if err != nil {
		return nil //nolint:nilerr // a missing file holds no secret
	}
	if st.Mode().Perm()&0o077 == 0 {
		return nil
	}
	for _, p := range f.Profiles {
		if p.HasSecret() {
			return fmt.Errorf("%w: %s holds secrets but its permissions are %04o (group or others can read it); run: chmod 600 %s",
				ErrInsecurePermissions, path, st.Mode().Perm(), path)
		}
	}
	return nil
}

// Save writes the file atomically (temporary file in the same directory,
// fsync, rename) with mode 0600, creating the directory with mode 0700.
func (f *File) Save(path string) error {
	data, err := yaml.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return WriteFileAtomic(path, data)
}

// WriteFileAtomic replaces path with data so that a reader sees either the
// old or the new content, never a mix, and nobody else can read it.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	defer func() { _ = os.Remove(name) }() // no-op after a successful rename
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename itself durable where the filesystem allows
		d.Close()
	}
	return nil
}
