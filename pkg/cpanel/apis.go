package cpanel

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

func boolParam(key string, v bool) Param {
	if v {
		return Param{Key: key, Value: "1"}
	}
	return Param{Key: key, Value: "0"}
}

// result turns a call's outcome into a Result. It is non-nil whenever the server answered.
func result(api API, function string, rep *Reply, a *analysis, err error) (*Result, error) {
	if rep == nil {
		return nil, err
	}
	r := &Result{OK: err == nil, API: api, Function: function}
	if rep.Decoded != nil {
		r.Raw = json.RawMessage(rep.Body)
	}
	if a != nil {
		r.Services = a.services
		r.Message = a.message
	}
	var e *Error
	if err != nil && errors.As(err, &e) && r.Message == "" {
		r.Message = e.Reason
	}
	return r, err
}

// AccountPasswd changes a cPanel or reseller account's password with WHM passwd, through WHM API
// 1 (api WHMAPI1, the default) or the legacy WHM API 0 (api WHMAPI0). On a refusal it returns the
// Result (OK false, the server's message) together with the *Error.
func (c *Client) AccountPasswd(ctx context.Context, api API, user, password string, o AccountPasswdOptions) (*Result, error) {
	// Setting a given password twice has the effect of setting it once.
	req := Request{API: api, Function: "passwd", Idempotent: true}
	switch api {
	case WHMAPI1, "":
		req.API = WHMAPI1
		req.Params = append(make([]Param, 0, 4),
			Param{Key: "user", Value: user}, Param{Key: "password", Value: password, Secret: true})
		if o.DBPassUpdate != nil {
			req.Params = append(req.Params, boolParam("db_pass_update", *o.DBPassUpdate))
		}
		if o.Digest != nil {
			req.Params = append(req.Params, boolParam("digestauth", *o.Digest))
		}
	case WHMAPI0:
		req.Params = append(make([]Param, 0, 4),
			Param{Key: "user", Value: user}, Param{Key: "pass", Value: password, Secret: true})
		if o.DBPassUpdate != nil {
			req.Params = append(req.Params, boolParam("db_pass_update", *o.DBPassUpdate))
		}
		if o.Digest != nil {
			req.Params = append(req.Params, boolParam("enabledigest", *o.Digest))
		}
	default:
		return nil, usagef("account passwd", "API %q is not whmapi1 or whmapi0", api)
	}
	rep, a, err := c.call(ctx, req)
	return result(req.API, "passwd", rep, a, err)
}

// ChangeOwnPassword changes the logged-in cPanel account's own password with cPanel API 2
// Passwd::change_password, which needs the current password. Through a WHM client it acts on
// the configured user.
func (c *Client) ChangeOwnPassword(ctx context.Context, oldPassword, newPassword string, o ChangeOwnOptions) (*Result, error) {
	req := Request{API: CPAPI2, Module: "Passwd", Function: "change_password", Params: append(make([]Param, 0, 4),
		Param{Key: "oldpass", Value: oldPassword, Secret: true},
		Param{Key: "newpass", Value: newPassword, Secret: true},
		boolParam("enablemysql", o.EnableMySQL))}
	if o.Digest != nil {
		req.Params = append(req.Params, boolParam("enabledigest", *o.Digest))
	}
	if c.kind == KindWHM {
		req.User = c.cfg.User
	}
	// Passwd::change_password needs the old password: once it ran, a repeat is refused, so it is
	// not Idempotent and never retried after a gateway error.
	rep, a, err := c.call(ctx, req)
	return result(CPAPI2, "Passwd::change_password", rep, a, err)
}

// ownerFor checks the owner argument against the client kind: required through WHM, and on a
// cPanel client either empty or the client's own user.
func (c *Client) ownerFor(op, owner string) (string, error) {
	if c.kind == KindWHM {
		if owner == "" {
			return "", usagef(op, "through WHM it needs the owning cPanel account")
		}
		return owner, nil
	}
	return "", nil
}

