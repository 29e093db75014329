package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/secret"
	"github.com/cpctl/cpctl/pkg/simulator"
)

// The simulator runs inside the bench process rather than as a cpanel-sim
// child: the bench is idle while cpctl runs, so cpctl and the simulator share
// the CPUs exactly as they would with two processes, and the bench can read
// the simulator's counters to check that every row really changed a
// password. The yardstick load generators run in the same process against
// the same simulator, so both sides of each ratio pay the same costs.

// simEnv is a running simulator with a cpctl configuration pointing at it.
type simEnv struct {
	srv  *simulator.Server
	home string // HOME and XDG directories of the cpctl children
	cfg  string // the config file: one profile "bench", current
	pool *x509.CertPool
}

// benchProfile trusts the simulator through its CA file, pinProfile through
// its pinned certificate fingerprint (what `cpctl profile add` records for a
// self-signed server).
const (
	benchProfile = "bench"
	pinProfile   = "bench-pin"
)

// accountName is the i-th bulk account.
func accountName(i int) string { return fmt.Sprintf("u%06d", i) }

// benchState is the sample state with n more accounts owned by root.
func benchState(n int) *simulator.State {
	st := simulator.SampleState()
	for i := 0; i < n; i++ {
		u := accountName(i)
		st.AddAccount(u, "root", u+".example", "Old-Pass-2024!xyz")
	}
	return st
}

// startSim serves a simulator with n accounts owned by root.
func (b *bench) startSim(ctx context.Context, name string, n int, lat time.Duration) (*simEnv, error) {
	srv, err := simulator.Start(benchState(n), simulator.Options{Latency: lat, PreciseLatency: lat > 0})
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	e := &simEnv{srv: srv, home: filepath.Join(b.dir, name)}
	e.cfg = filepath.Join(e.home, "config", "cpctl", "config.yaml")
	e.pool = x509.NewCertPool()
	if !e.pool.AppendCertsFromPEM(srv.CertPEM) {
		_ = srv.Shutdown(ctx)
		return nil, errors.New("simulator certificate is not PEM")
	}
	// The profile trusts the simulator through the same CA file curl gets,
	// so both sides of measurement 2 verify the same certificate.
	f := &config.File{CurrentProfile: benchProfile, Profiles: map[string]*config.Profile{
		benchProfile: {URL: srv.WHMURL, Kind: "whm", User: "root", Auth: "token",
			Token: simulator.SampleRootToken, CACert: srv.CAFile},
		pinProfile: {URL: srv.WHMURL, Kind: "whm", User: "root", Auth: "token",
			Token: simulator.SampleRootToken, TLSFingerprint: srv.Fingerprint},
	}}
	if err := f.Save(e.cfg); err != nil {
		_ = srv.Shutdown(ctx)
		return nil, fmt.Errorf("write config: %w", err)
	}
	return e, nil
}

func (e *simEnv) close(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = e.srv.Shutdown(sctx)
}

// passwdURL is the WHM API 1 passwd endpoint, as cpctl calls it.
func (e *simEnv) passwdURL() string { return e.srv.WHMURL + "/json-api/passwd?api.version=1" }

// authHeader is the root token header value.
func authHeader() string { return "whm root:" + simulator.SampleRootToken }

// passwordPool generates n passwords the way cpctl --generate does, so the
// yardstick's calls carry the same kind of password the bulk run sends.
func passwordPool(n int) ([]string, error) {
	pws := make([]string, n)
	for i := range pws {
		pw, err := secret.Generate(0, false)
		if err != nil {
			return nil, fmt.Errorf("generate password: %w", err)
		}
		pws[i] = pw
	}
	return pws, nil
}

// passwdForm is the body of a WHM API 1 passwd call.
func passwdForm(user, password string) []byte {
	return []byte("user=" + url.QueryEscape(user) + "&password=" + url.QueryEscape(password))
}

// writeUsers writes a bulk input file of the first n accounts, once per n.
func (b *bench) writeUsers(n int) (string, error) {
	path := filepath.Join(b.dir, fmt.Sprintf("users-%d.csv", n))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	var sb strings.Builder
	sb.Grow(8 * (n + 1))
	sb.WriteString("user\n")
	for i := 0; i < n; i++ {
		sb.WriteString(accountName(i))
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		return "", fmt.Errorf("write users: %w", err)
	}
	return path, nil
}
