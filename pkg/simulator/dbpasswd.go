package simulator

// UAPI Mysql/set_password, Postgresql/set_password and WebDisk/set_password,
// with the checks, their order and their messages as cPanel's server modules
// have them (11.120): Cpanel/API/Mysql.pm and Cpanel/API/Postgresql.pm hand
// the call to the admin module Cpanel/Admin/Base/DB.pm, which looks the user
// up and then lets Cpanel/Mysql.pm or Cpanel/PostgresAdmin.pm check the
// strength; Cpanel/API/WebDisk.pm calls Cpanel/WebDisk.pm's
// api2_passwdwebdisk.

import (
	"net/url"
	"strings"

	"github.com/cpctl/cpctl/pkg/secret/strength"
)

// dbEngine describes one database server's UAPI module.
type dbEngine struct {
	kind  string // KindMySQL or KindPostgreSQL
	label string // as the server's messages name it
	app   string // its password-strength app
}

var (
	engineMySQL      = dbEngine{kind: KindMySQL, label: "MySQL", app: "mysql"}
	enginePostgreSQL = dbEngine{kind: KindPostgreSQL, label: "PostgreSQL", app: "postgres"}
)

// listAndQuoted joins names as cPanel's [list_and_quoted] does:
// “a”, “a” and “b”, “a”, “b”, and “c”.
func listAndQuoted(names []string) string {
	qs := make([]string, len(names))
	for i, n := range names {
		qs[i] = q(n)
	}
	return listAnd(qs)
}

// numerate is one or many as n is 1 or not, as cPanel's [numerate] does.
func numerate(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// lengthRequired is Cpanel::Args::get_length_required: first every
// argument that is missing, then every one that is empty, each as one
// message naming them all.
func lengthRequired(p url.Values, keys ...string) string {
	var missing, empty []string
	for _, k := range keys {
		switch {
		case !p.Has(k):
			missing = append(missing, k)
		case p.Get(k) == "":
			empty = append(empty, k)
		}
	}
	if len(missing) > 0 {
		return "Provide the " + listAndQuoted(missing) + " " + numerate(len(missing), "argument", "arguments") + "."
	}
	if len(empty) > 0 {
		return "The " + listAndQuoted(empty) + " " + numerate(len(empty), "argument", "arguments") + " cannot be empty."
	}
	return ""
}

// requestFailed is what a cPanel user sees of an exception the admin
// module did not mark as safe to show: only its ID. A database password
// that is too weak is one (Cpanel::Admin::Base::DB::SET_PASSWORD whitelists
// only the unknown-user exception), so the weak-password message never
// reaches the client.
func requestFailed() string {
	return "The request failed. (Error ID: " + newXID() + ") Ask your hosting provider to research this error in cPanel & WHM’s main error log."
}

// dbSetPassword changes a database user's password. The checks, in the
// server's order: user and password given and not empty (UAPI's own
// arguments check); the user is the account's, by its full prefixed name
// (the prefix is never added); the strength (app mysql or postgres).
func (s *Simulator) dbSetPassword(acct string, e dbEngine, p url.Values) uapiResult {
	if msg := lengthRequired(p, "user", "password"); msg != "" {
		return uapiFail(msg)
	}
	user, pass := p.Get("user"), p.Get("password")
	// The server's strength check knows no user name; score and hash
	// outside the lock, they are the costly part.
	score := strength.ScoreFor(pass, "")
	hash := HashPassword(pass)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := findDBUser(s.st.Accounts[acct], e.kind, user)
	if u == nil {
		return uapiFail("The system user " + q(acct) + " does not control a " + e.label + " user named " + q(user) + ".")
	}
	if score < s.minimum(e.app) {
		return uapiFail(requestFailed())
	}
	u.PasswordHash = hash
	s.passwordChanges.Add(1)
	if e.kind == KindMySQL {
		// Cpanel::Mysql::set_password returns the hosts it could not
		// update; the list is empty when every host took the password.
		return uapiOK(map[string][]any{"failures": {}})
	}
	return uapiOK(nil)
}

// webDiskLoginStrip is what api2_passwdwebdisk deletes from a login
// before it looks it up: "+" and Perl's \s.
var webDiskLoginStrip = strings.NewReplacer("+", "", " ", "", "\t", "", "\n", "", "\r", "", "\f", "", "\v", "")

// webDiskSetPassword changes a Web Disk login's password. The checks, in
// the server's order: user, then password, given and not empty (the
// message ends in a newline, as the module dies with it); the login exists
// (exactly, as "user@domain"); the strength (app webdisk, which reads the
// virtual minimum). The login's Digest Authentication hash is rewritten
// from enabledigest, so a change without enabledigest=1 turns it off.
func (s *Simulator) webDiskSetPassword(acct string, p url.Values) uapiResult {
	for _, k := range []string{"user", "password"} {
		if p.Get(k) == "" {
			return uapiFail("You must specify the " + q(k) + " parameter.\n")
		}
	}
	login := webDiskLoginStrip.Replace(p.Get("user"))
	pass := p.Get("password")
	score := strength.ScoreFor(pass, "")
	hash := HashPassword(pass)
	s.mu.Lock()
	defer s.mu.Unlock()
	w := findWebDisk(s.st.Accounts[acct], login)
	if w == nil {
		return uapiFail("Unable to change password; user " + q(login) + " does not exist.")
	}
	if min := s.minimum("webdisk"); score < min {
		return uapiFail(weakSorry(min))
	}
	w.PasswordHash = hash
	w.DigestAuth = perlTrue(p, "enabledigest")
	s.passwordChanges.Add(1)
	return uapiOK(nil)
}
