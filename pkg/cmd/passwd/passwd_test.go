package passwd

import (
	"errors"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/fate"
)

func TestResolvePlan(t *testing.T) {
	whm := &cmdutil.Target{Name: "w", Kind: cpanel.KindWHM, Profile: config.Profile{URL: "https://h:2087", User: "root"}}
	cp := &cmdutil.Target{Name: "c", Kind: cpanel.KindCPanel, Profile: config.Profile{URL: "https://h:2083", User: "bob"}}
	tests := []struct {
		name   string
		kind   Kind
		api    string
		target *cmdutil.Target
		arg    string
		owner  string
		want   cpanel.API
		user   string
		domain string
		usage  bool
	}{
		{"account via whm", Account, "", whm, "bob", "", cpanel.WHMAPI1, "bob", "", false},
		{"account via whm legacy", Account, "whmapi0", whm, "bob", "", cpanel.WHMAPI0, "bob", "", false},
		{"account via whm bad api", Account, "uapi", whm, "bob", "", "", "", "", true},
		{"account via whm needs user", Account, "", whm, "", "", "", "", "", true},
		{"account own via cpanel", Account, "", cp, "", "", cpanel.CPAPI2, "bob", "", false},
		{"account other via cpanel", Account, "", cp, "alice", "", "", "", "", true},
		{"ftp via whm needs owner", FTP, "", whm, "files", "", "", "", "", true},
		{"ftp via whm", FTP, "", whm, "files@bob.example", "bob", cpanel.CPAPI2, "files", "bob.example", false},
		{"ftp uapi direct", FTP, "uapi", cp, "files", "", cpanel.UAPI, "files", "", false},
		{"ftp bad form", FTP, "", cp, "@bob.example", "", "", "", "", true},
		{"email needs an address", Email, "", cp, "info", "", "", "", "", true},
		{"email two @", Email, "", cp, "a@b@c", "", "", "", "", true},
		{"email direct", Email, "", cp, "info@bob.example", "", cpanel.CPAPI2, "info", "bob.example", false},
		{"email owner mismatch", Email, "", cp, "info@bob.example", "alice", "", "", "", true},
		{"email bad api", Email, "whmapi1", whm, "info@bob.example", "bob", "", "", "", true},
		{"mysql via whm", MySQL, "", whm, "bob_wp", "bob", cpanel.UAPI, "bob_wp", "", false},
		{"mysql via whm, owner to find", MySQL, "", whm, "bob_wp", "", cpanel.UAPI, "bob_wp", "", false},
		{"postgresql direct", PostgreSQL, "uapi", cp, "bob_app", "", cpanel.UAPI, "bob_app", "", false},
		{"db api2", MySQL, "cpapi2", whm, "bob_wp", "bob", "", "", "", true},
		{"db needs a user", PostgreSQL, "", whm, "", "bob", "", "", "", true},
		{"db user with a domain", MySQL, "", whm, "bob_wp@bob.example", "bob", "", "", "", true},
		{"db owner mismatch", MySQL, "", cp, "alice_shop", "alice", "", "", "", true},
		{"webdisk via whm", WebDisk, "", whm, "dav@bob.example", "", cpanel.UAPI, "dav", "bob.example", false},
		{"webdisk needs a domain", WebDisk, "", cp, "dav", "", "", "", "", true},
		{"webdisk two @", WebDisk, "", cp, "dav@a@b", "", "", "", "", true},
		{"webdisk api2", WebDisk, "cpapi2", cp, "dav@bob.example", "", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &Options{Kind: tt.kind, API: tt.api}
			p, err := resolvePlan(o, tt.target, tt.arg, tt.owner)
			var usage *cmdutil.UsageError
			if tt.usage {
				if !errors.As(err, &usage) {
					t.Fatalf("want a usage error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.api != tt.want || p.user != tt.user || p.domain != tt.domain {
				t.Errorf("got api %s user %q domain %q", p.api, p.user, p.domain)
			}
			// Through WHM a change acts for an account: the one given, or
			// the one to be found; a cPanel profile acts for itself.
			switch {
			case tt.target.Kind != cpanel.KindWHM && (p.owner != "" || p.find != ownerGiven):
				t.Errorf("a cPanel profile: owner %q, find %d", p.owner, p.find)
			case tt.target.Kind == cpanel.KindWHM && tt.kind != Account && tt.owner == "" && p.find == ownerGiven:
				t.Errorf("through WHM with no owner, nothing is to be found")
			case tt.owner != "" && tt.target.Kind == cpanel.KindWHM && (p.owner != tt.owner || p.find != ownerGiven):
				t.Errorf("owner %q given, plan has %q (find %d)", tt.owner, p.owner, p.find)
			}
		})
	}
}

func TestAccountOptions(t *testing.T) {
	o := &Options{NoDBPassUpdate: true, Digest: true}
	ao, err := o.accountOptions()
	if err != nil || ao.DBPassUpdate == nil || *ao.DBPassUpdate || ao.Digest == nil || !*ao.Digest {
		t.Fatalf("got %+v, %v", ao, err)
	}
	ao, _ = (&Options{}).accountOptions()
	if ao.DBPassUpdate != nil || ao.Digest != nil {
		t.Error("unset flags must leave the parameters out (server default / keep the setting)")
	}
	if _, err := (&Options{Digest: true, NoDigest: true}).accountOptions(); err == nil {
		t.Error("contradicting flags accepted")
	}
}

func TestMetaRoundTrip(t *testing.T) {
	o := &Options{Kind: FTP, API: "uapi", Owner: "bob", Verify: true, Force: true, NoDBPassUpdate: true, SecretsOut: "/tmp/x.csv"}
	o.Password.Length = 24
	o.Password.SimpleCharset = true
	m := o.meta("prod")
	r := &Options{Kind: FTP}
	profile, err := r.restore("run.journal", m)
	if err != nil {
		t.Fatal(err)
	}
	if profile != "prod" || r.API != "uapi" || r.Owner != "bob" || !r.Verify || !r.Force || !r.NoDBPassUpdate || r.DBPassUpdate ||
		r.Password.Length != 24 || !r.Password.SimpleCharset || r.SecretsOut != "/tmp/x.csv" {
		t.Errorf("restored %+v", r)
	}
	// Refused, with the command line that resumes it: its command and its path.
	_, err = (&Options{Kind: Email}).restore("/var/lib/my runs/x.journal", m)
	if want := "journal /var/lib/my runs/x.journal belongs to another command: resume it with: cpctl ftp passwd --resume '/var/lib/my runs/x.journal'"; err == nil || err.Error() != want {
		t.Errorf("an ftp journal resumed as email: %v, want %q", err, want)
	}
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("exit %d, want %d", cmdutil.ExitCode(err), cmdutil.ExitUsage)
	}
}

