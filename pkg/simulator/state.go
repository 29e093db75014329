package simulator

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/cpctl/cpctl/pkg/secret/totp"
	"go.yaml.in/yaml/v3"
)

// Login holds the credentials of a WHM user (root or a reseller); accounts
// embed it for their own cPanel credentials.
type Login struct {
	// Password is plaintext, accepted on load only: the simulator hashes it
	// and a dump never writes it.
	Password string `yaml:"password,omitempty"`
	// PasswordHash is HashPassword's "sha256$salt$hex" form.
	PasswordHash string `yaml:"password-hash,omitempty"`
	// Tokens are API tokens: 32 characters of A-Z0-9.
	Tokens []string `yaml:"tokens,omitempty"`
	// APITokens are named tokens with expiry, ACLs and IP whitelist.
	APITokens []APIToken `yaml:"api-tokens,omitempty"`
	// AccessHash is the legacy WHM access hash (root and resellers only).
	AccessHash string `yaml:"accesshash,omitempty"`
	// TFASecret is a base32 TOTP secret; when set, every login and API call
	// needs the current code.
	TFASecret string `yaml:"tfa-secret,omitempty"`
}

// FTPUser is an FTP virtual user of an account, login "user@domain".
type FTPUser struct {
	User         string `yaml:"user"`
	Domain       string `yaml:"domain"`
	Password     string `yaml:"password,omitempty"`
	PasswordHash string `yaml:"password-hash,omitempty"`
}

// MailUser is a mailbox of an account.
type MailUser struct {
	Address      string `yaml:"address"`
	Password     string `yaml:"password,omitempty"`
	PasswordHash string `yaml:"password-hash,omitempty"`
}

// DBUser is a MySQL or PostgreSQL user of an account. Its name carries the
// account's database prefix ("bob_wp" for bob), as on a server, where the
// UAPI functions never add the prefix themselves.
type DBUser struct {
	User string `yaml:"user"`
	// Databases are the databases the user has privileges on.
	Databases    []string `yaml:"databases,omitempty"`
	Password     string   `yaml:"password,omitempty"`
	PasswordHash string   `yaml:"password-hash,omitempty"`
}

// WebDiskUser is a Web Disk login of an account, "user@domain".
type WebDiskUser struct {
	Login        string `yaml:"login"`
	Password     string `yaml:"password,omitempty"`
	PasswordHash string `yaml:"password-hash,omitempty"`
	// DigestAuth says whether the login keeps a Digest Authentication
	// hash; WebDisk/set_password clears it unless enabledigest is true.
	DigestAuth bool `yaml:"digest-auth,omitempty"`
	// Perms is "rw" (the default) or "ro".
	Perms string `yaml:"perms,omitempty"`
}

// Account is a cPanel account.
type Account struct {
	Login `yaml:",inline"`
	// Owner is "root" or a reseller's name; empty means root.
	Owner  string `yaml:"owner"`
	Domain string `yaml:"domain"`
	// Domains are the account's other domains (addon, parked, subdomains):
	// getdomainowner names the account as their owner, and FTP, mail and
	// Web Disk logins may live on them.
	Domains    []string `yaml:"domains,omitempty"`
	Suspended  bool     `yaml:"suspended,omitempty"`
	DigestAuth bool     `yaml:"digest-auth,omitempty"`
	// AnonymousFTP and FTPLogs add the special logins Ftp/list_ftp reports
	// besides the main one: "ftp" and "anonymous" (type anonymous) and
	// USER_logs (type logaccess).
	AnonymousFTP bool       `yaml:"anonymous-ftp,omitempty"`
	FTPLogs      bool       `yaml:"ftp-logs,omitempty"`
	FTP          []FTPUser  `yaml:"ftp,omitempty"`
	Mail         []MailUser `yaml:"mail,omitempty"`
	// MySQL and PostgreSQL are the account's database users.
	MySQL      []DBUser `yaml:"mysql,omitempty"`
	PostgreSQL []DBUser `yaml:"postgresql,omitempty"`
	// WebDisk are the account's Web Disk logins.
	WebDisk []WebDiskUser `yaml:"webdisk,omitempty"`
	// PasswordChanges counts changes of the account's own password.
	PasswordChanges int `yaml:"password-changes,omitempty"`
	// MySQLPasswordChanges counts the changes that also set the MySQL
	// password (db_pass_update / enablemysql), so tests can observe them.
	MySQLPasswordChanges int `yaml:"mysql-password-changes,omitempty"`
	// Fault, when set, is injected into calls acting on this account.
	Fault *Fault `yaml:"fault,omitempty"`
}