// FTPPasswd changes an FTP account's password with cPanel API 2 Ftp::passwd (api CPAPI2) or
// UAPI Ftp/passwd (api UAPI). owner is the cPanel account through WHM and "" on a cPanel client;
// domain may be "" for the account's primary domain.
func (c *Client) FTPPasswd(ctx context.Context, api API, owner, user, domain, password string) (*Result, error) {
	if api != CPAPI2 && api != UAPI {
		return nil, usagef("ftp passwd", "API %q is not cpapi2 or uapi", api)
	}
	owner, err := c.ownerFor("ftp passwd", owner)
	if err != nil {
		return nil, err
	}
	req := Request{API: api, Module: "Ftp", Function: "passwd", User: owner, Idempotent: true, Params: append(make([]Param, 0, 3),
		Param{Key: "user", Value: user}, Param{Key: "pass", Value: password, Secret: true})}
	if domain != "" {
		req.Params = append(req.Params, Param{Key: "domain", Value: domain})
	}
	rep, a, err := c.call(ctx, req)
	return result(api, functionName(api, "Ftp", "passwd"), rep, a, err)
}

// EmailPasswd changes a mail account's password with cPanel API 2 Email::passwdpop (api CPAPI2)
// or UAPI Email/passwd_pop (api UAPI). local is the part before the @.
func (c *Client) EmailPasswd(ctx context.Context, api API, owner, local, domain, password string) (*Result, error) {
	fn := "passwdpop"
	switch api {
	case CPAPI2:
	case UAPI:
		fn = "passwd_pop"
	default:
		return nil, usagef("email passwd", "API %q is not cpapi2 or uapi", api)
	}
	owner, err := c.ownerFor("email passwd", owner)
	if err != nil {
		return nil, err
	}
	req := Request{API: api, Module: "Email", Function: fn, User: owner, Idempotent: true, Params: []Param{
		{Key: "email", Value: local}, {Key: "domain", Value: domain},
		{Key: "password", Value: password, Secret: true}}}
	rep, a, err := c.call(ctx, req)
	return result(api, functionName(api, "Email", fn), rep, a, err)
}

func functionName(api API, module, fn string) string {
	if api == UAPI {
		return module + "/" + fn
	}
	return module + "::" + fn
}

// VerifyEmailPassword asks UAPI Email/verify_password whether password is the mail account's
// current one. address is the full local@domain address.
func (c *Client) VerifyEmailPassword(ctx context.Context, owner, address, password string) (bool, error) {
	owner, err := c.ownerFor("email verify_password", owner)
	if err != nil {
		return false, err
	}
	req := Request{API: UAPI, Module: "Email", Function: "verify_password", User: owner, Idempotent: true, Params: []Param{
		{Key: "email", Value: address}, {Key: "password", Value: password, Secret: true}}}
	_, a, err := c.call(ctx, req)
	if err != nil {
		return false, err
	}
	v, ok := marker(a.data)
	if !ok {
		return false, &Error{Kind: ErrTransport, Op: "UAPI Email/verify_password", Written: true,
			Reason: "unreadable reply: data is not 1 or 0"}
	}
	return v == 1, nil
}

// MinimumStrengths reads the server's minimum password strengths (0–100). Through WHM it is
// getminimumpasswordstrengths (keys such as "passwd", "virtual", "default"); on a cPanel client
// it asks UAPI PasswdStrength/get_required_strength for the apps passwd and ftp and returns them
// as "passwd" and "virtual".
func (c *Client) MinimumStrengths(ctx context.Context) (map[string]int, error) {
	if c.kind == KindWHM {
		_, a, err := c.call(ctx, Request{API: WHMAPI1, Function: "getminimumpasswordstrengths", Idempotent: true})
		if err != nil {
			return nil, err
		}
		d, ok := a.data.(map[string]any)
		if !ok {
			return nil, &Error{Kind: ErrTransport, Op: "WHM API 1 getminimumpasswordstrengths", Reason: "unreadable reply: no data"}
		}
		out := make(map[string]int, len(d))
		for k, v := range d {
			if n, ok := toInt(v); ok {
				out[k] = n
			}
		}
		return out, nil
	}
	out := make(map[string]int, 2)
	for _, q := range [...]struct{ app, key string }{{"passwd", "passwd"}, {"ftp", "virtual"}} {
		n, err := c.requiredStrength(ctx, q.app)
		if err != nil {
			return nil, err
		}
		out[q.key] = n
	}
	return out, nil
}

