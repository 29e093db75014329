package token

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cmd/credentials"
	"github.com/cpctl/cpctl/pkg/config"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// Rotation steps, in order. The journal records the last one completed, so
// a rotation resumes after it. "creating" is written before the create
// call: a crash during it leaves a name to clean up.
const (
	stepCreating = "creating"
	stepCreated  = "created"
	stepProved   = "proved"
	stepStored   = "stored"
)

// rotateConcurrency is how many profiles --all-profiles rotates at once.
const rotateConcurrency = 4

// defaultLifetime is the new token's lifetime when the old one expires but
// its creation time is unknown.
const defaultLifetime = 90 * 24 * time.Hour

// journal is the state of one profile's rotation. It holds the new token
// until the rotation ends, so it is written with mode 0600, atomically.
type journal struct {
	Version   int      `json:"version"`
	Profile   string   `json:"profile"`
	Server    string   `json:"server"`
	User      string   `json:"user"`
	Step      string   `json:"step"`
	OldName   string   `json:"old-name"`
	NewName   string   `json:"new-name"`
	NewToken  string   `json:"new-token,omitempty"`
	ACLs      []string `json:"acls,omitempty"`
	Whitelist []string `json:"whitelist-ips,omitempty"`
	Expires   int64    `json:"expires,omitempty"`
	Updated   string   `json:"updated"`
}

// expiry is the new token's expiry; zero: never.
func (j *journal) expiry() time.Time {
	if j.Expires == 0 {
		return time.Time{}
	}
	return time.Unix(j.Expires, 0)
}

// journalPath is token-rotate.PROFILE.json next to the configuration file.
func journalPath(cfgPath, profile string) string {
	safe := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, profile)
	return filepath.Join(filepath.Dir(cfgPath), "token-rotate."+safe+".json")
}

func loadJournal(path string) (*journal, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read rotation journal: %w", err)
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("rotation journal %s is unreadable (%w): check the profile's tokens with 'cpctl token list', then remove it", path, err)
	}
	return &j, nil
}

func (j *journal) save(path string, now time.Time) error {
	j.Updated = now.UTC().Format(time.RFC3339)
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("encode rotation journal: %w", err)
	}
	if err := config.WriteFileAtomic(path, append(data, '\n')); err != nil {
		return fmt.Errorf("rotation journal: %w", err)
	}
	return nil
}

// outcome is one profile's line of output.
type outcome struct {
	result, old, new, expires, message string
}

func runRotate(ctx context.Context, o *Options) error {
	var names []string
	if o.AllProfiles {
		cfg, _, err := o.Config()
		if err != nil {
			return err
		}
		names = cfg.Names()
		if len(names) == 0 {
			return cmdutil.Usagef("no profiles are configured")
		}
	} else {
		name, err := single(&o.Deps)
		if err != nil {
			return err
		}
		if name == "" {
			return cmdutil.Usagef("token rotate needs a profile to store the new token in: give --profile")
		}
		names = []string{name}
	}
	p, err := o.Printer()
	if err != nil {
		return err
	}
	// Profiles are mostly on different servers: rotate a few at once. One
	// mutex orders the config file's read-modify-write cycles.
	rows := make([][]string, len(names))
	errs := make([]error, len(names))
	var cfgMu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, rotateConcurrency)
	for i, name := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out, err := rotateOne(ctx, o, name, &cfgMu)
			if err != nil {
				out.result = "failed"
				out.message = termsafe.Bounded(err.Error(), 400)
				errs[i] = err
			}
			rows[i] = []string{name, out.result, out.old, out.new, out.expires, out.message}
		})
	}
	wg.Wait()
	if err := p.Table([]string{"PROFILE", "RESULT", "OLD", "NEW", "EXPIRES", "MESSAGE"}, rows); err != nil {
		return err
	}
	failed := slices.DeleteFunc(errs, func(err error) bool { return err == nil })
	switch {
	case len(failed) == 0:
		return nil
	case len(names) == 1:
		return failed[0]
	}
	return &cmdutil.ExitError{Code: cmdutil.ExitCode(failed[0]), Err: fmt.Errorf("%d of %d profiles failed to rotate", len(failed), len(names))}
}

// rotation is one profile's rotation in progress.
type rotation struct {
	d       *Deps
	name    string
	cfgPath string
	jpath   string
	prof    config.Profile // as the file has it
	s       *session       // on the token the store holds now
	j       *journal
	resumed bool        // the journal came from an earlier run
	cfgMu   *sync.Mutex // held around the config file's read-modify-write
}

