package passwd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cpctl/cpctl/pkg/batch"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/fate"
)

// ownerSource says how a change's owning account is found when it was not
// given.
type ownerSource int

const (
	ownerGiven ownerSource = iota
	// ownerOfDomain: WHM API 1 getdomainowner of the target's domain.
	ownerOfDomain
	// ownerOfDBUser: the database user's owner in WHM API 1
	// list_database_users (a prefix like "bob_" may be cut short, or off).
	ownerOfDBUser
)

// owners finds the accounts that own a run's targets and remembers them, so
// that each domain is looked up once per run and profile however many rows
// name it, and the database users are listed once. A failed look-up is
// remembered too: a resume asks again.
type owners struct {
	mu      sync.Mutex
	domains map[string]func() (string, error)
	dbUsers func() (map[dbUserKey]string, error)
}

type dbUserKey struct {
	engine cpanel.DBEngine
	name   string
}

func newOwners() *owners { return &owners{domains: map[string]func() (string, error){}} }

// domainOwner returns the owner of domain, asking the server the first time.
func (ow *owners) domainOwner(ctx context.Context, c *cpanel.Client, domain string) (string, error) {
	key := strings.ToLower(domain)
	ow.mu.Lock()
	get := ow.domains[key]
	if get == nil {
		get = sync.OnceValues(func() (string, error) { return c.DomainOwner(ctx, key) })
		ow.domains[key] = get
	}
	ow.mu.Unlock()
	return get()
}

// dbUserOwner returns the account that owns a database user, listing the
// server's database users the first time.
func (ow *owners) dbUserOwner(ctx context.Context, c *cpanel.Client, engine cpanel.DBEngine, user string) (string, error) {
	ow.mu.Lock()
	if ow.dbUsers == nil {
		ow.dbUsers = sync.OnceValues(func() (map[dbUserKey]string, error) {
			users, err := c.ListDatabaseUsers(ctx)
			if err != nil {
				return nil, err
			}
			owner := make(map[dbUserKey]string, len(users))
			for _, u := range users {
				owner[dbUserKey{u.Engine, u.Name}] = u.Owner
			}
			return owner, nil
		})
	}
	get := ow.dbUsers
	ow.mu.Unlock()
	owner, err := get()
	if err != nil {
		return "", err
	}
	if o, ok := owner[dbUserKey{engine, user}]; ok {
		return o, nil
	}
	return "", &cpanel.Error{Kind: cpanel.ErrNotFound, Op: "WHM API 1 list_database_users", Status: 200, Written: true,
		Reason: fmt.Sprintf("no account this profile controls has a %s user named “%s”", engineName(engine), user)}
}

func dbEngine(k Kind) cpanel.DBEngine {
	if k == PostgreSQL {
		return cpanel.PostgreSQL
	}
	return cpanel.MySQL
}

func engineName(e cpanel.DBEngine) string {
	if e == cpanel.PostgreSQL {
		return "PostgreSQL"
	}
	return "MySQL"
}

// findOwner fills in p.owner when it is to be found. The error is the
// look-up's; nothing of the change itself was sent.
func (ow *owners) findOwner(ctx context.Context, c *cpanel.Client, p *plan) error {
	var owner string
	var err error
	switch p.find {
	case ownerGiven:
		return nil
	case ownerOfDomain:
		owner, err = ow.domainOwner(ctx, c, p.domain)
	case ownerOfDBUser:
		owner, err = ow.dbUserOwner(ctx, c, dbEngine(p.kind), p.user)
	}
	if err != nil {
		return ownerError{what: p.ownerWhat(), err: err}
	}
	p.owner = owner
	return nil
}

// ownerWhat says what was looked up, for messages.
func (p *plan) ownerWhat() string {
	if p.find == ownerOfDBUser {
		return "the owner of database user " + p.user
	}
	return "the owner of " + p.domain
}

// ownerError is a failed owner look-up: the password change was not sent.
type ownerError struct {
	what string
	err  error
}

func (e ownerError) Error() string {
	return fmt.Sprintf("looking up %s (give --owner to skip it): %s; the password change was not sent", e.what, e.err.Error())
}

func (e ownerError) Unwrap() error { return e.err }

// notFound reports a look-up the server answered with "no such owner": the
// row cannot be done as given, and a resume would not change that.
func notFound(err error) bool {
	var e *cpanel.Error
	return errors.As(err, &e) && e.Kind == cpanel.ErrNotFound
}

// unsentOutcome is a bulk row that failed before its change was sent. When
// its owner cannot be found (the server says no account owns it, or an FTP
// user has no domain to look up), the row is settled as refused, like a
// password below the minimum: a resume would find the same. Any other
// failure leaves the row for a resume.
func unsentOutcome(err error) batch.Outcome {
	if notFound(err) {
		return batch.Outcome{State: fate.Refused, Class: "refused", Message: err.Error()}
	}
	var no needOwnerError
	if errors.As(err, &no) {
		return batch.Outcome{State: fate.Refused, Class: "refused", Message: "not sent: " + err.Error()}
	}
	out := failOutcome(err, false)
	out.Message = err.Error()
	return out
}

// needOwnerError is a change through WHM with no owner given and none to
// look up: a usage error on the command line, a refused row in a bulk run.
type needOwnerError struct{ msg string }

func (e needOwnerError) Error() string { return e.msg }
