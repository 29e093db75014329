package simulator

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"
)

// Role says which server a handler plays.
type Role int

const (
	// RoleWHM is WHM (port 2087/2086): root and resellers.
	RoleWHM Role = iota
	// RoleCPanel is cPanel (port 2083/2082): one account's own user.
	RoleCPanel
)

// Options tune a Simulator.
type Options struct {
	// Latency is added to every API call (not to static pages).
	Latency time.Duration
	// SessionTTL is the idle lifetime of a login session; 0 means 1h.
	SessionTTL time.Duration
	// Plain serves HTTP instead of HTTPS (Start only).
	Plain bool
	// CertFile and KeyFile name a PEM certificate and key; without them
	// Start generates a self-signed ECDSA certificate for 127.0.0.1 and
	// localhost.
	CertFile, KeyFile string
	// CertDir keeps the generated certificate across restarts: Start
	// loads cert.pem and key.pem from it, or generates them and saves them
	// there (the directory 0700, the key 0600), so a pinned fingerprint
	// keeps working. Ignored when CertFile is set.
	CertDir string
	// RequestLog, when set, gets one line per request: method, path
	// (without query string, cpsess token redacted), status, duration.
	RequestLog io.Writer
	// Now is the clock for TOTP codes and session expiry; nil means time.Now.
	Now func() time.Time
	// WHMAddr and CPanelAddr are the listen addresses Start uses; empty
	// means a random loopback port.
	WHMAddr, CPanelAddr string
	// PreciseLatency makes Latency exact to a few microseconds at the cost
	// of CPU (the last millisecond is spent yielding, not sleeping): for
	// benchmarks whose ideal is N x Latency / concurrency.
	PreciseLatency bool
	// Capacity limits how many API calls are in service at once (see
	// Capacity); the zero value means unlimited.
	Capacity Capacity
}

// FaultKind is a kind of injected failure.
type FaultKind int

const (
	// FaultNone injects nothing; setting it clears a fault.
	FaultNone FaultKind = iota
	// FaultLatency delays the call by Fault.Latency, then answers normally.
	FaultLatency
	// Fault500 answers 500 Internal Server Error (HTML) without running the call.
	Fault500
	// Fault502 answers 502 Bad Gateway (HTML), as a proxy in front would.
	Fault502
	// Fault503 answers 503 with Retry-After, as during an upgrade.
	Fault503
	// FaultReset runs the call, then closes the connection mid-reply: the
	// client cannot know whether the change happened.
	FaultReset
	// FaultTruncated runs the call, then sends a complete HTTP reply whose
	// JSON body is cut in half.
	FaultTruncated
	// FaultLoginPage answers 200 text/html with the login page, without
	// running the call.
	FaultLoginPage
	// FaultTokenDenied answers 401 with the "security token invalid" page,
	// without running the call.
	FaultTokenDenied
	// FaultStale answers as if the change succeeded but leaves the old
	// password in place, like a server whose sub-step failed silently or
	// whose cache is stale: only verifying the new password shows it.
	FaultStale
)

var faultNames = [...]string{"none", "latency", "500", "502", "503", "reset", "truncated", "login-page", "token-denied", "stale"}