func rotateOne(ctx context.Context, o *Options, name string, cfgMu *sync.Mutex) (outcome, error) {
	var out outcome
	cfg, cfgPath, err := o.Config()
	if err != nil {
		return out, err
	}
	fp, err := cfg.Profile(name)
	if err != nil {
		return out, &cmdutil.UsageError{Err: err}
	}
	// A profile with no token to rotate, or nowhere to store a new one:
	// --all-profiles passes it over (saying why); naming it is a usage error.
	skip := func(short, why string) (outcome, error) {
		if o.AllProfiles {
			out.result, out.message = "skipped", short
			return out, nil
		}
		return out, cmdutil.Usagef("profile %s %s", name, why)
	}
	const commandOnly = "takes its token from token-command: set token-store-command (it gets the new token on standard input) so that a rotated token can be stored"
	const envOnly = "holds no token of its own (it comes from CPCTL_TOKEN): there is nowhere to store a new one"
	tokenProfile := fp.Auth == string(cpanel.AuthToken) || (fp.Auth == "" && (fp.Token != "" || fp.TokenCommand != ""))
	switch {
	case !tokenProfile:
		return skip("not a token profile", "does not authenticate with an API token")
	case fp.TokenCommand != "" && fp.TokenStoreCommand == "" && fp.Token == "":
		return skip("the profile "+commandOnly, commandOnly)
	case fp.Token == "" && fp.TokenCommand == "":
		return skip("the profile "+envOnly, envOnly)
	}
	r := &rotation{d: &o.Deps, name: name, cfgPath: cfgPath, jpath: journalPath(cfgPath, name), prof: *fp, cfgMu: cfgMu}
	unlock, err := lockRotation(strings.TrimSuffix(r.jpath, ".json") + ".lock")
	if err != nil {
		return out, fmt.Errorf("profile %s: %w", name, err)
	}
	defer unlock()
	err = withSession(ctx, &o.Deps, name, func(s *session) error {
		r.s = s
		return r.start(ctx, o, &out)
	})
	if err != nil {
		return out, err
	}
	out.result = "rotated"
	return out, nil
}

// start resumes the profile's journalled rotation, or begins one, and runs
// it to the end.
func (r *rotation) start(ctx context.Context, o *Options, out *outcome) error {
	var err error
	r.j, err = loadJournal(r.jpath)
	if err != nil {
		return err
	}
	if r.j != nil {
		if r.j.Server != r.s.target.Profile.URL || r.j.User != r.s.target.Profile.User || r.j.Profile != r.name {
			return fmt.Errorf("rotation journal %s belongs to %s@%s, not to profile %s: check that server's tokens, then remove the file",
				r.jpath, r.j.User, r.j.Server, r.name)
		}
		r.resumed = true
		r.say("cpctl: resuming the rotation of profile %s after step %q", r.name, r.j.Step)
	} else if err := r.begin(ctx, o); err != nil {
		return err
	}
	out.old, out.new = r.j.OldName, r.j.NewName
	out.expires = cmp.Or(stamp(r.j.expiry()), "never")
	return r.run(ctx)
}

// begin finds the token in use, plans the new one and journals the plan.
func (r *rotation) begin(ctx context.Context, o *Options) error {
	c := r.s.client
	now := r.d.Now()
	var old cpanel.APIToken
	if d, found, ok, err := c.TokenDetails(ctx, r.s.cfg.Secret); err != nil {
		return err
	} else if ok {
		if !found {
			return fmt.Errorf("the server does not list profile %s's token among %s's API tokens (an access hash, or an expired token?)", r.name, r.s.target.Profile.User)
		}
		old = d
	}
	tokens, err := c.ListTokens(ctx)
	if err != nil {
		return err
	}
	if old.Name == "" {
		oldName := cmp.Or(o.OldName, r.prof.TokenName)
		if oldName == "" {
			names := make([]string, len(tokens))
			for i, t := range tokens {
				names[i] = termsafe.Bounded(t.Name, 64)
			}
			return cmdutil.Usagef("a cPanel server cannot say which token profile %s uses: give --old-name NAME (its tokens: %s)", r.name, strings.Join(names, ", "))
		}
		i := slices.IndexFunc(tokens, func(t cpanel.APIToken) bool { return t.Name == oldName })
		if i < 0 {
			return cmdutil.Usagef("profile %s's server has no token named %s", r.name, termsafe.Bounded(oldName, 64))
		}
		old = tokens[i]
	}
	var exp time.Time
	switch {
	case o.Expires != "":
		if exp, err = ParseExpiry(o.Expires, now); err != nil {
			return &cmdutil.UsageError{Err: err}
		}
	case old.Expires.IsZero():
	case !old.Created.IsZero() && old.Expires.After(old.Created):
		exp = now.Add(old.Expires.Sub(old.Created)).Truncate(time.Second)
	default:
		exp = now.Add(defaultLifetime).Truncate(time.Second)
	}
	newName := "cpctl-" + now.UTC().Format("20060102-150405")
	for n := 2; slices.ContainsFunc(tokens, func(t cpanel.APIToken) bool { return t.Name == newName }); n++ {
		newName = fmt.Sprintf("cpctl-%s-%d", now.UTC().Format("20060102-150405"), n)
	}
	r.j = &journal{Version: 1, Profile: r.name, Server: r.s.target.Profile.URL, User: r.s.target.Profile.User,
		Step: stepCreating, OldName: old.Name, NewName: newName, ACLs: old.ACLs, Whitelist: old.Whitelist}
	if old.FullAccess {
		r.j.ACLs = nil
	}
	if !exp.IsZero() {
		r.j.Expires = exp.Unix()
	}
	return r.j.save(r.jpath, now)
}

