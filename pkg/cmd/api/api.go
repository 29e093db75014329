// Package api implements `cpctl whmapi1`, `cpctl cpapi2` and `cpctl uapi`:
// remote twins of the server-side tools of the same names. They call any
// function with key=value arguments read by the tools' own rules and print
// the server's reply as it came (JSON, re-indented JSON, YAML or XML), on
// one server or on several at once.
package api

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/secret"
)

// DefaultConcurrency bounds how many servers a multi-profile run calls at
// once.
const DefaultConcurrency = 4

// Via values for uapi through WHM.
const (
	ViaCPanel     = "cpanel"      // /json-api/cpanel with cpanel_jsonapi_apiversion=3
	ViaUAPICpanel = "uapi_cpanel" // WHM API 1 uapi_cpanel
)

// Options are one mirror command's flags and arguments, and the few things
// it needs from the factory.
type Options struct {
	IO *cmdutil.IOStreams
	cmdutil.Targets
	// TwoFactor handles a two-factor refusal (cmdutil.Factory.TwoFactorFallback).
	TwoFactor func(ctx context.Context, t *cmdutil.Target, callErr error, prompt bool) (*cpanel.Client, error)

	API cpanel.API

	// Module is empty for WHM API 1.
	Module   string
	Function string
	// Args are the raw key=value arguments, parsed by Run.
	Args []string

	User        string
	Via         string
	Output      string
	AllProfiles bool
	Concurrency int

	// DryRun is the root's --dry-run.
	DryRun bool
	// EnvOutput is the root's output setting (-o before the command, or
	// CPCTL_OUTPUT), used when this command's -o was not given.
	EnvOutput string

	// outputSet and profileSet record whether -o and --profile were given
	// on the command line.
	outputSet, profileSet bool
}

const commonLong = `
Arguments follow the server-side tool's rules: each is key=value, with the
key and the value URI-decoded once (%26 is "&", %20 a space; "+" stays a
plus). Repeat a key (key=a key=b) or number it (key-0=a key-1=b) to send an
array; the order is kept. key=@- reads that one value from the first line
of standard input and key=@FILE from the first line of FILE, so a password
need not be in the process list; write %40 for a value that starts with @.
Values of keys that look secret (password, pass, token, ...) and values
read with @ are redacted in -v and --dry-run. --dry-run sends nothing and
prints the request each server would get: as HTTP text, or with -o (or
CPCTL_OUTPUT) as a list in that format of {"profile" (with several servers),
"method", "url", "headers", "body"}.

The reply is printed as the server sent it: --output yaml (the default, as
on the server), json (the reply as is), jsonpretty or xml. The exit code
says whether the call worked: 1 when the reply says it failed, 3 for an
authentication failure, 4 when the server could not be reached.

With --profile a,b,c or --all-profiles the same call goes to every server,
--concurrency at a time, and the output is a list with one entry per server:
{"profile", "exit", "error" (on failure), "reply"}. The exit code is 5 when
some servers failed, or the common code when all failed the same way.`

