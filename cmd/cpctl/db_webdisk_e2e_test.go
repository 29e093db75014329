package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpctl/cpctl/pkg/simulator"
)

// row is the part of a JSON output row these tests read.
type row struct {
	Kind     string `json:"kind"`
	Target   string `json:"target"`
	Owner    string `json:"owner"`
	API      string `json:"api"`
	OK       bool   `json:"ok"`
	Message  string `json:"message"`
	Password string `json:"password"`
	Verify   string `json:"verify"`
}

// jsonRows reads a JSON list of rows (single changes) or JSON Lines (bulk runs).
func jsonRows(t *testing.T, out string) []row {
	t.Helper()
	var rows []row
	if strings.HasPrefix(strings.TrimSpace(out), "[") {
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("stdout is not a JSON list: %v\n%s", err, out)
		}
		return rows
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r row
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not a JSON line: %v\n%s", err, line)
		}
		rows = append(rows, r)
	}
	return rows
}

// webDiskDigest reads a Web Disk login's Digest Authentication setting from
// the simulator's state.
func webDiskDigest(t *testing.T, e *env, login string) bool {
	t.Helper()
	for _, a := range e.srv.Sim.State().Accounts {
		for _, w := range a.WebDisk {
			if w.Login == login {
				return w.DigestAuth
			}
		}
	}
	t.Fatalf("no Web Disk login %s", login)
	return false
}

func TestDBPasswd(t *testing.T) {
	const weak = "abc12"
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		engine string // the user whose password must now be newPass, or not ("" when nothing changes)
		user   string
		owner  string
		inErr  string
	}{
		{"mysql through WHM with --owner", []string{"-p", "whm", "db", "passwd", "bob_wp", "--owner", "bob"}, newPass, 0, simulator.KindMySQL, "bob_wp", "bob", ""},
		{"postgresql on the account's own profile", []string{"-p", "cp", "db", "passwd", "bob_app", "--engine", "postgresql"}, newPass, 0, simulator.KindPostgreSQL, "bob_app", "", ""},
		{"a reseller's own customer", []string{"-p", "res", "db", "passwd", "alice_shop", "--owner", "alice"}, newPass, 0, simulator.KindMySQL, "alice_shop", "alice", ""},
		{"a reseller and another's customer", []string{"-p", "res", "db", "passwd", "bob_wp", "--owner", "bob"}, newPass, 3, "", "", "", "Access Denied to bob"},
		{"an unknown user", []string{"-p", "whm", "db", "passwd", "bob_nope", "--owner", "bob"}, newPass, 1, "", "", "", "does not control a MySQL user named “bob_nope”"},
		{"the wrong engine", []string{"-p", "whm", "db", "passwd", "bob_wp", "--owner", "bob", "--engine", "postgresql"}, newPass, 1, "", "", "", "does not control a PostgreSQL user"},
		{"a weak password is refused here", []string{"-p", "whm", "db", "passwd", "bob_wp", "--owner", "bob"}, weak, 1, "", "", "", "below the server's minimum"},
		{"a forced weak password is refused there", []string{"-p", "whm", "db", "passwd", "bob_wp", "--owner", "bob", "--force"}, weak, 1, "", "", "", "The request failed. (Error ID: "},
		{"another account through a cPanel profile", []string{"-p", "cp", "db", "passwd", "alice_shop", "--owner", "alice"}, newPass, 2, "", "", "", "acts only for its own user"},
		{"a user with a domain", []string{"-p", "whm", "db", "passwd", "bob_wp@bob.example", "--owner", "bob"}, newPass, 2, "", "", "", "not a database user name"},
		{"an unknown engine", []string{"-p", "whm", "db", "passwd", "bob_wp", "--owner", "bob", "--engine", "oracle"}, newPass, 2, "", "", "", "want mysql or postgresql"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, simulator.Options{})
			e.writeConfig()
			r := e.call(tt.stdin+"\n", append(tt.args, "--password-stdin", "-o", "json")...)
			e.wantCode(r, tt.code)
			e.noSecrets(r, newPass)
			if tt.code != 0 {
				if !strings.Contains(r.stdout+r.stderr, tt.inErr) {
					t.Errorf("want %q in the output:\nstdout:\n%s\nstderr:\n%s", tt.inErr, r.stdout, r.stderr)
				}
				for _, u := range []struct{ kind, user, pw string }{
					{simulator.KindMySQL, "bob_wp", simulator.SampleMySQLPassword},
					{simulator.KindPostgreSQL, "bob_app", simulator.SamplePostgreSQLPassword},
				} {
					if !e.srv.Sim.CheckPasswordOf(u.kind, u.user, u.pw) {
						t.Errorf("%s's password changed", u.user)
					}
				}
				return
			}
			if !e.srv.Sim.CheckPasswordOf(tt.engine, tt.user, newPass) {
				t.Fatalf("the simulator does not have %s's new password", tt.user)
			}
			rows := jsonRows(t, r.stdout)
			if len(rows) != 1 || !rows[0].OK || rows[0].Kind != tt.engine || rows[0].Target != tt.user || rows[0].Owner != tt.owner || rows[0].API != "uapi" {
				t.Errorf("rows %+v", rows)
			}
		})
	}
}

