package passwd

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/secret"
)

// fakeServer is a lister over a made-up server, shaped as the shared
// contract describes cPanel's listings: listaccts searches by regular
// expression (so the selection must keep exact names only), list_ftp has
// the main, anonymous and log-access logins with their types, list_pops
// the default mailbox. A reseller profile sees its own accounts only, as
// the server enforces.
type fakeServer struct {
	accounts []cpanel.AccountInfo
	ftp      map[string][]cpanel.FTPLogin
	mail     map[string][]cpanel.Mailbox
	mysql    map[string][]string
	pg       map[string][]string
	webdisk  map[string][]cpanel.WebDiskLogin
	domains  map[string]string
	// refuse maps "Kind owner" (or "Kind *") to a refusal of that listing.
	refuse map[string]string
	fail   map[string]error
	// reseller, when set, is the profile's user: listings are limited to
	// its accounts, and listresellers is refused.
	reseller string
	// resellers is what listresellers answers (nil: the owners of the
	// accounts other than root), unless resellersErr is set.
	resellers    []string
	resellersErr error

	mu    sync.Mutex
	calls []string
}

func (f *fakeServer) call(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeServer) ListAccounts(_ context.Context, o cpanel.ListAccountsOptions) ([]cpanel.AccountInfo, error) {
	f.call("listaccts " + o.SearchType + "=" + o.Search)
	var out []cpanel.AccountInfo
	for _, a := range f.accounts {
		if f.reseller != "" && a.Owner != f.reseller {
			continue
		}
		field := map[string]string{"user": a.User, "owner": a.Owner, "domain": a.Domain, "": ""}[o.SearchType]
		if ok, _ := regexp.MatchString(o.Search, field); ok {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeServer) ListResellers(context.Context) ([]string, error) {
	f.call("listresellers")
	switch {
	case f.resellersErr != nil:
		return nil, f.resellersErr
	case f.reseller != "":
		return nil, &cpanel.Error{Kind: cpanel.ErrAuth, Op: "WHM API 1 listresellers", Status: 403, Reason: "Access denied"}
	case f.resellers != nil:
		return f.resellers, nil
	}
	names := []string{}
	for _, a := range f.accounts {
		if a.Owner != "root" && !slices.Contains(names, a.Owner) {
			names = append(names, a.Owner)
		}
	}
	return names, nil
}

func (f *fakeServer) DomainOwner(_ context.Context, domain string) (string, error) {
	f.call("getdomainowner " + domain)
	return f.domains[domain], nil
}

func (f *fakeServer) check(kind Kind, owner string) error {
	f.call(string(kind) + " " + owner)
	if err := f.fail[string(kind)+" "+owner]; err != nil {
		return err
	}
	for _, k := range []string{string(kind) + " " + owner, string(kind) + " *"} {
		if why, ok := f.refuse[k]; ok {
			return &cpanel.Error{Kind: cpanel.ErrRefused, Op: "UAPI", Reason: why}
		}
	}
	if f.reseller != "" {
		for _, a := range f.accounts {
			if a.User == owner && a.Owner != f.reseller {
				return &cpanel.Error{Kind: cpanel.ErrAuth, Op: "UAPI", Reason: "Access denied"}
			}
		}
	}
	return nil
}

func (f *fakeServer) ListFTP(_ context.Context, owner string) ([]cpanel.FTPLogin, error) {
	return f.ftp[owner], f.check(FTP, owner)
}

func (f *fakeServer) ListMailboxes(_ context.Context, owner string) ([]cpanel.Mailbox, error) {
	return f.mail[owner], f.check(Email, owner)
}

func (f *fakeServer) ListDBUsers(_ context.Context, engine cpanel.DBEngine, owner string) ([]string, error) {
	if engine == "postgresql" {
		return f.pg[owner], f.check(PostgreSQL, owner)
	}
	return f.mysql[owner], f.check(MySQL, owner)
}

func (f *fakeServer) ListWebDisks(_ context.Context, owner string) ([]cpanel.WebDiskLogin, error) {
	return f.webdisk[owner], f.check(WebDisk, owner)
}

// sampleServer: root owns bob and bobby (a name listaccts' regular
// expression search for "bob" also finds), reseller res1 owns alice and
// res10 owns zed (which a search for owner "res1" also finds).
func sampleServer() *fakeServer {
	ftpOf := func(u, d string, subs ...string) []cpanel.FTPLogin {
		l := []cpanel.FTPLogin{
			{Login: u, User: u, Domain: d, Type: "main"},
			{Login: "anonymous", User: "anonymous", Domain: d, Type: "anonymous"},
			{Login: u + "_logs", User: u + "_logs", Domain: d, Type: "logaccess"},
		}
		for _, s := range subs {
			l = append(l, cpanel.FTPLogin{Login: s + "@" + d, User: s, Domain: d, Type: "sub"})
		}
		return l
	}
	mailOf := func(u, d string, locals ...string) []cpanel.Mailbox {
		l := []cpanel.Mailbox{{Address: u, Local: u, Domain: d, Main: true}}
		for _, s := range locals {
			l = append(l, cpanel.Mailbox{Address: s + "@" + d, Local: s, Domain: d})
		}
		return l
	}
	return &fakeServer{
		accounts: []cpanel.AccountInfo{
			{User: "bob", Domain: "bob.example", Owner: "root"},
			{User: "bobby", Domain: "bobby.example", Owner: "root"},
			{User: "alice", Domain: "alice.example", Owner: "res1"},
			{User: "zed", Domain: "zed.example", Owner: "res10"},
		},
		ftp: map[string][]cpanel.FTPLogin{
			"bob":   append(ftpOf("bob", "bob.example", "files", "Uploads"), cpanel.FTPLogin{Login: "web@shop.example", User: "web", Domain: "shop.example", Type: "sub"}),
			"bobby": ftpOf("bobby", "bobby.example"),
			"alice": ftpOf("alice", "alice.example", "pics"),
			"zed":   ftpOf("zed", "zed.example", "z"),
		},
		mail: map[string][]cpanel.Mailbox{
			"bob":   append(mailOf("bob", "bob.example", "info", "sales"), cpanel.Mailbox{Address: "shop@shop.example", Local: "shop", Domain: "shop.example"}),
			"alice": mailOf("alice", "alice.example", "hi"),
		},
		mysql:   map[string][]string{"bob": {"bob_wp", "bob"}, "alice": {"alice_db"}},
		pg:      map[string][]string{"bob": {"bob_pg"}},
		webdisk: map[string][]cpanel.WebDiskLogin{"bob": {{Login: "dav@bob.example", Domain: "bob.example"}, {Login: "bob", Domain: "bob.example"}}},
		domains: map[string]string{"bob.example": "bob", "shop.example": "bob", "alice.example": "alice"},
	}
}

// line is a selected row as the tests compare it.
func line(p picked) string {
	return fmt.Sprintf("%s %s owner=%s source=%s", p.kind, p.target, p.owner, p.source)
}

func TestResolveSelection(t *testing.T) {
	tests := []struct {
		name  string
		kinds []Kind
		given bool // the kinds were asked for by name
		sel   Selection
		owner string
		// cpanel: through a cPanel profile of bob; reseller: through res1.
		cpanel, reseller bool
		want             []string
		left             []string // targets left out as special
		notes            []string
	}{
		{name: "ftp of one account", kinds: []Kind{FTP}, given: true, owner: "bob",
			want: []string{
				"ftp files@bob.example owner=bob source=Ftp/list_ftp of bob",
				"ftp Uploads@bob.example owner=bob source=Ftp/list_ftp of bob",
				"ftp web@shop.example owner=bob source=Ftp/list_ftp of bob",
			},
			left: []string{"ftp anonymous", "ftp bob", "ftp bob_logs"}},
		{name: "a special login named exactly is taken", kinds: []Kind{FTP}, given: true, owner: "bob",
			sel:  Selection{Match: []string{"BOB", "files@*"}},
			want: []string{"ftp bob owner=bob source=Ftp/list_ftp of bob", "ftp files@bob.example owner=bob source=Ftp/list_ftp of bob"}},
		{name: "a glob never takes a special login", kinds: []Kind{FTP}, given: true, owner: "bob",
			sel:  Selection{Match: []string{"bob*"}},
			want: nil, left: []string{"ftp bob", "ftp bob_logs"}},
		{name: "match and exclude without case", kinds: []Kind{Email}, given: true, owner: "bob",
			sel:  Selection{Match: []string{"*@BOB.example", "shop@*"}, Exclude: []string{"SALES@*"}},
			want: []string{"email info@bob.example owner=bob source=Email/list_pops of bob", "email shop@shop.example owner=bob source=Email/list_pops of bob"}},
		{name: "an exclude wins over an exact name", kinds: []Kind{Email}, given: true, owner: "bob",
			sel:  Selection{Match: []string{"bob"}, Exclude: []string{"b*"}},
			want: nil},
		{name: "every account", kinds: []Kind{Account}, given: true, sel: Selection{All: true},
			want: []string{
				"account alice owner= source=listaccts", "account bob owner= source=listaccts",
				"account bobby owner= source=listaccts", "account zed owner= source=listaccts",
			}},
		{name: "a reseller's accounts, exactly", kinds: []Kind{Account, FTP}, given: true, sel: Selection{Reseller: "res1"},
			want: []string{"account alice owner= source=listaccts owner=res1", "ftp pics@alice.example owner=alice source=Ftp/list_ftp of alice"},
			left: []string{"ftp alice", "ftp alice_logs", "ftp anonymous"}},
		{name: "through a reseller, all is what the server shows", kinds: []Kind{Account}, given: true, sel: Selection{All: true}, reseller: true,
			want: []string{"account alice owner= source=listaccts"}},
		{name: "a domain: its owner's targets on that domain", kinds: []Kind{Account, FTP, Email, MySQL}, given: true, sel: Selection{Domain: "shop.example"},
			want: []string{
				"account bob owner= source=getdomainowner shop.example",
				"ftp web@shop.example owner=bob source=Ftp/list_ftp of bob",
				"email shop@shop.example owner=bob source=Email/list_pops of bob",
				"mysql bob_wp owner=bob source=Mysql/list_users of bob",
			},
			left: []string{"mysql bob"}},
		{name: "rotate one account: every kind, account first", kinds: RotationOrder, owner: "bob",
			want: []string{
				"account bob owner= source=listaccts user=bob",
				"ftp files@bob.example owner=bob source=Ftp/list_ftp of bob",
				"ftp Uploads@bob.example owner=bob source=Ftp/list_ftp of bob",
				"ftp web@shop.example owner=bob source=Ftp/list_ftp of bob",
				"webdisk dav@bob.example owner=bob source=WebDisk::listwebdisks of bob",
				"email info@bob.example owner=bob source=Email/list_pops of bob",
				"email sales@bob.example owner=bob source=Email/list_pops of bob",
				"email shop@shop.example owner=bob source=Email/list_pops of bob",
				"mysql bob_wp owner=bob source=Mysql/list_users of bob",
				"postgresql bob_pg owner=bob source=Postgresql/list_users of bob",
			},
			left: []string{"ftp anonymous", "ftp bob", "ftp bob_logs", "webdisk bob", "email bob", "mysql bob"}},
		{name: "rotate: kind-major over accounts", kinds: []Kind{Account, MySQL}, given: true, sel: Selection{All: true, Exclude: []string{"zed", "bobby"}},
			want: []string{
				"account alice owner= source=listaccts", "account bob owner= source=listaccts",
				"mysql alice_db owner=alice source=Mysql/list_users of alice", "mysql bob_wp owner=bob source=Mysql/list_users of bob",
			},
			left: []string{"mysql bob"}},
		{name: "through a cPanel profile: its own account, no account row", kinds: RotationOrder, sel: Selection{All: true, Match: []string{"*@bob.example"}}, cpanel: true,
			want: []string{
				"ftp files@bob.example owner= source=Ftp/list_ftp",
				"ftp Uploads@bob.example owner= source=Ftp/list_ftp",
				"webdisk dav@bob.example owner= source=WebDisk::listwebdisks",
				"email info@bob.example owner= source=Email/list_pops",
				"email sales@bob.example owner= source=Email/list_pops",
			},
			notes: []string{"account: left out: a cPanel profile changes its own password with the old one, and the change would end the profile's own login; change it last with 'cpctl account passwd'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sampleServer()
			if tt.reseller {
				srv.reseller = "res1"
			}
			r := &resolver{l: srv, sel: &tt.sel, owner: tt.owner, kinds: tt.kinds, explicit: tt.given, whm: !tt.cpanel, self: "bob", conc: 3}
			res, err := r.resolve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got, left []string
			for _, p := range res.rows {
				got = append(got, line(p))
			}
			for _, s := range res.left {
				left = append(left, string(s.kind)+" "+s.target)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("selected\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if strings.Join(left, "\n") != strings.Join(tt.left, "\n") {
				t.Errorf("left out\n%s\nwant\n%s", strings.Join(left, "\n"), strings.Join(tt.left, "\n"))
			}
			if strings.Join(res.notes, "\n") != strings.Join(tt.notes, "\n") {
				t.Errorf("notes\n%s\nwant\n%s", strings.Join(res.notes, "\n"), strings.Join(tt.notes, "\n"))
			}
		})
	}
}

// TestResolveSelectionErrors: what the server refuses or cannot answer
// stops the selection (nothing is planned), except a kind a rotation was
// not asked for by name, which is left out with a note.
func TestResolveSelectionErrors(t *testing.T) {
	lost := &cpanel.Error{Kind: cpanel.ErrTransport, Op: "UAPI", Reason: "connection reset", Written: true}
	tests := []struct {
		name      string
		kinds     []Kind
		given     bool
		sel       Selection
		owner     string
		cpanel    bool
		reseller  bool
		refuse    map[string]string
		fail      map[string]error
		code      int
		msg       string
		notes     []string
		wantCalls []string // calls that must have been made (a subset)
	}{
		{name: "an unknown owner", kinds: []Kind{Account}, given: true, owner: "nobody", code: cmdutil.ExitRefused,
			msg: "listing accounts: WHM API 1 listaccts: refused: no account nobody among the accounts this profile may see"},
		// The listing is named once: in words, then by the error's own API function.
		{name: "an unknown owner's FTP logins", kinds: []Kind{FTP}, given: true, owner: "nobody", code: cmdutil.ExitRefused,
			fail: map[string]error{"ftp nobody": &cpanel.Error{Kind: cpanel.ErrRefused, Op: "UAPI Ftp/list_ftp", Status: 200, Reason: "User parameter is invalid or was not supplied"}},
			msg:  "listing ftp of nobody: UAPI Ftp/list_ftp: refused: User parameter is invalid or was not supplied; nothing was changed"},
		{name: "a domain nobody owns", kinds: []Kind{Email}, given: true, sel: Selection{Domain: "nowhere.example"}, code: cmdutil.ExitRefused,
			msg: "no account owns nowhere.example"},
		{name: "another reseller's account", kinds: []Kind{FTP}, given: true, owner: "bob", reseller: true, code: cmdutil.ExitAuth,
			msg: "listing ftp of bob: UAPI: authentication failed: Access denied"},
		{name: "a refused listing of a kind asked for", kinds: []Kind{PostgreSQL}, given: true, owner: "bob",
			refuse: map[string]string{"postgresql *": "PostgreSQL is not installed."}, code: cmdutil.ExitRefused, msg: "PostgreSQL is not installed."},
		{name: "a lost reply stops the selection", kinds: []Kind{Email}, given: true, sel: Selection{All: true},
			fail: map[string]error{"email alice": lost, "email zed": lost}, code: cmdutil.ExitTransport,
			msg: "(and 1 more listings failed); nothing was changed"},
		{name: "through a cPanel profile: another account", kinds: []Kind{FTP}, given: true, owner: "alice", cpanel: true, code: cmdutil.ExitUsage,
			msg: "a cPanel profile acts only for its own user bob"},
		{name: "through a cPanel profile: no reseller", kinds: []Kind{FTP}, given: true, sel: Selection{Reseller: "res1"}, cpanel: true, code: cmdutil.ExitUsage,
			msg: "--reseller needs a WHM profile"},
		{name: "through a cPanel profile: account asked for", kinds: []Kind{Account}, given: true, sel: Selection{All: true}, cpanel: true, code: cmdutil.ExitUsage,
			msg: "account passwords in a selection need a WHM profile"},
		{name: "a rotation leaves out what the server will not list", kinds: RotationOrder, owner: "bob",
			refuse: map[string]string{"postgresql *": "PostgreSQL is not installed.", "webdisk bob": "You do not have the feature “webdisk”."},
			notes: []string{
				"webdisk of bob: left out: the server refused to list them: You do not have the feature “webdisk”.",
				"postgresql of bob: left out: the server refused to list them: PostgreSQL is not installed.",
			}},
		{name: "but not a lost reply", kinds: RotationOrder, owner: "bob", fail: map[string]error{"mysql bob": lost}, code: cmdutil.ExitTransport,
			msg: "listing mysql of bob: UAPI: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sampleServer()
			srv.refuse, srv.fail = tt.refuse, tt.fail
			if tt.reseller {
				srv.reseller = "res1"
			}
			r := &resolver{l: srv, sel: &tt.sel, owner: tt.owner, kinds: tt.kinds, explicit: tt.given, whm: !tt.cpanel, self: "bob", conc: 2}
			res, err := r.resolve(context.Background())
			if tt.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(res.notes, "\n") != strings.Join(tt.notes, "\n") {
					t.Errorf("notes\n%s\nwant\n%s", strings.Join(res.notes, "\n"), strings.Join(tt.notes, "\n"))
				}
				for _, p := range res.rows {
					if p.kind == PostgreSQL || p.kind == WebDisk {
						t.Errorf("selected %s although its listing was refused", line(p))
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("selected %d rows, want an error", len(res.rows))
			}
			if got := cmdutil.ExitCode(err); got != tt.code {
				t.Errorf("exit code %d, want %d (%v)", got, tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want it to say %q", err, tt.msg)
			}
		})
	}
}

// TestCheckSelection: the flags a selection refuses before anything is
// listed.
func TestCheckSelection(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		msg  string
	}{
		{"match alone", Options{Kind: FTP, Select: Selection{Match: []string{"x*"}}, Password: pwGen()}, "--match and --exclude narrow a selection"},
		{"two bases", Options{Kind: FTP, Owner: "bob", Select: Selection{Domain: "bob.example"}, Password: pwGen()}, "give one of --all, --owner, --reseller and --domain"},
		{"a bad glob", Options{Kind: FTP, Owner: "bob", Select: Selection{Exclude: []string{"[x"}}, Password: pwGen()}, `"[x" is not a valid pattern`},
		{"a typed password", Options{Kind: Email, Owner: "bob", Password: pwGen(func(s *secret.Source) { s.Stdin = true })}, "--password-stdin and --password-file do not apply"},
		{"no --generate", Options{Kind: Email, Owner: "bob"}, "add --generate (or give a ADDRESS to change one)"},
		{"ok", Options{Kind: Email, Owner: "bob", Select: Selection{Match: []string{"*@bob.example"}}, Password: pwGen()}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.checkSelection()
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ue *cmdutil.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %v, want a usage error saying %q", err, tt.msg)
			}
		})
	}
}

// pwGen is --generate, and whatever else edit adds.
func pwGen(edit ...func(*secret.Source)) secret.Source {
	s := secret.Source{Generate: true}
	for _, e := range edit {
		e(&s)
	}
	return s
}

// TestSelecting: which command lines are selections. --owner alone on a
// noun whose targets an account owns selects them all; with a target, or
// with --from or --resume, it is that target's (or the rows') owner.
func TestSelecting(t *testing.T) {
	tests := []struct {
		o    Options
		want bool
	}{
		{Options{Kind: FTP, Owner: "bob"}, true},
		{Options{Kind: FTP, Owner: "bob", Target: "files"}, false},
		{Options{Kind: FTP, Owner: "bob", Bulk: BulkOptions{From: "x.csv"}}, false},
		{Options{Kind: Email, Owner: "bob", Bulk: BulkOptions{Resume: "j"}}, false},
		{Options{Kind: Account, Select: Selection{All: true}}, true},
		{Options{Kind: Account}, false},
		{Options{Kind: Mixed, Owner: "bob"}, true},
		{Options{Kind: Mixed, Bulk: BulkOptions{Resume: "j"}}, false},
	}
	for i, tt := range tests {
		if got := tt.o.selecting(); got != tt.want {
			t.Errorf("%d: %+v: selecting %v, want %v", i, tt.o, got, tt.want)
		}
	}
	if !slices.Equal(RotationOrder, []Kind{Account, FTP, WebDisk, Email, MySQL, PostgreSQL}) {
		t.Errorf("rotation order %v", RotationOrder)
	}
}
