package simulator

// WHM API 1 list_database_users, the server's own answer to "whose is this
// database user?" (cpctl's db passwd through WHM without --owner). Facts
// from cPanel's server modules (11.120): Whostmgr/API/1/DB.pm
// (list_database_users, _return_array: data is {"payload": [...]}) and
// Whostmgr/DB.pm (_list_database_objects, _get_owned_accounts).

import (
	"maps"
	"net/url"
	"slices"
)

// dbUserEntry is one entry of list_database_users' payload.
type dbUserEntry struct {
	CPUser string `json:"cpuser"`
	Engine string `json:"engine"`
	Name   string `json:"name"`
}

// notRootReason is what a caller without root privileges gets: the server
// refuses before it lists anything with a plain Perl die (no exception ID),
// which API 1's wrapper prefixes with "API failure: " and which Perl ends
// with the place it died and a newline. The code after the die that would
// narrow the list to a reseller's own accounts is never reached.
const notRootReason = "API failure: Only root resellers can do this! at /usr/local/cpanel/Whostmgr/DB.pm line 92.\n"

// listDatabaseUsers serves list_database_users: every account's MySQL
// users, then its PostgreSQL users, as {cpuser, engine, name}. The server
// walks its accounts in hash order; the simulator sorts them by name. It
// takes no parameters. (The server also leaves out the temporary "cpses_"
// users of cPanel sessions, which a simulator account cannot have: its
// database users all carry the account's prefix.)
func (s *Simulator) listDatabaseUsers(id identity, _ url.Values) reply {
	const cmd = "list_database_users"
	if id.kind != kindRoot {
		return whm1Fail(cmd, notRootReason)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	payload := []dbUserEntry{}
	for _, name := range slices.Sorted(maps.Keys(s.st.Accounts)) {
		a := s.st.Accounts[name]
		for _, kind := range []string{KindMySQL, KindPostgreSQL} {
			for _, u := range dbUsers(a, kind) {
				payload = append(payload, dbUserEntry{CPUser: name, Engine: kind, Name: u.User})
			}
		}
	}
	return whm1OK(cmd, "OK", map[string][]dbUserEntry{"payload": payload})
}
