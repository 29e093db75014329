package target

import (
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
)

// The precedence rules, one row each: flags and CPCTL_ variables over the
// profile, secrets from the environment only where the profile has none.
func TestMerge(t *testing.T) {
	const fp = "sha256:" + "ab" + "cdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	tests := []struct {
		name    string
		profile config.Profile
		set     Settings
		want    config.Profile
		wantErr bool
	}{
		{"nothing given", config.Profile{URL: "https://p:2087", Token: "T"}, Settings{},
			config.Profile{URL: "https://p:2087", Token: "T"}, false},
		{"settings win", config.Profile{URL: "https://p:2087", User: "u", Kind: "whm"}, Settings{URL: "https://s:2083", User: "v", Kind: "cpanel"},
			config.Profile{URL: "https://s:2083", User: "v", Kind: "cpanel"}, false},
		{"CPCTL_TOKEN fills a profile without a secret", config.Profile{URL: "u"}, Settings{Token: "E"},
			config.Profile{URL: "u", Token: "E", Auth: "token"}, false},
		{"CPCTL_TOKEN never replaces the profile's token", config.Profile{URL: "u", Token: "T"}, Settings{Token: "E"},
			config.Profile{URL: "u", Token: "T"}, false},
		{"CPCTL_TOKEN never replaces a token-command", config.Profile{URL: "u", TokenCommand: "pass x"}, Settings{Token: "E"},
			config.Profile{URL: "u", TokenCommand: "pass x"}, false},
		{"CPCTL_TOKEN keeps an access hash method", config.Profile{URL: "u", Auth: "accesshash"}, Settings{Token: "E"},
			config.Profile{URL: "u", Auth: "accesshash", Token: "E"}, false},
		{"CPCTL_PASSWORD switches to password auth", config.Profile{URL: "u"}, Settings{Password: "P"},
			config.Profile{URL: "u", Password: "P", Auth: "password"}, false},
		{"token and password: token auth", config.Profile{URL: "u"}, Settings{Token: "E", Password: "P"},
			config.Profile{URL: "u", Token: "E", Password: "P", Auth: "token"}, false},
		{"explicit auth is kept", config.Profile{URL: "u"}, Settings{Password: "P", Auth: "session", AuthSet: true},
			config.Profile{URL: "u", Password: "P", Auth: "session"}, false},
		{"insecure only turns on", config.Profile{URL: "u", Insecure: true}, Settings{},
			config.Profile{URL: "u", Insecure: true}, false},
		{"fingerprint normalised", config.Profile{URL: "u"}, Settings{TLSFingerprint: "SHA256:" + fp[7:]},
			config.Profile{URL: "u", TLSFingerprint: fp}, false},
		{"bad fingerprint", config.Profile{URL: "u"}, Settings{TLSFingerprint: "sha256:zz"}, config.Profile{}, true},
	}
	for _, tt := range tests {
		got, err := Merge(tt.profile, tt.set)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v", tt.name, err)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

func TestFinish(t *testing.T) {
	tests := []struct {
		name     string
		profile  config.Profile
		timeout  string
		kind     cpanel.Kind
		auth     string
		user     string
		duration time.Duration
		wantErr  bool
	}{
		{"WHM port", config.Profile{URL: "https://h:2087", Token: "T"}, "", cpanel.KindWHM, "token", "root", 2 * time.Minute, false},
		{"cPanel port, password", config.Profile{URL: "https://h:2083", User: "bob"}, "", cpanel.KindCPanel, "password", "bob", 2 * time.Minute, false},
		{"access hash", config.Profile{URL: "https://h:2087", AccessHash: "A"}, "", cpanel.KindWHM, "accesshash", "root", 2 * time.Minute, false},
		{"kind given in any case", config.Profile{URL: "https://h", Kind: "WHM"}, "", cpanel.KindWHM, "password", "root", 2 * time.Minute, false},
		{"profile timeout", config.Profile{URL: "https://h:2087", Timeout: "30s"}, "", cpanel.KindWHM, "password", "root", 30 * time.Second, false},
		{"given timeout wins", config.Profile{URL: "https://h:2087", Timeout: "30s"}, "5s", cpanel.KindWHM, "password", "root", 5 * time.Second, false},
		{"no URL", config.Profile{}, "", "", "", "", 0, true},
		{"bad kind", config.Profile{URL: "https://h:2087", Kind: "plesk"}, "", "", "", "", 0, true},
		{"kind unknown", config.Profile{URL: "https://h.example"}, "", "", "", "", 0, true},
		{"bad timeout", config.Profile{URL: "https://h:2087"}, "soon", "", "", "", 0, true},
		{"zero timeout", config.Profile{URL: "https://h:2087"}, "0s", "", "", "", 0, true},
	}
	for _, tt := range tests {
		got, err := Finish("p", tt.profile, tt.timeout)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v", tt.name, err)
			continue
		}
		if err != nil {
			continue
		}
		if got.Kind != tt.kind || got.Profile.Auth != tt.auth || got.Profile.User != tt.user || got.Timeout != tt.duration {
			t.Errorf("%s: kind %q auth %q user %q timeout %s", tt.name, got.Kind, got.Profile.Auth, got.Profile.User, got.Timeout)
		}
	}
}
