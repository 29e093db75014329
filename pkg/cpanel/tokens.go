package cpanel

// API token management for the profile's own login: WHM API 1
// api_token_create, api_token_list, api_token_get_details and api_token_revoke
// on a WHM client; UAPI Tokens/create_full_access, Tokens/list and
// Tokens/revoke on a cPanel client. Shapes are those of docs/protocol.md's
// token section: create returns the token once, lists never show it.

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"time"
)

// APIToken is one API token as the server describes it. It never holds the
// token itself.
type APIToken struct {
	Name string `json:"name"`
	// Created is the creation time; zero when the server did not say.
	Created time.Time `json:"created"`
	// Expires is the expiry; zero means never.
	Expires time.Time `json:"expires"`
	// FullAccess means the token has all of its user's privileges.
	FullAccess bool `json:"full-access"`
	// ACLs are a limited WHM token's privileges (a cPanel token's features).
	ACLs []string `json:"acls,omitempty"`
	// Whitelist lists the IP addresses and CIDR ranges it works from; empty
	// means anywhere.
	Whitelist []string `json:"whitelist-ips,omitempty"`
}

// Expired reports whether the token has expired at now.
func (t APIToken) Expired(now time.Time) bool {
	return !t.Expires.IsZero() && t.Expires.Before(now)
}

// TokenSpec says what token to create. ACLs and Whitelist apply to WHM only
// (a cPanel token is created with full access).
type TokenSpec struct {
	Name      string
	ACLs      []string
	Whitelist []string
	// Expires zero means the token never expires.
	Expires time.Time
}

// NewToken is a token just created: the only time the server shows it.
type NewToken struct {
	APIToken
	Token string `json:"-"`
}

// validAPIToken reports whether s has the form of an API token: 32
// characters of A-Z0-9.
func validAPIToken(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func unixTime(v any) time.Time {
	var n int64
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			f, ferr := x.Float64()
			if ferr != nil {
				return time.Time{}
			}
			i = int64(f)
		}
		n = i
	case string:
		i, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return time.Time{}
		}
		n = i
	case float64:
		n = int64(x)
	default:
		return time.Time{}
	}
	if n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// isOne reports whether a token field is the documented 1 (number or string).
func isOne(v any) bool {
	n, ok := marker(v)
	return ok && n == 1
}

// unreadableToken is the error of a reply that said success in an unexpected shape.
func unreadableToken(op, what string) *Error {
	return &Error{Kind: ErrTransport, Op: op, Reason: "unreadable reply: " + what}
}

// parseWHMToken reads one token of api_token_list (acls a map of 0/1) or
// api_token_get_details (acls an array, absent for full access).
func parseWHMToken(m map[string]any) APIToken {
	t := APIToken{Name: firstString(m, "name"), Created: unixTime(m["create_time"]), Expires: unixTime(m["expires_at"]),
		Whitelist: stringList(m["whitelist_ips"])}
	switch acls := m["acls"].(type) {
	case nil:
		t.FullAccess = true
	case []any:
		t.ACLs = stringList(acls)
	case map[string]any:
		all := true
		for k, v := range acls {
			if isOne(v) {
				t.ACLs = append(t.ACLs, k)
			} else {
				all = false
			}
		}
		// A root token with "all", or a reseller's token with every one of
		// the reseller's privileges, is a full-access token.
		if isOne(acls["all"]) || (all && len(acls) > 0) {
			t.FullAccess = true
		}
		sort.Strings(t.ACLs)
	}
	for _, a := range t.ACLs {
		if a == "all" {
			t.FullAccess = true
		}
	}
	if t.FullAccess {
		t.ACLs = nil
	}
	return t
}