// A given password that no one meant is refused before anything is sent;
// spaces at either end only warn (issue 15).
func TestCheckGiven(t *testing.T) {
	for _, tt := range []struct {
		name, pw      string
		refused, warn bool
	}{
		{"plain", "N3w-Pa55!word", false, false},
		{"unicode", "Pässwörd-ñ-2026", false, false},
		{"inner space", "two words here", false, false},
		{"NUL", "abc\x00def", true, false},
		{"CR from a Windows file", "abcdef\r", true, false},
		{"escape", "abc\x1b[2Jdef", true, false},
		{"tab", "abc\tdef", true, false},
		{"C1 control", "abc\u0085def", true, false},
		{"invalid UTF-8", "abc\xffdef", true, false},
		{"leading space", " abcdef", false, true},
		{"trailing space", "abcdef ", false, true},
	} {
		warned := false
		err := checkGiven(tt.pw, func(string, ...any) { warned = true })
		if (err != nil) != tt.refused || warned != tt.warn {
			t.Errorf("%s: error %v, warned %v; want refused %v, warned %v", tt.name, err, warned, tt.refused, tt.warn)
		}
		if err != nil && (cmdutil.ExitCode(err) != cmdutil.ExitUsage || strings.Contains(err.Error(), tt.pw)) {
			t.Errorf("%s: %v should be a usage error without the password", tt.name, err)
		}
	}
}

// Through WHM without --owner, the owner is found from the target's domain
// or among the database users; an FTP user without a domain cannot be
// looked up, which is a usage error on the command line and a refused row
// in a bulk run.
func TestOwnerToFind(t *testing.T) {
	whm := &cmdutil.Target{Name: "w", Kind: cpanel.KindWHM, Profile: config.Profile{URL: "https://h:2087", User: "root"}}
	for _, tt := range []struct {
		kind   Kind
		target string
		want   ownerSource
	}{
		{Email, "info@bob.example", ownerOfDomain},
		{FTP, "files@bob.example", ownerOfDomain},
		{WebDisk, "dav@bob.example", ownerOfDomain},
		{MySQL, "bob_wp", ownerOfDBUser},
		{PostgreSQL, "bob_app", ownerOfDBUser},
	} {
		p, err := resolvePlan(&Options{Kind: tt.kind}, whm, tt.target, "")
		if err != nil || p.find != tt.want {
			t.Errorf("%s %s: %v, find %d, want %d", tt.kind, tt.target, err, p.find, tt.want)
		}
	}
	_, err := resolvePlan(&Options{Kind: FTP}, whm, "files", "")
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--owner") {
		t.Fatalf("bare FTP user: %v", err)
	}
	out := unsentOutcome(err)
	if out.State != fate.Refused || !strings.HasPrefix(out.Message, "not sent: ") {
		t.Errorf("bulk row of a bare FTP user: %+v", out)
	}
}

func TestAppAndCommand(t *testing.T) {
	for kind, want := range map[Kind][2]string{
		Account: {"passwd", "account passwd"}, FTP: {"virtual", "ftp passwd"}, Email: {"virtual", "email passwd"},
		MySQL: {"mysql", "db passwd"}, PostgreSQL: {"postgres", "db passwd --engine postgresql"}, WebDisk: {"virtual", "webdisk passwd"},
	} {
		if got := (&plan{kind: kind}).app(); got != want[0] {
			t.Errorf("%s: app %q, want %q", kind, got, want[0])
		}
		if got := CommandFor(string(kind)); got != want[1] {
			t.Errorf("%s: command %q, want %q", kind, got, want[1])
		}
	}
}