// NewCmd returns the mirror command for one API. runF, when set, replaces
// the run (flag-parsing tests).
func NewCmd(f *cmdutil.Factory, api cpanel.API, runF func(*Options) error) *cobra.Command {
	o := &Options{IO: f.IO, Targets: f.Targets(), TwoFactor: f.TwoFactorFallback, API: api}
	cmd := &cobra.Command{
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if api != cpanel.WHMAPI1 {
				if len(args) < 2 {
					return cmdutil.Usagef("give the module and the function, e.g. %s --user USER Ftp passwd ...", api)
				}
				o.Module, args = args[0], args[1:]
			}
			o.Function, o.Args = args[0], args[1:]
			o.outputSet = cmd.Flags().Changed("output")
			o.DryRun, o.EnvOutput = f.DryRun, f.Viper.GetString(cmdutil.KeyOutput)
			o.profileSet = cmd.Flags().Changed("profile")
			if runF != nil {
				return runF(o)
			}
			return Run(cmd.Context(), o)
		},
		ValidArgsFunction: completeArgs(api),
	}
	switch api {
	case cpanel.WHMAPI1:
		cmd.Use = "whmapi1 FUNCTION [key=value ...]"
		cmd.Short = "Call any WHM API 1 function, like the server's whmapi1"
		cmd.Long = "Call any WHM API 1 function through a WHM profile, like the server-side whmapi1.\n" + commonLong
		cmd.Example = `  cpctl whmapi1 version
  cpctl whmapi1 listaccts searchtype=user search=bob --output=json
  cpctl whmapi1 passwd user=bob password=@- < newpass.txt
  cpctl whmapi1 getminimumpasswordstrengths --all-profiles -o json`
	case cpanel.CPAPI2:
		cmd.Use = "cpapi2 [--user USER] Module function [key=value ...]"
		cmd.Short = "Call any cPanel API 2 function, like the server's cpapi2"
		cmd.Long = `Call any cPanel API 2 function, like the server-side cpapi2. Through a WHM
profile --user names the cPanel account to act as; through a cPanel profile it
is the profile's own user and may be left out.
` + commonLong
		cmd.Example = `  cpctl cpapi2 --user bob Ftp passwd user=files pass=@- < pw.txt
  cpctl -p shop cpapi2 Email passwdpop domain=shop.example email=info password=@pw.txt`
	case cpanel.UAPI:
		cmd.Use = "uapi [--user USER] Module function [key=value ...]"
		cmd.Short = "Call any UAPI function, like the server's uapi"
		cmd.Long = `Call any UAPI function, like the server-side uapi. Through a WHM profile
--user names the cPanel account to act as (sent through /json-api/cpanel, or
WHM API 1 uapi_cpanel with --via uapi_cpanel); through a cPanel profile it is
the profile's own user and may be left out.
` + commonLong
		cmd.Example = `  cpctl uapi --user bob Variables get_user_information
  cpctl -p shop uapi Email passwd_pop email=info domain=shop.example password=@-
  cpctl uapi --user bob PasswdStrength get_required_strength app=ftp -o json`
	}
	fl := cmd.Flags()
	// A local -o shadows the root's table|json|yaml: these commands speak
	// the server tools' formats instead.
	fl.StringVarP(&o.Output, "output", "o", string(YAML), "output format: yaml, json, jsonpretty or xml [CPCTL_OUTPUT]")
	fl.BoolVar(&o.AllProfiles, "all-profiles", false, "run the call on every profile in the config file")
	fl.IntVar(&o.Concurrency, "concurrency", DefaultConcurrency, "with several profiles, how many servers to call at once")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"yaml", "json", "jsonpretty", "xml"}, cobra.ShellCompDirectiveNoFileComp))
	if api != cpanel.WHMAPI1 {
		fl.StringVar(&o.User, "user", "", "the cPanel `USER` to act as (required through a WHM profile)")
		_ = cmd.RegisterFlagCompletionFunc("user", cobra.NoFileCompletions)
	}
	if api == cpanel.UAPI {
		fl.StringVar(&o.Via, "via", "", "through WHM: cpanel (/json-api/cpanel, default) or uapi_cpanel (WHM API 1 uapi_cpanel)")
		_ = cmd.RegisterFlagCompletionFunc("via", cobra.FixedCompletions([]string{ViaCPanel, ViaUAPICpanel}, cobra.ShellCompDirectiveNoFileComp))
	}
	return cmd
}

// format picks the output format: -o, else CPCTL_OUTPUT when it names one of
// these formats, else YAML like the server tools ("table" means the default).
func (o *Options) format() (Format, error) {
	s := o.Output
	if !o.outputSet {
		s = o.EnvOutput
		switch {
		case o.defaultFormat():
			s = string(YAML)
		case strings.EqualFold(s, "jsonl"), strings.EqualFold(s, "ndjson"):
			// A reply is one JSON value, printed as it came: one line.
			s = string(JSON)
		}
	}
	fm, err := ParseFormat(s)
	if err != nil {
		return "", &cmdutil.UsageError{Err: err}
	}
	return fm, nil
}