// State is everything the simulator knows, as loaded from and dumped to YAML.
type State struct {
	Hostname string `yaml:"hostname"`
	// MinimumStrengths maps an app (passwd, virtual, ftp, list, mysql,
	// postgres, sshkey, createacct, default) to a minimum score 0..100.
	MinimumStrengths map[string]int      `yaml:"minimum-strengths,omitempty"`
	Root             Login               `yaml:"root"`
	Resellers        map[string]*Login   `yaml:"resellers,omitempty"`
	Accounts         map[string]*Account `yaml:"accounts,omitempty"`
}

// ParseState decodes and validates a YAML state.
func ParseState(data []byte) (*State, error) {
	var st State
	if err := yaml.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("parse state: %w", err)
	}
	if err := st.validate(); err != nil {
		return nil, fmt.Errorf("parse state: %w", err)
	}
	return &st, nil
}

// LoadState reads a YAML state file.
func LoadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	st, err := ParseState(data)
	if err != nil {
		return nil, fmt.Errorf("load state %s: %w", path, err)
	}
	return st, nil
}

// Sample credentials, exported so that tests and the demo can authenticate
// against SampleState without parsing it.
const (
	SampleRootToken     = "ROOTTOKEN0123456789ABCDEFGHIJKLM"
	SampleRootPassword  = "Root-Pass-2024!xyz"
	SampleResellerToken = "RES1TOKEN0123456789ABCDEFGHIJKLM"
	SampleResellerPass  = "Res1-Pass-2024!xyz"
	SampleBobPassword   = "Bob-Pass-2024!xyz"
	SampleBobToken      = "BOBTOKEN0123456789ABCDEFGHIJKLMN"
	SampleAlicePassword = "Alice-Pass-2024!xyz"
	SampleCarolPassword = "Carol-Pass-2024!xyz"
	// SampleFTPPassword is every sample FTP sub-account's password.
	SampleFTPPassword = "Files-Pass-2024!xyz"
	// SampleMailPassword is every sample mailbox's password.
	SampleMailPassword = "Info-Pass-2024!xyz"
	// SampleMySQLPassword is every sample MySQL user's password.
	SampleMySQLPassword = "My-Sql-Pass-2024!xyz"
	// SamplePostgreSQLPassword is every sample PostgreSQL user's password.
	SamplePostgreSQLPassword = "Pg-Sql-Pass-2024!xyz"
	// SampleWebDiskPassword is every sample Web Disk login's password.
	SampleWebDiskPassword = "Dav-Pass-2024!xyz"
)

// SampleState returns the demo state, the same content as
// testdata/sim/state.yaml: root, reseller res1 owning alice, and root owning
// bob and the suspended carol. Every account has an FTP sub-account, a
// mailbox, a MySQL user, a PostgreSQL user and a Web Disk login; bob also
// has a subdomain, anonymous FTP and FTP log access.
func SampleState() *State {
	st := &State{
		Hostname:         "server.example.com",
		MinimumStrengths: map[string]int{"passwd": 50, "virtual": 50, "default": 50},
		Root:             Login{Password: SampleRootPassword, Tokens: []string{SampleRootToken}},
	}
	st.AddReseller("res1", SampleResellerPass, SampleResellerToken)
	alice := st.AddAccount("alice", "res1", "alice.example", SampleAlicePassword)
	alice.addSamples("alice", "uploads", "office", "shop", "crm")
	bob := st.AddAccount("bob", "root", "bob.example", SampleBobPassword)
	bob.Tokens = []string{SampleBobToken}
	bob.Domains = []string{"shop.bob.example"}
	bob.AnonymousFTP, bob.FTPLogs = true, true
	bob.addSamples("bob", "files", "info", "wp", "app")
	carol := st.AddAccount("carol", "root", "carol.example", SampleCarolPassword)
	carol.Suspended = true
	carol.addSamples("carol", "backup", "office", "blog", "data")
	return st
}

// addSamples gives the sample account name one login of each kind.
func (a *Account) addSamples(name, ftp, mailbox, mysql, pg string) {
	a.FTP = []FTPUser{{User: ftp, Domain: a.Domain, Password: SampleFTPPassword}}
	a.Mail = []MailUser{{Address: mailbox + "@" + a.Domain, Password: SampleMailPassword}}
	a.MySQL = []DBUser{{User: name + "_" + mysql, Databases: []string{name + "_" + mysql}, Password: SampleMySQLPassword}}
	a.PostgreSQL = []DBUser{{User: name + "_" + pg, Databases: []string{name + "_" + pg}, Password: SamplePostgreSQLPassword}}
	a.WebDisk = []WebDiskUser{{Login: "dav@" + a.Domain, Password: SampleWebDiskPassword}}
}