func (r *rotation) save() error { return r.j.save(r.jpath, r.d.Now()) }

// abandon ends a rotation that failed before the store: the new token is
// revoked with the old one, which keeps working.
func (r *rotation) abandon(ctx context.Context, cause error) error {
	if err := r.s.client.RevokeTokens(ctx, r.j.NewName); err != nil {
		return fmt.Errorf("%w; revoking the new token %s failed too (%w): revoke it with 'cpctl token revoke %s'; the old token %s still works",
			cause, r.j.NewName, err, r.j.NewName, r.j.OldName)
	}
	if err := os.Remove(r.jpath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w; the new token was revoked but the journal could not be removed: %w", cause, err)
	}
	return fmt.Errorf("%w; revoked the new token %s, and the old token %s still works", cause, r.j.NewName, r.j.OldName)
}

func (r *rotation) run(ctx context.Context) error {
	for {
		var err error
		switch r.j.Step {
		case stepCreating:
			err = r.create(ctx)
		case stepCreated:
			err = r.prove(ctx)
		case stepProved:
			err = r.store(ctx)
		case stepStored:
			return r.revokeOld(ctx)
		default:
			return fmt.Errorf("rotation journal %s has an unknown step %q", r.jpath, r.j.Step)
		}
		if err != nil {
			return err
		}
	}
}

func (r *rotation) create(ctx context.Context) error {
	c := r.s.client
	if r.resumed {
		// A create that may have run before a crash left a token of this
		// name whose secret nobody has: revoke it (a no-op when there is
		// none), and create it again.
		if err := c.RevokeTokens(ctx, r.j.NewName); err != nil {
			return err
		}
	}
	nt, err := c.CreateToken(ctx, cpanel.TokenSpec{Name: r.j.NewName, ACLs: r.j.ACLs, Whitelist: r.j.Whitelist, Expires: r.j.expiry()})
	if err != nil {
		var e *cpanel.Error
		if errors.As(err, &e) && e.Kind != cpanel.ErrTransport {
			// Refused: nothing was created.
			_ = os.Remove(r.jpath)
			return fmt.Errorf("%w; the old token %s still works", err, r.j.OldName)
		}
		return r.abandon(ctx, err)
	}
	r.j.NewToken, r.j.Step = nt.Token, stepCreated
	return r.save()
}

// client returns a client like the session's but on token.
func (r *rotation) client(token string) (*cpanel.Client, error) {
	cc := r.s.cfg
	cc.Secret = token
	return cpanel.New(cc)
}

// prove makes a harmless call with the new token and checks that the
// server knows it by its new name.
func (r *rotation) prove(ctx context.Context) error {
	nc, err := r.client(r.j.NewToken)
	if err != nil {
		return err
	}
	defer func() { _ = nc.Close(ctx) }()
	// The harmless call profile test makes, then the server's name for it.
	if _, err := nc.Ping(ctx); err != nil {
		return r.abandon(ctx, fmt.Errorf("the new token does not work: %w", err))
	}
	known := false
	d, found, ok, err := nc.TokenDetails(ctx, r.j.NewToken)
	if err == nil && ok {
		known = found && d.Name == r.j.NewName
	} else if err == nil {
		var tokens []cpanel.APIToken
		tokens, err = nc.ListTokens(ctx)
		known = slices.ContainsFunc(tokens, func(t cpanel.APIToken) bool { return t.Name == r.j.NewName })
	}
	if err != nil {
		return r.abandon(ctx, fmt.Errorf("the new token does not work: %w", err))
	}
	if !known {
		return r.abandon(ctx, fmt.Errorf("the server does not know the new token as %s", r.j.NewName))
	}
	r.j.Step = stepProved
	return r.save()
}

