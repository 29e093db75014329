package cpanel

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// DBEngine names a database server.
type DBEngine string

// The database engines an account's users live in.
const (
	MySQL      DBEngine = "mysql"
	PostgreSQL DBEngine = "postgresql"
)

// module is the engine's UAPI module.
func (e DBEngine) module(op string) (string, error) {
	switch e {
	case MySQL:
		return "Mysql", nil
	case PostgreSQL:
		return "Postgresql", nil
	}
	return "", usagef(op, "database engine %q is not mysql or postgresql", string(e))
}

// DBPasswd changes a database user's password with UAPI Mysql/set_password or
// Postgresql/set_password. user is the full name, with the account's prefix ("bob_wp"). owner is
// the cPanel account through WHM and "" (or the client's own user) on a cPanel client.
//
// A site that logs in as this user stops working until its configuration (wp-config.php and the
// like) holds the new password.
func (c *Client) DBPasswd(ctx context.Context, engine DBEngine, owner, user, password string) (*Result, error) {
	module, err := engine.module("db passwd")
	if err != nil {
		return nil, err
	}
	fn := module + "/set_password"
	owner, err = c.actingFor("UAPI "+fn, owner)
	if err != nil {
		return nil, err
	}
	if user == "" {
		return nil, usagef("UAPI "+fn, "no database user given")
	}
	req := Request{API: UAPI, Module: module, Function: "set_password", User: owner, Params: []Param{
		{Key: "user", Value: user}, {Key: "password", Value: password, Secret: true}}}
	rep, a, err := c.call(ctx, req)
	res, err := result(UAPI, fn, rep, a, err)
	if err == nil && res != nil && engine == MySQL {
		if msg := mysqlHostFailures(a.data); msg != "" {
			res.Message = msg
		}
	}
	return res, err
}

// mysqlHostFailures words the hosts Mysql/set_password could not change. The server reports
// success when the password changed on at least one of the user's hosts and lists the others in
// data.failures ([{"host": HOST, "error": ...}]).
func mysqlHostFailures(v any) string {
	d, _ := v.(map[string]any)
	list, _ := d["failures"].([]any)
	if len(list) == 0 {
		return ""
	}
	hosts := make([]string, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			if h := str(m, "host"); h != "" && len(hosts) < 10 {
				hosts = append(hosts, h)
			}
		}
	}
	msg := fmt.Sprintf("the password did not change for %d of the user's MySQL hosts", len(list))
	if len(hosts) > 0 {
		msg += ": " + strings.Join(hosts, ", ")
	}
	return msg
}

// WebDiskPasswdOptions holds the optional parameter of UAPI WebDisk/set_password.
type WebDiskPasswdOptions struct {
	// Digest sets Digest Authentication (enabledigest): true stores a digest hash of the new
	// password, false stores none. The server rewrites the account's shadow line on every
	// change and keeps a digest hash only when told to, so nil does not leave it to the server:
	// it reads the account's current setting first (WebDisk::listwebdisks) and keeps it.
	Digest *bool
}

// WebDiskPasswd changes a Web Disk account's password with UAPI WebDisk/set_password, keeping its
// Digest Authentication setting. login is the full user@domain.
func (c *Client) WebDiskPasswd(ctx context.Context, owner, login, password string) (*Result, error) {
	return c.WebDiskPasswdWith(ctx, owner, login, password, WebDiskPasswdOptions{})
}

// WebDiskPasswdWith is WebDiskPasswd with options. When o.Digest is nil and the current setting
// cannot be read, nothing is sent: the error says so and StateOf reports NotSent.
func (c *Client) WebDiskPasswdWith(ctx context.Context, owner, login, password string, o WebDiskPasswdOptions) (*Result, error) {
	const fn = "WebDisk/set_password"
	owner, err := c.actingFor("UAPI "+fn, owner)
	if err != nil {
		return nil, err
	}
	if u, d, ok := strings.Cut(login, "@"); !ok || u == "" || d == "" {
		return nil, usagef("UAPI "+fn, "%q is not a Web Disk login (user@domain)", login)
	}
	digest := o.Digest
	if digest == nil {
		if digest, err = c.webDiskDigest(ctx, owner, login); err != nil {
			return nil, err
		}
	}
	req := Request{API: UAPI, Module: "WebDisk", Function: "set_password", User: owner, Params: []Param{
		{Key: "user", Value: login}, {Key: "password", Value: password, Secret: true}}}
	if digest != nil {
		req.Params = append(req.Params, boolParam("enabledigest", *digest))
	}
	rep, a, err := c.call(ctx, req)
	return result(UAPI, fn, rep, a, err)
}

// webDiskDigest reads whether login has Digest Authentication on; nil when the listing does not
// name it (the change then goes out without enabledigest and the server answers for the login).
// A failed read is returned as not sent: the listing was, the password change was not.
func (c *Client) webDiskDigest(ctx context.Context, owner, login string) (*bool, error) {
	disks, err := c.ListWebDisks(ctx, owner)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			ce := *e
			ce.Written = false
			ce.Reason = "reading the Web Disk account's Digest Authentication setting before the change: " + e.Reason
			return nil, &ce
		}
		return nil, err
	}
	for _, d := range disks {
		if strings.EqualFold(d.Login, login) {
			return &d.HasDigest, nil
		}
	}
	return nil, nil
}