// defaultFormat reports that no format was asked for: no -o, and
// CPCTL_OUTPUT unset or "table". A reply is then YAML, and a dry run's
// requests HTTP text.
func (o *Options) defaultFormat() bool {
	return !o.outputSet && (o.EnvOutput == "" || strings.EqualFold(o.EnvOutput, "table"))
}

// validate checks what can be checked before anything is read or sent.
func (o *Options) validate(args []Arg) error {
	if err := validName("function", o.Function); err != nil {
		return err
	}
	if o.API != cpanel.WHMAPI1 {
		if err := validName("module", o.Module); err != nil {
			return err
		}
	}
	switch o.Via {
	case "", ViaCPanel, ViaUAPICpanel:
	default:
		return cmdutil.Usagef("--via %q: want %s or %s", o.Via, ViaCPanel, ViaUAPICpanel)
	}
	if o.Concurrency < 1 {
		return cmdutil.Usagef("--concurrency must be at least 1")
	}
	if o.AllProfiles && o.profileSet {
		return cmdutil.Usagef("give --profile or --all-profiles, not both")
	}
	for _, a := range args {
		if reserved(o.API, o.Via, a.Key) {
			return cmdutil.Usagef("%s is set by cpctl itself and cannot be given as an argument", a.Key)
		}
	}
	return nil
}

func validName(what, s string) error {
	if s == "" {
		return cmdutil.Usagef("no %s given", what)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			if c == '=' {
				return cmdutil.Usagef("%s %q looks like an argument: give the %s first", what, s, what)
			}
			return cmdutil.Usagef("invalid %s %q: only letters, digits, '_' and '-'", what, s)
		}
	}
	return nil
}

// reserved reports a key the client sends itself to route the call; a
// second copy would make the server pick one of the two.
func reserved(api cpanel.API, via, key string) bool {
	k := strings.ToLower(key)
	switch api {
	case cpanel.WHMAPI1:
		return k == "api.version"
	default:
		if strings.HasPrefix(k, "cpanel_jsonapi_") {
			return true
		}
		return api == cpanel.UAPI && via == ViaUAPICpanel && (strings.HasPrefix(k, "cpanel.") || k == "api.version")
	}
}

// ReadValues fills in the values that come from standard input or files.
func ReadValues(args []Arg, in io.Reader, warn io.Writer) error {
	env := secret.Env{In: in, Warn: warn}
	for i := range args {
		a := &args[i]
		var src secret.Source
		switch a.Source {
		case Stdin:
			src.Stdin = true
		case File:
			src.File = a.Path
		default:
			continue
		}
		v, _, err := secret.Resolve(src, env, "value of "+a.Key)
		if err != nil {
			return &cmdutil.UsageError{Err: err}
		}
		a.Value = v
	}
	return nil
}

// request builds the call for one server, checking --user and --via
// against the server kind.
func (o *Options) request(t *cmdutil.Target, params []cpanel.Param) (cpanel.Request, error) {
	req := cpanel.Request{API: o.API, Module: o.Module, Function: o.Function, Params: params}
	switch {
	case o.API == cpanel.WHMAPI1:
		if t.Kind != cpanel.KindWHM {
			return req, cmdutil.Usagef("whmapi1 needs a WHM server, and %s is a cPanel one: use uapi or cpapi2", where(t))
		}
	case t.Kind == cpanel.KindCPanel:
		if o.User != "" && o.User != t.Profile.User {
			return req, cmdutil.Usagef("%s logs in as %q, so --user %q cannot be used: a cPanel login acts only as itself", where(t), t.Profile.User, o.User)
		}
		if o.Via == ViaUAPICpanel {
			return req, cmdutil.Usagef("--via uapi_cpanel works through WHM only, and %s is a cPanel server", where(t))
		}
	default:
		if o.User == "" {
			return req, cmdutil.Usagef("%s through WHM (%s) needs --user: the cPanel account to act as", o.API, where(t))
		}
		req.User = o.User
		req.ViaUAPICpanel = o.Via == ViaUAPICpanel
	}
	return req, nil
}