// ListTokens lists the API tokens of the client's own login, sorted by name.
func (c *Client) ListTokens(ctx context.Context) ([]APIToken, error) {
	var out []APIToken
	if c.kind == KindWHM {
		const op = "WHM API 1 api_token_list"
		_, a, err := c.call(ctx, Request{API: WHMAPI1, Function: "api_token_list"})
		if err != nil {
			return nil, err
		}
		d, _ := a.data.(map[string]any)
		tokens, ok := d["tokens"].(map[string]any)
		if !ok {
			return nil, unreadableToken(op, "no tokens")
		}
		for name, v := range tokens {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, unreadableToken(op, "a token is not an object")
			}
			t := parseWHMToken(m)
			if t.Name == "" {
				t.Name = name
			}
			out = append(out, t)
		}
	} else {
		const op = "UAPI Tokens/list"
		_, a, err := c.call(ctx, Request{API: UAPI, Module: "Tokens", Function: "list"})
		if err != nil {
			return nil, err
		}
		list, ok := a.data.([]any)
		if !ok && a.data != nil {
			return nil, unreadableToken(op, "data is not a list")
		}
		for _, v := range list {
			m, ok := v.(map[string]any)
			if !ok || firstString(m, "name") == "" {
				return nil, unreadableToken(op, "a token without a name")
			}
			out = append(out, APIToken{Name: firstString(m, "name"), Created: unixTime(m["create_time"]),
				Expires: unixTime(m["expires_at"]), FullAccess: isOne(m["has_full_access"]), ACLs: stringList(m["features"])})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CreateToken creates an API token for the client's own login. An error of
// kind ErrTransport means the token may have been created: the caller
// should revoke spec.Name before trying again.
func (c *Client) CreateToken(ctx context.Context, spec TokenSpec) (*NewToken, error) {
	var req Request
	var op string
	if c.kind == KindWHM {
		op = "WHM API 1 api_token_create"
		req = Request{API: WHMAPI1, Function: "api_token_create", Params: []Param{{Key: "token_name", Value: spec.Name}}}
		for i, a := range spec.ACLs {
			req.Params = append(req.Params, Param{Key: "acl-" + strconv.Itoa(i), Value: a})
		}
		for i, ip := range spec.Whitelist {
			req.Params = append(req.Params, Param{Key: "whitelist_ip-" + strconv.Itoa(i), Value: ip})
		}
	} else {
		op = "UAPI Tokens/create_full_access"
		req = Request{API: UAPI, Module: "Tokens", Function: "create_full_access", Params: []Param{{Key: "name", Value: spec.Name}}}
	}
	if !spec.Expires.IsZero() {
		req.Params = append(req.Params, Param{Key: "expires_at", Value: strconv.FormatInt(spec.Expires.Unix(), 10)})
	}
	// A repeat after a gateway error could create a second token, or be
	// refused for the name the first one took.
	_, a, err := c.call(ctx, req) // Request.Idempotent stays false
	if err != nil {
		return nil, err
	}
	d, _ := a.data.(map[string]any)
	tok, _ := d["token"].(string)
	if !validAPIToken(tok) {
		// Success was claimed without a usable token: the token may exist.
		return nil, unreadableToken(op, "no 32-character token in the reply")
	}
	nt := &NewToken{Token: tok, APIToken: APIToken{Name: spec.Name, Created: unixTime(d["create_time"]),
		Expires: spec.Expires, ACLs: spec.ACLs, Whitelist: spec.Whitelist}}
	if c.kind == KindWHM {
		parsed := parseWHMToken(d)
		nt.FullAccess, nt.ACLs, nt.Whitelist = parsed.FullAccess, parsed.ACLs, parsed.Whitelist
		if exp := unixTime(d["expires_at"]); !exp.IsZero() {
			nt.Expires = exp
		}
	} else {
		nt.FullAccess = true
	}
	return nt, nil
}

// RevokeTokens revokes the named tokens of the client's own login. Naming
// a token that does not exist is not an error: the server revokes what
// exists, so a revocation can be repeated safely.
func (c *Client) RevokeTokens(ctx context.Context, names ...string) error {
	if c.kind == KindWHM {
		req := Request{API: WHMAPI1, Function: "api_token_revoke"}
		for i, n := range names {
			req.Params = append(req.Params, Param{Key: "token_name-" + strconv.Itoa(i), Value: n})
		}
		_, _, err := c.call(ctx, req)
		return err
	}
	for _, n := range names {
		_, a, err := c.call(ctx, Request{API: UAPI, Module: "Tokens", Function: "revoke", Params: []Param{{Key: "name", Value: n}}})
		if err != nil {
			return err
		}
		// data is 1 when a token went, 0 when none had the name; anything
		// else is not a reply of this function.
		if _, ok := marker(a.data); !ok {
			return unreadableToken("UAPI Tokens/revoke", "data is neither 1 nor 0")
		}
	}
	return nil
}

// TokenDetails asks the server which of the client's own tokens token is
// (WHM API 1 api_token_get_details), without ever printing it. found is
// false when the server knows no such live token. A cPanel server has no
// such look-up: ok is then false.
func (c *Client) TokenDetails(ctx context.Context, token string) (t APIToken, found, ok bool, err error) {
	if c.kind != KindWHM {
		return APIToken{}, false, false, nil
	}
	_, a, err := c.call(ctx, Request{API: WHMAPI1, Function: "api_token_get_details",
		Params: []Param{{Key: "token", Value: token, Secret: true}}})
	if err != nil {
		return APIToken{}, false, true, err
	}
	m, isObj := a.data.(map[string]any)
	if !isObj || firstString(m, "name") == "" {
		if a.data != nil {
			return APIToken{}, false, true, unreadableToken("WHM API 1 api_token_get_details", "data is not a token")
		}
		return APIToken{}, false, true, nil
	}
	return parseWHMToken(m), true, true, nil
}
