package simulator

// API token management: WHM API 1 api_token_create, api_token_list,
// api_token_get_details, api_token_revoke, and UAPI Tokens::create_full_access,
// Tokens::list, Tokens::revoke. The shapes, messages and order of checks are
// those of cPanel's server modules (Whostmgr::API::1::Tokens,
// Cpanel::API::Tokens, Cpanel::Security::Authn::APITokens and its Validate and
// Write classes), described in docs/simulator.md.

import (
	"cmp"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIToken is a named API token with its limits. Tokens given in Login.Tokens
// are unnamed; the first token call on a login names them "imported-N".
type APIToken struct {
	Name string `yaml:"name"`
	// Token is plaintext, accepted on load only: the simulator keeps the
	// SHA-512 hash, as cPanel does, and a dump never writes it.
	Token string `yaml:"token,omitempty"`
	// Hash is the lowercase hex SHA-512 of the token.
	Hash string `yaml:"hash,omitempty"`
	// Created and ExpiresAt are Unix times; ExpiresAt 0 never expires.
	Created   int64 `yaml:"created,omitempty"`
	ExpiresAt int64 `yaml:"expires-at,omitempty"`
	// ACLs limit a WHM token; none (or "all") means the user's full access.
	ACLs []string `yaml:"acls,omitempty"`
	// Whitelist lists the IP addresses and CIDR ranges the token works
	// from; empty means anywhere.
	Whitelist []string `yaml:"whitelist-ips,omitempty"`
}

// tokenLength and the alphabet are cPanel's: 32 characters of 0-9 A-Z.
const (
	tokenLength   = 32
	tokenAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	// maxTokenName is the longest token name the server accepts.
	maxTokenName = 50
	// maxWhitelist is how many addresses one token may list.
	maxWhitelist = 100
)

var tokenNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,50}$`) })

// whmACLs are the privileges a WHM token may carry in the simulator: a
// subset of WHM's real ACL names, enough for lists and validation.
var whmACLs = []string{
	"acct-summary", "all", "basic-system-info", "basic-whm-functions", "cpanel-api",
	"create-acct", "create-dns", "edit-account", "kill-acct", "kill-dns", "list-accts",
	"list-pkgs", "passwd", "rearrange-accts", "ssl", "ssl-info", "status", "suspend-acct",
	"upgrade-account",
}

func tokenHash(tok string) string {
	sum := sha512.Sum512([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// NewAPIToken returns a fresh 32-character A-Z0-9 token.
func NewAPIToken() string { return randomString(tokenAlphabet, tokenLength) }

// validateAPITokens checks named tokens as a state file gives them.
func validateAPITokens(list []APIToken) error {
	seen := map[string]bool{}
	for _, t := range list {
		switch {
		case !tokenNameRE().MatchString(t.Name):
			return fmt.Errorf("api-tokens: %q is not a valid token name (1-50 of A-Za-z0-9_-)", t.Name)
		case seen[t.Name]:
			return fmt.Errorf("api-tokens: the name %q is used twice", t.Name)
		case t.Token == "" && t.Hash == "":
			return fmt.Errorf("api-tokens: %s has neither token nor hash", t.Name)
		case t.Token != "" && !validToken(t.Token):
			return fmt.Errorf("api-tokens: %s: an API token must be 32 characters of A-Z0-9", t.Name)
		}
		seen[t.Name] = true
		if _, err := normalizeWhitelist(t.Whitelist); err != nil {
			return fmt.Errorf("api-tokens: %s: %w", t.Name, err)
		}
	}
	return nil
}

func cloneAPITokens(in []APIToken) []APIToken {
	out := slices.Clone(in)
	for i := range out {
		out[i].ACLs = slices.Clone(out[i].ACLs)
		out[i].Whitelist = slices.Clone(out[i].Whitelist)
	}
	return out
}

// hashTokens keeps only the hashes of named tokens given in plaintext.
func (l *Login) hashTokens() {
	for i := range l.APITokens {
		t := &l.APITokens[i]
		if t.Token != "" {
			t.Hash = tokenHash(t.Token)
			t.Token = ""
		}
	}
}

// nameLegacyTokens turns Login.Tokens into named APITokens so that they can
// be listed and revoked; callers hold mu for writing.
func (l *Login) nameLegacyTokens(now time.Time) {
	n := 1
	for _, tok := range l.Tokens {
		name := "imported-" + strconv.Itoa(n)
		for l.findToken(name) >= 0 {
			n++
			name = "imported-" + strconv.Itoa(n)
		}
		n++
		l.APITokens = append(l.APITokens, APIToken{Name: name, Hash: tokenHash(tok), Created: now.Unix()})
	}
	l.Tokens = nil
}

func (l *Login) findToken(name string) int {
	return slices.IndexFunc(l.APITokens, func(t APIToken) bool { return t.Name == name })
}

// tokenWorks reports whether tok authenticates l from remoteAddr now: one
// of its unnamed tokens from the state file, or a named one that has not
// expired, used from an address its whitelist allows. cPanel treats an
// expired or out-of-whitelist token as nonexistent, so the caller gets the
// same refusal as for a wrong token. The loops do not exit early, so timing
// does not say which token matched. Callers hold mu.
func (s *Simulator) tokenWorks(l *Login, tok, remoteAddr string) bool {
	ok := false
	for _, t := range l.Tokens {
		ok = secureEqual(t, tok) || ok
	}
	if ok || len(l.APITokens) == 0 {
		return ok
	}
	h, now := tokenHash(tok), s.now()
	for _, t := range l.APITokens {
		if secureEqual(t.Hash, h) && t.live(now) && (len(t.Whitelist) == 0 || ipAllowed(remoteAddr, t.Whitelist)) {
			ok = true
		}
	}
	return ok
}

// live reports whether the token has not expired: cPanel compares
// expires_at < time(), so the second it names still works.
func (t *APIToken) live(now time.Time) bool {
	return t.ExpiresAt == 0 || t.ExpiresAt >= now.Unix()
}

func ipAllowed(remoteAddr string, list []string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(list, func(s string) bool {
		p, ok := parseRange(s)
		return ok && p.Contains(ip.Unmap())
	})
}

// parseRange reads a whitelist entry, an IP address or a CIDR range, as a
// prefix (an address as a prefix of its full length).
func parseRange(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), true
}

// tokenError is a refusal worded as cPanel's exception text, before the
// API layer wraps it.
type tokenError string

func (e tokenError) Error() string { return string(e) }

func badTokenName(name string) tokenError {
	return tokenError(q(name) + " is not a valid API token name. An API token name must not be longer than " +
		strconv.Itoa(maxTokenName) + " characters and may only contain the following 64 characters: a-z A-Z 0-9 _ -")
}

// checkExpiry validates an expires_at value: empty or 0 for never, else a
// future Unix time.
func checkExpiry(v string, now time.Time) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, tokenError(q(v) + " is not a valid Unix epoch time.")
	}
	if n != 0 && n < now.Unix() {
		return 0, tokenError("The " + q(v) + " value must be a future date.")
	}
	return n, nil
}

// normalizeWhitelist validates and sorts IP addresses and CIDR ranges,
// dropping the suffix of a single-host range as cPanel does.
func normalizeWhitelist(in []string) ([]string, error) {
	if len(in) > maxWhitelist {
		return nil, tokenError("You have entered " + q(strconv.Itoa(len(in))) + " IP addresses, which is above the limit of 100.")
	}
	var prefixes []netip.Prefix
	for _, s := range in {
		p, ok := parseRange(s)
		if !ok {
			return nil, tokenError("Invalid IP address or CIDR range specified: " + s)
		}
		prefixes = append(prefixes, p.Masked())
	}
	slices.SortFunc(prefixes, netip.Prefix.Compare)
	var out []string
	for _, p := range slices.Compact(prefixes) {
		s := p.String()
		if p.IsSingleIP() {
			s = p.Addr().String()
		}
		out = append(out, s)
	}
	return out, nil
}

// indexed returns the values of key, then those of the key-N parameters
// in the order of N.
func indexed(p url.Values, key string) []string {
	type part struct {
		n      int
		values []string
	}
	var parts []part
	for k, vs := range p {
		if rest, ok := strings.CutPrefix(k, key+"-"); ok {
			if n, err := strconv.Atoi(rest); err == nil {
				parts = append(parts, part{n, vs})
			}
		}
	}
	slices.SortFunc(parts, func(a, b part) int { return cmp.Compare(a.n, b.n) })
	out := slices.Clone(p[key])
	for _, pt := range parts {
		out = append(out, pt.values...)
	}
	return out
}

// WHM API 1 ----------------------------------------------------------------

// whmTokenFuncs are the WHM API 1 token functions (routeWHM).
var whmTokenFuncs = map[string]whm1Func{
	"api_token_create":      (*Simulator).whmTokenCreate,
	"api_token_list":        (*Simulator).whmTokenList,
	"api_token_get_details": (*Simulator).whmTokenDetails,
	"api_token_revoke":      (*Simulator).whmTokenRevoke,
}

// tokenLogin returns the credentials of a WHM user or, with cpanel set, of
// a cPanel account, with unnamed tokens named; callers hold mu for writing.
func (s *Simulator) tokenLogin(user string, cpanel bool) *Login {
	l := s.loginOf(user, cpanel)
	if l != nil {
		l.nameLegacyTokens(s.now())
	}
	return l
}

// createToken adds t, a new token, to the credentials of user (of a cPanel
// account with cpanel set), checking its parts in the server's order, that
// of their names: expires_at, then the name, then the whitelist. It returns
// the token and its record.
func (s *Simulator) createToken(user string, cpanel bool, t APIToken, expiresAt string) (string, APIToken, error) {
	now := s.now()
	exp, err := checkExpiry(expiresAt, now)
	if err != nil {
		return "", t, err
	}
	if !tokenNameRE().MatchString(t.Name) {
		return "", t, badTokenName(t.Name)
	}
	if t.Whitelist, err = normalizeWhitelist(t.Whitelist); err != nil {
		return "", t, err
	}
	tok := NewAPIToken()
	t.Hash, t.Created, t.ExpiresAt = tokenHash(tok), now.Unix(), exp
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.tokenLogin(user, cpanel)
	if l == nil {
		// Unreachable for an authenticated caller, whose login exists.
		return "", t, tokenError("The user " + q(user) + " does not exist.")
	}
	if l.findToken(t.Name) >= 0 {
		return "", t, tokenError("A conflicting API token with the name " + q(t.Name) + " already exists.")
	}
	l.APITokens = append(l.APITokens, t)
	return tok, t, nil
}

// revokeToken deletes the named token and reports whether there was one.
func (l *Login) revokeToken(name string) bool {
	i := l.findToken(name)
	if i >= 0 {
		l.APITokens = slices.Delete(l.APITokens, i, i+1)
	}
	return i >= 0
}

func (s *Simulator) whmTokenCreate(id identity, p url.Values) reply {
	fail := func(err error) reply {
		return whm1Fail("api_token_create", "The system failed to create the API token: "+err.Error())
	}
	if !p.Has("token_name") {
		return fail(tokenError("The parameter " + q("token_name") + " is required."))
	}
	var acls, invalid []string
	for _, a := range indexed(p, "acl") {
		if !slices.Contains(whmACLs, a) || (a == "all" && id.kind != kindRoot) {
			invalid = append(invalid, a)
			continue
		}
		acls = append(acls, a)
	}
	if len(invalid) > 0 {
		return fail(tokenError("Invalid or unauthorized " + numerate(len(invalid), "ACL", "ACLs") + " specified: " + listAnd(invalid)))
	}
	ips := indexed(p, "whitelist_ip")
	if slices.Contains(ips, "any") {
		ips = nil
	}
	tok, t, err := s.createToken(id.user, false, APIToken{Name: p.Get("token_name"), ACLs: acls, Whitelist: ips}, p.Get("expires_at"))
	if err != nil {
		return fail(err)
	}
	data := whmTokenExport(t, t.aclList())
	data["token"] = tok
	return whm1OK("api_token_create", "OK", data)
}

// aclList is the token's ACLs as api_token_get_details shows them: none
// when the token has the user's full access.
func (t APIToken) aclList() any {
	if len(t.ACLs) == 0 {
		return nil
	}
	return t.ACLs
}

// whmTokenExport is a token as api_token_list and api_token_get_details
// show it. acls is the map form for the list, the array for the details.
func whmTokenExport(t APIToken, acls any) map[string]any {
	out := map[string]any{"name": t.Name, "create_time": t.Created}
	if t.ExpiresAt != 0 {
		out["expires_at"] = t.ExpiresAt
	}
	if len(t.Whitelist) > 0 {
		out["whitelist_ips"] = t.Whitelist
	}
	if acls != nil {
		out["acls"] = acls
	}
	return out
}

// aclMap is the list's ACL map: every ACL the user has, 1 where the token
// carries it. A full-access token carries all of them.
func aclMap(t APIToken, root bool) map[string]int {
	full := len(t.ACLs) == 0 || slices.Contains(t.ACLs, "all")
	out := make(map[string]int, len(whmACLs))
	for _, a := range whmACLs {
		if a == "all" && !root {
			continue // a reseller's list names only what the reseller has
		}
		out[a] = boolInt(full || slices.Contains(t.ACLs, a))
	}
	return out
}

func (s *Simulator) whmTokenList(id identity, _ url.Values) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.tokenLogin(id.user, false)
	tokens := map[string]any{}
	if l != nil {
		for _, t := range l.APITokens {
			tokens[t.Name] = whmTokenExport(t, aclMap(t, id.kind == kindRoot))
		}
	}
	return whm1OK("api_token_list", "OK", map[string]any{"tokens": tokens})
}

func (s *Simulator) whmTokenDetails(id identity, p url.Values) reply {
	tok := p.Get("token")
	if tok == "" {
		return whm1Fail("api_token_get_details", "Provide the "+q("token")+" parameter.")
	}
	h, now := tokenHash(tok), s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.tokenLogin(id.user, false)
	var data any
	if l != nil {
		for _, t := range l.APITokens {
			if secureEqual(t.Hash, h) && t.live(now) {
				data = whmTokenExport(t, t.aclList())
			}
		}
	}
	// An unknown or expired token is a success with no data, as the
	// server's look-up returns nothing for both.
	return jsonReply(map[string]any{"data": data, "metadata": whm1Meta{Command: "api_token_get_details", Reason: "OK", Result: 1, Version: 1}})
}

func (s *Simulator) whmTokenRevoke(id identity, p url.Values) reply {
	const cmd = "api_token_revoke"
	var names []string
	for k, v := range p {
		if k == "token_name" || strings.HasPrefix(k, "token_name-") {
			names = append(names, v...)
		}
	}
	if len(names) == 0 {
		return whm1Fail(cmd, "The system failed to revoke the API token: Provide at least one "+q("token_name")+" argument.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.tokenLogin(id.user, false); l != nil {
		for _, n := range names {
			// An unknown name is not an error: the server revokes what exists.
			l.revokeToken(n)
		}
	}
	return whm1OK(cmd, "OK", map[string]any{})
}

// listAnd joins words as cPanel's list_and does: "a", "a and b", "a, b, and c".
func listAnd(w []string) string {
	switch len(w) {
	case 0:
		return ""
	case 1:
		return w[0]
	case 2:
		return w[0] + " and " + w[1]
	}
	return strings.Join(w[:len(w)-1], ", ") + ", and " + w[len(w)-1]
}

// UAPI ---------------------------------------------------------------------

// uapiTokens runs UAPI Tokens functions as the cPanel account acct.
func (s *Simulator) uapiTokens(acct, fn string, p url.Values) uapiResult {
	s.waitHold("uapi:Tokens::" + fn)
	defer s.waitHold("uapi:Tokens::" + fn + " reply")
	switch fn {
	case "create_full_access":
		return s.uapiTokenCreate(acct, p)
	case "list":
		return s.uapiTokenList(acct)
	case "revoke":
		name := p.Get("name")
		if name == "" {
			return uapiFail("Provide the " + q("name") + " parameter.")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if l := s.tokenLogin(acct, true); l != nil && l.revokeToken(name) {
			return uapiOK(1)
		}
		return uapiOK(0)
	}
	return uapiNoFunction("Tokens", fn)
}

// uapiTokenList serves Tokens/list: the account's tokens sorted by name.
func (s *Simulator) uapiTokenList(acct string) uapiResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]map[string]any, 0)
	if l := s.tokenLogin(acct, true); l != nil {
		for _, t := range l.APITokens {
			list = append(list, map[string]any{"name": t.Name, "create_time": t.Created, "expires_at": nullable(t.ExpiresAt),
				"has_full_access": 1, "features": []string{}})
		}
	}
	slices.SortFunc(list, func(a, b map[string]any) int { return strings.Compare(a["name"].(string), b["name"].(string)) })
	return uapiOK(list)
}

func nullable(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func (s *Simulator) uapiTokenCreate(acct string, p url.Values) uapiResult {
	if p.Get("name") == "" {
		return uapiFail("Provide the " + q("name") + " parameter.")
	}
	tok, t, err := s.createToken(acct, true, APIToken{Name: p.Get("name")}, p.Get("expires_at"))
	if err != nil {
		return uapiFail(err.Error())
	}
	return uapiOK(map[string]any{"create_time": t.Created, "token": tok})
}

// CheckToken reports whether token authenticates user with scheme "whm"
// (root or a reseller) or "cpanel" (an account) from 127.0.0.1 now: tests
// use it to prove that a token works or was revoked.
func (s *Simulator) CheckToken(scheme, user, token string) bool {
	role := RoleWHM
	switch scheme {
	case "whm":
	case "cpanel":
		role = RoleCPanel
	default:
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, _, ok := s.lookup(role, user)
	return ok && s.tokenWorks(l, token, "127.0.0.1:0")
}

// TokenNames returns the names of the named API tokens of a WHM user (root
// or a reseller) or, with cpanel set, of a cPanel account, sorted; tests
// use it to check what a rotation left behind.
func (s *Simulator) TokenNames(user string, cpanel bool) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l := s.loginOf(user, cpanel)
	if l == nil {
		return nil
	}
	names := map[string]bool{}
	for _, t := range l.APITokens {
		names[t.Name] = true
	}
	return slices.Sorted(maps.Keys(names))
}

// tokenHolds are the pending HoldTokenCall requests.
type tokenHolds struct {
	mu    sync.Mutex
	seen  map[string]int // the calls of each function so far
	holds map[holdAt]*tokenHold
}

// holdAt names one call: its function and its number among them.
type holdAt struct {
	fn string
	n  int
}

type tokenHold struct{ arrived, release chan struct{} }

// HoldTokenCall makes the nth call of the token function fn from now on
// ("whmapi1:api_token_create", "uapi:Tokens::list", ...) wait, after
// authentication and before doing anything, until release is called. With
// " reply" after the name ("whmapi1:api_token_create reply") the call does
// its work first and waits before answering: the change is made but the
// client has not heard of it.
// arrived is closed when that call comes in. Tests use it to kill a client
// at a known step; release must be called (t.Cleanup) to free the handler.
func (s *Simulator) HoldTokenCall(fn string, nth int) (arrived <-chan struct{}, release func()) {
	h := &s.holds
	h.mu.Lock()
	defer h.mu.Unlock()
	hold := &tokenHold{arrived: make(chan struct{}), release: make(chan struct{})}
	h.holds[holdAt{fn, h.seen[fn] + nth}] = hold
	var once sync.Once
	return hold.arrived, func() { once.Do(func() { close(hold.release) }) }
}

// waitHold counts a call of fn and waits if a hold is set on it.
func (s *Simulator) waitHold(fn string) {
	h := &s.holds
	h.mu.Lock()
	h.seen[fn]++
	at := holdAt{fn, h.seen[fn]}
	hold, ok := h.holds[at]
	delete(h.holds, at)
	h.mu.Unlock()
	if ok {
		close(hold.arrived)
		<-hold.release
	}
}