func where(t *cmdutil.Target) string {
	if t.Name == "" {
		return t.Profile.URL
	}
	return "profile " + t.Name
}

// Run resolves the servers and the arguments, then calls one server or
// several.
func Run(ctx context.Context, o *Options) error {
	fm, err := o.format()
	if err != nil {
		return err
	}
	args, err := ParseArgs(o.Args)
	if err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	if err := o.validate(args); err != nil {
		return err
	}
	names, err := o.profileNames()
	if err != nil {
		return err
	}
	// Every profile is resolved before anything is read or sent, so a typo
	// in a list changes nothing anywhere.
	targets := make([]*cmdutil.Target, len(names))
	for i, n := range names {
		if targets[i], err = o.ResolveTarget(n); err != nil {
			return err
		}
	}
	warnInlineSecrets(o.IO.ErrOut, args)
	if err := ReadValues(args, o.IO.In, o.IO.ErrOut); err != nil {
		return err
	}
	params := Params(args)
	multi := o.AllProfiles || len(targets) > 1
	if o.DryRun {
		return o.dryRun(ctx, fm, targets, params, multi)
	}
	if !multi {
		return o.single(ctx, fm, targets[0], params)
	}
	results := o.runAll(ctx, targets, params)
	if err := renderResults(o.IO.Out, fm, results); err != nil {
		return fmt.Errorf("print: %w", err)
	}
	return summarize(o.IO.ErrOut, results)
}

func (o *Options) profileNames() ([]string, error) {
	if !o.AllProfiles {
		return o.ProfileNames()
	}
	cfg, _, err := o.Config()
	if err != nil {
		return nil, err
	}
	names := cfg.Names()
	if len(names) == 0 {
		return nil, cmdutil.Usagef("--all-profiles: the config file has no profiles (add one with 'cpctl profile add')")
	}
	return names, nil
}

// single calls one server and prints its reply as the server tool would.
func (o *Options) single(ctx context.Context, fm Format, t *cmdutil.Target, params []cpanel.Param) error {
	r := o.call(ctx, t, params, true)
	if r.Body != nil {
		if err := Render(o.IO.Out, fm, r.Body); err != nil {
			return fmt.Errorf("print: %w", err)
		}
	}
	return cmdutil.CredentialsHint(r.Err, t.Name)
}

// call makes the call on one server. The reply is kept whenever it is
// JSON, also when the call failed, so it can be printed. prompt allows
// asking for a two-factor code at a terminal (not while several servers
// are called at once).
func (o *Options) call(ctx context.Context, t *cmdutil.Target, params []cpanel.Param, prompt bool) Result {
	res := Result{Profile: t.DisplayName()}
	res.Body, res.Err = o.send(ctx, t, params, prompt)
	return res.done()
}

// send makes the call and returns the reply's JSON, if it had any.
func (o *Options) send(ctx context.Context, t *cmdutil.Target, params []cpanel.Param, prompt bool) ([]byte, error) {
	req, err := o.request(t, params)
	if err != nil {
		return nil, err
	}
	cc, err := o.ClientConfig(ctx, t)
	if err != nil {
		return nil, err
	}
	c, err := cmdutil.NewClient(cc)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close(ctx) }()
	rep, err := c.Call(ctx, req)
	if err != nil {
		nc, ferr := o.TwoFactor(ctx, t, err, prompt)
		if nc != nil {
			_ = c.Close(ctx)
			c = nc
			rep, err = c.Call(ctx, req)
		} else {
			err = ferr // the refusal's reply is still printed
		}
	}
	if rep == nil || rep.Decoded == nil {
		return nil, err
	}
	return rep.Body, err
}

// warnInlineSecrets warns, as --password does, about a secret typed on the
// command line, where other users see it in the process list.
func warnInlineSecrets(w io.Writer, args []Arg) {
	for _, a := range args {
		if a.Secret && a.Source == Literal && a.Value != "" {
			cmdutil.Warnf(w, "%s=VALUE is visible to other users in the process list; prefer %s=@- (standard input) or %s=@FILE", a.Key, a.Key, a.Key)
		}
	}
}