// store puts the new token where the profile gets its token from.
func (r *rotation) store(ctx context.Context) error {
	// The store is where the profile reads its token from: its own token
	// field first, as the client does.
	if r.prof.Token != "" || r.prof.TokenStoreCommand == "" {
		err := r.updateProfile(func(p *config.Profile) { p.Token, p.TokenName = r.j.NewToken, r.j.NewName })
		if err != nil {
			return r.abandon(ctx, fmt.Errorf("store the new token in %s: %w", r.cfgPath, err))
		}
	} else {
		runErr := r.runStore(ctx)
		// What the token command prints now says whether the store took,
		// whatever the store command's exit status said.
		held, readErr := r.d.RunSecretCommand(ctx, "token-command", r.prof.TokenCommand)
		switch {
		case readErr == nil && held == r.j.NewToken:
		// The store refused the token and the rotation is undone: exit 1,
		// like any change refused with nothing changed.
		case readErr == nil && runErr != nil:
			return r.abandon(ctx, &cmdutil.ExitError{Code: cmdutil.ExitRefused, Err: runErr})
		case readErr == nil:
			return r.abandon(ctx, &cmdutil.ExitError{Code: cmdutil.ExitRefused,
				Err: errors.New("token-store-command succeeded but token-command still prints another token")})
		default:
			cause := fmt.Errorf("token-command: %w", readErr)
			if runErr != nil {
				cause = errors.Join(runErr, cause)
			}
			// The store may have happened: exit 4, like any change whose
			// outcome is unknown.
			return &cmdutil.ExitError{Code: cmdutil.ExitTransport, Err: fmt.Errorf(
				"cannot tell whether the new token %s was stored (%w): both it and the old token %s work; fix the commands and run 'cpctl token rotate' again",
				r.j.NewName, cause, r.j.OldName)}
		}
		// The name is kept in the profile: a cPanel server cannot look a
		// token up, and the next rotation needs it.
		if err := r.updateProfile(func(p *config.Profile) { p.TokenName = r.j.NewName }); err != nil {
			r.say("cpctl: warning: record the new token's name in profile %s: %v", r.name, err)
		}
	}
	r.j.Step = stepStored
	return r.save()
}

// say writes a line to standard error; rotations running side by side
// take turns (the mutex also guards the config file, briefly).
func (r *rotation) say(format string, a ...any) {
	r.cfgMu.Lock()
	defer r.cfgMu.Unlock()
	fmt.Fprintf(r.d.IO.ErrOut, format+"\n", a...)
}

// updateProfile changes the profile in the config file as it is now on
// disk, so that other profiles' changes made meanwhile are kept.
func (r *rotation) updateProfile(change func(*config.Profile)) error {
	r.cfgMu.Lock()
	defer r.cfgMu.Unlock()
	cfg, err := config.Load(r.cfgPath)
	if err != nil {
		return err
	}
	p, err := cfg.Profile(r.name)
	if err != nil {
		return err
	}
	change(p)
	return cfg.Save(r.cfgPath)
}

// runStore runs token-store-command with the new token on its standard
// input: never in its arguments or environment. It runs as every user
// command does (credentials.Child): its own process group, killed at the
// time limit, the token replaced in whatever it prints.
func (r *rotation) runStore(ctx context.Context) error {
	c := credentials.Child{What: "token-store-command", Cmdline: r.prof.TokenStoreCommand, Env: r.d.Environ,
		Stdin: strings.NewReader(r.j.NewToken + "\n"), Secret: r.j.NewToken}
	if _, err := c.Run(ctx); err != nil {
		var ce *credentials.ChildError
		if errors.As(err, &ce) {
			return fmt.Errorf("token-store-command failed: %s", ce.Reason())
		}
		return err
	}
	return nil
}

// revokeOld revokes the old token with the new one and checks it is gone.
func (r *rotation) revokeOld(ctx context.Context) error {
	keep := func(err error) error {
		return fmt.Errorf("the new token %s is stored and works, but the old token %s is not revoked (%w): run 'cpctl token rotate' again, or 'cpctl token revoke %s'",
			r.j.NewName, r.j.OldName, err, r.j.OldName)
	}
	nc, err := r.client(r.j.NewToken)
	if err != nil {
		return keep(err)
	}
	defer func() { _ = nc.Close(ctx) }()
	if r.j.OldName != r.j.NewName {
		if err := nc.RevokeTokens(ctx, r.j.OldName); err != nil {
			return keep(err)
		}
		tokens, err := nc.ListTokens(ctx)
		if err != nil {
			return keep(err)
		}
		if slices.ContainsFunc(tokens, func(t cpanel.APIToken) bool { return t.Name == r.j.OldName }) {
			return keep(errors.New("the server still lists it"))
		}
	}
	if err := os.Remove(r.jpath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rotation done, but the journal %s could not be removed: %w", r.jpath, err)
	}
	return nil
}