// String names the kind as the YAML state spells it.
func (k FaultKind) String() string {
	if k >= 0 && int(k) < len(faultNames) {
		return faultNames[k]
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k FaultKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *FaultKind) UnmarshalText(b []byte) error {
	for i, n := range faultNames {
		if strings.EqualFold(n, string(b)) {
			*k = FaultKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown fault kind %q (want one of %s)", b, strings.Join(faultNames[:], ", "))
}

// Fault is an injected failure.
type Fault struct {
	Kind FaultKind `yaml:"kind"`
	// Count is how many of the next matching calls fail; 0 means forever.
	Count int `yaml:"count,omitempty"`
	// RetryAfter is sent in the Retry-After header of a Fault503 (rounded
	// up to whole seconds).
	RetryAfter time.Duration `yaml:"retry-after,omitempty"`
	// Latency is the delay of a FaultLatency.
	Latency time.Duration `yaml:"latency,omitempty"`
}

// Stats counts what the simulator has seen.
type Stats struct {
	// Requests counts every HTTP request.
	Requests int64
	// ByFunction counts API calls by "API:function": "whmapi1:passwd",
	// "whmapi0:passwd", "cpapi2:Ftp::passwd", "uapi:Email::passwd_pop",
	// "whmapi1:uapi_cpanel", "login", "logout".
	ByFunction map[string]int64
	// SecretInQuery counts requests whose query string carried a secret
	// (password, pass, newpass, oldpass, tfa_token): allowed, as on a real
	// server, but it ends up in access logs.
	SecretInQuery int64
	// PasswordChanges counts successful password changes of any kind.
	PasswordChanges int64
}

// Simulator is a stateful, concurrency-safe emulator of cPanel & WHM.
type Simulator struct {
	opts Options
	gate *gate // nil without Options.Capacity

	mu sync.RWMutex // guards st
	st *State

	faultMu sync.Mutex
	faults  map[string]*Fault // "" = every call

	sessMu   sync.Mutex
	sessions map[string]*session

	logMu sync.Mutex

	requests        atomic.Int64
	secretInQuery   atomic.Int64
	passwordChanges atomic.Int64
	fnMu            sync.Mutex
	byFunction      map[string]int64

	holds tokenHolds // HoldTokenCall
}

// New builds a simulator on a deep copy of state (the caller's State is
// never changed); plaintext passwords are hashed.
func New(state *State, opts Options) *Simulator {
	if state == nil {
		state = &State{}
	}
	st := state.clone()
	st.hashAll()
	s := &Simulator{
		opts:       opts,
		gate:       newGate(opts.Capacity),
		st:         st,
		faults:     make(map[string]*Fault),
		sessions:   make(map[string]*session),
		byFunction: make(map[string]int64),
		holds:      tokenHolds{seen: make(map[string]int), holds: make(map[holdAt]*tokenHold)},
	}
	for name, a := range st.Accounts {
		if a.Owner == "" {
			a.Owner = "root"
		}
		if a.Fault != nil {
			if a.Fault.Kind != FaultNone {
				f := *a.Fault
				s.faults[name] = &f
			}
			a.Fault = nil
		}
	}
	return s
}

func (s *Simulator) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

func (s *Simulator) sessionTTL() time.Duration {
	if s.opts.SessionTTL > 0 {
		return s.opts.SessionTTL
	}
	return time.Hour
}

// State returns a deep copy of the current state (hashes only).
func (s *Simulator) State() *State {
	s.mu.RLock()
	c := s.st.clone()
	s.mu.RUnlock()
	s.faultMu.Lock()
	for name, f := range s.faults {
		if a, ok := c.Accounts[name]; ok && name != "" {
			fc := *f
			a.Fault = &fc
		}
	}
	s.faultMu.Unlock()
	return c
}

// Dump returns the current state as YAML, with password hashes only.
func (s *Simulator) Dump() ([]byte, error) {
	out, err := yaml.Marshal(s.State())
	if err != nil {
		return nil, fmt.Errorf("dump state: %w", err)
	}
	return out, nil
}

// CheckPassword reports whether password is the current one of login:
// "user" for root, a reseller or an account; "ftpuser@domain" for an FTP
// user (checked first) or "local@domain" for a mailbox.
func (s *Simulator) CheckPassword(login, password string) bool {
	kinds := []string{KindAccount}
	if strings.Contains(login, "@") {
		kinds = []string{KindFTP, KindEmail}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, kind := range kinds {
		if hash, ok := s.hashOf(kind, login); ok {
			return VerifyHash(hash, password)
		}
	}
	return false
}

// Kinds of login CheckPasswordOf knows, the same words as cpctl's row kinds.
const (
	KindAccount    = "account"
	KindFTP        = "ftp"
	KindEmail      = "email"
	KindMySQL      = "mysql"
	KindPostgreSQL = "postgresql"
	KindWebDisk    = "webdisk"
)

// CheckPasswordOf reports whether password is the current one of a login
// of the given kind: KindAccount takes "user" (root, a reseller or an
// account), KindFTP "user@domain", KindEmail "local@domain", KindMySQL and
// KindPostgreSQL the database user's full name ("bob_wp"), KindWebDisk
// "user@domain". Unlike CheckPassword it never mistakes one kind for
// another; an unknown kind or login is false.
func (s *Simulator) CheckPasswordOf(kind, login, password string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	hash, ok := s.hashOf(kind, login)
	return ok && VerifyHash(hash, password)
}

// hashOf finds a login's password hash; callers hold mu.
func (s *Simulator) hashOf(kind, login string) (string, bool) {
	user, domain, _ := strings.Cut(login, "@")
	for _, a := range s.st.Accounts {
		switch kind {
		case KindFTP:
			if f := findFTP(a, user, domain); f != nil {
				return f.PasswordHash, true
			}
		case KindEmail:
			if m := findMail(a, login); m != nil {
				return m.PasswordHash, true
			}
		case KindMySQL, KindPostgreSQL:
			if u := findDBUser(a, kind, login); u != nil {
				return u.PasswordHash, true
			}
		case KindWebDisk:
			if w := findWebDisk(a, login); w != nil {
				return w.PasswordHash, true
			}
		}
	}
	if kind == KindAccount {
		if l := s.whmLogin(login); l != nil {
			return l.PasswordHash, true
		}
		if a, ok := s.st.Accounts[login]; ok {
			return a.PasswordHash, true
		}
	}
	return "", false
}

// loginOf returns the credentials of a WHM user (root or a reseller) or,
// with cpanel set, of a cPanel account; callers hold mu.
func (s *Simulator) loginOf(user string, cpanel bool) *Login {
	if !cpanel {
		return s.whmLogin(user)
	}
	if a, ok := s.st.Accounts[user]; ok {
		return &a.Login
	}
	return nil
}

// find returns the first element of list that match accepts, or nil.
func find[T any](list []T, match func(T) bool) *T {
	if i := slices.IndexFunc(list, match); i >= 0 {
		return &list[i]
	}
	return nil
}

// whmLogin returns root's or a reseller's credentials; callers hold mu.
func (s *Simulator) whmLogin(user string) *Login {
	if user == "root" {
		return &s.st.Root
	}
	return s.st.Resellers[user]
}

// ExpireSessions ends every login session, as a server restart or timeout would.
func (s *Simulator) ExpireSessions() {
	s.sessMu.Lock()
	clear(s.sessions)
	s.sessMu.Unlock()
}

// SetFault injects f into the calls acting on target (a cPanel account
// name), or into every API call when target is "". FaultNone clears it.
func (s *Simulator) SetFault(target string, f Fault) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	if f.Kind == FaultNone {
		delete(s.faults, target)
		return
	}
	s.faults[target] = &f
}

// takeFault returns the fault for a call on target, consuming one use; a
// Fault of kind FaultNone when there is none.
func (s *Simulator) takeFault(target string) Fault {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	key := target
	f, ok := s.faults[key]
	if !ok || target == "" {
		key = ""
		f, ok = s.faults[key]
	}
	if !ok {
		return Fault{}
	}
	out := *f
	if f.Count > 0 {
		f.Count--
		if f.Count == 0 {
			delete(s.faults, key)
		}
	}
	return out
}

// keepPasswords returns a function that puts back the account's password
// hashes (its own, its FTP, mail, database and Web Disk logins') as they
// are now.
func (s *Simulator) keepPasswords(account string) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Accounts[account]
	if !ok {
		return func() {}
	}
	old := a.clone()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		a.PasswordHash, a.FTP, a.Mail = old.PasswordHash, old.FTP, old.Mail
		a.MySQL, a.PostgreSQL, a.WebDisk = old.MySQL, old.PostgreSQL, old.WebDisk
	}
}

// Stats returns a snapshot of the counters.
func (s *Simulator) Stats() Stats {
	s.fnMu.Lock()
	by := maps.Clone(s.byFunction)
	s.fnMu.Unlock()
	return Stats{
		Requests:        s.requests.Load(),
		ByFunction:      by,
		SecretInQuery:   s.secretInQuery.Load(),
		PasswordChanges: s.passwordChanges.Load(),
	}
}

func (s *Simulator) countFunction(name string) {
	s.fnMu.Lock()
	s.byFunction[name]++
	s.fnMu.Unlock()
}

// Handler returns the HTTP handler of one server role.
func (s *Simulator) Handler(role Role) http.Handler {
	return s.gate.wrap(&handler{sim: s, role: role})
}
