package passwd

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
)

// checkReseller: a --reseller that finds no account is checked against
// listresellers when the server will say; a name it does not list is a
// usage error, a name it lists (or root, or the profile's own login) is
// known, and a failed check leaves the name unchecked without an error.
func TestCheckReseller(t *testing.T) {
	lost := &cpanel.Error{Kind: cpanel.ErrTransport, Op: "WHM API 1 listresellers", Reason: "unreadable reply", Written: true}
	old := &cpanel.Error{Kind: cpanel.ErrRefused, Op: "WHM API 1 listresellers", Status: 200,
		Reason: "Unknown app (“listresellers”) requested for this version (1) of the API."}
	tests := []struct {
		name      string
		reseller  string
		self      string // the profile's own login (root unless said)
		profile   string // fake: the profile is this reseller's
		resellers []string
		err       error
		known     bool
		msg       string // a usage error's text; "" for none
		asked     bool   // listresellers was called
	}{
		{name: "a mistyped name: the nearest is suggested", reseller: "res2", asked: true,
			msg: "--reseller res2: the server has no reseller named res2 (did you mean res1?); nothing was changed"},
		{name: "ties are all suggested, sorted", reseller: "resx9", asked: true,
			msg: "--reseller resx9: the server has no reseller named resx9 (did you mean res1 or res10?); nothing was changed"},
		{name: "nothing near: no suggestion", reseller: "mallory", asked: true,
			msg: "--reseller mallory: the server has no reseller named mallory; nothing was changed"},
		{name: "a name with a terminal escape is shown escaped", reseller: "evil\x1b[2J", asked: true,
			msg: "--reseller evil\\x1b[2J: the server has no reseller named evil\\x1b[2J; nothing was changed"},
		{name: "a server without resellers", reseller: "res1", resellers: []string{}, asked: true,
			msg: "--reseller res1: the server has no reseller named res1; nothing was changed"},
		{name: "a reseller without accounts", reseller: "res2", resellers: []string{"res1", "res2"}, asked: true, known: true},
		{name: "names compare without case", reseller: "RES2", resellers: []string{"res2"}, asked: true, known: true},
		{name: "root is never asked about", reseller: "Root", known: true},
		{name: "nor the profile's own login", reseller: "res7", self: "res7", profile: "res7", known: true},
		{name: "a reseller profile may not ask", reseller: "res2", self: "res1", profile: "res1", asked: true},
		{name: "a server without listresellers", reseller: "res2", err: old, asked: true},
		{name: "an unreadable answer", reseller: "res2", err: lost, asked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sampleServer()
			srv.accounts = slices.DeleteFunc(srv.accounts, func(a cpanel.AccountInfo) bool { return strings.EqualFold(a.Owner, tt.reseller) })
			srv.reseller, srv.resellers, srv.resellersErr = tt.profile, tt.resellers, tt.err
			self := tt.self
			if self == "" {
				self = "root"
			}
			r := &resolver{l: srv, sel: &Selection{Reseller: tt.reseller}, kinds: []Kind{Account}, explicit: true, whm: true, self: self, conc: 1}
			res, err := r.resolve(context.Background())
			if asked := slices.Contains(srv.calls, "listresellers"); asked != tt.asked {
				t.Errorf("listresellers called: %v, want %v (%v)", asked, tt.asked, srv.calls)
			}
			if tt.msg != "" {
				if err == nil || err.Error() != tt.msg || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
					t.Fatalf("error %v (exit %d), want exit 2 with %q", err, cmdutil.ExitCode(err), tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v, want none: the check never fails the run", err)
			}
			if res.accounts != 0 || res.ownerKnown != tt.known {
				t.Errorf("accounts %d, known %v; want 0, %v", res.accounts, res.ownerKnown, tt.known)
			}
		})
	}
}

// A --reseller that found accounts, and the other selections when they
// find none, ask nothing more.
func TestCheckResellerOnlyWhenNothingFound(t *testing.T) {
	for _, tt := range []struct {
		sel   Selection
		empty bool // a server without accounts
	}{
		{Selection{Reseller: "res1"}, false},
		{Selection{All: true}, true},
		{Selection{Domain: "nowhere.example"}, true},
	} {
		srv := sampleServer()
		if tt.empty {
			srv.accounts = nil
		}
		r := &resolver{l: srv, sel: &tt.sel, kinds: []Kind{Account}, explicit: true, whm: true, self: "root", conc: 1}
		_, _ = r.resolve(context.Background())
		if slices.Contains(srv.calls, "listresellers") {
			t.Errorf("%s: listresellers called (%v)", tt.sel.describe(""), srv.calls)
		}
	}
}

// An interrupted check stops the run, as an interrupted listing would.
func TestCheckResellerInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := sampleServer()
	srv.resellersErr = &cpanel.Error{Kind: cpanel.ErrTransport, Op: "WHM API 1 listresellers", Err: context.Canceled}
	cancel()
	r := &resolver{l: srv, sel: &Selection{Reseller: "res9"}, kinds: []Kind{Account}, explicit: true, whm: true, self: "root", conc: 1}
	if _, err := r.resolve(ctx); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("error %v, want the interruption", err)
	}
}

func TestNearNames(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{"resellr", []string{"reseller", "res1"}, []string{"reseller"}},
		{"res2", []string{"res1", "res10"}, []string{"res1"}},           // res10 is 2 edits: not fewer than half of 4
		{"Resellr", []string{"RESELLER"}, []string{"RESELLER"}},         // without case, as the server spells it
		{"resx9", []string{"res10", "res1"}, []string{"res1", "res10"}}, // sorted
		{"resellers", []string{"reseller", "resellerz"}, []string{"reseller", "resellerz"}},
		{"ab", []string{"ac"}, nil}, // 1 edit is half of 2
		{"abc", []string{"abd", "abd"}, []string{"abd"}},
		{"res", []string{"res1", "res2", "res3", "res4"}, []string{"res1", "res2", "res3"}},
		{"mallory", []string{"res1", "reseller"}, nil},
		{"", []string{"a"}, nil},
	}
	for _, tt := range tests {
		if got := nearNames(tt.name, tt.names); !slices.Equal(got, tt.want) {
			t.Errorf("nearNames(%q, %q) = %q, want %q", tt.name, tt.names, got, tt.want)
		}
	}
}