// The guide's warning is in the command's help: a database password change
// breaks the site until its configuration is updated.
func TestDBPasswdHelpWarns(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	r := e.call("", "db", "passwd", "--help")
	e.wantCode(r, 0)
	for _, s := range []string{"stops working", "wp-config.php", "--engine"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("help does not say %q:\n%s", s, r.stdout)
		}
	}
}

// Without --owner a database user's owner is looked up with WHM API 1
// list_database_users; a server that refuses it (as it refuses every
// reseller) leaves the password alone and says to give --owner.
func TestDBPasswdOwnerLookupUnavailable(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	r := e.call(newPass+"\n", "-p", "res", "db", "passwd", "alice_shop", "--password-stdin")
	if r.code == 0 || !strings.Contains(r.stderr, "looking up the owner of database user alice_shop (give --owner to skip it)") ||
		!strings.Contains(r.stderr, "Only root resellers can do this!") || !strings.Contains(r.stderr, "the password change was not sent") {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	if !e.srv.Sim.CheckPasswordOf(simulator.KindMySQL, "alice_shop", simulator.SampleMySQLPassword) {
		t.Error("the password changed")
	}
	if n := e.srv.Sim.Stats().ByFunction["uapi:Mysql::set_password"]; n != 0 {
		t.Errorf("set_password called %d times", n)
	}
}

func TestWebDiskPasswd(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	const login = "dav@bob.example"
	if webDiskDigest(t, e, login) {
		t.Fatal("the sample login starts with Digest Authentication on")
	}
	// Through WHM without --owner: the domain's owner is found.
	r := e.call(newPass+"\n", "-p", "whm", "webdisk", "passwd", login, "--password-stdin", "-o", "json")
	e.wantCode(r, 0)
	e.noSecrets(r, newPass)
	rows := jsonRows(t, r.stdout)
	if len(rows) != 1 || !rows[0].OK || rows[0].Kind != "webdisk" || rows[0].Owner != "bob" || rows[0].Target != login {
		t.Fatalf("rows %+v", rows)
	}
	if !e.srv.Sim.CheckPasswordOf(simulator.KindWebDisk, login, newPass) || webDiskDigest(t, e, login) {
		t.Fatal("want the new password, Digest Authentication still off")
	}

	// --digest turns it on; a later change without the flag keeps it on.
	for i, args := range [][]string{{"--digest"}, {}} {
		pw := newPass + string(rune('a'+i))
		r = e.call(pw+"\n", append([]string{"-p", "cp", "webdisk", "passwd", login, "--password-stdin"}, args...)...)
		e.wantCode(r, 0)
		if !e.srv.Sim.CheckPasswordOf(simulator.KindWebDisk, login, pw) || !webDiskDigest(t, e, login) {
			t.Fatalf("after %v: want the new password with Digest Authentication on", args)
		}
	}
	r = e.call(newPass+"\n", "-p", "cp", "webdisk", "passwd", login, "--password-stdin", "--no-digest")
	e.wantCode(r, 0)
	if webDiskDigest(t, e, login) {
		t.Error("--no-digest left Digest Authentication on")
	}

	for _, tt := range []struct {
		name  string
		args  []string
		code  int
		inErr string
	}{
		{"a domain nobody owns", []string{"-p", "whm", "webdisk", "passwd", "dav@nobody.example"}, 1, "no account this profile controls owns the domain “nobody.example”"},
		{"a reseller and another's customer's domain", []string{"-p", "res", "webdisk", "passwd", login}, 1, "no account this profile controls owns the domain “bob.example”"},
		{"an unknown login", []string{"-p", "whm", "webdisk", "passwd", "nope@bob.example"}, 1, "does not exist"},
		{"a login without a domain", []string{"-p", "whm", "webdisk", "passwd", "dav"}, 2, "user@domain"},
		{"both digest flags", []string{"-p", "whm", "webdisk", "passwd", login, "--digest", "--no-digest"}, 2, "contradict"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.with(t).run("Other-Pass-2026!xyz\n", append(tt.args, "--password-stdin")...)
			e.with(t).wantCode(r, tt.code)
			if !strings.Contains(r.stdout+r.stderr, tt.inErr) {
				t.Errorf("want %q:\nstdout:\n%s\nstderr:\n%s", tt.inErr, r.stdout, r.stderr)
			}
		})
	}
	if !e.srv.Sim.CheckPasswordOf(simulator.KindWebDisk, login, newPass) {
		t.Error("a refused change changed the password")
	}
}

