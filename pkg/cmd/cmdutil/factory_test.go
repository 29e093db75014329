package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/secret"
)

// newTestFactory binds flags the way the root command does.
func newTestFactory(t *testing.T, args ...string) *Factory {
	t.Helper()
	ios, _, _, _ := Test()
	f := NewFactory(ios)
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("url", "", "")
	fs.String("timeout", "", "")
	fs.String("profile", "", "")
	fs.String("config", "", "")
	for key, name := range map[string]string{KeyURL: "url", KeyTimeout: "timeout", KeyProfile: "profile", KeyConfig: "config"} {
		if err := f.Viper.BindPFlag(key, fs.Lookup(name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	f.Flags = fs
	return f
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := &config.File{CurrentProfile: "p", Profiles: map[string]*config.Profile{
		"p": {URL: "https://profile:2087", Token: "T", Timeout: "30s"},
	}}
	if err := cfg.Save(cfgPath); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		env         map[string]string
		args        []string
		wantURL     string
		wantTimeout time.Duration
	}{
		{"profile", nil, []string{"--profile", "p"}, "https://profile:2087", 30 * time.Second},
		{"env over profile", map[string]string{"CPCTL_TIMEOUT": "40s"}, []string{"--profile", "p"}, "https://profile:2087", 40 * time.Second},
		{"flag over env", map[string]string{"CPCTL_URL": "https://env:2087"}, []string{"--profile", "p", "--url", "https://flag:2087", "--timeout", "50s"}, "https://flag:2087", 50 * time.Second},
		{"default timeout", map[string]string{"CPCTL_URL": "https://env:2087", "CPCTL_TOKEN": "X"}, nil, "https://env:2087", 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CPCTL_CONFIG", cfgPath)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			f := newTestFactory(t, tt.args...)
			names, err := f.ProfileNames()
			if err != nil {
				t.Fatal(err)
			}
			tg, err := f.ResolveTarget(names[0])
			if err != nil {
				t.Fatal(err)
			}
			if tg.Profile.URL != tt.wantURL || tg.Timeout != tt.wantTimeout {
				t.Errorf("url %s timeout %s, want %s %s", tg.Profile.URL, tg.Timeout, tt.wantURL, tt.wantTimeout)
			}
			if tg.Kind != cpanel.KindWHM || tg.Profile.User != "root" {
				t.Errorf("kind %s user %s: want whm root inferred", tg.Kind, tg.Profile.User)
			}
		})
	}
}

// With --url and no --profile, the current profile's token is never used:
// it would go to another server.
func TestURLWithoutProfileIgnoresCurrent(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	cfg := &config.File{CurrentProfile: "p", Profiles: map[string]*config.Profile{"p": {URL: "https://profile:2087", Token: "SECRET"}}}
	if err := cfg.Save(cfgPath); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CPCTL_CONFIG", cfgPath)
	f := newTestFactory(t, "--url", "https://other:2087")
	names, _ := f.ProfileNames()
	tg, err := f.ResolveTarget(names[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ClientConfig(context.Background(), tg); err == nil {
		t.Fatal("want a missing-token error, not the current profile's token")
	}
	if tg.Profile.Token == "SECRET" {
		t.Fatal("the current profile's token was picked up for another URL")
	}
}

// A profile's credentials go to another server only on an explicit --url
// for that one profile: never from CPCTL_URL, never for several profiles.
func TestURLOverrideGuards(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	cfg := &config.File{Profiles: map[string]*config.Profile{
		"a": {URL: "https://a:2087", Token: "A"}, "b": {URL: "https://b:2087", Token: "B"},
	}}
	if err := cfg.Save(cfgPath); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CPCTL_CONFIG", cfgPath)
	tests := []struct {
		name    string
		env     string
		args    []string
		wantErr string
	}{
		{"env URL with a profile", "https://evil:2087", []string{"--profile", "a"}, "CPCTL_URL is set"},
		{"flag URL with two profiles", "", []string{"--profile", "a,b", "--url", "https://x:2087"}, "several profiles"},
		{"flag URL with one profile", "", []string{"--profile", "a", "--url", "https://x:2087"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("CPCTL_URL", tt.env)
			}
			f := newTestFactory(t, tt.args...)
			_, err := f.ResolveTarget("a")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("want %q, got %v", tt.wantErr, err)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{Usagef("bad"), 2},
		{secret.ErrNoInput, 2},
		{fmt.Errorf("prompt: %w", secret.ErrCanceled), 130},
		{&UsageError{Err: secret.ErrCanceled}, 130},
		{&cpanel.Error{Kind: cpanel.ErrAuth}, 3},
		{&cpanel.Error{Kind: cpanel.ErrTransport}, 4},
		{&cpanel.Error{Kind: cpanel.ErrRefused}, 1},
		{&ExitError{Code: 5}, 5},
		{errors.New("other"), 4}, // unclassified: outcome unknown, never "refused"
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestTOTPCommandCached(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "n")
	f := newTestFactory(t)
	now := time.Unix(1111111111, 0)
	f.Now = func() time.Time { return now }
	tg := &Target{Name: "p", Profile: config.Profile{TOTPCommand: "echo x >> " + counter + "; echo GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}}
	otp := f.otpSource(tg)
	for i := 0; i < 5; i++ {
		code, err := otp(context.Background())
		if err != nil || code != "050471" {
			t.Fatalf("code %q, %v", code, err)
		}
	}
	data, _ := readFile(counter)
	if data != "x\n" {
		t.Errorf("totp-command ran %q times, want once", data)
	}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// In CI mode (--url, no profile) with no credentials the hint names an API
// token first, then a password (issue 17).
func TestMissingCredentialsHint(t *testing.T) {
	for _, tt := range []struct {
		url, auth, want string
	}{
		{"https://h:2087", "", "no credentials for https://h:2087: set CPCTL_TOKEN (a WHM API token), or CPCTL_PASSWORD; or use a profile"},
		{"https://h:2083", "", "no credentials for https://h:2083: set CPCTL_TOKEN (a cPanel API token), or CPCTL_PASSWORD; or use a profile"},
		{"https://h:2087", "password", "no password to log in with: set CPCTL_PASSWORD (or use a profile)"},
	} {
		t.Setenv("CPCTL_AUTH", tt.auth) // empty counts as not set
		f := newTestFactory(t, "--url", tt.url)
		target, err := f.ResolveTarget("")
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.ClientConfig(context.Background(), target)
		if err == nil || err.Error() != tt.want || ExitCode(err) != ExitUsage {
			t.Errorf("%s auth %q: %v, want %q", tt.url, tt.auth, err, tt.want)
		}
	}
}

// CPCTL_INSECURE takes the documented spellings and refuses the rest, which
// were a silent false (issue 15).
func TestBoolSettings(t *testing.T) {
	for _, tt := range []struct {
		env     string
		want    bool
		wantErr bool
	}{
		{"", false, false}, {"1", true, false}, {"true", true, false}, {"TRUE", true, false},
		{"yes", true, false}, {"on", true, false}, {"0", false, false}, {"false", false, false},
		{"no", false, false}, {"off", false, false}, {"y", false, true}, {"enable", false, true}, {"2", false, true},
	} {
		t.Setenv("CPCTL_INSECURE", tt.env)
		f := newTestFactory(t)
		got, err := f.Bool(KeyInsecure)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("CPCTL_INSECURE=%q: %v, %v; want %v (error %v)", tt.env, got, err, tt.want, tt.wantErr)
		}
		if err != nil && (ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "CPCTL_INSECURE")) {
			t.Errorf("CPCTL_INSECURE=%q: error %v should name the variable, exit 2", tt.env, err)
		}
		if _, rerr := newTestFactory(t, "--url", "https://h:2087").ResolveTarget(""); (rerr != nil) != tt.wantErr {
			t.Errorf("CPCTL_INSECURE=%q: ResolveTarget error %v", tt.env, rerr)
		}
	}
}

// -v shows what the server sent escaped: a reply cannot retitle the window
// or clear the screen (issue 15).
func TestLogExchangeIsTerminalSafe(t *testing.T) {
	ios, _, _, errOut := Test()
	f := NewFactory(ios)
	f.logExchange(cpanel.Exchange{
		Method: "POST", URL: "https://h:2087/json-api/passwd",
		Status: 200, ResponseHeader: map[string][]string{"X-Evil": {"\x1b]0;TITLE\x07"}},
		ResponseBody: "{\"reason\":\"\x1b[2J\u202eok\"}\nsecond line\n",
	})
	got := errOut.String()
	if strings.ContainsAny(got, "\x1b\x07\u202e") {
		t.Errorf("-v wrote raw control characters:\n%q", got)
	}
	for _, want := range []string{`X-Evil: \x1b]0;TITLE\x07`, `\x1b[2J\u202eok`, "\nsecond line\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("-v output lacks %q:\n%s", want, got)
		}
	}
}

// An exchange's error is the transport's, which can quote a certificate's
// names or a server's malformed reply: escaped and bounded.
func TestLogExchangeErrorBounded(t *testing.T) {
	ios, _, _, errOut := Test()
	f := NewFactory(ios)
	long := "x509: certificate is valid for \x1b[31m" + strings.Repeat("evil.example, ", 1000) + "not h"
	f.logExchange(cpanel.Exchange{Method: "POST", URL: "https://h:2087/json-api/passwd", Err: errors.New(long)})
	got := errOut.String()
	if strings.ContainsRune(got, 0x1b) {
		t.Errorf("-v wrote a raw escape:\n%q", got)
	}
	last := got[strings.LastIndex(strings.TrimRight(got, "\n"), "\n")+1:]
	if !strings.HasPrefix(last, "< error after") || utf8.RuneCountInString(last) > maxLoggedError+50 {
		t.Errorf("error line of %d runes, want at most about %d:\n%.200s", utf8.RuneCountInString(last), maxLoggedError, last)
	}
}

// writeCalls records each Write as it came.
type writeCalls struct {
	mu    sync.Mutex
	calls []string
}

func (w *writeCalls) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, string(p))
	return len(p), nil
}

// A bulk run's workers log at the same time: each exchange reaches stderr
// in one write, so two never interleave line by line.
func TestLogExchangeWhole(t *testing.T) {
	ios, _, _, _ := Test()
	rec := &writeCalls{}
	ios.ErrOut = rec
	f := NewFactory(ios)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			f.logExchange(cpanel.Exchange{Method: "POST", URL: fmt.Sprintf("https://h:2087/json-api/passwd?n=%d", i),
				RequestHeader: map[string][]string{"Accept": {"application/json"}}, RequestBody: fmt.Sprintf("user=u%d&password=<redacted>", i),
				Status: 200, ResponseHeader: map[string][]string{"Content-Type": {"application/json"}}, ResponseBody: fmt.Sprintf(`{"n":%d}`, i)})
		})
	}
	wg.Wait()
	if len(rec.calls) != 16 {
		t.Fatalf("%d writes for 16 exchanges, want one each", len(rec.calls))
	}
	for _, c := range rec.calls {
		var n int
		if _, err := fmt.Sscanf(c, "> POST https://h:2087/json-api/passwd?n=%d\n", &n); err != nil {
			t.Fatalf("a write does not start an exchange: %q", c)
		}
		if !strings.Contains(c, fmt.Sprintf("user=u%d&", n)) || !strings.HasSuffix(c, fmt.Sprintf("< {\"n\":%d}\n", n)) {
			t.Errorf("exchange %d not whole in one write: %q", n, c)
		}
	}
}
