package cpanel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/secret/totp"
	"github.com/cpctl/cpctl/pkg/simulator"
	"github.com/cpctl/cpctl/pkg/simulator/simtest"
)

const (
	simHash   = "ACCESS0HASH1LINE\nSECOND2LINE3HASH\n"
	simTFAKey = "JBSWY3DPEHPK3PXP"
	newPass   = "Zq7!vR2#mX9@pL4$" // strong enough for any minimum
)

func simState() *simulator.State {
	st := simulator.SampleState()
	st.Root.AccessHash = simHash
	return st
}

func startSim(t *testing.T, st *simulator.State) *simulator.Server {
	t.Helper()
	return simtest.NewServer(t, st, simulator.Options{})
}

func simClient(t *testing.T, srv *simulator.Server, kind Kind, auth AuthMethod, user, secret string) *Client {
	t.Helper()
	url := srv.WHMURL
	if kind == KindCPanel {
		url = srv.CPanelURL
	}
	c, err := New(Config{URL: url, Kind: kind, Auth: auth, User: user, Secret: secret, CAFile: srv.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func wantKind(t *testing.T, err error, kind ErrorKind, reason string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error kind %d, got %v", kind, err)
	}
	if e.Kind != kind {
		t.Fatalf("kind %d, want %d: %v", e.Kind, kind, e)
	}
	if reason != "" && !strings.Contains(e.Reason, reason) {
		t.Fatalf("reason %q does not contain %q", e.Reason, reason)
	}
	return e
}

// TestSimWHM runs every WHM-side function with every WHM authentication method.
func TestSimWHM(t *testing.T) {
	auths := []struct {
		auth         AuthMethod
		user, secret string
	}{
		{AuthToken, "root", simulator.SampleRootToken},
		{AuthPassword, "root", simulator.SampleRootPassword},
		{AuthAccessHash, "root", simHash},
		{AuthSession, "root", simulator.SampleRootPassword},
	}
	ctx := context.Background()
	for _, a := range auths {
		t.Run(string(a.auth), func(t *testing.T) {
			srv := startSim(t, simState())
			c := simClient(t, srv, KindWHM, a.auth, a.user, a.secret)
			if v, err := c.Ping(ctx); err != nil || v == "" {
				t.Fatalf("Ping: %q, %v", v, err)
			}
			ms, err := c.MinimumStrengths(ctx)
			if err != nil || ms["passwd"] != 50 {
				t.Fatalf("MinimumStrengths: %v, %v", ms, err)
			}
			for i, api := range []API{WHMAPI1, WHMAPI0} {
				pw := fmt.Sprintf("%s-%d", newPass, i)
				res, err := c.AccountPasswd(ctx, api, "bob", pw, AccountPasswdOptions{})
				if err != nil || !res.OK {
					t.Fatalf("%s passwd: %+v, %v", api, res, err)
				}
				if !srv.Sim.CheckPassword("bob", pw) {
					t.Fatalf("%s passwd: the simulator still has the old password", api)
				}
				if !strings.Contains(res.Message, "bob") || len(res.Services) == 0 || res.Services[0] != "system" {
					t.Errorf("%s passwd result %+v", api, res)
				}
			}
			// XML API 0 through Call.
			rep, err := c.Call(ctx, Request{API: WHMAPI0, Function: "passwd", XML: true,
				Params: []Param{{Key: "user", Value: "bob"}, {Key: "pass", Value: newPass + "-x"}}})
			if err != nil || !strings.Contains(rep.ContentType, "xml") || !srv.Sim.CheckPassword("bob", newPass+"-x") {
				t.Fatalf("XML passwd: %v (%+v)", err, rep)
			}
			for i, api := range []API{CPAPI2, UAPI} {
				pw := fmt.Sprintf("%s-ftp%d", newPass, i)
				if res, err := c.FTPPasswd(ctx, api, "bob", "files", "bob.example", pw); err != nil || !res.OK {
					t.Fatalf("%s ftp: %+v, %v", api, res, err)
				}
				if !srv.Sim.CheckPassword("files@bob.example", pw) {
					t.Fatalf("%s ftp: password not changed", api)
				}
				pw = fmt.Sprintf("%s-mail%d", newPass, i)
				if res, err := c.EmailPasswd(ctx, api, "bob", "info", "bob.example", pw); err != nil || !res.OK {
					t.Fatalf("%s email: %+v, %v", api, res, err)
				}
				if !srv.Sim.CheckPassword("info@bob.example", pw) {
					t.Fatalf("%s email: password not changed", api)
				}
				ok, err := c.VerifyEmailPassword(ctx, "bob", "info@bob.example", pw)
				if err != nil || !ok {
					t.Fatalf("verify after %s: %v, %v", api, ok, err)
				}
			}
			// UAPI through uapi_cpanel, success and a failure hidden under result 1.
			if _, err := c.Call(ctx, Request{API: UAPI, Module: "Ftp", Function: "passwd", User: "bob", ViaUAPICpanel: true,
				Params: []Param{{Key: "user", Value: "files"}, {Key: "pass", Value: newPass + "-uc"}}}); err != nil || !srv.Sim.CheckPassword("files@bob.example", newPass+"-uc") {
				t.Fatalf("uapi_cpanel: %v", err)
			}
			_, err = c.Call(ctx, Request{API: UAPI, Module: "Ftp", Function: "passwd", User: "bob", ViaUAPICpanel: true,
				Params: []Param{{Key: "user", Value: "nosuch"}, {Key: "pass", Value: newPass}}})
			wantKind(t, err, ErrRefused, "")
		})
	}
}

func TestSimWHMFailures(t *testing.T) {
	srv := startSim(t, simState())
	ctx := context.Background()
	root := simClient(t, srv, KindWHM, AuthToken, "root", simulator.SampleRootToken)
	res1 := simClient(t, srv, KindWHM, AuthToken, "res1", simulator.SampleResellerToken)
	tests := []struct {
		name   string
		run    func() error
		kind   ErrorKind
		reason string
		creds  bool // CredentialsRefused: every call with these credentials fails so
	}{
		{"unknown user", func() error {
			_, err := root.AccountPasswd(ctx, WHMAPI1, "nosuch", newPass, AccountPasswdOptions{})
			return err
		}, ErrRefused, "You do not have a user named", false},
		{"weak password", func() error {
			_, err := root.AccountPasswd(ctx, WHMAPI1, "bob", "abcdef", AccountPasswdOptions{})
			return err
		}, ErrRefused, "strength rating", false},
		{"suspended", func() error {
			_, err := root.AccountPasswd(ctx, WHMAPI1, "carol", newPass, AccountPasswdOptions{})
			return err
		}, ErrRefused, "suspended", false},
		{"reseller, not owner, API 1", func() error {
			_, err := res1.AccountPasswd(ctx, WHMAPI1, "bob", newPass, AccountPasswdOptions{})
			return err
		}, ErrAuth, "access to an account", false},
		{"reseller, not owner, API 0", func() error {
			_, err := res1.AccountPasswd(ctx, WHMAPI0, "bob", newPass, AccountPasswdOptions{})
			return err
		}, ErrAuth, "not permitted", false},
		{"reseller, not owner, API 2", func() error {
			_, err := res1.FTPPasswd(ctx, CPAPI2, "bob", "files", "", newPass)
			return err
		}, ErrAuth, "", false},
		{"unknown ftp user", func() error {
			_, err := root.FTPPasswd(ctx, CPAPI2, "bob", "nosuch", "", newPass)
			return err
		}, ErrRefused, "FTP", false},
		{"unknown mailbox uapi", func() error {
			_, err := root.EmailPasswd(ctx, UAPI, "bob", "nosuch", "bob.example", newPass)
			return err
		}, ErrRefused, "nosuch", false},
		{"bad token", func() error {
			c := simClient(t, srv, KindWHM, AuthToken, "root", "WRONGTOKEN0123456789ABCDEFGHIJKL")
			_, err := c.Ping(ctx)
			return err
		}, ErrAuth, "Access denied", true},
		{"bad password", func() error {
			c := simClient(t, srv, KindWHM, AuthPassword, "root", "nope")
			_, err := c.Ping(ctx)
			return err
		}, ErrAuth, "", true},
		{"bad session login", func() error {
			c := simClient(t, srv, KindWHM, AuthSession, "root", "nope")
			_, err := c.Ping(ctx)
			return err
		}, ErrAuth, "invalid_login", true},
		{"cPanel token on WHM", func() error {
			c, _ := New(Config{URL: srv.WHMURL, Kind: KindCPanel, User: "bob", Secret: simulator.SampleBobToken, CAFile: srv.CAFile})
			_, err := c.Call(ctx, Request{API: WHMAPI1, Function: "version"})
			return err
		}, ErrAuth, "Token authentication", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			wantKind(t, err, tt.kind, tt.reason)
			if got := CredentialsRefused(err); got != tt.creds {
				t.Errorf("CredentialsRefused(%v) = %v, want %v", err, got, tt.creds)
			}
		})
	}
	if !srv.Sim.CheckPassword("bob", simulator.SampleBobPassword) {
		t.Error("a refused call changed bob's password")
	}
}

// TestSimCPanel runs the cPanel-side functions with every cPanel authentication method.
func TestSimCPanel(t *testing.T) {
	ctx := context.Background()
	for _, a := range []struct {
		auth   AuthMethod
		secret string
	}{
		{AuthToken, simulator.SampleBobToken},
		{AuthPassword, simulator.SampleBobPassword},
		{AuthSession, simulator.SampleBobPassword},
	} {
		t.Run(string(a.auth), func(t *testing.T) {
			srv := startSim(t, simState())
			c := simClient(t, srv, KindCPanel, a.auth, "bob", a.secret)
			if u, err := c.Ping(ctx); err != nil || u != "bob" {
				t.Fatalf("Ping: %q, %v", u, err)
			}
			ms, err := c.MinimumStrengths(ctx)
			if err != nil || ms["passwd"] != 50 || ms["virtual"] != 50 {
				t.Fatalf("MinimumStrengths: %v, %v", ms, err)
			}
			for i, api := range []API{CPAPI2, UAPI} {
				pw := fmt.Sprintf("%s-f%d", newPass, i)
				if _, err := c.FTPPasswd(ctx, api, "", "files", "", pw); err != nil || !srv.Sim.CheckPassword("files@bob.example", pw) {
					t.Fatalf("%s ftp: %v", api, err)
				}
				pw = fmt.Sprintf("%s-m%d", newPass, i)
				if _, err := c.EmailPasswd(ctx, api, "", "info", "bob.example", pw); err != nil || !srv.Sim.CheckPassword("info@bob.example", pw) {
					t.Fatalf("%s email: %v", api, err)
				}
				if ok, err := c.VerifyEmailPassword(ctx, "", "info@bob.example", "not-it"); err != nil || ok {
					t.Fatalf("verify wrong password: %v, %v", ok, err)
				}
			}
			_, err = c.ChangeOwnPassword(ctx, "wrong-old", newPass, ChangeOwnOptions{})
			wantKind(t, err, ErrRefused, "")
			res, err := c.ChangeOwnPassword(ctx, simulator.SampleBobPassword, newPass, ChangeOwnOptions{EnableMySQL: true})
			if err != nil || !res.OK || !srv.Sim.CheckPassword("bob", newPass) {
				t.Fatalf("change own password: %+v, %v", res, err)
			}
			if a.auth == AuthToken {
				_, err := c.Call(ctx, Request{API: WHMAPI1, Function: "version"})
				wantKind(t, err, ErrAuth, "Token authentication")
			}
			ok, err := CheckLogin(ctx, Config{CAFile: srv.CAFile}, srv.CPanelURL, "bob", newPass)
			if err != nil || !ok {
				t.Fatalf("CheckLogin new password: %v, %v", ok, err)
			}
			ok, err = CheckLogin(ctx, Config{CAFile: srv.CAFile}, srv.CPanelURL, "bob", simulator.SampleBobPassword)
			if err != nil || ok {
				t.Fatalf("CheckLogin old password: %v, %v", ok, err)
			}
		})
	}
}

func TestSimSessionRelogin(t *testing.T) {
	srv := startSim(t, simState())
	ctx := context.Background()
	c := simClient(t, srv, KindWHM, AuthSession, "root", simulator.SampleRootPassword)
	if _, err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Sim.ExpireSessions()
	if _, err := c.AccountPasswd(ctx, WHMAPI1, "bob", newPass, AccountPasswdOptions{}); err != nil {
		t.Fatalf("after ExpireSessions: %v", err)
	}
	for _, k := range []simulator.FaultKind{simulator.FaultTokenDenied, simulator.FaultLoginPage} {
		srv.Sim.SetFault("", simulator.Fault{Kind: k, Count: 1})
		if _, err := c.Ping(ctx); err != nil {
			t.Fatalf("%v once: %v", k, err)
		}
	}
	logins := srv.Sim.Stats().ByFunction["login"]
	if logins != 4 {
		t.Errorf("logins %d, want 4 (first, after expiry, after each fault)", logins)
	}
	srv.Sim.SetFault("", simulator.Fault{Kind: simulator.FaultTokenDenied, Count: 2})
	_, err := c.Ping(ctx)
	wantKind(t, err, ErrAuth, "")
}

func TestSimFaults(t *testing.T) {
	srv := startSim(t, simState())
	ctx := context.Background()
	c := simClient(t, srv, KindWHM, AuthToken, "root", simulator.SampleRootToken)
	passwd := func(pw string) error {
		_, err := c.AccountPasswd(ctx, WHMAPI1, "bob", pw, AccountPasswdOptions{})
		return err
	}
	var waits []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	srv.Sim.SetFault("bob", simulator.Fault{Kind: simulator.Fault503, Count: 1, RetryAfter: time.Second})
	if err := passwd(newPass + "1"); err != nil {
		t.Fatalf("503 once: %v", err)
	}
	if len(waits) != 1 || waits[0] != time.Second {
		t.Errorf("Retry-After ignored: waited %v", waits)
	}
	srv.Sim.SetFault("bob", simulator.Fault{Kind: simulator.Fault502, Count: 1})
	if err := passwd(newPass + "2"); err != nil {
		t.Fatalf("502 once: %v", err)
	}
	srv.Sim.SetFault("bob", simulator.Fault{Kind: simulator.Fault500, Count: 1})
	wantKind(t, passwd(newPass+"3"), ErrTransport, "")
	before := srv.Sim.Stats().ByFunction["whmapi1:passwd"]
	srv.Sim.SetFault("bob", simulator.Fault{Kind: simulator.FaultReset, Count: 1})
	wantKind(t, passwd(newPass+"4"), ErrTransport, "")
	if n := srv.Sim.Stats().ByFunction["whmapi1:passwd"] - before; n != 1 {
		t.Errorf("a reset mid-reply was retried: %d passwd calls", n)
	}
	if !srv.Sim.CheckPassword("bob", newPass+"4") {
		t.Error("FaultReset: the change should have run once")
	}
	srv.Sim.SetFault("bob", simulator.Fault{Kind: simulator.FaultTruncated, Count: 1})
	wantKind(t, passwd(newPass+"5"), ErrTransport, "unreadable reply")
	srv.Sim.SetFault("bob", simulator.Fault{Kind: simulator.FaultLoginPage, Count: 1})
	wantKind(t, passwd(newPass+"6"), ErrAuth, "HTML")
}

func TestSimPinning(t *testing.T) {
	srv := startSim(t, simState())
	ctx := context.Background()
	info, err := FetchCertificate(ctx, srv.WHMURL, "")
	if err != nil || info.Fingerprint != srv.Fingerprint || info.Trusted || !info.SelfSigned {
		t.Fatalf("FetchCertificate: %+v, %v", info, err)
	}
	base := Config{URL: srv.WHMURL, Kind: KindWHM, User: "root", Secret: simulator.SampleRootToken}
	c, _ := New(base)
	_, err = c.Ping(ctx)
	var ue *UntrustedCertificateError
	if !errors.As(err, &ue) || ue.Cert.Fingerprint != srv.Fingerprint || !ue.Cert.SelfSigned {
		t.Fatalf("unpinned: want UntrustedCertificateError, got %v", err)
	}
	base.Fingerprint = strings.ToUpper(strings.TrimPrefix(srv.Fingerprint, "sha256:"))
	c, _ = New(base)
	if _, err := c.Ping(ctx); err != nil {
		t.Fatalf("pinned: %v", err)
	}
}

func TestSimTwoFactor(t *testing.T) {
	st := simState()
	st.Root.TFASecret = simTFAKey
	srv := startSim(t, st)
	ctx := context.Background()
	otp := func(context.Context) (string, error) { return totp.Code(simTFAKey, time.Now()) }
	for _, auth := range []AuthMethod{AuthToken, AuthPassword, AuthSession} {
		t.Run(string(auth), func(t *testing.T) {
			secret := simulator.SampleRootPassword
			if auth == AuthToken {
				secret = simulator.SampleRootToken
			}
			cfg := Config{URL: srv.WHMURL, Kind: KindWHM, Auth: auth, User: "root", Secret: secret, CAFile: srv.CAFile}
			c, _ := New(cfg)
			_, err := c.Ping(ctx)
			if e := wantKind(t, err, ErrAuth, ""); !e.TwoFactor {
				t.Errorf("without a code: TwoFactor false: %v", e)
			}
			cfg.OTP = otp
			c, _ = New(cfg)
			if _, err := c.AccountPasswd(ctx, WHMAPI1, "bob", newPass, AccountPasswdOptions{}); err != nil {
				t.Fatalf("with a code: %v", err)
			}
		})
	}
}

func TestSimNoSecretInQuery(t *testing.T) {
	srv := startSim(t, simState())
	ctx := context.Background()
	c := simClient(t, srv, KindWHM, AuthSession, "root", simulator.SampleRootPassword)
	_, _ = c.AccountPasswd(ctx, WHMAPI1, "bob", newPass, AccountPasswdOptions{})
	_, _ = c.FTPPasswd(ctx, UAPI, "bob", "files", "", newPass)
	if n := srv.Sim.Stats().SecretInQuery; n != 0 {
		t.Errorf("%d requests carried a secret in the query string", n)
	}
}

func TestSimPlainHTTP(t *testing.T) {
	srv := simtest.NewServer(t, simState(), simulator.Options{Plain: true})
	if !strings.HasPrefix(srv.WHMURL, "http://") {
		t.Fatalf("simulator URL %s", srv.WHMURL)
	}
	ctx := context.Background()
	for _, auth := range []AuthMethod{AuthToken, AuthSession} {
		secret := simulator.SampleRootToken
		if auth == AuthSession {
			secret = simulator.SampleRootPassword
		}
		c, err := New(Config{URL: srv.WHMURL, Kind: KindWHM, Auth: auth, User: "root", Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AccountPasswd(ctx, WHMAPI1, "bob", newPass, AccountPasswdOptions{}); err != nil {
			t.Fatalf("%s over http: %v", auth, err)
		}
		_ = c.Close(context.Background())
	}
}