// RequiredStrength reads the server's minimum strength (0–100) for one app, such as "mysql" or
// "postgres". Through WHM it is getminimumpasswordstrengths' figure for the app (or the default);
// on a cPanel client UAPI PasswdStrength/get_required_strength, which answers the default for an
// app without a setting of its own.
func (c *Client) RequiredStrength(ctx context.Context, app string) (int, error) {
	if c.kind != KindWHM {
		return c.requiredStrength(ctx, app)
	}
	m, err := c.MinimumStrengths(ctx)
	if err != nil {
		return 0, err
	}
	if n, ok := m[app]; ok {
		return n, nil
	}
	if n, ok := m["default"]; ok {
		return n, nil
	}
	return 0, &Error{Kind: ErrTransport, Op: "WHM API 1 getminimumpasswordstrengths", Written: true,
		Reason: "unreadable reply: no minimum for " + app + " and no default"}
}

func (c *Client) requiredStrength(ctx context.Context, app string) (int, error) {
	_, a, err := c.call(ctx, Request{API: UAPI, Module: "PasswdStrength", Function: "get_required_strength", Idempotent: true,
		Params: []Param{{Key: "app", Value: app}}})
	if err != nil {
		return 0, err
	}
	d, _ := a.data.(map[string]any)
	n, ok := toInt(d["strength"])
	if !ok {
		return 0, &Error{Kind: ErrTransport, Op: "UAPI PasswdStrength/get_required_strength", Written: true, Reason: "unreadable reply: no strength"}
	}
	return n, nil
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.Atoi(string(x)); err == nil {
			return n, true
		}
		if f, err := x.Float64(); err == nil {
			return int(f), true
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n, true
		}
	case float64:
		return int(x), true
	}
	return 0, false
}

// Ping makes a harmless authenticated call to prove that the URL, certificate and credentials
// work. Through WHM it returns the server version (WHM API 1 version); on a cPanel client the
// account's user name (UAPI Variables/get_user_information).
func (c *Client) Ping(ctx context.Context) (string, error) {
	if c.kind == KindWHM {
		_, a, err := c.call(ctx, Request{API: WHMAPI1, Function: "version", Idempotent: true})
		if err != nil {
			return "", err
		}
		d, _ := a.data.(map[string]any)
		return firstString(d, "version"), nil
	}
	_, a, err := c.call(ctx, Request{API: UAPI, Module: "Variables", Function: "get_user_information", Idempotent: true})
	if err != nil {
		return "", err
	}
	d, _ := a.data.(map[string]any)
	return firstString(d, "user", "name"), nil
}

// CheckLogin proves that user and password can log in at url: it opens a session and logs out
// again. It returns false with a nil error when the server says invalid_login; any other failure
// is an error. The TLS settings, timeout and transport come from base; its credentials do not.
func CheckLogin(ctx context.Context, base Config, url, user, password string) (bool, error) {
	cfg := base
	cfg.URL, cfg.User, cfg.Secret, cfg.Auth, cfg.OTP = url, user, password, AuthSession, nil
	if k, ok := InferKind(url); ok {
		cfg.Kind = k
	} else if cfg.Kind == "" {
		// The login request is the same on both kinds; the kind only matters for API calls.
		cfg.Kind = KindCPanel
	}
	c, err := New(cfg)
	if err != nil {
		return false, err
	}
	// The session is logged out below; Close only drops the connections.
	defer func() { _ = c.Close(ctx) }()
	sess, err := c.login(ctx, user, password, nil)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Kind == ErrAuth && e.Reason == "invalid_login" {
			return false, nil
		}
		return false, err
	}
	_ = c.logout(ctx, sess)
	return true, nil
}
