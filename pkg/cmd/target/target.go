// Package target resolves the server a command talks to: a profile from the
// config file, with flags and CPCTL_ variables merged over it, and what the
// profile leaves out inferred. It is pure (no files, no environment, no
// flags of its own): the caller gathers the inputs, so every rule of
// precedence is a row in a table test.
package target

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
)

// DefaultTimeout is the per-request timeout: password changes are slow on
// real servers (they update FTP, mail, MySQL and more in one call).
const DefaultTimeout = "2m"

// Target is a server resolved from a profile, flags and environment.
type Target struct {
	// Name is the profile name, or "" for a server given by --url alone.
	Name    string
	Profile config.Profile
	Kind    cpanel.Kind
	Timeout time.Duration
	// MaxConns sizes the client's keep-alive pool (bulk runs set their
	// concurrency); 0 means the client's default.
	MaxConns int
	// MaxRetries is the client's retries on 503 and unsent requests; 0
	// means the client's default. A paced bulk run allows more, since it
	// already slows down when the server says it is overloaded.
	MaxRetries int
	// WrapTransport, when set, wraps the client's transport: a paced bulk
	// run puts its per-server limiter there.
	WrapTransport func(http.RoundTripper) http.RoundTripper

	// FromFile is set when the profile came from the config file at
	// ConfigPath, whose permissions are checked before its secret is used.
	FromFile   bool
	ConfigPath string
}

// DisplayName is the profile name, or the URL when there is none.
func (t *Target) DisplayName() string {
	if t.Name != "" {
		return t.Name
	}
	return t.Profile.URL
}

// Describe names the target in messages: "profile NAME", or its URL.
func (t *Target) Describe() string {
	if t.Name == "" {
		return t.Profile.URL
	}
	return "profile " + t.Name
}

// Settings are the values given by flags or CPCTL_ variables; "" is not
// given. They win over the profile's, except the secrets (see Merge).
type Settings struct {
	URL, Kind, User, Auth, CACert string
	Token, Password               string
	Insecure                      bool
	TLSFingerprint                string
	// AuthSet is set when --auth or CPCTL_AUTH was given.
	AuthSet bool
}

// usagef builds an error of this package. Each one is the user's to fix
// (the command line, the environment or the profile must change): callers
// report them as usage errors.
func usagef(format string, a ...any) error {
	return fmt.Errorf(format, a...)
}

// Merge lays the settings over the profile. CPCTL_TOKEN and CPCTL_PASSWORD
// stand in for a secret the profile does not hold (docs/profiles-and-auth.md),
// so a variable left in a CI environment never replaces a profile's own
// credentials or switches its auth method.
func Merge(p config.Profile, s Settings) (config.Profile, error) {
	override := func(v string, dst *string) {
		if v != "" {
			*dst = v
		}
	}
	override(s.URL, &p.URL)
	override(s.Kind, &p.Kind)
	override(s.User, &p.User)
	override(s.Auth, &p.Auth)
	override(s.CACert, &p.CACert)
	held := p.Token != "" || p.Password != "" || p.AccessHash != "" || p.TokenCommand != "" || p.PasswordCommand != ""
	if s.Token != "" && !held {
		p.Token = s.Token
		if !s.AuthSet && p.Auth != string(cpanel.AuthAccessHash) {
			p.Auth = string(cpanel.AuthToken)
		}
	}
	if s.Password != "" && !held {
		p.Password = s.Password
		if !s.AuthSet && s.Token == "" && p.Auth != string(cpanel.AuthSession) {
			p.Auth = string(cpanel.AuthPassword)
		}
	}
	if s.Insecure {
		p.Insecure = true
	}
	if s.TLSFingerprint != "" {
		norm, err := cpanel.NormalizeFingerprint(s.TLSFingerprint)
		if err != nil {
			return p, usagef("--tls-fingerprint: %w", err)
		}
		p.TLSFingerprint = norm
	}
	return p, nil
}

// Finish infers what the profile left out (kind from the port, auth from
// the secret it holds, root as WHM's user) and checks what it gave. timeout
// is --timeout or CPCTL_TIMEOUT, "" when neither was given.
func Finish(name string, p config.Profile, timeout string) (*Target, error) {
	t := &Target{Name: name, Profile: p}
	if p.URL == "" {
		return nil, usagef("no server URL: give --url or set url in profile %q", name)
	}
	if p.Kind != "" {
		k := cpanel.Kind(strings.ToLower(p.Kind))
		if k != cpanel.KindWHM && k != cpanel.KindCPanel {
			return nil, usagef("kind %q is not whm or cpanel", p.Kind)
		}
		t.Kind = k
	} else {
		k, ok := cpanel.InferKind(p.URL)
		if !ok {
			return nil, usagef("cannot tell whether %s is WHM or cPanel: give --kind whm|cpanel", p.URL)
		}
		t.Kind = k
	}
	if t.Profile.Auth == "" {
		switch {
		case p.Token != "" || p.TokenCommand != "":
			t.Profile.Auth = string(cpanel.AuthToken)
		case p.AccessHash != "":
			t.Profile.Auth = string(cpanel.AuthAccessHash)
		default:
			t.Profile.Auth = string(cpanel.AuthPassword)
		}
	}
	if t.Profile.User == "" && t.Kind == cpanel.KindWHM {
		t.Profile.User = "root"
	}
	if timeout == "" {
		timeout = DefaultTimeout
		if p.Timeout != "" {
			timeout = p.Timeout
		}
	}
	d, err := time.ParseDuration(timeout)
	if err != nil || d <= 0 {
		return nil, usagef("timeout %q is not a positive duration like 30s or 2m", timeout)
	}
	t.Timeout = d
	return t, nil
}
