package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/cpanel"
	"github.com/cpctl/cpctl/pkg/termsafe"
)

// Result is one server's outcome in a multi-profile run.
type Result struct {
	// Profile is the profile name (or URL without one).
	Profile string
	// Exit is the exit code this server alone would give.
	Exit int
	// Err is why it failed; nil on success.
	Err error
	// Body is the server's JSON reply, nil when there was none.
	Body []byte
}

func (r Result) done() Result {
	r.Exit = cmdutil.ExitCode(r.Err)
	return r
}

// runAll calls every target, at most o.Concurrency at a time, and returns
// the results in the targets' order.
func (o *Options) runAll(ctx context.Context, targets []*cmdutil.Target, params []cpanel.Param) []Result {
	results := make([]Result, len(targets))
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = Result{Profile: t.DisplayName(), Err: &cpanel.Error{Kind: cpanel.ErrTransport, Reason: "cancelled", Err: ctx.Err()}}.done()
				return
			}
			defer func() { <-sem }()
			results[i] = o.call(ctx, t, params, false)
		})
	}
	wg.Wait()
	return results
}

// summarize prints one line per failed server and returns the run's exit
// code: 0 when all worked, the shared code when all failed the same way,
// else 5.
func summarize(w io.Writer, results []Result) error {
	failed, code := 0, 0
	for _, r := range results {
		if r.Exit == cmdutil.ExitOK {
			continue
		}
		fmt.Fprintf(w, "cpctl: %s: %s\n", r.Profile, oneLine(r.Err))
		if failed == 0 {
			code = r.Exit
		} else if code != r.Exit {
			code = cmdutil.ExitPartial
		}
		failed++
	}
	switch {
	case failed == 0:
		return nil
	case failed < len(results):
		code = cmdutil.ExitPartial
	}
	return &cmdutil.ExitError{Code: code}
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	// A server's message: one line, and nothing in it drawn on the terminal.
	return termsafe.String(strings.Join(strings.Fields(err.Error()), " "))
}

// renderResults prints a multi-profile run: a list with one entry per
// server in every format.
func renderResults(w io.Writer, fm Format, results []Result) error {
	switch fm {
	case JSON, JSONPretty:
		type entry struct {
			Profile string          `json:"profile"`
			Exit    int             `json:"exit"`
			Error   *string         `json:"error,omitempty"`
			Reply   json.RawMessage `json:"reply"` // nil: null
		}
		list := make([]entry, len(results))
		for i, r := range results {
			list[i] = entry{Profile: r.Profile, Exit: r.Exit, Reply: r.Body}
			if r.Err != nil {
				msg := oneLine(r.Err)
				list[i].Error = &msg
			}
		}
		return renderValue(w, fm, list)
	case YAML, XML:
		list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		var buf bytes.Buffer
		if fm == XML {
			buf.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<results>\n")
		}
		for _, r := range results {
			entry := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			if fm == YAML {
				entry.Content = append(entry.Content, strNode("profile"), strNode(r.Profile),
					strNode("exit"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(r.Exit)})
			}
			if r.Err != nil {
				entry.Content = append(entry.Content, strNode("error"), strNode(oneLine(r.Err)))
			}
			reply := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "~"}
			if r.Body != nil {
				n, err := jsonToNode(r.Body)
				if err != nil {
					return fmt.Errorf("reply of %s: %w", r.Profile, err)
				}
				reply = n
			}
			key := "reply"
			if fm == XML {
				key = "result"
			}
			entry.Content = append(entry.Content, strNode(key), reply)
			if fm == XML {
				writeXML(&buf, "server", [][2]string{{"profile", r.Profile}, {"exit", strconv.Itoa(r.Exit)}}, entry, 1)
				continue
			}
			list.Content = append(list.Content, entry)
		}
		if fm == XML {
			buf.WriteString("</results>\n")
			_, err := w.Write(buf.Bytes())
			return err
		}
		return writeYAML(w, list)
	}
	return fmt.Errorf("unknown output format %q", fm)
}

// dryRun prints the request each server would get, secrets redacted, and
// sends nothing: as HTTP text by default, or as a list of
// cmdutil.DryRequest in a format asked for (-o, CPCTL_OUTPUT), so that a
// script reads what it asked for. With several servers each request names
// its profile, and one that cannot be called is reported on stderr and left
// out of the list, the others still shown.
func (o *Options) dryRun(ctx context.Context, fm Format, targets []*cmdutil.Target, params []cpanel.Param, multi bool) error {
	var print func(any) error
	if !o.defaultFormat() {
		print = func(v any) error { return renderValue(o.IO.Out, fm, v) }
	}
	reqs := make([]cmdutil.DryRequest, 0, len(targets))
	results := make([]Result, 0, len(targets))
	for _, t := range targets {
		p, err := o.preview(ctx, t, params)
		if err != nil && !multi {
			return err
		}
		results = append(results, Result{Profile: t.DisplayName(), Err: err}.done())
		if err != nil {
			continue
		}
		r := dryRequest(p)
		if multi {
			r.Profile = t.DisplayName()
		}
		reqs = append(reqs, r)
	}
	if err := cmdutil.WriteDryRun(o.IO.Out, reqs, print); err != nil {
		return fmt.Errorf("print: %w", err)
	}
	fmt.Fprintln(o.IO.ErrOut, "cpctl: dry run: nothing was sent")
	return summarize(o.IO.ErrOut, results)
}

func (o *Options) preview(ctx context.Context, t *cmdutil.Target, params []cpanel.Param) (cpanel.Preview, error) {
	req, err := o.request(t, params)
	if err != nil {
		return cpanel.Preview{}, err
	}
	cc, err := o.ClientConfig(ctx, t)
	if err != nil {
		return cpanel.Preview{}, err
	}
	if cc.Secret == "" {
		cc.Secret = cmdutil.DryRunSecret
	}
	c, err := cmdutil.NewClient(cc)
	if err != nil {
		return cpanel.Preview{}, err
	}
	defer func() { _ = c.Close(ctx) }()
	return c.Preview(req), nil
}

// dryRequest is a preview as a dry run shows it, the form encoded as sent.
func dryRequest(p cpanel.Preview) cmdutil.DryRequest {
	var body bytes.Buffer
	for i, f := range p.Form {
		if i > 0 {
			body.WriteByte('&')
		}
		body.WriteString(url.QueryEscape(f.Key))
		body.WriteByte('=')
		if f.Secret {
			// Already "<redacted>"; left unescaped so it reads as such.
			body.WriteString(f.Value)
		} else {
			body.WriteString(url.QueryEscape(f.Value))
		}
	}
	return cmdutil.NewDryRequest(p.Method, p.URL, p.Header, body.String())
}