// Through WHM, ftp and email passwd without --owner find the domain's owner
// and show it in the row; a bare FTP user still needs --owner.
func TestOwnerFoundForFTPAndEmail(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	for _, tt := range []struct {
		kind, target, simKind string
	}{
		{"email", "info@bob.example", simulator.KindEmail},
		{"ftp", "files@bob.example", simulator.KindFTP},
	} {
		r := e.call(newPass+"\n", "-p", "whm", tt.kind, "passwd", tt.target, "--password-stdin", "-o", "json")
		e.wantCode(r, 0)
		rows := jsonRows(t, r.stdout)
		if len(rows) != 1 || !rows[0].OK || rows[0].Owner != "bob" {
			t.Errorf("%s: rows %+v", tt.kind, rows)
		}
		if !e.srv.Sim.CheckPasswordOf(tt.simKind, tt.target, newPass) {
			t.Errorf("%s: not changed", tt.target)
		}
	}
	r := e.call(newPass+"\n", "-p", "whm", "ftp", "passwd", "files", "--password-stdin")
	e.wantCode(r, 2)
	if !strings.Contains(r.stderr, "--owner") {
		t.Errorf("a bare FTP user: %s", r.stderr)
	}
	// --dry-run shows the look-up and sends nothing.
	before := e.srv.Sim.Stats().Requests
	r = e.call(newPass+"\n", "-p", "whm", "--dry-run", "email", "passwd", "info@bob.example", "--password-stdin")
	e.wantCode(r, 0)
	if !strings.Contains(r.stdout, "/json-api/getdomainowner") || !strings.Contains(r.stdout, "cpanel_jsonapi_user=OWNER") ||
		!strings.Contains(r.stderr, "OWNER stands for the owner of bob.example") {
		t.Errorf("dry run:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	if after := e.srv.Sim.Stats().Requests; after != before {
		t.Errorf("a dry run sent %d requests", after-before)
	}
}

// A bulk run looks each domain's owner up once, however many rows name it,
// shows the owner found, and refuses (without sending) the rows whose
// domain no account owns, while the others go on; the run exits 5 (some
// rows failed).
func TestBulkOwnerFound(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "dav.csv")
	if err := os.WriteFile(in, []byte("login\ndav@bob.example\ndav@alice.example\ndav@nobody.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(e.dir, "dav.journal")
	r := e.call("", "-p", "whm", "webdisk", "passwd", "--from", in, "--generate", "--journal", journal, "-o", "jsonl", "--concurrency", "3")
	e.wantCode(r, 5)
	rows := jsonRows(t, r.stdout)
	got := map[string]row{}
	for _, rw := range rows {
		got[rw.Target] = rw
	}
	for login, owner := range map[string]string{"dav@bob.example": "bob", "dav@alice.example": "alice"} {
		rw := got[login]
		if !rw.OK || rw.Owner != owner || rw.Password == "" || !e.srv.Sim.CheckPasswordOf(simulator.KindWebDisk, login, rw.Password) {
			t.Errorf("%s: %+v", login, rw)
		}
	}
	if rw := got["dav@nobody.example"]; rw.OK || !strings.Contains(rw.Message, "no account this profile controls owns") || rw.Password != "" {
		t.Errorf("dav@nobody.example: %+v", rw)
	}
	if n := e.srv.Sim.Stats().ByFunction["whmapi1:getdomainowner"]; n != 3 {
		t.Errorf("getdomainowner asked %d times, want once per domain (3)", n)
	}
	// The refused row is settled: a resume has nothing left to send.
	r = e.call("", "webdisk", "passwd", "--resume", journal)
	e.wantCode(r, 5)
	if n := e.srv.Sim.Stats().ByFunction["uapi:WebDisk::set_password"]; n != 2 {
		t.Errorf("set_password sent %d times over the run and its resume, want 2", n)
	}

	// Database users in bulk, with an owner column; the resume of a
	// PostgreSQL run needs no --engine.
	in = filepath.Join(e.dir, "pg.csv")
	if err := os.WriteFile(in, []byte("user,owner\nbob_app,bob\nalice_crm,alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	journal = filepath.Join(e.dir, "pg.journal")
	secrets := filepath.Join(e.dir, "pg-secrets.csv")
	r = e.call("", "-p", "whm", "db", "passwd", "--engine", "postgresql", "--from", in, "--generate", "--journal", journal, "--secrets-out", secrets)
	e.wantCode(r, 0)
	data, err := os.ReadFile(secrets)
	if err != nil {
		t.Fatal(err)
	}
	recs := csvRecords(t, string(data))
	if len(recs) != 3 || recs[0][0] != "user" || recs[0][1] != "password" {
		t.Fatalf("secrets file:\n%s", data)
	}
	for _, f := range recs[1:] {
		if !e.srv.Sim.CheckPasswordOf(simulator.KindPostgreSQL, f[0], f[1]) {
			t.Errorf("%s: the secrets file's password is not the server's", f[0])
		}
	}
	r = e.call("", "db", "passwd", "--resume", journal)
	e.wantCode(r, 0)
	if !strings.Contains(r.stderr, "2 finished in an earlier run") {
		t.Errorf("resume: %s", r.stderr)
	}
}

// A database run left unsettled (the server lost its replies) names the
// command that finishes it, engine included, in the run's last line and in
// journal show; that command settles it.
func TestDBRunResumeCommand(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	in := filepath.Join(e.dir, "pg.csv")
	if err := os.WriteFile(in, []byte("user,owner\nbob_app,bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(e.dir, "pg.journal")
	e.srv.Sim.SetFault("bob", simulator.Fault{Kind: simulator.FaultTruncated})
	r := e.call("", "-p", "whm", "db", "passwd", "--engine", "postgresql", "--from", in, "--generate", "--journal", journal)
	want := "cpctl db passwd --engine postgresql --resume " + journal
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d, want a failure and %q in:\n%s", r.code, want, r.stderr)
	}
	r = e.call("", "journal", "show", journal)
	if !strings.Contains(r.stderr, "finish with '"+want+"'") {
		t.Errorf("journal show:\n%s", r.stderr)
	}
	e.srv.Sim.SetFault("bob", simulator.Fault{Kind: simulator.FaultNone})
	r = e.call("", strings.Fields(want)[1:]...)
	e.wantCode(r, 0)
}

// Through WHM without --owner, db passwd finds a database user's owner with
// WHM API 1 list_database_users, asked once per run however many rows need
// it, and changes the password as that account; a user no account has is
// refused without sending anything.
func TestDBPasswdOwnerFound(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	lookups := func() int64 { return e.srv.Sim.Stats().ByFunction["whmapi1:list_database_users"] }
	for _, tt := range []struct {
		args          []string
		kind, user, o string
	}{
		{[]string{"bob_wp"}, simulator.KindMySQL, "bob_wp", "bob"},
		{[]string{"alice_crm", "--engine", "postgresql"}, simulator.KindPostgreSQL, "alice_crm", "alice"},
	} {
		before := lookups()
		r := e.call("", append([]string{"-p", "whm", "db", "passwd", "--generate", "-o", "json"}, tt.args...)...)
		e.wantCode(r, 0)
		rows := jsonRows(t, r.stdout)
		if len(rows) != 1 || !rows[0].OK || rows[0].Owner != tt.o || rows[0].Target != tt.user || rows[0].Password == "" {
			t.Fatalf("%s: rows %+v", tt.user, rows)
		}
		if !e.srv.Sim.CheckPasswordOf(tt.kind, tt.user, rows[0].Password) {
			t.Errorf("%s: the simulator does not have the new password", tt.user)
		}
		if n := lookups() - before; n != 1 {
			t.Errorf("%s: list_database_users asked %d times, want 1", tt.user, n)
		}
	}

	in := filepath.Join(e.dir, "db.csv")
	if err := os.WriteFile(in, []byte("user\nbob_wp\nalice_shop\ncarol_blog\nnobody_db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := lookups()
	r := e.call("", "-p", "whm", "db", "passwd", "--from", in, "--generate", "--journal", filepath.Join(e.dir, "db.journal"),
		"-o", "jsonl", "--concurrency", "4")
	e.wantCode(r, 5)
	got := map[string]row{}
	for _, rw := range jsonRows(t, r.stdout) {
		got[rw.Target] = rw
	}
	for user, owner := range map[string]string{"bob_wp": "bob", "alice_shop": "alice", "carol_blog": "carol"} {
		rw := got[user]
		if !rw.OK || rw.Owner != owner || rw.Password == "" || !e.srv.Sim.CheckPasswordOf(simulator.KindMySQL, user, rw.Password) {
			t.Errorf("%s: %+v", user, rw)
		}
	}
	if rw := got["nobody_db"]; rw.OK || rw.Password != "" || !strings.Contains(rw.Message, "no account this profile controls has a MySQL user named “nobody_db”") {
		t.Errorf("nobody_db: %+v", rw)
	}
	if n := lookups() - before; n != 1 {
		t.Errorf("a bulk run of 4 rows asked list_database_users %d times, want once", n)
	}
	if n := e.srv.Sim.Stats().ByFunction["uapi:Mysql::set_password"]; n != 4 {
		t.Errorf("set_password sent %d times over the three runs, want 4 (nothing for nobody_db)", n)
	}
}

// The owner a bulk run found for rows that named none is recorded: the
// secrets file and journal export have it in their owner column, and
// --secrets-command gets it in CPCTL_ROW_OWNER; a row's own owner stays.
func TestBulkFoundOwnerRecorded(t *testing.T) {
	e := newEnv(t, nil, simulator.Options{})
	e.writeConfig()
	script := filepath.Join(e.dir, "owners.sh")
	owners := filepath.Join(e.dir, "owners.txt")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat >/dev/null\nprintf '%s=%s\\n' \"$CPCTL_ROW_TARGET\" \"$CPCTL_ROW_OWNER\" >> "+owners+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		cmd     []string
		in      string
		simKind string
		want    map[string]string // target → owner
	}{
		{[]string{"email", "passwd"}, "address,owner\ninfo@bob.example,\noffice@alice.example,\noffice@carol.example,carol\n", simulator.KindEmail,
			map[string]string{"info@bob.example": "bob", "office@alice.example": "alice", "office@carol.example": "carol"}},
		{[]string{"db", "passwd"}, "user\nbob_wp\nalice_shop\n", simulator.KindMySQL,
			map[string]string{"bob_wp": "bob", "alice_shop": "alice"}},
	} {
		t.Run(tt.cmd[0], func(t *testing.T) {
			e := e.with(t)
			_ = os.Remove(owners)
			in := filepath.Join(e.dir, tt.cmd[0]+".csv")
			if err := os.WriteFile(in, []byte(tt.in), 0o600); err != nil {
				t.Fatal(err)
			}
			journal := filepath.Join(e.dir, tt.cmd[0]+".journal")
			secrets := filepath.Join(e.dir, tt.cmd[0]+"-secrets.csv")
			r := e.call("", append([]string{"-p", "whm"}, append(tt.cmd, "--from", in, "--generate", "--journal", journal,
				"--secrets-out", secrets, "--secrets-command", script)...)...)
			e.wantCode(r, 0)
			exported := filepath.Join(e.dir, tt.cmd[0]+"-export.csv")
			e.wantCode(e.call("", "journal", "export", journal, "--secrets-out", exported), 0)
			for _, file := range []string{secrets, exported} {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				recs := csvRecords(t, string(data))
				if len(recs) != len(tt.want)+1 || recs[0][1] != "password" || recs[0][2] != "owner" {
					t.Fatalf("%s:\n%s", file, data)
				}
				for _, f := range recs[1:] {
					if f[2] != tt.want[f[0]] || !e.srv.Sim.CheckPasswordOf(tt.simKind, f[0], f[1]) {
						t.Errorf("%s: %v, want owner %q and the server's password", file, f, tt.want[f[0]])
					}
				}
			}
			data, err := os.ReadFile(owners)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Fields(string(data))
			if len(lines) != len(tt.want) {
				t.Errorf("deliveries:\n%s", data)
			}
			for _, l := range lines {
				target, owner, _ := strings.Cut(l, "=")
				if want, ok := tt.want[target]; !ok || owner != want {
					t.Errorf("CPCTL_ROW_OWNER for %s is %q, want %q", target, owner, want)
				}
			}
		})
	}
}