// AddReseller adds (or replaces) a reseller and returns it for further edits.
func (s *State) AddReseller(name, password string, tokens ...string) *Login {
	if s.Resellers == nil {
		s.Resellers = make(map[string]*Login)
	}
	l := &Login{Password: password, Tokens: tokens}
	s.Resellers[name] = l
	return l
}

// AddAccount adds (or replaces) an account with a plaintext password and
// returns it for further edits. It is cheap, for states of 100k accounts.
func (s *State) AddAccount(name, owner, domain, password string) *Account {
	if s.Accounts == nil {
		s.Accounts = make(map[string]*Account)
	}
	a := &Account{Login: Login{Password: password}, Owner: owner, Domain: domain}
	s.Accounts[name] = a
	return a
}

// validToken reports whether t is 32 characters of A-Z0-9 (trimming those
// characters leaves nothing).
func validToken(t string) bool {
	return len(t) == tokenLength && strings.Trim(t, tokenAlphabet) == ""
}

func (l *Login) validate(who string) error {
	for _, t := range l.Tokens {
		if !validToken(t) {
			return fmt.Errorf("%s: an API token must be 32 characters of A-Z0-9", who)
		}
	}
	if err := validateAPITokens(l.APITokens); err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	if l.TFASecret != "" {
		if _, err := totp.DecodeSecret(l.TFASecret); err != nil {
			return fmt.Errorf("%s: tfa-secret: %w", who, err)
		}
	}
	return nil
}

// validate reports every problem of the state; errors.Join drops the nil
// errors of the parts that are fine.
func (s *State) validate() error {
	errs := []error{s.Root.validate("root")}
	for name, r := range s.Resellers {
		if r == nil {
			errs = append(errs, fmt.Errorf("reseller %q: empty entry", name))
			continue
		}
		if _, dup := s.Accounts[name]; dup || name == "root" {
			errs = append(errs, fmt.Errorf("reseller %q: name already used", name))
		}
		errs = append(errs, r.validate("reseller "+name))
	}
	for name, a := range s.Accounts {
		if a == nil {
			errs = append(errs, fmt.Errorf("account %q: empty entry", name))
			continue
		}
		if name == "root" {
			errs = append(errs, errors.New(`account "root": reserved name`))
		}
		if a.Owner != "" && a.Owner != "root" {
			if _, ok := s.Resellers[a.Owner]; !ok {
				errs = append(errs, fmt.Errorf("account %q: owner %q is neither root nor a reseller", name, a.Owner))
			}
		}
		if a.Domain == "" {
			errs = append(errs, fmt.Errorf("account %q: domain is required", name))
		}
		errs = append(errs, a.Login.validate("account "+name))
		for _, m := range a.Mail {
			if !strings.Contains(m.Address, "@") {
				errs = append(errs, fmt.Errorf("account %q: mail address %q has no domain", name, m.Address))
			}
		}
		for _, f := range a.FTP {
			if f.User == "" {
				errs = append(errs, fmt.Errorf("account %q: ftp user without a name", name))
			}
		}
		errs = append(errs, a.validateLogins(name)...)
	}
	return errors.Join(errs...)
}

// validateLogins checks the database users and Web Disk logins: a
// database user's name begins with the account's prefix, as a server
// requires when it creates one, and a Web Disk login lives on one of the
// account's domains.
func (a *Account) validateLogins(name string) []error {
	var errs []error
	prefix := dbPrefix(name) + "_"
	for _, e := range []struct {
		engine string
		users  []DBUser
	}{{"mysql", a.MySQL}, {"postgresql", a.PostgreSQL}} {
		for _, u := range e.users {
			if !strings.HasPrefix(u.User, prefix) || len(u.User) == len(prefix) {
				errs = append(errs, fmt.Errorf("account %q: %s user %q does not begin with the prefix %q", name, e.engine, u.User, prefix))
			}
		}
	}
	for _, w := range a.WebDisk {
		_, domain, ok := strings.Cut(w.Login, "@")
		if !ok || !ownsDomain(a, domain) {
			errs = append(errs, fmt.Errorf("account %q: webdisk login %q is not user@ one of the account's domains", name, w.Login))
		}
		if w.Perms != "" && w.Perms != "rw" && w.Perms != "ro" {
			errs = append(errs, fmt.Errorf("account %q: webdisk login %q: perms must be rw or ro", name, w.Login))
		}
	}
	return errs
}

// dbPrefix is the database prefix of an account: its name without
// underscores and dots, cut to 16 characters (Cpanel::DB::Prefix).
func dbPrefix(account string) string {
	p := dbOwner(account)
	if len(p) > 16 {
		p = p[:16]
	}
	return p
}

// dbOwner is the account's database owner name: its name without
// underscores and dots (Cpanel::DB::Utils::username_to_dbowner).
func dbOwner(account string) string {
	return strings.NewReplacer("_", "", ".", "").Replace(account)
}

// clone returns a deep copy.
func (s *State) clone() *State {
	c := &State{Hostname: s.Hostname, Root: s.Root.clone(), MinimumStrengths: maps.Clone(s.MinimumStrengths)}
	if s.Resellers != nil {
		c.Resellers = make(map[string]*Login, len(s.Resellers))
		for k, v := range s.Resellers {
			if v != nil {
				l := v.clone()
				c.Resellers[k] = &l
			}
		}
	}
	if s.Accounts != nil {
		c.Accounts = make(map[string]*Account, len(s.Accounts))
		for k, v := range s.Accounts {
			if v != nil {
				c.Accounts[k] = v.clone()
			}
		}
	}
	return c
}

func (l Login) clone() Login {
	l.Tokens = slices.Clone(l.Tokens)
	l.APITokens = cloneAPITokens(l.APITokens)
	return l
}

func (a *Account) clone() *Account {
	c := *a
	c.Login = a.Login.clone()
	c.Domains = slices.Clone(a.Domains)
	c.FTP = slices.Clone(a.FTP)
	c.Mail = slices.Clone(a.Mail)
	c.MySQL = cloneDBUsers(a.MySQL)
	c.PostgreSQL = cloneDBUsers(a.PostgreSQL)
	c.WebDisk = slices.Clone(a.WebDisk)
	if a.Fault != nil {
		f := *a.Fault
		c.Fault = &f
	}
	return &c
}

func cloneDBUsers(us []DBUser) []DBUser {
	c := slices.Clone(us)
	for i := range c {
		c[i].Databases = slices.Clone(c[i].Databases)
	}
	return c
}

// hashAll replaces every plaintext password by its hash, in place.
func (s *State) hashAll() {
	s.Root.hash()
	for _, r := range s.Resellers {
		r.hash()
	}
	for _, a := range s.Accounts {
		a.Login.hash()
		for i := range a.FTP {
			hashInto(&a.FTP[i].Password, &a.FTP[i].PasswordHash)
		}
		for i := range a.Mail {
			hashInto(&a.Mail[i].Password, &a.Mail[i].PasswordHash)
		}
		for i := range a.MySQL {
			hashInto(&a.MySQL[i].Password, &a.MySQL[i].PasswordHash)
		}
		for i := range a.PostgreSQL {
			hashInto(&a.PostgreSQL[i].Password, &a.PostgreSQL[i].PasswordHash)
		}
		for i := range a.WebDisk {
			hashInto(&a.WebDisk[i].Password, &a.WebDisk[i].PasswordHash)
		}
	}
}

func (l *Login) hash() { hashInto(&l.Password, &l.PasswordHash); l.hashTokens() }

func hashInto(plain, hash *string) {
	if *plain != "" {
		*hash = HashPassword(*plain)
		*plain = ""
	}
}

// HashPassword returns a salted SHA-256 hash "sha256$salt$hex". It is cheap
// on purpose, so that the simulator never limits a benchmark; it is not a
// password-storage scheme for real use.
func HashPassword(pw string) string {
	var salt [8]byte
	if _, err := rand.Read(salt[:]); err != nil {
		// crypto/rand never fails on supported platforms; a fixed salt
		// would still hash correctly, so degrade instead of panicking.
		salt = [8]byte{}
	}
	s := hex.EncodeToString(salt[:])
	return "sha256$" + s + "$" + digest(s, pw)
}

// VerifyHash reports whether pw matches a HashPassword hash.
func VerifyHash(hash, pw string) bool {
	rest, ok := strings.CutPrefix(hash, "sha256$")
	if !ok {
		return false
	}
	salt, sum, ok := strings.Cut(rest, "$")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(digest(salt, pw)), []byte(sum)) == 1
}

func digest(salt, pw string) string {
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(pw))
	return hex.EncodeToString(h.Sum(nil))
}
